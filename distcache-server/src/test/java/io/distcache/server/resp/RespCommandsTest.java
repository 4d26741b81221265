package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every command end to end against a real store behind a LocalRouter, with a manual clock. */
class RespCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  // ---- connection ----

  @Test
  void ping_echo_select_time() {
    assertThat(send("PING", "PING hi", "ECHO a", "SELECT 0")).isEqualTo("+PONG\r\n$2\r\nhi\r\n$1\r\na\r\n+OK\r\n");
    assertThat(send("SELECT 1")).isEqualTo("-ERR DB index is out of range\r\n");
    assertThat(send("SELECT x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("PING a b")).isEqualTo("-ERR wrong number of arguments for 'ping' command\r\n");
    assertThat(send("TIME")).isEqualTo("*2\r\n$10\r\n" + clock.millis() / 1000 + "\r\n$1\r\n0\r\n");
  }

  @Test
  void auth_noPasswordConfigured_redisErrors() {
    assertThat(send("AUTH secret")).isEqualTo("-ERR AUTH <password> called without any password configured "
        + "for the default user. Are you sure your configuration is correct?\r\n");
    assertThat(send("AUTH default anything")).isEqualTo("+OK\r\n");
    assertThat(send("AUTH bob pw")).isEqualTo("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assertThat(send("AUTH a b c")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void hello_versions_mapReplyAndProtocolSwitch() {
    String id = send("CLIENT ID").trim().substring(1);
    assertThat(send("HELLO")).isEqualTo("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.4\r\n"
        + "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:" + id + "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
        + "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
    assertThat(send("HELLO 3 SETNAME app")).startsWith("%7\r\n$6\r\nserver\r\n").contains("$5\r\nproto\r\n:3\r\n");
    assertThat(send("CLIENT GETNAME", "GET missing")).isEqualTo("$3\r\napp\r\n_\r\n");
    assertThat(send("HELLO 4")).isEqualTo("-NOPROTO unsupported protocol version\r\n");
    assertThat(send("HELLO x")).isEqualTo("-ERR Protocol version is not an integer or out of range\r\n");
    assertThat(send("HELLO 3 FOO")).isEqualTo("-ERR Syntax error in HELLO option 'FOO'\r\n");
    assertThat(send("HELLO 3 AUTH default pw")).startsWith("%7\r\n");
    assertThat(send("RESET", "GET missing", "CLIENT GETNAME")).isEqualTo("+RESET\r\n$-1\r\n$-1\r\n");
  }

  @Test
  void client_subcommands() {
    assertThat(send("CLIENT SETNAME worker-1", "CLIENT GETNAME")).isEqualTo("+OK\r\n$8\r\nworker-1\r\n");
    assertThat(resp.call(b("CLIENT"), b("SETNAME"), b("a b")))
        .isEqualTo("-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    assertThat(send("CLIENT SETINFO LIB-NAME jedis", "CLIENT SETINFO lib-ver 8.0")).isEqualTo("+OK\r\n+OK\r\n");
    assertThat(send("CLIENT SETINFO color red")).isEqualTo("-ERR Unrecognized option 'color'\r\n");
    assertThat(send("CLIENT INFO")).contains("name=worker-1").contains("lib-name=jedis lib-ver=8.0").endsWith("\n\r\n");
    assertThat(send("CLIENT LIST")).contains("id=").contains("cmd=client|list");
    assertThat(send("CLIENT FOO")).isEqualTo("-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    assertThat(send("CLIENT SETNAME")).isEqualTo("-ERR wrong number of arguments for 'client|setname' command\r\n");
    assertThat(send("CLIENT HELP")).startsWith("*41\r\n+CLIENT <subcommand>");
  }

  @Test
  void command_countInfoDocsList() {
    int count = resp.context.commands().all().size();
    assertThat(send("COMMAND COUNT")).isEqualTo(":" + count + "\r\n");
    assertThat(send("COMMAND INFO get nosuch")).isEqualTo("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n"
        + ":1\r\n:1\r\n:1\r\n*3\r\n+@string\r\n+@read\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
    assertThat(send("COMMAND")).startsWith("*" + count + "\r\n*10\r\n");
    assertThat(send("COMMAND DOCS get")).isEqualTo("*2\r\n$3\r\nget\r\n*6\r\n$7\r\nsummary\r\n$0\r\n\r\n"
        + "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n");
    assertThat(send("COMMAND LIST FILTERBY PATTERN getr*")).isEqualTo("*1\r\n$8\r\ngetrange\r\n");
  }

  @Test
  void config_get_globPatterns() {
    assertThat(send("CONFIG GET save")).isEqualTo("*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    assertThat(send("CONFIG GET appendonly maxmemory-policy"))
        .isEqualTo("*4\r\n$10\r\nappendonly\r\n$2\r\nno\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n");
    assertThat(send("CONFIG GET MAXMEM*")).isEqualTo("*4\r\n$9\r\nmaxmemory\r\n$8\r\n67108864\r\n"
        + "$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n");
    assertThat(send("CONFIG GET proto-max-bulk-len databases"))
        .isEqualTo("*4\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n$9\r\ndatabases\r\n$1\r\n1\r\n");
    assertThat(send("CONFIG GET nosuch")).isEqualTo("*0\r\n");
    assertThat(send("CONFIG GET")).isEqualTo("-ERR wrong number of arguments for 'config|get' command\r\n");
    assertThat(send("CONFIG FOO")).isEqualTo("-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
    assertThat(send("CONFIG SET a b")).isEqualTo("-ERR Unknown option or number of arguments for CONFIG SET - 'a'\r\n");
    assertThat(send("CONFIG SET maxmemory 1"))
        .startsWith("-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - ");
    send("HELLO 3");
    assertThat(send("CONFIG GET timeout")).isEqualTo("%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n");
  }

  @Test
  void info_sections_redisFieldNames() {
    send("SET a 1", "SET b 2 EX 100", "GET a", "GET nope");
    String all = send("INFO");
    assertThat(all).contains("# Server\r\nredis_version:7.2.4\r\n").contains("distcache_version:test\r\n")
        .contains("connected_clients:1\r\n").contains("used_memory:").contains("maxmemory:67108864\r\n")
        .contains("maxmemory_policy:allkeys-lru\r\n").contains("keyspace_hits:1\r\n").contains("keyspace_misses:1\r\n")
        .contains("total_commands_processed:5\r\n").contains("total_connections_received:1\r\n")
        .contains("expired_keys:0\r\n").contains("evicted_keys:0\r\n")
        .contains("db0:keys=2,expires=1,avg_ttl=100000,subexpiry=0\r\n").contains("cluster_enabled:0\r\n");
    String keyspace = send("INFO keyspace");
    assertThat(keyspace).contains("# Keyspace").doesNotContain("# Server");
    send("HELLO 3");
    assertThat(send("INFO cluster")).startsWith("=").contains("txt:# Cluster\r\ncluster_enabled:0\r\n");
  }

  @Test
  void dbsize_flush_randomkey() {
    assertThat(send("DBSIZE", "RANDOMKEY")).isEqualTo(":0\r\n$-1\r\n");
    send("SET a 1");
    assertThat(send("DBSIZE", "RANDOMKEY")).isEqualTo(":1\r\n$1\r\na\r\n");
    assertThat(send("FLUSHDB ASYNC", "DBSIZE")).isEqualTo("+OK\r\n:0\r\n");
    send("SET a 1");
    assertThat(send("FLUSHALL", "DBSIZE")).isEqualTo("+OK\r\n:0\r\n");
    assertThat(send("FLUSHALL LATER")).isEqualTo("-ERR syntax error\r\n");
  }

  // ---- strings ----

  @Test
  void set_get_options() {
    assertThat(send("SET k v", "GET k", "GET nope")).isEqualTo("+OK\r\n$1\r\nv\r\n$-1\r\n");
    assertThat(send("SET k w NX", "SET n w XX", "SET k w XX GET", "GET k")).isEqualTo("$-1\r\n$-1\r\n$1\r\nv\r\n$1\r\nw\r\n");
    assertThat(send("SET t v EX 10", "TTL t", "SET t v2 KEEPTTL", "PTTL t")).isEqualTo("+OK\r\n:10\r\n+OK\r\n:10000\r\n");
    assertThat(send("SET t v3", "TTL t")).isEqualTo("+OK\r\n:-1\r\n");
    assertThat(send("SET p v PXAT " + (clock.millis() + 2500), "PTTL p")).isEqualTo("+OK\r\n:2500\r\n");
    assertThat(send("SET p v EXAT 1", "GET p")).isEqualTo("+OK\r\n$-1\r\n");
  }

  @Test
  void setnx_setex_psetex_getset_getdel() {
    assertThat(send("SETNX a 1", "SETNX a 2", "GET a")).isEqualTo(":1\r\n:0\r\n$1\r\n1\r\n");
    assertThat(send("SETEX b 5 x", "TTL b", "PSETEX c 1500 y", "PTTL c")).isEqualTo("+OK\r\n:5\r\n+OK\r\n:1500\r\n");
    assertThat(send("GETSET a 9", "GETSET new 1", "GET a")).isEqualTo("$1\r\n1\r\n$-1\r\n$1\r\n9\r\n");
    assertThat(send("GETSET b 2", "TTL b")).isEqualTo("$1\r\nx\r\n:-1\r\n");
    assertThat(send("GETDEL a", "GETDEL a", "EXISTS a")).isEqualTo("$1\r\n9\r\n$-1\r\n:0\r\n");
  }

  @Test
  void getex_options() {
    send("SET k v");
    assertThat(send("GETEX k", "TTL k")).isEqualTo("$1\r\nv\r\n:-1\r\n");
    assertThat(send("GETEX k EX 100", "TTL k")).isEqualTo("$1\r\nv\r\n:100\r\n");
    assertThat(send("GETEX k PX 5000", "PTTL k")).isEqualTo("$1\r\nv\r\n:5000\r\n");
    assertThat(send("GETEX k EXAT " + (clock.millis() / 1000 + 50), "TTL k")).isEqualTo("$1\r\nv\r\n:50\r\n");
    assertThat(send("GETEX k PXAT " + (clock.millis() + 700), "PTTL k")).isEqualTo("$1\r\nv\r\n:700\r\n");
    assertThat(send("GETEX k PERSIST", "TTL k")).isEqualTo("$1\r\nv\r\n:-1\r\n");
    assertThat(send("GETEX nope EX 5")).isEqualTo("$-1\r\n");
  }

  @Test
  void mget_mset_msetnx() {
    assertThat(send("MSET a 1 b 2", "MGET a b c")).isEqualTo("+OK\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
    assertThat(send("MSETNX c 3 a 0", "GET c", "MSETNX c2 3 d 4", "MGET c2 d")).isEqualTo(":0\r\n$-1\r\n:1\r\n*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    assertThat(send("MSETNX a")).isEqualTo("-ERR wrong number of arguments for 'msetnx' command\r\n");
  }

  @Test
  void counters() {
    assertThat(send("INCR n", "INCRBY n 10", "DECR n", "DECRBY n 5", "GET n")).isEqualTo(":1\r\n:11\r\n:10\r\n:5\r\n$1\r\n5\r\n");
    assertThat(send("SET s abc", "INCR s")).isEqualTo("+OK\r\n-ERR value is not an integer or out of range\r\n");
    assertThat(send("SET m 9223372036854775807", "INCR m")).isEqualTo("+OK\r\n-ERR increment or decrement would overflow\r\n");
    assertThat(send("SET f 10.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT s 1")).isEqualTo("+OK\r\n$4\r\n10.6\r\n-ERR value is not a valid float\r\n");
  }

  @Test
  void incrbyfloat_hexArgumentOverRedisFloatLimit_notAValidFloatAndNoKey() {
    byte[] longHex = b("0x1." + "0".repeat(5 * 1024));
    assertThat(resp.call(b("INCRBYFLOAT"), b("k"), longHex)).isEqualTo("-ERR value is not a valid float\r\n");
    assertThat(resp.call(b("INCRBYFLOAT"), b("k"), b("0x" + "1".repeat(16_000) + "!")))
        .isEqualTo("-ERR value is not a valid float\r\n");
    assertThat(send("EXISTS k", "INCRBYFLOAT k 0x1.8p1")).isEqualTo(":0\r\n$1\r\n3\r\n");
  }

  @Test
  void append_strlen_ranges() {
    assertThat(send("APPEND s Hello")).isEqualTo(":5\r\n");
    assertThat(resp.call(b("APPEND"), b("s"), b(" World"))).isEqualTo(":11\r\n");
    assertThat(send("STRLEN s", "STRLEN nope")).isEqualTo(":11\r\n:0\r\n");
    assertThat(send("GETRANGE s 0 4", "GETRANGE s -5 -1", "GETRANGE nope 0 1", "GETRANGE s 0 x"))
        .isEqualTo("$5\r\nHello\r\n$5\r\nWorld\r\n$0\r\n\r\n-ERR value is not an integer or out of range\r\n");
    assertThat(send("SETRANGE s 6 Redis", "GET s", "SETRANGE z 3 x", "GET z"))
        .isEqualTo(":11\r\n$11\r\nHello Redis\r\n:4\r\n$4\r\n\0\0\0x\r\n");
    assertThat(send("SETRANGE s 1048576 x")).isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  }

  @Test
  void pipelinedGetsOfLargeValue_repliesWrittenInPiecesInRequestOrder() {
    byte[] big = new byte[128 * 1024];
    Arrays.fill(big, (byte) 'v');
    assertThat(resp.call(b("SET"), b("big"), big)).isEqualTo("+OK\r\n");
    StringBuilder requests = new StringBuilder();
    StringBuilder expected = new StringBuilder();
    String bigReply = "$" + big.length + "\r\n" + "v".repeat(big.length) + "\r\n";
    for (int i = 0; i < 200; i++) {
      requests.append(RespChannel.encode("GET big", "ECHO " + i));
      expected.append(bigReply).append('$').append(Integer.toString(i).length()).append("\r\n").append(i).append("\r\n");
    }
    // 5 KB in, 26 MB out, all in one read burst: it used to become one 26 MB buffer.
    resp.channel.writeInbound(Unpooled.copiedBuffer(requests, StandardCharsets.US_ASCII));
    resp.channel.runPendingTasks();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    int largest = 0;
    ByteBuf out;
    while ((out = resp.channel.readOutbound()) != null) {
      largest = Math.max(largest, out.readableBytes());
      byte[] bytes = new byte[out.readableBytes()];
      out.readBytes(bytes);
      all.writeBytes(bytes);
      out.release();
    }
    assertThat(largest).isLessThan(1024 * 1024);
    String replies = all.toString(StandardCharsets.ISO_8859_1);
    assertThat(replies).hasSize(expected.length());
    assertThat(replies.equals(expected.toString())).as("every reply, in request order").isTrue();
  }

  @Test
  void append_overValueLimit_protoMaxBulkLenError() {
    String half = "x".repeat(600_000);
    assertThat(send("SET big " + half)).isEqualTo("+OK\r\n");
    assertThat(send("APPEND big " + half)).isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
  }

  // ---- keys ----

  @Test
  void del_unlink_exists_type() {
    send("MSET a 1 b 2 c 3");
    assertThat(send("EXISTS a", "EXISTS a a nope", "TYPE a", "TYPE nope")).isEqualTo(":1\r\n:2\r\n+string\r\n+none\r\n");
    assertThat(send("DEL a", "DEL a", "DEL b c nope", "UNLINK x", "DBSIZE")).isEqualTo(":1\r\n:0\r\n:2\r\n:0\r\n:0\r\n");
  }

  @Test
  void expire_family_andTtl() {
    send("SET k v");
    assertThat(send("EXPIRE k 100", "TTL k", "EXPIRE k 50 GT", "EXPIRE k 50 LT", "TTL k"))
        .isEqualTo(":1\r\n:100\r\n:0\r\n:1\r\n:50\r\n");
    assertThat(send("EXPIRE k 10 NX", "PERSIST k", "PERSIST k", "EXPIRE k 10 XX", "EXPIRE k 10 XX LT"))
        .isEqualTo(":0\r\n:1\r\n:0\r\n:0\r\n:0\r\n");
    assertThat(send("PEXPIRE k 1500", "PTTL k", "EXPIRE k 100 XX LT", "PTTL k")).isEqualTo(":1\r\n:1500\r\n:0\r\n:1500\r\n");
    long at = clock.millis() / 1000 + 30;
    assertThat(send("EXPIREAT k " + at, "EXPIRETIME k", "PEXPIREAT k " + (at * 1000 + 1), "PEXPIRETIME k"))
        .isEqualTo(":1\r\n:" + at + "\r\n:1\r\n:" + (at * 1000 + 1) + "\r\n");
    assertThat(send("EXPIRE nope 10", "TTL nope", "EXPIRETIME nope")).isEqualTo(":0\r\n:-2\r\n:-2\r\n");
    assertThat(send("EXPIRE k 0", "EXISTS k")).isEqualTo(":1\r\n:0\r\n");
    send("SET j v EX 5");
    clock.advanceMillis(5_000);
    assertThat(send("GET j", "TTL j")).isEqualTo("$-1\r\n:-2\r\n");
  }

  @Test
  void scan_keys_matchCountType() {
    for (int i = 0; i < 30; i++) {
      send("SET user:" + i + " v");
    }
    send("SET other v");
    java.util.Set<String> seen = new java.util.HashSet<>();
    String cursor = "0";
    int rounds = 0;
    do {
      String out = send("SCAN " + cursor + " MATCH user:* COUNT 7");
      String[] lines = out.split("\r\n");
      cursor = lines[2];
      for (int i = 5; i < lines.length; i += 2) {
        seen.add(lines[i]);
      }
      rounds++;
    } while (!cursor.equals("0") && rounds < 100);
    assertThat(seen).hasSize(30).allMatch(k -> k.startsWith("user:"));
    assertThat(send("SCAN 0 TYPE hash COUNT 1000")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
    assertThat(send("SCAN x")).isEqualTo("-ERR invalid cursor\r\n");
    assertThat(send("SCAN 0 COUNT 0")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("SCAN 0 BOGUS")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("KEYS user:1?")).startsWith("*10\r\n");
    assertThat(send("KEYS other", "KEYS nope")).isEqualTo("*1\r\n$5\r\nother\r\n*0\r\n");
  }

  @Test
  void keys_matchingMoreBytesThanTheLimit_isRefusedNamingItAndScan() {
    RespContext small = RespContext.builder(new LocalRouter(new LocalExecutor(store)), store).clock(clock)
        .limits(new RespLimits(1024, 1024, 1024, 4096)).build();
    try (RespChannel limited = new RespChannel(small)) {
      for (int i = 0; i < 40; i++) {
        limited.send("SET big:" + "k".repeat(100) + i + " v");
      }
      assertThat(limited.send("KEYS big:*")).isEqualTo("-ERR KEYS matched more than 4096 bytes of keys, the limit; use SCAN\r\n");
      // A match within the limit is answered, and the node goes on serving.
      assertThat(limited.send("KEYS big:*1")).startsWith("*4\r\n");
      assertThat(limited.send("PING")).isEqualTo("+PONG\r\n");
    }
  }

  @Test
  void keysScanConfigGet_patternOverItsStepBudget_refusedNamingTheLimit() {
    byte[] key = b("a".repeat(65536));
    assertThat(resp.call(b("SET"), key, b("v"))).isEqualTo("+OK\r\n");
    assertThat(resp.call(b("HSET"), b("h"), key, b("v"))).isEqualTo(":1\r\n");
    // 4,000 bytes retried at each of 65,536 places: 262 M steps without the budget.
    byte[] pattern = b("*" + "a".repeat(4000) + "b");
    String refusal = "-ERR pattern of 4002 bytes needs more than 4195328 steps to match 65536 bytes, the limit"
        + " (64 per byte matched + 1024); use fewer or shorter pieces between '*'s\r\n";
    assertThat(resp.call(b("KEYS"), pattern)).isEqualTo(refusal);
    assertThat(resp.call(b("SCAN"), b("0"), b("MATCH"), pattern, b("COUNT"), b("100"))).isEqualTo(refusal);
    assertThat(resp.call(b("HSCAN"), b("h"), b("0"), b("MATCH"), pattern)).isEqualTo(refusal);
    // CONFIG GET matches short names: 5,000 '*'s are more than a name's budget.
    assertThat(resp.call(b("CONFIG"), b("GET"), b("*".repeat(5000)))).startsWith("-ERR pattern of 5000 bytes needs more than ");
    // Ordinary patterns still match the long key, and the connection goes on.
    assertThat(resp.call(b("KEYS"), b("a*a"))).startsWith("*1\r\n");
    assertThat(send("PING")).isEqualTo("+PONG\r\n");
  }

  @Test
  void scan_cursorBeyondSignedRange_finishedScan() {
    send("SET a v");
    assertThat(send("SCAN 9223372036854775808", "SCAN 18446744073709551615 COUNT 5"))
        .isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n*2\r\n$1\r\n0\r\n*0\r\n");
    assertThat(send("SCAN 18446744073709551616")).isEqualTo("-ERR invalid cursor\r\n");
    assertThat(send("SCAN 9223372036854775808 BOGUS")).isEqualTo("-ERR syntax error\r\n");
  }

  /** A huge COUNT is a hint honoured up to about 10,000 keys a step; the cursor loop still sees every key. */
  @Test
  void scan_hugeCount_stepsOfAtMostTenThousand_theLoopSeesEveryKey() {
    for (int chunk = 0; chunk < 5; chunk++) {
      StringBuilder mset = new StringBuilder("MSET");
      for (int i = chunk * 5_000; i < (chunk + 1) * 5_000; i++) {
        mset.append(" k").append(i).append(" v");
      }
      send(mset.toString());
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    String cursor = "0";
    int steps = 0;
    do {
      String[] lines = send("SCAN " + cursor + " COUNT 100000000").split("\r\n");
      cursor = lines[2];
      int keys = Integer.parseInt(lines[3].substring(1));
      // a step ends where the store's bucket ends, so it may pass 10,000 by a few keys, never all 25,000
      assertThat(keys).as("keys in one step").isLessThan(11_000);
      for (int i = 0; i < keys; i++) {
        seen.add(lines[5 + 2 * i]);
      }
      steps++;
    } while (!cursor.equals("0"));
    assertThat(steps).isGreaterThanOrEqualTo(3);
    assertThat(seen).hasSize(25_000);
  }

  @Test
  void setrange_offsetNearLongMax_protoMaxBulkLenError() {
    assertThat(send("SETRANGE k 9223372036854775806 hello", "SETRANGE k 9223372036854775807 x", "EXISTS k"))
        .isEqualTo("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
            + "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n:0\r\n");
  }
}
