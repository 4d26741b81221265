package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.cluster.Router;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A RESP SET whose value is a bulk of RespDecoder.SLICE_BULK_BYTES (1 KiB) and up goes from the
 * connection's buffer into the store without a heap array (BufferedValue): the value stored is the
 * one sent, whatever the read boundaries, the entry size and the command's options; every buffer
 * the connection allocated or received is released exactly once, on success and on every refusal;
 * commands that cannot take a buffer (MULTI, a request still in flight) get the value as an array.
 * Each connection is an EmbeddedChannel whose allocator records what it hands out.
 */
class RespBufferedSetTest {
  private static final int MAX_VALUE = 1 << 20;

  private final ManualClock clock = new ManualClock();
  /** 256 MiB: 256 KiB pages, so entries up to 64 KiB are inline and a buffered value can be either. */
  private final Store store =
      Stores.create(new StoreConfig(256L << 20, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalRouter local = new LocalRouter(new LocalExecutor(store));
  /** For each request routed: whether its value was buffered. */
  private final List<Boolean> buffered = new ArrayList<>();
  /** Each request routed, in order. */
  private final List<Frame> routed = new ArrayList<>();
  private final Router recording = request -> {
    buffered.add(request.buffered() != null);
    routed.add(request);
    return local.route(request);
  };
  private final TrackingAllocator allocator = new TrackingAllocator();
  private final List<ByteBuf> sent = new ArrayList<>();
  private final List<RespChannel> channels = new ArrayList<>();

  @AfterEach
  void tearDown() {
    channels.forEach(RespChannel::close);
    store.close();
  }

  /** Records every buffer it makes, to check that each was released. */
  private static final class TrackingAllocator extends AbstractByteBufAllocator {
    final List<ByteBuf> made = new ArrayList<>();

    TrackingAllocator() {
      super(true);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = UnpooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
      made.add(b);
      return b;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
      made.add(b);
      return b;
    }

    @Override
    public CompositeByteBuf compositeDirectBuffer(int maxNumComponents) {
      CompositeByteBuf b = super.compositeDirectBuffer(maxNumComponents);
      made.add(b);
      return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }
  }

  private RespChannel connection(Router router) {
    // The protocol allows twice the store's value limit, so that the store's own check is reached.
    RespChannel c = new RespChannel(RespContext.builder(router, store).clock(clock).version("test")
        .limits(RespLimits.forMaxValueBytes(2 * MAX_VALUE)).build());
    c.channel.config().setAllocator(allocator);
    channels.add(c);
    return c;
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 31 + seed); // every byte value, CR and LF included
    }
    return v;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] command(byte[]... args) {
    ByteBuf buf = Unpooled.buffer();
    buf.writeCharSequence("*" + args.length + "\r\n", StandardCharsets.US_ASCII);
    for (byte[] a : args) {
      buf.writeCharSequence("$" + a.length + "\r\n", StandardCharsets.US_ASCII);
      buf.writeBytes(a).writeCharSequence("\r\n", StandardCharsets.US_ASCII);
    }
    byte[] out = new byte[buf.readableBytes()];
    buf.readBytes(out);
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    ByteBuf buf = Unpooled.buffer();
    for (byte[] p : parts) {
      buf.writeBytes(p);
    }
    byte[] out = new byte[buf.readableBytes()];
    buf.readBytes(out);
    return out;
  }

  /** Sends {@code bytes} in reads of {@code chunk} (each a direct buffer, as a socket read is) and returns the replies. */
  private String send(RespChannel c, byte[] bytes, int chunk) {
    StringBuilder out = new StringBuilder();
    for (int at = 0; at < bytes.length && c.channel.isOpen(); at += chunk) {
      ByteBuf read = Unpooled.directBuffer(chunk).writeBytes(bytes, at, Math.min(chunk, bytes.length - at));
      sent.add(read);
      c.channel.writeInbound(read);
      out.append(c.output());
    }
    return out.toString();
  }

  private static String bulk(byte[] v) {
    return "$" + v.length + "\r\n" + new String(v, StandardCharsets.ISO_8859_1) + "\r\n";
  }

