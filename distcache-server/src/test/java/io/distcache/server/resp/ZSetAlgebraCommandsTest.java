package io.distcache.server.resp;

import static io.distcache.server.resp.RespChannel.bulks;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, ZRANGESTORE and ZMPOP with Redis 7's replies
 * and errors (each expected reply was taken from redis-server 7.0.15), on one node.
 */
class ZSetAlgebraCommandsTest {
  private static final String WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  private static final String SYNTAX = "-ERR syntax error\r\n";
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalRouter router = new LocalRouter(new LocalExecutor(store));
  private final RespChannel resp = new RespChannel(router, store, clock);

  @BeforeEach
  void data() {
    send("ZADD a 1 x 2 y 3 z", "ZADD b 10 y 20 w", "SADD s x w q", "SET str v");
  }

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  @Test
  void zunion_weightsAggregateAndSets_asRedis() {
    assertThat(send("ZUNION 2 a b WITHSCORES")).isEqualTo(bulks("x", "1", "z", "3", "y", "12", "w", "20"));
    assertThat(send("ZUNION 2 a b")).isEqualTo(bulks("x", "z", "y", "w"));
    assertThat(send("ZUNION 2 a s WITHSCORES")).as("a set's members score 1")
        .isEqualTo(bulks("q", "1", "w", "1", "x", "2", "y", "2", "z", "3"));
    assertThat(send("ZUNION 2 a b WEIGHTS 2 inf WITHSCORES", "ZUNION 2 a b WEIGHTS 0 inf WITHSCORES"))
        .as("0 * inf counts 0").isEqualTo(bulks("x", "2", "z", "6", "w", "inf", "y", "inf")
            + bulks("x", "0", "z", "0", "w", "inf", "y", "inf"));
    assertThat(send("ZUNION 2 a b AGGREGATE MIN WITHSCORES", "ZUNION 2 a b AGGREGATE max WITHSCORES"))
        .isEqualTo(bulks("x", "1", "y", "2", "z", "3", "w", "20") + bulks("x", "1", "z", "3", "y", "10", "w", "20"));
    assertThat(send("ZUNION 1 nokey", "ZUNION 2 nokey a")).isEqualTo("*0\r\n" + bulks("x", "y", "z"));
  }

  @Test
  void zinter_zdiff_andZintercard_asRedis() {
    assertThat(send("ZINTER 2 a b WITHSCORES", "ZINTER 2 a s WITHSCORES AGGREGATE MAX", "ZINTER 2 a nokey"))
        .isEqualTo(bulks("y", "12") + bulks("x", "1") + "*0\r\n");
    assertThat(send("ZDIFF 2 a s WITHSCORES", "ZDIFF 1 a", "ZDIFF 2 nokey a"))
        .isEqualTo(bulks("y", "2", "z", "3") + bulks("x", "y", "z") + "*0\r\n");
    send("ZADD c 1 x 1 y 1 z");
    assertThat(send("ZINTERCARD 2 a c", "ZINTERCARD 2 a c LIMIT 2", "ZINTERCARD 2 a c LIMIT 0", "ZINTERCARD 2 a b"))
        .isEqualTo(":3\r\n:2\r\n:3\r\n:1\r\n");
  }

  @Test
  void storeForms_replaceTheDestination_andAnEmptyResultDeletesIt() {
    assertThat(send("ZUNIONSTORE d 2 a b", "ZRANGE d 0 -1 WITHSCORES", "TYPE d"))
        .isEqualTo(":4\r\n" + bulks("x", "1", "z", "3", "y", "12", "w", "20") + "+zset\r\n");
    assertThat(send("SET str2 v EX 100", "ZINTERSTORE str2 2 a b WEIGHTS 1 2", "ZRANGE str2 0 -1 WITHSCORES", "TTL str2"))
        .as("any type is replaced, with no expiry").isEqualTo("+OK\r\n:1\r\n" + bulks("y", "22") + ":-1\r\n");
    assertThat(send("ZDIFFSTORE e 2 a s", "ZRANGE e 0 -1")).isEqualTo(":2\r\n" + bulks("y", "z"));
    assertThat(send("ZUNIONSTORE d 1 nokey", "EXISTS d", "ZINTERSTORE new 2 a nokey", "EXISTS new"))
        .isEqualTo(":0\r\n:0\r\n:0\r\n:0\r\n");
    assertThat(send("ZUNIONSTORE a 2 a b AGGREGATE MAX", "ZRANGE a 0 -1 WITHSCORES")).as("a source as its destination")
        .isEqualTo(":4\r\n" + bulks("x", "1", "z", "3", "y", "10", "w", "20"));
  }

