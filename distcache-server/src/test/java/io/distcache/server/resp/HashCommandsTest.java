package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Hash commands, types and WRONGTYPE with Redis's replies and errors, on one node. */
class HashCommandsTest {
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
  void hset_hget_hmget_hgetall_inInsertionOrder() {
    assertThat(send("HSET h a 1 b 2", "HSET h a 10 c 3", "HGET h a", "HGET h nofield", "HGET nokey a"))
        .isEqualTo(":2\r\n:1\r\n$2\r\n10\r\n$-1\r\n$-1\r\n");
    assertThat(send("HMGET h a nofield c")).isEqualTo("*3\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n");
    assertThat(send("HGETALL h")).isEqualTo("*6\r\n$1\r\na\r\n$2\r\n10\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    assertThat(send("HKEYS h", "HVALS h", "HLEN h"))
        .isEqualTo("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n*3\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n:3\r\n");
    assertThat(send("HGETALL nokey", "HKEYS nokey", "HLEN nokey", "HMGET nokey a"))
        .isEqualTo("*0\r\n*0\r\n:0\r\n*1\r\n$-1\r\n");
    assertThat(send("HMSET h d 4", "HGET h d")).isEqualTo("+OK\r\n$1\r\n4\r\n");
  }

  @Test
  void hmget_smismember_repeatedNames_eachAnswered_withFewAndManyNames() {
    send("HSET hs a 1 b 2", "SADD ss a b");
    // Few names (the direct walk) and more than 16 (the request's table of names): every repeat of a
    // present name gets its answer, not only the first (a reviewer: no test failed without it).
    assertThat(send("HMGET hs a a x a b")).isEqualTo("*5\r\n$1\r\n1\r\n$1\r\n1\r\n$-1\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assertThat(send("SMISMEMBER ss a a x a")).isEqualTo("*4\r\n:1\r\n:1\r\n:0\r\n:1\r\n");
    StringBuilder hm = new StringBuilder("HMGET hs");
    StringBuilder sm = new StringBuilder("SMISMEMBER ss");
    StringBuilder hmWant = new StringBuilder("*20\r\n");
    StringBuilder smWant = new StringBuilder("*20\r\n");
    for (int i = 0; i < 20; i++) {
      String name = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "x" + i;
      hm.append(' ').append(name);
      sm.append(' ').append(name);
      hmWant.append(name.equals("a") ? "$1\r\n1\r\n" : name.equals("b") ? "$1\r\n2\r\n" : "$-1\r\n");
      smWant.append(name.startsWith("x") ? ":0\r\n" : ":1\r\n");
    }
    assertThat(send(hm.toString())).isEqualTo(hmWant.toString());
    assertThat(send(sm.toString())).isEqualTo(smWant.toString());
  }

  @Test
  void arityErrors() {
    assertThat(send("HSET h a")).isEqualTo("-ERR wrong number of arguments for 'hset' command\r\n");
    assertThat(send("HSET h a 1 b")).isEqualTo("-ERR wrong number of arguments for 'hset' command\r\n");
    assertThat(send("HMSET h a 1 b")).isEqualTo("-ERR wrong number of arguments for 'hmset' command\r\n");
    assertThat(send("HGET h")).isEqualTo("-ERR wrong number of arguments for 'hget' command\r\n");
  }

  @Test
  void hsetnx_hexists_hstrlen() {
    assertThat(send("HSETNX h f v", "HSETNX h f w", "HGET h f", "HEXISTS h f", "HEXISTS h g", "HEXISTS nokey f"))
        .isEqualTo(":1\r\n:0\r\n$1\r\nv\r\n:1\r\n:0\r\n:0\r\n");
    assertThat(send("HSET h long hello", "HSTRLEN h long", "HSTRLEN h nofield", "HSTRLEN nokey f"))
        .isEqualTo(":1\r\n:5\r\n:0\r\n:0\r\n");
  }

  @Test
  void hdel_removesTheKeyWithItsLastField() {
    send("HSET h a 1 b 2");
    assertThat(send("HDEL h a nofield a", "EXISTS h", "HDEL h b", "EXISTS h", "TYPE h", "HDEL h b"))
        .isEqualTo(":1\r\n:1\r\n:1\r\n:0\r\n+none\r\n:0\r\n");
  }

  @Test
  void hincrby_andItsErrors() {
    assertThat(send("HINCRBY h n 5", "HINCRBY h n -7", "HGET h n")).isEqualTo(":5\r\n:-2\r\n$2\r\n-2\r\n");
    send("HSET h s abc", "HSET h big 9223372036854775807");
    assertThat(send("HINCRBY h s 1")).isEqualTo("-ERR hash value is not an integer\r\n");
    assertThat(send("HINCRBY h big 1")).isEqualTo("-ERR increment or decrement would overflow\r\n");
    assertThat(send("HINCRBY h n x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("HGET h big")).isEqualTo("$19\r\n9223372036854775807\r\n");
  }

  @Test
  void hincrbyfloat_formatsAsRedis() {
    assertThat(send("HINCRBYFLOAT h f 10.5", "HINCRBYFLOAT h f 0.1", "HINCRBYFLOAT h f -5.6"))
        .isEqualTo("$4\r\n10.5\r\n$4\r\n10.6\r\n$1\r\n5\r\n");
    send("HSET h e 5.0e3", "HSET h s abc");
    assertThat(send("HINCRBYFLOAT h e 2.0e2")).isEqualTo("$4\r\n5200\r\n");
    assertThat(send("HINCRBYFLOAT h s 1")).isEqualTo("-ERR hash value is not a float\r\n");
    assertThat(send("HINCRBYFLOAT h f x")).isEqualTo("-ERR value is not a valid float\r\n");
    assertThat(send("HINCRBYFLOAT h f inf")).isEqualTo("-ERR increment would produce NaN or Infinity\r\n");
  }

  @Test
  void hrandfield_countsAsRedis() {
    assertThat(send("HRANDFIELD nokey", "HRANDFIELD nokey 3")).isEqualTo("$-1\r\n*0\r\n");
    send("HSET h a 1 b 2 c 3");
    assertThat(send("HRANDFIELD h")).matches("\\$1\r\n[abc]\r\n");
    assertThat(send("HRANDFIELD h 0")).isEqualTo("*0\r\n");
    String distinct = send("HRANDFIELD h 10");
    assertThat(distinct).startsWith("*3\r\n").contains("$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n");
    assertThat(send("HRANDFIELD h -5")).as("a negative count may repeat and is always honoured").startsWith("*5\r\n");
    String pairs = send("HRANDFIELD h 1 WITHVALUES");
    assertThat(pairs).matches("\\*2\r\n\\$1\r\n([abc])\r\n\\$1\r\n[123]\r\n");
    assertThat(send("HRANDFIELD h 1 FOO")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("HRANDFIELD h x")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("HRANDFIELD h -2000000")).isEqualTo("-ERR value is out of range\r\n");
  }

  @Test
  void hscan_returnsEveryMatchingFieldInOneStep() {
    send("HSET h a1 1 a2 2 b1 3");
    assertThat(send("HSCAN h 0")).isEqualTo(
        "*2\r\n$1\r\n0\r\n*6\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\na2\r\n$1\r\n2\r\n$2\r\nb1\r\n$1\r\n3\r\n");
    assertThat(send("HSCAN h 0 MATCH a* COUNT 1"))
        .isEqualTo("*2\r\n$1\r\n0\r\n*4\r\n$2\r\na1\r\n$1\r\n1\r\n$2\r\na2\r\n$1\r\n2\r\n");
    assertThat(send("HSCAN h 0 MATCH b* NOVALUES")).isEqualTo("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nb1\r\n");
    assertThat(send("HSCAN nokey 0")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
    assertThat(send("HSCAN h 0 COUNT 0")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("HSCAN h x")).isEqualTo("-ERR invalid cursor\r\n");
  }

  @Test
  void wrongType_bothWays() {
    send("SET s v", "HSET h f v");
    for (String c : new String[] {"HGET s f", "HSET s f v", "HGETALL s", "HLEN s", "HDEL s f", "HINCRBY s f 1",
        "HINCRBYFLOAT s f 1", "HRANDFIELD s", "HSCAN s 0", "HEXISTS s f", "HMGET s f"}) {
      assertThat(send(c)).as(c).isEqualTo(WRONGTYPE);
    }
    for (String c : new String[] {"GET h", "APPEND h x", "INCR h", "INCRBYFLOAT h 1", "STRLEN h", "GETRANGE h 0 1",
        "SETRANGE h 0 x", "GETDEL h", "GETSET h x", "SET h x GET", "GETEX h", "SETBIT h 0 1", "GETBIT h 0",
        "BITCOUNT h", "DECR h"}) {
      assertThat(send(c)).as(c).isEqualTo(WRONGTYPE);
    }
    assertThat(send("HGET h f")).as("the refused commands left the hash alone").isEqualTo("$1\r\nv\r\n");
    assertThat(send("MGET s h")).as("MGET answers nil for a key of another type").isEqualTo("*2\r\n$1\r\nv\r\n$-1\r\n");
    assertThat(send("SET h plain", "TYPE h", "GET h")).as("SET replaces a value of any type")
        .isEqualTo("+OK\r\n+string\r\n$5\r\nplain\r\n");
  }

  @Test
  void type_objectEncoding_scanType() {
    send("SET s v", "HSET h f v", "HSET big f " + "x".repeat(65));
    assertThat(send("TYPE s", "TYPE h", "TYPE nokey")).isEqualTo("+string\r\n+hash\r\n+none\r\n");
    assertThat(send("OBJECT ENCODING h", "OBJECT ENCODING big"))
        .isEqualTo("$8\r\nlistpack\r\n$9\r\nhashtable\r\n");
    assertThat(send("SCAN 0 TYPE hash COUNT 100")).startsWith("*2\r\n$1\r\n0\r\n*2\r\n")
        .contains("$1\r\nh\r\n", "$3\r\nbig\r\n").doesNotContain("$1\r\ns\r\n");
    assertThat(send("SCAN 0 TYPE string COUNT 100")).isEqualTo("*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    assertThat(send("SCAN 0 TYPE zset COUNT 100")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
  }

  @Test
  void hashKeepsExpiry_andExpiresWhole() {
    send("HSET h a 1", "PEXPIRE h 1000");
    assertThat(send("HSET h b 2", "HDEL h a", "PTTL h")).isEqualTo(":1\r\n:1\r\n:1000\r\n");
    clock.advanceMillis(1000);
    assertThat(send("HGETALL h", "EXISTS h")).isEqualTo("*0\r\n:0\r\n");
  }

  @Test
  void renameAndCopy_keepTheType() {
    send("HSET h a 1", "PEXPIRE h 5000");
    assertThat(send("RENAME h g", "TYPE g", "HGET g a", "PTTL g")).isEqualTo("+OK\r\n+hash\r\n$1\r\n1\r\n:5000\r\n");
    assertThat(send("COPY g c", "TYPE c", "HGETALL c")).isEqualTo(":1\r\n+hash\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  }

  @Test
  void insideMulti_atomicWithTheRest() {
    assertThat(send("MULTI", "HSET h a 1", "HINCRBY h a 2", "GET h", "HGET h a", "EXEC")).isEqualTo(
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n:1\r\n:3\r\n" + WRONGTYPE + "$1\r\n3\r\n");
  }

  @Test
  void fieldLimit_isCheckedAndNamed() {
    StringBuilder cmd = new StringBuilder("HSET h");
    for (int i = 0; i <= ProtocolConstants.MAX_COLLECTION_ELEMENTS; i++) {
      cmd.append(" f").append(i).append(" v");
    }
    assertThat(send(cmd.toString())).isEqualTo("-ERR hash 'h' would hold " + (ProtocolConstants.MAX_COLLECTION_ELEMENTS + 1)
        + " fields; the limit is " + ProtocolConstants.MAX_COLLECTION_ELEMENTS + " fields per hash (--max-collection-elements)\r\n");
    assertThat(send("EXISTS h")).as("nothing was written").isEqualTo(":0\r\n");
  }
  @Test
  void hash_crossingTheIndexThresholdBothWays_keepsOrderAndAnswers_hashtableWhileIndexed() {
    StringBuilder hset = new StringBuilder("HSET h");
    StringBuilder all = new StringBuilder("*258\r\n");
    for (int i = 0; i < 129; i++) {
      hset.append(" f").append(i).append(" v").append(i);
      all.append(bulkOf("f" + i)).append(bulkOf("v" + i));
    }
    assertThat(send(hset.toString(), "OBJECT ENCODING h", "HLEN h")).isEqualTo(":129\r\n$9\r\nhashtable\r\n:129\r\n");
    assertThat(send("HGETALL h")).as("the order the fields were set in").isEqualTo(all.toString());
    assertThat(send("HGET h f128", "HGET h f129", "HEXISTS h f0", "HSTRLEN h f100", "HMGET h f7 nope f8"))
        .isEqualTo("$4\r\nv128\r\n$-1\r\n:1\r\n:4\r\n*3\r\n$2\r\nv7\r\n$-1\r\n$2\r\nv8\r\n");
    assertThat(send("HSET h f3 longer-value", "HINCRBY h n 5", "HDEL h f3 n", "HSETNX h f3 back"))
        .isEqualTo(":0\r\n:5\r\n:2\r\n:1\r\n");
    assertThat(send("HDEL h f0", "OBJECT ENCODING h", "HLEN h", "HGET h f3", "HGET h f4"))
        .as("128 fields: packed again, f3 appended last").isEqualTo(":1\r\n$8\r\nlistpack\r\n:128\r\n$4\r\nback\r\n$2\r\nv4\r\n");
    assertThat(send("HKEYS h")).startsWith("*128\r\n$2\r\nf1\r\n$2\r\nf2\r\n$2\r\nf4\r\n")
        .endsWith("$4\r\nf128\r\n$2\r\nf3\r\n");
  }

  private static String bulkOf(String s) {
    return "$" + s.length() + "\r\n" + s + "\r\n";
  }
}