  /** Every buffer received or made on the connections has been released. */
  private void assertAllReleased() {
    for (RespChannel c : channels) {
      c.output();
    }
    assertThat(sent).allSatisfy(buf -> assertThat(buf.refCnt()).as("a read buffer").isZero());
    assertThat(allocator.made).allSatisfy(buf -> assertThat(buf.refCnt()).as("an allocated buffer").isZero());
  }

  @Test
  void set_largeValueInOneRead_storedFromItsBuffer_andEveryBufferReleased() {
    RespChannel c = connection(recording);
    byte[] v = value(200_000, 1);

    assertThat(send(c, command(b("SET"), b("k"), v), 1 << 20)).isEqualTo("+OK\r\n");

    assertThat(buffered).containsExactly(true);
    assertThat(store.get(b("k"))).isEqualTo(v);
    assertAllReleased();
  }

  @Test
  void set_valuesAroundTheInlineLargeBoundary_inSmallReads_eachStoredExactly() {
    RespChannel c = connection(recording);
    // 256 KiB pages: an entry of up to 64 KiB stays in its page; the values straddle that size
    int[] lengths = {RespDecoder.STREAM_BULK_BYTES, 65_500, 65_510, 65_520, 65_530, 65_536, 65_537, 300_000};
    for (int i = 0; i < lengths.length; i++) {
      byte[] v = value(lengths[i], i);
      assertThat(send(c, command(b("SET"), b("k" + i), v), 3_001)).as("length %d", lengths[i]).isEqualTo("+OK\r\n");
      assertThat(store.get(b("k" + i))).as("length %d", lengths[i]).isEqualTo(v);
    }
    assertThat(buffered).hasSize(lengths.length).containsOnly(true);
    assertAllReleased();
  }

  @Test
  void set_exactlyTheMaxValue_isStored_andOneByteOver_isRefusedByTheStore_bothReleased() {
    RespChannel c = connection(recording);
    byte[] max = value(MAX_VALUE, 2);
    byte[] over = value(MAX_VALUE + 1, 3);

    assertThat(send(c, command(b("SET"), b("max"), max), 65_536)).isEqualTo("+OK\r\n");
    String refused = send(c, command(b("SET"), b("over"), over), 65_536);

    assertThat(store.get(b("max"))).isEqualTo(max);
    assertThat(refused).isEqualTo("-" + RespErrors.TOO_LARGE + "\r\n");
    assertThat(store.exists(b("over"))).isFalse();
    assertThat(buffered).containsExactly(true, true);
    assertAllReleased();
  }

  /** SETs k0, k1, ... to {@code v} until one is refused for memory; returns how many were stored. */
  private int fillUntilRefused(RespChannel c, byte[] v) {
    for (int i = 0; i < 20; i++) {
      String reply = send(c, command(b("SET"), b("k" + i), v), 1 << 20);
      if (reply.startsWith("-OOM")) {
        return i;
      }
      assertThat(reply).isEqualTo("+OK\r\n");
    }
    throw new AssertionError("20 SETs of " + v.length + " bytes were all stored");
  }

  @Test
  void set_refusedForMemory_storesNothing_andReleasesItsBuffer() {
    Store small = Stores.create(new StoreConfig(8L << 20, MAX_VALUE, EvictionPolicy.NOEVICTION, clock));
    try {
      RespChannel c = connection(new LocalRouter(new LocalExecutor(small)));
      byte[] v = value(700_000, 4);
      int stored = fillUntilRefused(c, v);
      byte[] key = b("k" + stored); // the refused key: its index has grown already
      long used = small.stats().bytesUsed();

      String again = send(c, command(b("SET"), key, v), 1 << 20);

      assertThat(again).startsWith("-OOM");
      assertThat(stored).isPositive();
      assertThat(small.exists(key)).isFalse();
      assertThat(small.stats().bytesUsed()).isEqualTo(used);
      assertThat(small.size()).isEqualTo(stored);
      assertAllReleased();
    } finally {
      small.close();
    }
  }

