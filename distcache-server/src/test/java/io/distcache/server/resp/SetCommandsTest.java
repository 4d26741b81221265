package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Set commands with Redis's replies and errors, on one node. */
class SetCommandsTest {
  private static final String WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
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

  @Test
  void sadd_srem_smembers_scard_sismember() {
    assertThat(send("SADD s a b a c", "SADD s c d", "SCARD s", "SCARD nokey")).isEqualTo(":3\r\n:1\r\n:4\r\n:0\r\n");
    assertThat(send("SMEMBERS s")).isEqualTo("*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assertThat(send("SISMEMBER s a", "SISMEMBER s x", "SISMEMBER nokey a")).isEqualTo(":1\r\n:0\r\n:0\r\n");
    assertThat(send("SMISMEMBER s a x d", "SMISMEMBER nokey a")).isEqualTo("*3\r\n:1\r\n:0\r\n:1\r\n*1\r\n:0\r\n");
    assertThat(send("SREM s a x", "SREM s b c d", "EXISTS s", "SMEMBERS s", "SREM s a"))
        .as("the key goes with its last member").isEqualTo(":1\r\n:3\r\n:0\r\n*0\r\n:0\r\n");
    assertThat(send("SADD s")).isEqualTo("-ERR wrong number of arguments for 'sadd' command\r\n");
  }

  @Test
  void spop_countsAsRedis() {
    assertThat(send("SPOP nokey", "SPOP nokey 2")).isEqualTo("$-1\r\n*0\r\n");
    send("SADD s a b c");
    assertThat(send("SPOP s")).matches("\\$1\r\n[abc]\r\n");
    assertThat(send("SCARD s", "SPOP s 0", "SCARD s")).isEqualTo(":2\r\n*0\r\n:2\r\n");
    assertThat(send("SPOP s 5")).startsWith("*2\r\n");
    assertThat(send("EXISTS s")).isEqualTo(":0\r\n");
    assertThat(send("SPOP s -1")).isEqualTo("-ERR value is out of range, must be positive\r\n");
    assertThat(send("SPOP s x")).isEqualTo("-ERR value is out of range, must be positive\r\n");
    assertThat(send("SPOP s 1 2")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void spopWithACount_isASetInResp3_srandmemberAnArray_asRedis7() {
    send("HELLO 3");
    send("SADD s a b c");
    assertThat(send("SPOP nokey 2")).isEqualTo("~0\r\n");
    assertThat(send("SRANDMEMBER s 2")).startsWith("*2\r\n");
    assertThat(send("SPOP s 2")).startsWith("~2\r\n");
  }

  /**
   * A negative count repeats elements: within the count limit, one large element made a reply of
   * gigabytes on the heap and killed a node (a tester). Refused once the elements pass the max
   * frame, drawn where they lie (up to 4,096 draws) or from the decoded collection (more).
   */
  @Test
  void randomPicksWhoseReplyPassesTheMaxFrame_areRefused_beforeTheyAreBuilt() {
    byte[] big = new byte[64 * 1024];
    byte[] mid = new byte[8 * 1024];
    assertThat(resp.call(b("SADD"), b("s"), big)).isEqualTo(":1\r\n");
    assertThat(resp.call(b("HSET"), b("h"), b("f"), big)).isEqualTo(":1\r\n");
    assertThat(resp.call(b("SADD"), b("m"), mid)).isEqualTo(":1\r\n");
    assertThat(resp.call(b("ZADD"), b("z"), b("1"), mid)).isEqualTo(":1\r\n");
    String refused = "-ERR a random pick's reply of more than 33554432 bytes exceeds the max frame";

    assertThat(send("SRANDMEMBER s -1000")).as("in place").startsWith(refused);
    assertThat(send("HRANDFIELD h -1000 WITHVALUES")).as("in place, with values").startsWith(refused);
    assertThat(send("SRANDMEMBER m -5000")).as("decoded").startsWith(refused);
    assertThat(send("ZRANDMEMBER z -5000")).as("a sorted set").startsWith(refused);
    assertThat(send("SRANDMEMBER s -100")).as("within the limit").startsWith("*100\r\n");
  }

  private static byte[] b(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void srandmember_countsAsRedis() {
    assertThat(send("SRANDMEMBER nokey", "SRANDMEMBER nokey 3", "SRANDMEMBER nokey -3")).isEqualTo("$-1\r\n*0\r\n*0\r\n");
    send("SADD s a b c");
    assertThat(send("SRANDMEMBER s")).matches("\\$1\r\n[abc]\r\n");
    String all = send("SRANDMEMBER s 10");
    assertThat(all).startsWith("*3\r\n").contains("$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n");
    assertThat(send("SRANDMEMBER s -7")).as("negative: exactly |count|, repeats allowed").startsWith("*7\r\n");
    assertThat(send("SRANDMEMBER s 0", "SCARD s")).isEqualTo("*0\r\n:3\r\n");
    assertThat(send("SRANDMEMBER s x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
  }

  @Test
  void smove() {
    send("SADD src a b", "SADD dst c", "SET str v");
    assertThat(send("SMOVE src dst a", "SMEMBERS src", "SMEMBERS dst"))
        .isEqualTo(":1\r\n*1\r\n$1\r\nb\r\n*2\r\n$1\r\nc\r\n$1\r\na\r\n");
    assertThat(send("SMOVE src dst x", "SMOVE nokey dst a", "SMOVE src src b")).isEqualTo(":0\r\n:0\r\n:1\r\n");
    assertThat(send("SMOVE src str b", "SMOVE str dst v")).isEqualTo(WRONGTYPE + WRONGTYPE);
    assertThat(send("SMOVE nokey str v")).as("a missing source answers 0 before the destination's type")
        .isEqualTo(":0\r\n");
    assertThat(send("SMOVE src new b", "EXISTS src", "SMEMBERS new")).isEqualTo(":1\r\n:0\r\n*1\r\n$1\r\nb\r\n");
  }

  @Test
  void inter_union_diff_andTheirStoreForms() {
    send("SADD a 1 2 3 4", "SADD b 3 4 5", "SADD c 4 6");
    assertThat(send("SINTER a b c")).isEqualTo("*1\r\n$1\r\n4\r\n");
    assertThat(send("SINTER a nokey")).isEqualTo("*0\r\n");
    assertThat(send("SUNION a b")).isEqualTo("*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n");
    assertThat(send("SDIFF a b c")).isEqualTo("*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assertThat(send("SDIFF nokey a")).isEqualTo("*0\r\n");
    assertThat(send("SINTERCARD 2 a b", "SINTERCARD 2 a b LIMIT 1", "SINTERCARD 1 nokey"))
        .isEqualTo(":2\r\n:1\r\n:0\r\n");
    assertThat(send("SINTERCARD 0 a")).isEqualTo("-ERR numkeys should be greater than 0\r\n");
    assertThat(send("SINTERCARD 3 a b")).isEqualTo("-ERR Number of keys can't be greater than number of args\r\n");
    assertThat(send("SINTERCARD 1 a LIMIT -1")).isEqualTo("-ERR LIMIT can't be negative\r\n");
    assertThat(send("SINTERCARD 1 a FOO 1")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("SINTERCARD x a")).isEqualTo("-ERR numkeys should be greater than 0\r\n");
    assertThat(send("SINTERCARD 1 a LIMIT 1 LIMIT")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("SINTERCARD 2 a b LIMIT 1 LIMIT 0")).as("the last LIMIT wins").isEqualTo(":2\r\n");
    send("SET d old", "EXPIRE d 100");
    assertThat(send("SINTERSTORE d a b", "SMEMBERS d", "TTL d"))
        .as("the destination is replaced whatever it held, without expiry")
        .isEqualTo(":2\r\n*2\r\n$1\r\n3\r\n$1\r\n4\r\n:-1\r\n");
    assertThat(send("SUNIONSTORE d b c", "SCARD d", "SDIFFSTORE d a a", "EXISTS d"))
        .isEqualTo(":4\r\n:4\r\n:0\r\n:0\r\n");
  }

  @Test
  void wrongType_andTypeReporting() {
    send("SET str v", "SADD s 1 2", "HSET h f v", "SADD names x");
    for (String c : new String[] {"SADD str a", "SREM str a", "SMEMBERS str", "SISMEMBER str a", "SCARD str",
        "SPOP str", "SRANDMEMBER str", "SINTER s str", "SUNION s h", "SDIFF s str", "SINTERSTORE d s str",
        "SSCAN str 0", "SMISMEMBER h f", "GET s", "HGET s f", "INCR s"}) {
      assertThat(send(c)).as(c).isEqualTo(WRONGTYPE);
    }
    assertThat(send("TYPE s", "OBJECT ENCODING s", "OBJECT ENCODING names"))
        .isEqualTo("+set\r\n$6\r\nintset\r\n$8\r\nlistpack\r\n");
    assertThat(send("SCAN 0 TYPE set COUNT 100")).startsWith("*2\r\n$1\r\n0\r\n*2\r\n")
        .contains("$1\r\ns\r\n", "$5\r\nnames\r\n");
  }

  @Test
  void sscan() {
    send("SADD s a1 a2 b1");
    assertThat(send("SSCAN s 0 MATCH a* COUNT 10")).isEqualTo("*2\r\n$1\r\n0\r\n*2\r\n$2\r\na1\r\n$2\r\na2\r\n");
    assertThat(send("SSCAN nokey 0")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
    assertThat(send("SSCAN s 0 FOO")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void insideMulti() {
    assertThat(send("MULTI", "SADD s a b", "SMOVE s t a", "SCARD t", "EXEC"))
        .isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:2\r\n:1\r\n:1\r\n");
  }

  @Test
  void memberLimit_configured_isCheckedBeforeWriting() {
    Store small = Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
    try (RespChannel limited = new RespChannel(new LocalRouter(new LocalExecutor(small,
        io.distcache.protocol.ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 3)), small, clock)) {
      assertThat(limited.send("SADD s a b c", "SADD s a d", "SCARD s", "SADD {x}a a b", "SADD {x}b c d",
          "SUNIONSTORE {x}c {x}a {x}b", "EXISTS {x}c", "HSET h f1 1 f2 2 f3 3 f4 4", "EXISTS h")).isEqualTo(
          ":3\r\n-ERR set 's' would hold 4 members; the limit is 3 members per set (--max-collection-elements)\r\n:3\r\n"
              + ":2\r\n:2\r\n-ERR set '{x}c' would hold 4 members; the limit is 3 members per set"
              + " (--max-collection-elements)\r\n:0\r\n"
              + "-ERR hash 'h' would hold 4 fields; the limit is 3 fields per hash (--max-collection-elements)\r\n:0\r\n");
    } finally {
      small.close();
    }
  }

  @Test
  void sinter_keyNamedManyTimes_loadsItOnce_distinctKeysOverTheBound_areRefused() {
    LocalExecutor executor = new LocalExecutor(store);
    executor.maxAlgebraLoadBytes(6000);
    try (RespChannel bounded = new RespChannel(new LocalRouter(executor), store, clock)) {
      StringBuilder members = new StringBuilder();
      for (int i = 0; i < 20; i++) {
        members.append(' ').append("m".repeat(90)).append(i);
      }
      bounded.send("SADD big" + members, "SADD {big}2" + members);
      // About 1900 bytes each, 4460 decoded (128 more per member): one fits the 6000-byte bound
      // however often it is named, two do not.
      String again = " big".repeat(60);
      assertThat(bounded.send("SINTER" + again)).startsWith("*20\r\n");
      assertThat(bounded.send("SUNION big {big}2")).startsWith("-ERR the keys of this command hold more than 6000 bytes,"
          + " the limit one set or sorted set command over several keys may load");
      assertThat(bounded.send("ZUNION 2 big {big}2")).startsWith("-ERR the keys of this command hold more than 6000 bytes");
      assertThat(bounded.send("ZINTER 3 big big big")).startsWith("*20\r\n");
      // 100 tiny members: about 400 bytes encoded, but 13,000 on the heap decoded
      StringBuilder tiny = new StringBuilder();
      for (int i = 0; i < 100; i++) {
        tiny.append(' ').append(i);
      }
      bounded.send("SADD tiny" + tiny);
      assertThat(bounded.send("SUNION tiny")).startsWith("-ERR the keys of this command hold more than 6000 bytes")
          .contains("bytes decoded)");
      assertThat(bounded.send("PING")).isEqualTo("+PONG\r\n");
    }
  }
  @Test
  void setAlgebra_withinItsBound_pastTheNodesHeapBudgets_isRefused_andGivesBackWhatItLoaded() {
    LocalExecutor executor = new LocalExecutor(store);
    executor.maxAlgebraLoadBytes(1 << 20);
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(8_000);
    executor.heapBudgets(heap);
    try (RespChannel bounded = new RespChannel(new LocalRouter(executor), store, clock)) {
      StringBuilder members = new StringBuilder();
      for (int i = 0; i < 20; i++) {
        members.append(' ').append("m".repeat(90)).append(i);
      }
      bounded.send("SADD big" + members, "SADD {big}2" + members);
      // About 4460 bytes decoded each: one fits the shared 8000, two do not (the command's own bound is 1 MiB).
      assertThat(bounded.send("SUNION big")).startsWith("*20\r\n");
      assertThat(heap.usedBytes()).as("given back when the command is done").isZero();
      heap.take(1_000); // another budget holds some
      assertThat(bounded.send("SUNION big {big}2")).startsWith("-ERR the keys of this command (with '{big}2', ")
          .contains("bytes decoded) would pass 8000 bytes, the node's limit on what its heap budgets hold together"
              + " (5411 held)"); // the other budget's and the first source's
      assertThat(bounded.send("ZUNION 2 big {big}2")).contains("would pass 8000 bytes");
      assertThat(heap.usedBytes()).as("a refused command gives back what it loaded").isEqualTo(1_000);
    }
  }

  @Test
  void set_ofMoreThan128Integers_isIndexed_reportedHashtable_thenIntsetBelow() {
    StringBuilder sadd = new StringBuilder("SADD s");
    for (int i = 0; i < 129; i++) {
      sadd.append(' ').append(i);
    }
    assertThat(send(sadd.toString(), "OBJECT ENCODING s", "SCARD s", "SISMEMBER s 128", "SISMEMBER s 129",
        "SMISMEMBER s 0 500 64")).as("Redis would say intset up to 512 integers; distcache indexes past 128")
        .isEqualTo(":129\r\n$9\r\nhashtable\r\n:129\r\n:1\r\n:0\r\n*3\r\n:1\r\n:0\r\n:1\r\n");
    assertThat(send("SREM s 0 1", "SADD s 1", "OBJECT ENCODING s", "SCARD s")).isEqualTo(":2\r\n:1\r\n$6\r\nintset\r\n:128\r\n");
    assertThat(send("SMEMBERS s")).as("insertion order, 1 added again last").startsWith("*128\r\n$1\r\n2\r\n")
        .endsWith("$3\r\n128\r\n$1\r\n1\r\n");
  }
}