  @Test
  void watch_seesAStoreFormsDestinationChange() {
    try (RespChannel other = new RespChannel(router, store, clock)) {
      assertThat(send("WATCH d", "MULTI", "SET x 1")).isEqualTo("+OK\r\n+OK\r\n+QUEUED\r\n");
      assertThat(other.send("ZUNIONSTORE d 1 a")).isEqualTo(":3\r\n");
      assertThat(send("EXEC", "EXISTS x")).isEqualTo("*-1\r\n:0\r\n");
      assertThat(send("WATCH a", "MULTI", "SET x 1")).isEqualTo("+OK\r\n+OK\r\n+QUEUED\r\n");
      assertThat(other.send("ZMPOP 1 a MIN")).startsWith("*2\r\n");
      assertThat(send("EXEC")).as("ZMPOP changed a").isEqualTo("*-1\r\n");
    }
  }

  @Test
  void numkeysAndOptions_areRefusedWithRedisTexts() {
    assertThat(send("ZUNION 0 a", "ZUNION -1 a", "ZUNIONSTORE d 0 a", "ZINTERCARD 0 a"))
        .isEqualTo("-ERR at least 1 input key is needed for 'zunion' command\r\n".repeat(2)
            + "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"
            + "-ERR at least 1 input key is needed for 'zintercard' command\r\n");
    assertThat(send("ZUNION x a", "ZINTERCARD x a")).isEqualTo("-ERR value is not an integer or out of range\r\n".repeat(2));
    assertThat(send("ZUNION 3 a b", "ZUNION 2 a b WEIGHTS 1", "ZUNION 2 a b AGGREGATE foo", "ZUNION 2 a b AGGREGATE",
        "ZUNIONSTORE d 1 a WITHSCORES", "ZDIFF 2 a b WEIGHTS 1 2", "ZDIFF 2 a b AGGREGATE SUM", "ZINTERCARD 1 a LIMIT",
        "ZINTERCARD 3 a", "ZINTERCARD 1 a WEIGHTS 1", "ZINTERCARD 1 a WITHSCORES")).isEqualTo(SYNTAX.repeat(11));
    assertThat(send("ZUNION 2 a b WEIGHTS 1 x", "ZUNION 2 a b WEIGHTS 1 nan"))
        .isEqualTo("-ERR weight value is not a float\r\n".repeat(2));
    assertThat(send("ZINTERCARD 1 a LIMIT -1", "ZINTERCARD 1 a LIMIT x"))
        .isEqualTo("-ERR LIMIT can't be negative\r\n".repeat(2));
    assertThat(send("ZUNIONSTORE")).isEqualTo("-ERR wrong number of arguments for 'zunionstore' command\r\n");
  }

  @Test
  void wrongType_comesBeforeOptionErrors_asRedis() {
    assertThat(send("ZUNION 2 a str", "ZUNION 2 a str WEIGHTS x", "ZINTER 2 nokey str", "ZDIFF 2 nokey str",
        "ZUNIONSTORE d 2 a str", "ZINTERCARD 2 a str LIMIT -1", "EXISTS d")).isEqualTo(WRONGTYPE.repeat(6) + ":0\r\n");
  }