  @Test
  void pipelinedLargeSets_interleavedWithGets_atOddReadBoundaries_repliesInOrderWithTheValuesJustSet() {
    RespChannel c = connection(recording);
    byte[] a = value(100_000, 5);
    byte[] a2 = value(40_000, 6);
    byte[] d = value(300_001, 7);
    byte[] stream = concat(
        command(b("SET"), b("a"), a),
        command(b("GET"), b("a")),
        command(b("SET"), b("a"), a2, b("EX"), b("100")),
        command(b("GET"), b("a")),
        command(b("SETEX"), b("d"), b("100"), d),
        command(b("GET"), b("d")),
        command(b("SETNX"), b("d"), a),
        command(b("GET"), b("d")));

    String replies = send(c, stream, 7_777);

    assertThat(replies).isEqualTo("+OK\r\n" + bulk(a) + "+OK\r\n" + bulk(a2) + "+OK\r\n" + bulk(d) + ":0\r\n" + bulk(d));
    assertThat(store.ttlMillis(b("a"))).isEqualTo(100_000);
    assertThat(store.ttlMillis(b("d"))).isEqualTo(100_000);
    assertAllReleased();
  }

  @Test
  void set_withASyntaxError_afterItsValue_isRefused_andReleased() {
    RespChannel c = connection(recording);

    String reply = send(c, command(b("SET"), b("k"), value(50_000, 8), b("BOGUS")), 1 << 20);

    assertThat(reply).isEqualTo("-ERR syntax error\r\n");
    assertThat(buffered).isEmpty();
    assertThat(store.exists(b("k"))).isFalse();
    assertAllReleased();
  }

  @Test
  void set_insideMulti_getsTheValueAsAnArray_andExecStoresIt() {
    RespChannel c = connection(recording);
    byte[] v = value(90_000, 9);

    String replies = send(c, concat(command(b("MULTI")), command(b("SET"), b("k"), v), command(b("EXEC"))), 1 << 20);

    assertThat(replies).isEqualTo("+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    assertThat(store.get(b("k"))).isEqualTo(v);
    assertAllReleased();
  }

  @Test
  void otherCommands_getTheirLargeArgumentsAsArrays() {
    RespChannel c = connection(recording);
    byte[] v = value(60_000, 10);

    String replies = send(c, concat(command(b("SETRANGE"), b("k"), b("0"), v), command(b("ECHO"), v),
        command(b("GET"), b("k"))), 1 << 20);

    assertThat(replies).isEqualTo(":60000\r\n" + bulk(v) + bulk(v));
    assertThat(buffered).doesNotContain(true);
    assertAllReleased();
  }

  @Test
  void set_stillInFlightWhenSent_keepsACopy_andReleasesItsBuffer() {
    ScriptedRouter router = new ScriptedRouter();
    router.hold(true); // as a request forwarded to its owner: answered later, on another thread
    RespChannel c = connection(router);
    byte[] v = value(120_000, 11);

    send(c, command(b("SET"), b("k"), v), 1 << 20);
    Frame request = router.last();

    assertThat(request.buffered()).isNotNull();
    assertThat(request.buffered().held()).as("the buffer was given back once sent").isFalse();
    assertAllReleased();
    assertThat(request.value()).isEqualTo(v); // what a forward would encode, read after the send
    router.pending.get(0).complete(request.replyOk());
    assertThat(c.output()).isEqualTo("+OK\r\n");
  }

  @Test
  void connectionClosedMidValue_releasesWhatItReceived() {
    RespChannel c = connection(recording);
    byte[] request = command(b("SET"), b("k"), value(500_000, 12));
    send(c, java.util.Arrays.copyOf(request, 250_000), 10_000);

    c.channel.close();

    assertThat(buffered).isEmpty();
    assertAllReleased();
  }

  @Test
  void answeredRequest_itsBufferedValueIsGone_aLateReadFailsLoudly() {
    List<Frame> seen = new ArrayList<>();
    RespChannel c = connection(request -> {
      seen.add(request);
      return CompletableFuture.completedFuture(request.replyOk());
    });

    send(c, command(b("SET"), b("k"), value(40_000, 13)), 1 << 20);

    assertThat(seen.get(0).buffered().held()).isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> seen.get(0).value())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
    assertAllReleased();
  }

