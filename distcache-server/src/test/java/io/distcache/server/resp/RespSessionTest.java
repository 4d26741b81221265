package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.ManualClock;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The session against a scripted router: which binary request each command becomes, how each
 * response status is rendered, reply order, and connection handling.
 */
class RespSessionTest {
  private final ManualClock clock = new ManualClock();
  private final ScriptedRouter router = new ScriptedRouter();
  private final RespChannel resp = new RespChannel(router, configOnlyStore(), clock);

  /** The session reads only the store's config on these paths. */
  private Store configOnlyStore() {
    StoreConfig config = StoreConfig.of(1 << 20, clock);
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          if (method.getName().equals("config")) {
            return config;
          }
          throw new AssertionError("unexpected store call " + method.getName());
        });
  }

  @AfterEach
  void tearDown() {
    resp.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  // ---- translation to binary requests ----

  @Test
  void get_present_bulkReply() {
    router.answer(r -> r.replyValue(b("hello")));
    assertThat(resp.send("GET k")).isEqualTo("$5\r\nhello\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.GET);
    assertThat(text(router.last().key())).isEqualTo("k");
  }

  @Test
  void get_missing_nullInResp2AndResp3() {
    router.answer(r -> r.reply(Status.NOT_FOUND));
    assertThat(resp.send("GET k")).isEqualTo("$-1\r\n");
    resp.send("HELLO 3");
    assertThat(resp.send("GET k")).isEqualTo("_\r\n");
  }

  @Test
  void set_exOption_relativeMillisecondsExtra() {
    assertThat(resp.send("SET k v EX 10")).isEqualTo("+OK\r\n");
    Frame f = router.last();
    assertThat(f.op()).isEqualTo(Opcode.SET);
    assertThat(f.flags()).isZero();
    assertThat(f.extras()).containsExactly(10_000L);
    assertThat(text(f.value())).isEqualTo("v");
  }

  @Test
  void set_pxatOption_absoluteFlag() {
    resp.send("SET k v PXAT 1800000000000");
    assertThat(router.last().flags()).isEqualTo(Flags.EXPIRY_ABSOLUTE);
    assertThat(router.last().extras()).containsExactly(1_800_000_000_000L);
    resp.send("SET k v exat 1800000000");
    assertThat(router.last().extras()).containsExactly(1_800_000_000_000L);
  }

  @Test
  void set_conditionsAndGet_flags() {
    resp.send("SET k v NX GET");
    assertThat(router.last().flags()).isEqualTo(Flags.IF_ABSENT | Flags.RETURN_PREVIOUS);
    resp.send("SET k v XX KEEPTTL");
    assertThat(router.last().flags()).isEqualTo(Flags.IF_PRESENT | Flags.KEEP_TTL);
  }

  @Test
  void set_conditionFailed_null() {
    router.answer(r -> r.reply(Status.CONDITION_FAILED));
    assertThat(resp.send("SET k v NX")).isEqualTo("$-1\r\n");
  }

  @Test
  void set_withGet_previousValueOrNull() {
    router.answer(r -> r.reply(Status.OK, Flags.PREVIOUS_PRESENT, b("old")));
    assertThat(resp.send("SET k v GET")).isEqualTo("$3\r\nold\r\n");
    router.answer(r -> r.replyOk());
    assertThat(resp.send("SET k v GET")).isEqualTo("$-1\r\n");
  }

  @Test
  void set_badOptions_redisErrors() {
    assertThat(resp.send("SET k v NX XX")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("SET k v EX 10 PX 5")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("SET k v KEEPTTL EX 5")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("SET k v EX")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("SET k v EX abc NX XX")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("SET k v EX abc")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(resp.send("SET k v EX 0")).isEqualTo("-ERR invalid expire time in 'set' command\r\n");
    assertThat(resp.send("SET k v PX -5")).isEqualTo("-ERR invalid expire time in 'set' command\r\n");
    assertThat(resp.send("SET k v EX 9223372036854775")).isEqualTo("-ERR invalid expire time in 'set' command\r\n");
    assertThat(resp.send("SET k")).isEqualTo("-ERR wrong number of arguments for 'set' command\r\n");
    assertThat(router.requests).isEmpty();
  }

  @Test
  void setrange_offsetPlusLengthOverflowsLong_tooLargeWithoutRouting() {
    assertThat(resp.send("SETRANGE k 9223372036854775806 hello"))
        .isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    assertThat(router.requests).isEmpty();
  }

  @Test
  void setex_zeroSeconds_invalidExpireNamingTheCommand() {
    assertThat(resp.send("SETEX k 0 v")).isEqualTo("-ERR invalid expire time in 'setex' command\r\n");
    assertThat(resp.send("PSETEX k -1 v")).isEqualTo("-ERR invalid expire time in 'psetex' command\r\n");
    assertThat(resp.send("SETEX k 5 v")).isEqualTo("+OK\r\n");
    assertThat(router.last().extras()).containsExactly(5000L);
  }

  @Test
  void expire_nonPositive_absolutePastTime() {
    resp.send("EXPIRE k -5");
    assertThat(router.last().flags()).isEqualTo(Flags.EXPIRY_ABSOLUTE);
    assertThat(router.last().extras()).containsExactly(clock.millis() - 5000, 0L);
    resp.send("EXPIREAT k 0");
    assertThat(router.last().extras()).containsExactly(1L, 0L);
    resp.send("PEXPIRE k 1500 GT");
    assertThat(router.last().flags()).isZero();
    assertThat(router.last().extras()).containsExactly(1500L, 3L);
  }

  @Test
  void expire_options_conditionCodesAndRedisErrors() {
    router.answer(r -> r.reply(Status.CONDITION_FAILED));
    assertThat(resp.send("EXPIRE k 10 NX")).isEqualTo(":0\r\n");
    assertThat(router.last().extras()[1]).isEqualTo(1L);
    resp.send("EXPIRE k 10 XX");
    assertThat(router.last().extras()[1]).isEqualTo(2L);
    resp.send("EXPIRE k 10 LT");
    assertThat(router.last().extras()[1]).isEqualTo(4L);
    assertThat(resp.send("EXPIRE k 10 NX XX"))
        .isEqualTo("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    assertThat(resp.send("EXPIRE k 10 GT LT"))
        .isEqualTo("-ERR GT and LT options at the same time are not compatible\r\n");
    assertThat(resp.send("EXPIRE k 10 FOO")).isEqualTo("-ERR Unsupported option FOO\r\n");
    assertThat(resp.send("EXPIRE k x FOO")).isEqualTo("-ERR Unsupported option FOO\r\n");
    assertThat(resp.send("EXPIRE k 9223372036854775807"))
        .isEqualTo("-ERR invalid expire time in 'expire' command\r\n");
  }

  @Test
  void ttl_extras_roundedLikeRedis() {
    router.answer(r -> r.replyOk(1500, clock.millis() + 1500));
    assertThat(resp.send("TTL k", "PTTL k")).isEqualTo(":2\r\n:1500\r\n");
    assertThat(resp.send("PEXPIRETIME k")).isEqualTo(":" + (clock.millis() + 1500) + "\r\n");
    router.answer(r -> r.replyOk(-1, -1));
    assertThat(resp.send("TTL k", "EXPIRETIME k")).isEqualTo(":-1\r\n:-1\r\n");
    router.answer(r -> r.reply(Status.NOT_FOUND));
    assertThat(resp.send("TTL k", "PEXPIRETIME k")).isEqualTo(":-2\r\n:-2\r\n");
  }

  @Test
  void multiKeyCommands_multiKeyOpcodesWithLists() {
    router.answer(r -> r.replyValue(ListCodec.encodeValues(Arrays.asList(b("1"), null))));
    assertThat(resp.send("MGET a b")).isEqualTo("*2\r\n$1\r\n1\r\n$-1\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.MULTI_GET);
    assertThat(ListCodec.decodeKeys(router.last().value())).extracting(RespSessionTest::text).containsExactly("a", "b");

    router.answer(r -> r.replyOk(2));
    assertThat(resp.send("DEL a b c")).isEqualTo(":2\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.MULTI_DELETE);
    assertThat(resp.send("EXISTS a a")).isEqualTo(":2\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.MULTI_EXISTS);

    router.answer(r -> r.replyOk());
    assertThat(resp.send("MSET a 1 b 2")).isEqualTo("+OK\r\n");
    assertThat(ListCodec.decodePairs(router.last().value())).extracting(RespSessionTest::text)
        .containsExactly("a", "1", "b", "2");
    assertThat(resp.send("MSET a 1 b")).isEqualTo("-ERR wrong number of arguments for 'mset' command\r\n");
    router.answer(r -> r.reply(Status.CONDITION_FAILED));
    assertThat(resp.send("MSETNX a 1")).isEqualTo(":0\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.MULTI_SET_IF_ABSENT);
  }

  @Test
  void malformedResponse_errorReplyWithoutHalfWrittenArray() {
    router.answer(r -> r.replyValue(new byte[] {0, 0, 0, 5}));
    assertThat(resp.send("MGET a b", "PING")).startsWith("-ERR internal error: ").endsWith("\r\n+PONG\r\n")
        .doesNotContain("*2");
    router.answer(r -> r.replyValue(ListCodec.encodeValues(Arrays.asList(b("1")))));
    assertThat(resp.send("MGET a b")).isEqualTo("-ERR internal error: MULTI_GET answered 1 values for 2 keys\r\n");
  }

  @Test
  void singleKeyDelAndExists_singleKeyOpcodes() {
    router.answer(r -> r.reply(Status.NOT_FOUND));
    assertThat(resp.send("DEL a", "UNLINK a", "EXISTS a", "TYPE a")).isEqualTo(":0\r\n:0\r\n:0\r\n+none\r\n");
    assertThat(router.requests).extracting(Frame::op)
        .containsExactly(Opcode.DELETE, Opcode.DELETE, Opcode.EXISTS, Opcode.KEY_OP);
    router.answer(r -> r.replyOk(0));
    assertThat(resp.send("TYPE a")).isEqualTo("+string\r\n");
    router.answer(r -> r.replyOk(1));
    assertThat(resp.send("TYPE a")).isEqualTo("+hash\r\n");
  }

  @Test
  void errorStatuses_mappedToRedisTexts() {
    router.answer(r -> r.replyError(Status.OUT_OF_MEMORY, "full"));
    assertThat(resp.send("SET k v")).isEqualTo("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    router.answer(r -> r.replyError(Status.TOO_LARGE, "big"));
    assertThat(resp.send("APPEND k v"))
        .isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    router.answer(r -> r.replyError(Status.NOT_A_NUMBER, "nan"));
    assertThat(resp.send("INCR k", "INCRBYFLOAT k 1.5"))
        .isEqualTo("-ERR value is not an integer or out of range\r\n-ERR value is not a valid float\r\n");
    router.answer(r -> r.replyError(Status.OVERFLOW, "overflow"));
    assertThat(resp.send("INCRBY k 5", "INCRBYFLOAT k 1"))
        .isEqualTo("-ERR increment or decrement would overflow\r\n-ERR increment would produce NaN or Infinity\r\n");
    router.answer(r -> r.replyError(Status.INTERNAL_ERROR, "disk\r\non fire"));
    assertThat(resp.send("GET k")).isEqualTo("-ERR disk  on fire\r\n");
  }

  @Test
  void counters_deltaAndArgumentErrors() {
    router.answer(r -> r.replyOk(r.extra(0, 0)));
    assertThat(resp.send("INCR k", "DECR k", "INCRBY k 7", "DECRBY k 7"))
        .isEqualTo(":1\r\n:-1\r\n:7\r\n:-7\r\n");
    assertThat(resp.send("DECRBY k -9223372036854775808")).isEqualTo("-ERR decrement would overflow\r\n");
    assertThat(resp.send("INCRBY k 1.5")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(resp.send("INCRBY k 01")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(resp.send("INCRBYFLOAT k abc")).isEqualTo("-ERR value is not a valid float\r\n");
    assertThat(resp.send("INCRBYFLOAT k 1f")).isEqualTo("-ERR value is not a valid float\r\n");
    assertThat(resp.send("INCRBYFLOAT k inf")).isEqualTo("-ERR increment would produce NaN or Infinity\r\n");
    router.answer(r -> r.replyValue(b("3.5")));
    assertThat(resp.send("INCRBYFLOAT k 1.5e0")).isEqualTo("$3\r\n3.5\r\n");
    assertThat(text(router.last().value())).isEqualTo("1.5e0");
  }

  @Test
  void setrange_offsets_checkedBeforeSending() {
    assertThat(resp.send("SETRANGE k -1 v")).isEqualTo("-ERR offset is out of range\r\n");
    assertThat(resp.send("SETRANGE k 16777216 v"))
        .isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    router.answer(r -> r.replyOk(6));
    assertThat(resp.send("SETRANGE k 5 v")).isEqualTo(":6\r\n");
    assertThat(router.last().extras()).containsExactly(5L);
  }

  @Test
  void getex_expiry_getThenExpire() {
    router.answer(r -> r.op() == Opcode.GET ? r.replyValue(b("v")) : r.replyOk());
    assertThat(resp.send("GETEX k EX 5")).isEqualTo("$1\r\nv\r\n");
    assertThat(router.requests).extracting(Frame::op).containsExactly(Opcode.GET, Opcode.EXPIRE);
    assertThat(router.last().extras()).containsExactly(5000L, 0L);
    assertThat(resp.send("GETEX k PERSIST")).isEqualTo("$1\r\nv\r\n");
    assertThat(router.last().op()).isEqualTo(Opcode.PERSIST);
    assertThat(resp.send("GETEX k PERSIST EX 5")).isEqualTo("-ERR syntax error\r\n");
    assertThat(resp.send("GETEX k EX 0")).isEqualTo("-ERR invalid expire time in 'getex' command\r\n");
  }

  @Test
  void getex_missingKey_noExpireSent() {
    router.answer(r -> r.reply(Status.NOT_FOUND));
    assertThat(resp.send("GETEX k EX 5")).isEqualTo("$-1\r\n");
    assertThat(router.requests).extracting(Frame::op).containsExactly(Opcode.GET);
  }

  @Test
  void longKey_refusedNamingTheLimit() {
    String key = "k".repeat(65_537);
    assertThat(resp.send("GET " + key)).isEqualTo("-ERR key length 65537 exceeds the limit 65536\r\n");
  }

  // ---- ordering ----

  @Test
  void pendingReply_laterRepliesWaitAndKeepOrder() {
    router.hold(true);
    assertThat(resp.send("GET a", "PING", "ECHO x")).isEmpty();
    router.hold(false);
    router.answer(r -> r.replyValue(b("B")));
    assertThat(resp.send("GET b")).isEmpty();
    router.pending.get(0).complete(router.requests.get(0).replyValue(b("A")));
    assertThat(resp.output()).isEqualTo("$1\r\nA\r\n+PONG\r\n$1\r\nx\r\n$1\r\nB\r\n");
    assertThat(resp.send("PING")).isEqualTo("+PONG\r\n");
  }

  @Test
  void pendingReplies_completingOutOfOrder_writtenInRequestOrder() {
    router.hold(true);
    resp.send("GET a", "GET b");
    router.pending.get(1).complete(router.requests.get(1).replyValue(b("B")));
    assertThat(resp.output()).isEmpty();
    router.pending.get(0).complete(router.requests.get(0).reply(Status.NOT_FOUND));
    assertThat(resp.output()).isEqualTo("$-1\r\n$1\r\nB\r\n");
  }

  @Test
  void heldWrite_laterRequestsOfTheConnection_routedOnlyOnceItIsApplied() {
    router.holdWrites(1);
    assertThat(resp.send("SET k 1", "SET k 2", "GET k")).isEmpty();
    // Routed now, SET k 2 could reach the slot's new owner before the held SET, and GET read the old value.
    assertThat(router.requests).hasSize(1);
    router.answer(r -> r.op() == Opcode.GET ? r.replyValue(b("2")) : r.replyOk());
    router.pending.get(0).complete(router.requests.get(0).replyOk());
    assertThat(resp.output()).isEqualTo("+OK\r\n+OK\r\n$1\r\n2\r\n");
    assertThat(router.requests).extracting(f -> text(f.value() == null ? new byte[0] : f.value()))
        .containsExactly("1", "2", "");
    assertThat(resp.send("GET k")).as("nothing held any more: routed at once").isEqualTo("$1\r\n2\r\n");
  }

  @Test
  void heldWrite_behindAnotherHeldWrite_eachWaitsForTheOneBefore() {
    router.holdWrites(2);
    resp.send("SET a 1", "SET b 2", "GET a");
    router.pending.get(0).complete(router.requests.get(0).replyOk());
    resp.output();
    assertThat(router.requests).as("SET b routed (and held in turn); GET a still waits").hasSize(2);
    router.pending.get(1).complete(router.requests.get(1).replyOk());
    resp.output();
    assertThat(router.requests).hasSize(3);
    assertThat(router.last().op()).isEqualTo(Opcode.GET);
  }

  @Test
  void repliesParkedBehindAPendingOne_boundedInBytes_countedInOmemAndTheClientBudget() {
    router.hold(true);
    String big = "x".repeat(40 * 1024);
    String echo = "$" + big.length() + "\r\n" + big + "\r\n";
    // GET a stays pending: the ECHOs' replies park behind it until they pass the channel's high
    // water mark (64 KiB here, the bound of unsent replies); what follows waits unexecuted.
    assertThat(resp.send("GET a", "ECHO " + big, "ECHO " + big, "ECHO " + big, "PING")).isEmpty();
    assertThat(resp.context.clientMemory().used()).isEqualTo(2L * echo.length());
    assertThat(resp.channel.config().isAutoRead()).isFalse();
    ClientState client = resp.context.stats().clients().get(0);
    assertThat(client.describe(0)).contains(" oll=3 omem=" + 2L * echo.length() + " ");
    router.pending.get(0).complete(router.requests.get(0).reply(Status.NOT_FOUND));
    assertThat(resp.output()).isEqualTo("$-1\r\n" + echo + echo + echo + "+PONG\r\n");
    assertThat(resp.context.clientMemory().used()).isZero();
    assertThat(client.describe(0)).contains(" oll=0 omem=0 ");
    assertThat(resp.channel.config().isAutoRead()).isTrue();
  }

  @Test
  void repliesParkedBehindAPendingOne_nodeBudgetSpent_laterCommandsWaitUnexecuted() {
    RespContext small = RespContext.builder(router, configOnlyStore()).clock(clock).clientMemoryBytes(1000).build();
    try (RespChannel limited = new RespChannel(small)) {
      router.hold(true);
      String mid = "y".repeat(1000);
      // One reply of 1,000 bytes spends the node's 1,000-byte budget: the next ECHO waits, unrendered.
      assertThat(limited.send("GET a", "ECHO " + mid, "ECHO z", "PING")).isEmpty();
      assertThat(small.clientMemory().used()).isEqualTo(("$1000\r\n" + mid + "\r\n").length());
      router.pending.get(0).complete(router.requests.get(0).reply(Status.NOT_FOUND));
      assertThat(limited.output()).isEqualTo("$-1\r\n$1000\r\n" + mid + "\r\n$1\r\nz\r\n+PONG\r\n");
      assertThat(small.clientMemory().used()).isZero();
    }
  }

  @Test
  void parkedReply_keepsProtocolOfItsTime() {
    router.hold(true);
    resp.send("GET a");
    String hello = resp.send("HELLO 3");
    assertThat(hello).isEmpty();
    router.pending.get(0).complete(router.requests.get(0).reply(Status.NOT_FOUND));
    assertThat(resp.output()).startsWith("$-1\r\n%7\r\n");
  }

  // ---- connection handling ----

  @Test
  void protocolError_earlierRepliesThenErrorThenClose() {
    String out = resp.raw("PING\r\n*1\r\n$x\r\nPING\r\n");
    assertThat(out).isEqualTo("+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    assertThat(resp.channel.isOpen()).isFalse();
  }

  @Test
  void oversizeArray_errorAndClose() {
    String out = resp.raw("*1048577\r\n");
    assertThat(out).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n");
    assertThat(resp.channel.isOpen()).isFalse();
  }

  @Test
  void requestOverRequestLimit_errorAndCloseBeforeTheBulkArrives() {
    RespContext small = RespContext.builder(router, configOnlyStore()).clock(clock)
        .limits(new RespLimits(1 << 20, 1024, 1024, 4 << 20)).build();
    try (RespChannel limited = new RespChannel(small)) {
      // Three 1 MiB values fit; the fourth one's header crosses 4 MiB, refused before its data is sent.
      String out = limited.raw("*6\r\n$4\r\nMSET\r\n$1048576\r\n");
      assertThat(out).isEmpty();
      out = limited.raw("x".repeat(1 << 20) + "\r\n$1048576\r\n" + "y".repeat(1 << 20) + "\r\n"
          + "$1048576\r\n" + "z".repeat(1 << 20) + "\r\n$1048576\r\n");
      assertThat(out).isEqualTo("-ERR Protocol error: too big request: at least 4194366 bytes, the limit is 4194304\r\n");
      assertThat(limited.channel.isOpen()).isFalse();
      assertThat(router.requests).isEmpty();
    }
  }

  @Test
  void clientNotReadingReplies_laterRequestsWaitUnexecutedUntilWritable() {
    byte[] big = new byte[100 * 1024];
    router.answer(r -> r.replyValue(big));
    String bigReply = "$" + big.length + "\r\n" + text(big) + "\r\n";
    ChannelOutboundBuffer outbound = resp.channel.unsafe().outboundBuffer();
    // Stands in for a client that reads nothing: every flush fills its socket.
    resp.channel.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
      @Override
      public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        outbound.setUserDefinedWritability(1, false);
      }
    });
    assertThat(resp.send("GET a", "GET b", "GET c", "PING")).isEqualTo(bigReply);
    assertThat(router.requests).hasSize(1);
    assertThat(resp.channel.config().isAutoRead()).isFalse();
    for (String key : List.of("b", "c")) {
      outbound.setUserDefinedWritability(1, true);
      assertThat(resp.output()).isEqualTo(bigReply);
      assertThat(text(router.last().key())).isEqualTo(key);
    }
    outbound.setUserDefinedWritability(1, true);
    assertThat(resp.output()).isEqualTo("+PONG\r\n");
    outbound.setUserDefinedWritability(1, true);
    resp.output();
    assertThat(resp.channel.config().isAutoRead()).isTrue();
    assertThat(router.requests).hasSize(3);
  }

  @Test
  void quit_okThenCloseIgnoringLaterCommands() {
    assertThat(resp.send("QUIT", "PING")).isEqualTo("+OK\r\n");
    assertThat(resp.channel.isOpen()).isFalse();
  }

  @Test
  void unknownCommand_redisTextWithArguments() {
    assertThat(resp.send("FOO a b")).isEqualTo("-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    assertThat(resp.send("foo")).isEqualTo("-ERR unknown command 'foo', with args beginning with: \r\n");
    assertThat(resp.send("GET")).isEqualTo("-ERR wrong number of arguments for 'get' command\r\n");
  }

  @Test
  void inlineCommands_executedLikeArrays() {
    router.answer(r -> r.replyValue(b("v")));
    assertThat(resp.raw("PING\r\nGET k\r\nECHO \"a b\"\r\n")).isEqualTo("+PONG\r\n$1\r\nv\r\n$3\r\na b\r\n");
  }

  @Test
  void pipelinedBurst_oneFlush() {
    router.answer(r -> r.replyValue(b("v")));
    resp.channel.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(
        RespChannel.encode("GET a", "GET b", "PING"), StandardCharsets.US_ASCII));
    List<Object> written = new java.util.ArrayList<>();
    Object m;
    while ((m = resp.channel.readOutbound()) != null) {
      written.add(m);
    }
    assertThat(written).hasSize(1);
    ((io.netty.buffer.ByteBuf) written.get(0)).release();
  }
}