  @Test
  void zrangestore_asRedis() {
    assertThat(send("ZRANGESTORE d a 0 -1", "ZRANGE d 0 -1 WITHSCORES"))
        .isEqualTo(":3\r\n" + bulks("x", "1", "y", "2", "z", "3"));
    assertThat(send("ZRANGESTORE d a (1 +inf BYSCORE LIMIT 0 1", "ZRANGE d 0 -1 WITHSCORES"))
        .isEqualTo(":1\r\n" + bulks("y", "2"));
    assertThat(send("ZRANGESTORE d a 5 0 BYSCORE REV", "ZRANGE d 0 -1", "ZRANGESTORE d a [y + BYLEX", "ZRANGE d 0 -1"))
        .isEqualTo(":3\r\n" + bulks("x", "y", "z") + ":2\r\n" + bulks("y", "z"));
    assertThat(send("ZRANGESTORE d a 10 20", "EXISTS d", "ZRANGESTORE d nokey 0 -1")).isEqualTo(":0\r\n:0\r\n:0\r\n");
    assertThat(send("ZRANGESTORE d a 0 -1 WITHSCORES", "ZRANGESTORE d s 0 -1", "ZRANGESTORE d a x y BYSCORE",
        "ZRANGESTORE d a 0 -1 BYLEX", "ZRANGESTORE d a 0 -1 LIMIT 0 1"))
        .isEqualTo(SYNTAX + WRONGTYPE + "-ERR min or max is not a float\r\n-ERR min or max not valid string range item\r\n"
            + "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n");
  }

  @Test
  void zmpop_popsFromTheFirstNonEmptyKey_asRedis() {
    assertThat(send("ZMPOP 2 nokey a MIN COUNT 2")).isEqualTo("*2\r\n$1\r\na\r\n*2\r\n" + bulks("x", "1") + bulks("y", "2"));
    assertThat(send("ZMPOP 2 b str MAX COUNT 10", "EXISTS b"))
        .as("a key after the first non-empty one is not looked at")
        .isEqualTo("*2\r\n$1\r\nb\r\n*2\r\n" + bulks("w", "20") + bulks("y", "10") + ":0\r\n");
    assertThat(send("ZMPOP 1 nokey MIN", "ZMPOP 2 nokey str MIN")).isEqualTo("*-1\r\n" + WRONGTYPE);
    assertThat(send("ZMPOP 0 a MIN", "ZMPOP x a MIN")).isEqualTo("-ERR numkeys should be greater than 0\r\n".repeat(2));
    assertThat(send("ZMPOP 1 a FOO", "ZMPOP 2 a MIN", "ZMPOP 1 a MIN COUNT 1 COUNT 2", "ZMPOP 1 a MIN COUNT"))
        .isEqualTo(SYNTAX.repeat(4));
    assertThat(send("ZMPOP 1 a MIN COUNT 0", "ZMPOP 1 a MIN COUNT x"))
        .isEqualTo("-ERR count should be greater than 0\r\n".repeat(2));
    assertThat(send("ZMPOP 1 a")).isEqualTo("-ERR wrong number of arguments for 'zmpop' command\r\n");
    assertThat(send("HELLO 3").length()).isPositive();
    assertThat(send("ZMPOP 1 a MIN", "ZMPOP 1 a MIN", "ZUNION 1 s WITHSCORES"))
        .isEqualTo("*2\r\n$1\r\na\r\n*1\r\n*2\r\n$1\r\nz\r\n,3\r\n" + "_\r\n"
            + "*3\r\n*2\r\n$1\r\nq\r\n,1\r\n*2\r\n$1\r\nw\r\n,1\r\n*2\r\n$1\r\nx\r\n,1\r\n");
  }

  @Test
  void commandGetkeys_readsTheCount_andTheDestination() {
    assertThat(send("COMMAND GETKEYS ZUNIONSTORE d 2 a b WEIGHTS 1 2", "COMMAND GETKEYS ZINTERCARD 2 a b LIMIT 1",
        "COMMAND GETKEYS ZMPOP 2 a b MIN", "COMMAND GETKEYS ZRANGESTORE d a 0 1"))
        .isEqualTo(bulks("d", "a", "b") + bulks("a", "b") + bulks("a", "b") + bulks("d", "a"));
  }
}