  /**
   * The request carried its value in a buffer and no heap array of it was made while it ran: a
   * BufferedValue keeps any array it makes, so only one never copied is unreadable once released.
   */
  private static void assertNoArrayMade(Frame request) {
    assertThat(request.buffered()).as("a buffered value").isNotNull();
    assertThat(request.buffered().held()).as("given back once answered").isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(request::value)
        .as("no heap copy of the value").isInstanceOf(IllegalStateException.class);
  }

  @Test
  void set_withEachOption_takesItsValueFromTheBuffer_andAnswersAsRedis() {
    RespChannel c = connection(recording);
    byte[] v1 = value(50_000, 20);
    byte[] v2 = value(70_000, 21);
    byte[] v3 = value(90_000, 22);
    store.put(b("old"), b("before"));
    store.put(b("ttl"), b("x"));
    store.expireAt(b("ttl"), clock.millis() + 60_000, io.distcache.server.store.ExpireCondition.ALWAYS);

    String replies = send(c, concat(
        command(b("SET"), b("old"), v1, b("GET")), // the old value back
        command(b("SET"), b("new"), v1, b("GET")), // none: nil
        command(b("SET"), b("old"), v2, b("NX")), // exists: nil, unchanged
        command(b("SET"), b("absent"), v2, b("XX")), // absent: nil, not created
        command(b("SET"), b("old"), v2, b("XX"), b("PX"), b("5000")),
        command(b("SET"), b("ttl"), v3, b("KEEPTTL")),
        command(b("SET"), b("ex"), v3, b("NX"), b("EX"), b("100"), b("GET"))), 9_001);

    assertThat(replies).isEqualTo(bulk(b("before")) + "$-1\r\n" + "$-1\r\n" + "$-1\r\n" + "+OK\r\n" + "+OK\r\n"
        + "$-1\r\n");
    assertThat(store.get(b("old"))).isEqualTo(v2);
    assertThat(store.ttlMillis(b("old"))).isEqualTo(5_000);
    assertThat(store.get(b("new"))).isEqualTo(v1);
    assertThat(store.exists(b("absent"))).isFalse();
    assertThat(store.get(b("ttl"))).isEqualTo(v3);
    assertThat(store.ttlMillis(b("ttl"))).isEqualTo(60_000);
    assertThat(store.get(b("ex"))).isEqualTo(v3);
    assertThat(store.ttlMillis(b("ex"))).isEqualTo(100_000);
    assertThat(routed).hasSize(7).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void getset_largeValue_storedFromItsBuffer_repliesTheOldValue() {
    RespChannel c = connection(recording);
    byte[] v1 = value(60_000, 23);
    byte[] v2 = value(300_000, 24);

    String replies = send(c, concat(command(b("GETSET"), b("k"), v1), command(b("GETSET"), b("k"), v2)), 7_000);

    assertThat(replies).isEqualTo("$-1\r\n" + bulk(v1));
    assertThat(store.get(b("k"))).isEqualTo(v2);
    assertThat(routed).hasSize(2).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void getsetAndSetGet_onAHash_wrongType_storeNothing_andRelease() {
    RespChannel c = connection(recording);
    send(c, command(b("HSET"), b("h"), b("f"), b("v")), 1 << 20);
    routed.clear();

    String replies = send(c, concat(command(b("GETSET"), b("h"), value(40_000, 25)),
        command(b("SET"), b("h"), value(40_000, 26), b("GET"))), 1 << 20);

    String wrongType = "-" + RespErrors.WRONGTYPE + "\r\n";
    assertThat(replies).isEqualTo(wrongType + wrongType);
    assertThat(store.typeOf(b("h"))).isEqualTo(io.distcache.protocol.ValueType.HASH);
    assertThat(routed).hasSize(2).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void mset_largeAndSmallValues_inSmallReads_eachStoredFromItsBuffer() {
    RespChannel c = connection(recording);
    byte[] a = value(100_000, 27);
    byte[] small = b("small");
    byte[] d = value(RespDecoder.STREAM_BULK_BYTES, 28);
    byte[] e = value(700_000, 29);

    String reply = send(c, command(b("MSET"), b("a"), a, b("s"), small, b("d"), d, b("e"), e, b("a"), d), 5_003);

    assertThat(reply).isEqualTo("+OK\r\n");
    assertThat(store.get(b("a"))).as("the last of a key's values, as Redis").isEqualTo(d);
    assertThat(store.get(b("s"))).isEqualTo(small);
    assertThat(store.get(b("d"))).isEqualTo(d);
    assertThat(store.get(b("e"))).isEqualTo(e);
    assertThat(routed).hasSize(1).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void msetnx_largeValues_allOrNothing_fromTheirBuffers() {
    RespChannel c = connection(recording);
    byte[] x = value(80_000, 30);
    byte[] y = value(90_000, 31);

    String replies = send(c, concat(command(b("MSETNX"), b("x"), x, b("y"), y),
        command(b("MSETNX"), b("z"), x, b("y"), x)), 1 << 20);

    assertThat(replies).isEqualTo(":1\r\n:0\r\n");
    assertThat(store.get(b("x"))).isEqualTo(x);
    assertThat(store.get(b("y"))).isEqualTo(y);
    assertThat(store.exists(b("z"))).as("nothing written when one key exists").isFalse();
    assertThat(routed).hasSize(2).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void mset_refusals_wrongArityOrTooLarge_storeNothing_andRelease() {
    RespChannel c = connection(recording);

    String arity = send(c, command(b("MSET"), b("a"), value(50_000, 32), b("b")), 1 << 20);
    String tooLarge = send(c, command(b("MSET"), b("a"), value(50_000, 33), b("b"), value(MAX_VALUE + 1, 34)), 65_536);

    assertThat(arity).isEqualTo("-" + RespErrors.wrongArity("mset") + "\r\n");
    assertThat(tooLarge).isEqualTo("-" + RespErrors.TOO_LARGE + "\r\n");
    assertThat(store.exists(b("a"))).isFalse();
    assertThat(store.exists(b("b"))).isFalse();
    assertAllReleased();
  }

  @Test
  void mset_insideMulti_getsItsValuesAsArrays_andExecStoresThem() {
    RespChannel c = connection(recording);
    byte[] v = value(90_000, 35);

    String replies = send(c, concat(command(b("MULTI")), command(b("MSET"), b("k"), v, b("l"), v),
        command(b("EXEC"))), 1 << 20);

    assertThat(replies).isEqualTo("+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    assertThat(store.get(b("k"))).isEqualTo(v);
    assertThat(store.get(b("l"))).isEqualTo(v);
    assertThat(buffered).doesNotContain(true);
    assertAllReleased();
  }

  @Test
  void mset_stillInFlightWhenSent_keepsACopyOfItsPairList_andReleasesItsBuffers() {
    ScriptedRouter router = new ScriptedRouter();
    router.hold(true); // as a request forwarded to its owner: answered later, on another thread
    RespChannel c = connection(router);
    byte[] v = value(120_000, 36);

    send(c, command(b("MSET"), b("k"), v, b("s"), b("small")), 1 << 20);
    Frame request = router.last();

    assertThat(request.buffered()).isNotNull();
    assertThat(request.buffered().held()).as("the buffers were given back once sent").isFalse();
    assertAllReleased();
    // what a forward encodes, read after the send: the pair list an array-built MSET would carry
    assertThat(request.value()).isEqualTo(io.distcache.protocol.ListCodec.encodePairs(List.of(b("k"), b("s")),
        List.of(v, b("small"))));
    router.pending.get(0).complete(request.replyOk());
    assertThat(c.output()).isEqualTo("+OK\r\n");
  }

  @Test
  void append_largeSuffixes_storedFromTheirBuffers_atOddReadBoundaries() {
    RespChannel c = connection(recording);
    byte[] a = value(300_000, 40);
    byte[] d = value(70_000, 41);

    String replies = send(c, concat(command(b("APPEND"), b("k"), a), command(b("APPEND"), b("k"), d),
        command(b("APPEND"), b("k"), b("tail")), command(b("GET"), b("k"))), 6_007);

    byte[] all = concat(a, d, b("tail"));
    assertThat(replies).isEqualTo(":300000\r\n:370000\r\n:370004\r\n" + bulk(all));
    assertThat(store.get(b("k"))).isEqualTo(all);
    assertThat(routed.subList(0, 2)).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  /** Each response the local router gave, in order (the lent ones carry no value). */
  private final List<Frame> responses = new ArrayList<>();
  private final Router answering = request -> local.route(request).thenApply(r -> {
    responses.add(r);
    return r;
  });

  @Test
  void setGetGetsetGetdelGetex_largeOldValues_areLentOffTheHeap_andRepliedAsRedis() {
    RespChannel c = connection(answering);
    byte[] v1 = value(200_000, 42);
    byte[] v2 = value(40_000, 43);
    byte[] v3 = value(700_000, 44);
    byte[] small = b("small");

    String replies = send(c, concat(
        command(b("SET"), b("k"), v1),
        command(b("SET"), b("k"), v2, b("GET")), // v1
        command(b("GETSET"), b("k"), v3), // v2
        command(b("SET"), b("k"), v1, b("NX"), b("GET")), // not written: v3
        command(b("GETEX"), b("k"), b("EX"), b("100")), // v3, and a TTL
        command(b("GETDEL"), b("k")), // v3
        command(b("GETDEL"), b("k")), // nil
        command(b("SET"), b("s"), small),
        command(b("SET"), b("s"), v2, b("GET"))), 9_013); // small: lent as an array

    assertThat(replies).isEqualTo("+OK\r\n" + bulk(v1) + bulk(v2) + bulk(v3) + bulk(v3) + bulk(v3) + "$-1\r\n"
        + "+OK\r\n" + bulk(small));
    assertThat(store.exists(b("k"))).isFalse();
    assertThat(store.get(b("s"))).isEqualTo(v2);
    // The store's answers carried no value: each was lent to the connection (LentValue)
    for (int i : new int[] {1, 2, 3, 4, 6, 9}) {
      assertThat(responses.get(i).value()).as("response %d (%s)", i, responses.get(i).op()).isEmpty();
    }
    assertAllReleased();
  }

  /*
   * GETEX without an option is a GET: its value goes from the store into the reply once, through
   * the connection's own sink, as GET's does (issue 16: it was lent, copied into chunks and then
   * into the reply). With an option it is still lent, as the EXPIRE must be answered first.
   */
  @Test
  void getexWithoutOptions_writesTheValueOnceAsGet_withOptionsLendsIt() {
    RespChannel c = connection(recording);
    byte[] v = value(300_000, 47);
    store.set(b("k"), v, new io.distcache.server.store.SetArgs(io.distcache.server.store.SetArgs.Condition.ALWAYS,
        Store.NO_EXPIRY, true, false));

    String replies = send(c, concat(command(b("GET"), b("k")), command(b("GETEX"), b("k")),
        command(b("GETEX"), b("k"), b("PERSIST")), command(b("GETEX"), b("nokey"))), 8_191);

    assertThat(replies).isEqualTo(bulk(v) + bulk(v) + bulk(v) + "$-1\r\n");
    assertThat(routed.get(1).op()).isEqualTo(io.distcache.protocol.Opcode.GET);
    assertThat(routed.get(1).sink()).as("GETEX's sink is GET's").isNotNull()
        .isNotInstanceOf(LentValue.class).hasSameClassAs(routed.get(0).sink());
    assertThat(routed.get(2).sink()).as("GETEX PERSIST lends its value").isInstanceOf(LentValue.class);
    assertAllReleased();
  }

  @Test
  void setGet_refusedForMemory_afterTheOldValueWasLent_repliesOnlyTheError_andReleasesIt() {
    Store small = Stores.create(new StoreConfig(8L << 20, MAX_VALUE, EvictionPolicy.NOEVICTION, clock));
    try {
      RespChannel c = connection(new LocalRouter(new LocalExecutor(small)));
      byte[] v = value(700_000, 45);
      assertThat(fillUntilRefused(c, v)).isPositive();
      byte[] first = b("k0");

      String refused = send(c, command(b("SET"), first, value(900_000, 46), b("GET")), 1 << 20);

      assertThat(refused).startsWith("-OOM").doesNotContain("$");
      assertThat(small.get(first)).isEqualTo(v);
      assertAllReleased();
    } finally {
      small.close();
    }
  }

  @Test
  void lentValue_whoseReplyWaits_isWrittenWhenAnswered_orReleasedWhenTheConnectionCloses() {
    // As a write that waits for its replicas: served here at once (the value lent), answered later.
    List<CompletableFuture<Frame>> later = new ArrayList<>();
    List<Frame> answers = new ArrayList<>();
    Router waiting = request -> {
      answers.add(local.route(request).join());
      CompletableFuture<Frame> f = new CompletableFuture<>();
      later.add(f);
      return f;
    };
    byte[] v = value(150_000, 47);
    store.put(b("a"), v);
    store.put(b("b"), v);
    RespChannel c = connection(waiting);

    assertThat(send(c, command(b("GETDEL"), b("a")), 1 << 20)).isEmpty();
    later.get(0).complete(answers.get(0));
    assertThat(c.output()).isEqualTo(bulk(v));

    send(c, command(b("GETDEL"), b("b")), 1 << 20);
    assertThat(answers.get(1).value()).as("lent").isEmpty();
    c.channel.close();
    assertAllReleased(); // the chunks of b's value, never written
  }

  // ---- values below STREAM_BULK_BYTES: slices of the read buffer from SLICE_BULK_BYTES ----

  /**
   * SET, SETEX and MSET of a value of each size around the thresholds, in one read and split across
   * reads of 7 and 1,000 bytes: from RespDecoder.SLICE_BULK_BYTES the value reaches the store from
   * the connection's buffer, with no heap array of it; below, as an array.
   */
  @ParameterizedTest
  @CsvSource({"1023, false", "1024, true", "4096, true", "32767, true", "32768, true"})
  void setSetexMset_valuesAroundTheThresholds_wholeOrSplit_storedExactly_fromTheBufferFromTheSliceThreshold(
      int length, boolean fromBuffer) {
    RespChannel c = connection(recording);
    int i = 0;
    for (int read : new int[] {1 << 20, 7, 1_000}) {
      byte[] v = value(length, i);
      byte[] w = value(length, i + 1);
      String replies = send(c, concat(command(b("SET"), b("k" + i), v), command(b("SETEX"), b("e" + i), b("100"), v),
          command(b("MSET"), b("m" + i), v, b("n" + i), w)), read);

      assertThat(replies).as("reads of %d", read).isEqualTo("+OK\r\n+OK\r\n+OK\r\n");
      assertThat(store.get(b("k" + i))).isEqualTo(v);
      assertThat(store.get(b("e" + i))).isEqualTo(v);
      assertThat(store.ttlMillis(b("e" + i))).isEqualTo(100_000);
      assertThat(store.get(b("m" + i))).isEqualTo(v);
      assertThat(store.get(b("n" + i))).isEqualTo(w);
      i += 2;
    }
    assertThat(buffered).hasSize(9).containsOnly(fromBuffer);
    if (fromBuffer) {
      assertThat(routed).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    }
    assertAllReleased();
  }

  @Test
  void pipelinedBurst_ofSixteenSmallSets_inOneRead_eachFromTheReadBuffer_whichIsReleasedAfter() {
    RespChannel c = connection(recording);
    List<byte[]> values = new ArrayList<>();
    byte[][] requests = new byte[16][];
    for (int i = 0; i < 16; i++) {
      values.add(value(RespDecoder.SLICE_BULK_BYTES + 100 * i, i));
      requests[i] = command(b("SET"), b("k" + i), values.get(i));
    }

    String replies = send(c, concat(requests), 1 << 20);

    assertThat(replies).isEqualTo("+OK\r\n".repeat(16));
    for (int i = 0; i < 16; i++) {
      assertThat(store.get(b("k" + i))).isEqualTo(values.get(i));
    }
    assertThat(routed).hasSize(16).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  @Test
  void smallValueSets_insideMulti_getTheirValuesAsArrays_andExecStoresThem() {
    RespChannel c = connection(recording);
    byte[] v = value(2_000, 50);
    byte[] w = value(RespDecoder.SLICE_BULK_BYTES, 51);

    String replies = send(c, concat(command(b("MULTI")), command(b("SET"), b("k"), v),
        command(b("MSET"), b("a"), w, b("b"), v), command(b("GETSET"), b("k"), w), command(b("EXEC"))), 1_001);

    assertThat(replies).isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n" + bulk(v));
    assertThat(store.get(b("k"))).isEqualTo(w);
    assertThat(store.get(b("a"))).isEqualTo(w);
    assertThat(store.get(b("b"))).isEqualTo(v);
    assertThat(buffered).doesNotContain(true);
    assertAllReleased();
  }

  /**
   * A SET that waits to run (here behind MAX_PARKED replies not yet come, as behind a blocking pop
   * or a script) copies its value out of the read buffer when it is queued: the read buffer is
   * released at once, and the SET later stores the value from its own buffer, without an array.
   */
  @Test
  void set_waitingBehindParkedReplies_copiesItsValueOutOfTheReadBuffer_thenStoresItFromItsOwnBuffer() {
    List<CompletableFuture<Frame>> gets = new ArrayList<>();
    RespChannel c = connection(request -> {
      if (request.op() == io.distcache.protocol.Opcode.GET) {
        CompletableFuture<Frame> f = new CompletableFuture<>();
        gets.add(f);
        return f;
      }
      return recording.route(request);
    });
    byte[] v = value(3_000, 52);
    byte[][] requests = new byte[RespSession.MAX_PARKED + 1][];
    java.util.Arrays.fill(requests, 0, RespSession.MAX_PARKED, command(b("GET"), b("x")));
    requests[RespSession.MAX_PARKED] = command(b("SET"), b("k"), v);

    assertThat(send(c, concat(requests), 1 << 20)).isEmpty();

    assertThat(gets).hasSize(RespSession.MAX_PARKED);
    assertThat(routed).as("the SET waits").isEmpty();
    assertThat(sent).hasSize(1).allSatisfy(buf -> assertThat(buf.refCnt()).as("the read buffer").isZero());
    gets.forEach(f -> f.complete(Frame.request(io.distcache.protocol.Opcode.GET, b("x")).replyOk()));
    assertThat(c.output()).endsWith("+OK\r\n");
    assertThat(store.get(b("k"))).isEqualTo(v);
    assertThat(routed).hasSize(1).allSatisfy(RespBufferedSetTest::assertNoArrayMade);
    assertAllReleased();
  }

  /** The slow log shows a value that went to the store from its buffer as Redis: 128 bytes and how many more. */
  @Test
  void slowlog_showsTheHeadOfABufferedValue_servedAtOnceOrAnsweredLater() {
    ScriptedRouter router = new ScriptedRouter();
    RespChannel c = connection(router);
    send(c, concat(command(b("CONFIG"), b("SET"), b("slowlog-log-slower-than"), b("0")), command(b("SLOWLOG"),
        b("RESET"))), 1 << 20);
    byte[] v = value(2_000, 53);
    byte[] w = value(40_000, 54);
    byte[] shownV = concat(java.util.Arrays.copyOf(v, SlowLog.MAX_ARG_BYTES), b("... (1872 more bytes)"));
    byte[] shownW = concat(java.util.Arrays.copyOf(w, SlowLog.MAX_ARG_BYTES), b("... (39872 more bytes)"));

    send(c, concat(command(b("SET"), b("k"), v), command(b("MSET"), b("a"), w, b("b"), v)), 1 << 20);
    router.hold(true); // answered later: the reply, and the slow log's entry, come after the buffer is gone
    send(c, command(b("SET"), b("later"), w), 1 << 20);
    router.pending.get(0).complete(router.last().replyOk());
    c.output();
    router.hold(false);
    String log = send(c, command(b("SLOWLOG"), b("GET"), b("3")), 1 << 20);

    assertThat(log).contains("$3\r\nSET\r\n$5\r\nlater\r\n" + bulk(shownW))
        .contains("$4\r\nMSET\r\n$1\r\na\r\n" + bulk(shownW) + "$1\r\nb\r\n" + bulk(shownV))
        .contains("$3\r\nSET\r\n$1\r\nk\r\n" + bulk(shownV));
    assertAllReleased();
  }
}
