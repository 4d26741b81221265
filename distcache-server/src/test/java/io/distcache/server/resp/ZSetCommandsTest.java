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
import org.junit.jupiter.api.Test;

/** Sorted-set commands with Redis 7's replies and errors (checked against redis-server 7.0), on one node. */
class ZSetCommandsTest {
  private static final String WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  private static final String SYNTAX = "-ERR syntax error\r\n";
  private static final String NOT_FLOAT = "-ERR value is not a valid float\r\n";
  private static final String NOT_INTEGER = "-ERR value is not an integer or out of range\r\n";
  private static final String RANGE_NOT_FLOAT = "-ERR min or max is not a float\r\n";
  private static final String RANGE_NOT_LEX = "-ERR min or max not valid string range item\r\n";
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

  private static String bulk(String s) {
    return "$" + s.length() + "\r\n" + s + "\r\n";
  }

  @Test
  void zadd_newAndExistingMembers_countsAddedOnly_andChCountsChanged() {
    assertThat(send("ZADD z 1 a 2 b 3 c", "ZADD z 1 a 5 b 4 d", "ZADD z CH 1 a 6 b 7 e", "ZCARD z", "ZCARD nokey"))
        .isEqualTo(":3\r\n:1\r\n:2\r\n:5\r\n:0\r\n");
    assertThat(send("ZADD z 1 x 2 x", "ZSCORE z x")).as("pairs apply in order").isEqualTo(":1\r\n" + bulk("2"));
  }

  @Test
  void zadd_nxXxGtLt_followRedis() {
    send("ZADD z 5 a");
    assertThat(send("ZADD z NX 1 a 1 b", "ZSCORE z a", "ZADD z XX 2 a 2 c", "ZSCORE z a", "EXISTS c"))
        .isEqualTo(":1\r\n" + bulk("5") + ":0\r\n" + bulk("2") + ":0\r\n");
    assertThat(send("ZADD z GT CH 1 a", "ZADD z GT CH 3 a", "ZADD z LT CH 4 a", "ZADD z LT CH 0 a", "ZSCORE z a"))
        .isEqualTo(":0\r\n:1\r\n:0\r\n:1\r\n" + bulk("0"));
    assertThat(send("ZADD z GT 9 new", "ZSCORE z new")).as("GT and LT still add new members")
        .isEqualTo(":1\r\n" + bulk("9"));
    assertThat(send("ZADD z XX GT 10 new", "ZSCORE z new")).isEqualTo(":0\r\n" + bulk("10"));
  }

  @Test
  void zadd_badArguments_areRefusedWithRedisTexts_andNothingIsWritten() {
    assertThat(send("ZADD z NX XX 1 a")).isEqualTo("-ERR XX and NX options at the same time are not compatible\r\n");
    assertThat(send("ZADD z GT LT 1 a", "ZADD z NX GT 1 a"))
        .isEqualTo("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n".repeat(2));
    assertThat(send("ZADD z INCR 1 a 2 b")).isEqualTo("-ERR INCR option supports a single increment-element pair\r\n");
    assertThat(send("ZADD z CH 1", "ZADD z 1 a b", "ZADD z FOO 1 a")).isEqualTo(SYNTAX.repeat(3));
    assertThat(send("ZADD z XX")).isEqualTo("-ERR wrong number of arguments for 'zadd' command\r\n");
    assertThat(send("ZADD z 1 a nan b", "ZADD z 1 a abc b", "ZADD z 1 a 1e400 b", "EXISTS z"))
        .as("every score is parsed before anything is added").isEqualTo(NOT_FLOAT.repeat(3) + ":0\r\n");
  }

  @Test
  void zaddIncr_andZincrby_answerTheNewScore_orNilWhenTheConditionKeepsIt() {
    assertThat(send("ZINCRBY z 1.5 a", "ZINCRBY z 2 a", "ZADD z INCR -0.5 a", "ZADD z NX INCR 1 a", "ZADD z XX INCR 1 b"))
        .isEqualTo(bulk("1.5") + bulk("3.5") + bulk("3") + "$-1\r\n$-1\r\n");
    assertThat(send("ZADD z GT INCR -1 a", "ZADD z LT INCR -1 a")).isEqualTo("$-1\r\n" + bulk("2"));
    assertThat(send("ZINCRBY z inf a", "ZINCRBY z -inf a", "ZSCORE z a"))
        .isEqualTo(bulk("inf") + "-ERR resulting score is not a number (NaN)\r\n" + bulk("inf"));
    assertThat(send("ZINCRBY z x a", "ZINCRBY z nan a")).isEqualTo(NOT_FLOAT.repeat(2));
  }

  @Test
  void scores_areFormattedAsRedis() {
    send("ZADD z 0.1 a 1e20 b 1.5e-7 c -0 d 3 e inf f -inf g 12345678901234567 h 0.0001 i -2.5 j");
    assertThat(send("ZRANGE z 0 -1 WITHSCORES")).isEqualTo(bulks("g", "-inf", "j", "-2.5", "d", "0", "c", "1.5e-07",
        "i", "0.0001", "a", "0.1", "e", "3", "h", "12345678901234568", "b", "1e+20", "f", "inf"));
  }

  @Test
  void zrem_removesMembers_andTheKeyWithItsLast() {
    send("ZADD z 1 a 2 b 3 c");
    assertThat(send("ZREM z a x", "ZREM z b c", "EXISTS z", "ZREM z a", "ZREM nokey a"))
        .isEqualTo(":1\r\n:2\r\n:0\r\n:0\r\n:0\r\n");
  }

  @Test
  void zscore_zmscore_zcard() {
    send("ZADD z 1 a 2.5 b");
    assertThat(send("ZSCORE z b", "ZSCORE z x", "ZSCORE nokey a")).isEqualTo(bulk("2.5") + "$-1\r\n$-1\r\n");
    assertThat(send("ZMSCORE z a x b", "ZMSCORE nokey a"))
        .isEqualTo("*3\r\n" + bulk("1") + "$-1\r\n" + bulk("2.5") + "*1\r\n$-1\r\n");
    assertThat(send("ZMSCORE z")).isEqualTo("-ERR wrong number of arguments for 'zmscore' command\r\n");
  }

  @Test
  void zrange_byRank_withNegativeIndexes_rev_andWithScores() {
    send("ZADD z 1 a 2 b 3 c 4 d");
    assertThat(send("ZRANGE z 0 -1", "ZRANGE z -2 -1", "ZRANGE z 1 100", "ZRANGE z 3 1", "ZRANGE z 10 20", "ZRANGE nokey 0 -1"))
        .isEqualTo(bulks("a", "b", "c", "d") + bulks("c", "d") + bulks("b", "c", "d") + "*0\r\n*0\r\n*0\r\n");
    assertThat(send("ZRANGE z 0 1 REV WITHSCORES", "ZREVRANGE z 0 0 WITHSCORES", "ZREVRANGE z -1 -1"))
        .isEqualTo(bulks("d", "4", "c", "3") + bulks("d", "4") + bulks("a"));
    assertThat(send("ZRANGE z x 1", "ZREVRANGE z 0 0 FOO")).isEqualTo(NOT_INTEGER + SYNTAX);
    assertThat(send("ZRANGE z 0 -1 LIMIT 0 1"))
        .isEqualTo("-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n");
    assertThat(send("ZRANGE z 0 -1 LIMIT 1", "ZRANGE z 0 -1 BYSCORE BYLEX", "ZRANGE z 0 -1 REV REV"))
        .isEqualTo(SYNTAX.repeat(3));
  }

  @Test
  void zrange_byScore_withExclusiveAndInfiniteBounds_andLimit() {
    send("ZADD z 1 a 2 b 3 c 4 d");
    assertThat(send("ZRANGE z (1 3 BYSCORE", "ZRANGE z -inf +inf BYSCORE LIMIT 1 2", "ZRANGE z (1 (2 BYSCORE"))
        .isEqualTo(bulks("b", "c") + bulks("b", "c") + "*0\r\n");
    assertThat(send("ZRANGE z 3 (1 BYSCORE REV WITHSCORES", "ZRANGEBYSCORE z 1 3 WITHSCORES LIMIT 1 1"))
        .isEqualTo(bulks("c", "3", "b", "2") + bulks("b", "2"));
    assertThat(send("ZREVRANGEBYSCORE z +inf -inf LIMIT 1 10", "ZRANGEBYSCORE z -inf inf LIMIT 0 -5",
        "ZRANGEBYSCORE z -inf inf LIMIT -1 2"))
        .as("a negative count is every member, a negative offset none")
        .isEqualTo(bulks("c", "b", "a") + bulks("a", "b", "c", "d") + "*0\r\n");
    assertThat(send("ZRANGE z x 1 BYSCORE", "ZRANGEBYSCORE z (a 5", "ZRANGEBYSCORE z nan 5", "ZCOUNT z 1 (nan"))
        .isEqualTo(RANGE_NOT_FLOAT.repeat(4));
    assertThat(send("ZRANGE z 0 1 BYSCORE LIMIT x 1")).isEqualTo(NOT_INTEGER);
    assertThat(send("ZRANGEBYSCORE z 0 1 REV", "ZRANGEBYSCORE z 0 1 BYSCORE")).isEqualTo(SYNTAX.repeat(2));
  }

  @Test
  void zrange_tiesAreOrderedByMember() {
    send("ZADD z 1 b 1 a 1 c 0 z 2 A");
    assertThat(send("ZRANGE z 0 -1", "ZRANGE z 1 1 BYSCORE REV")).isEqualTo(bulks("z", "a", "b", "c", "A") + bulks("c", "b", "a"));
  }

  @Test
  void zrange_byLex_andTheLexCommands() {
    send("ZADD z 0 a 0 b 0 c 0 d 0 e");
    assertThat(send("ZRANGE z [b (d BYLEX", "ZRANGE z - + BYLEX LIMIT 1 2", "ZRANGE z [d - BYLEX REV",
        "ZRANGEBYLEX z (c +", "ZREVRANGEBYLEX z + - LIMIT 0 1", "ZLEXCOUNT z - +", "ZLEXCOUNT z (a [c"))
        .isEqualTo(bulks("b", "c") + bulks("b", "c") + bulks("d", "c", "b", "a") + bulks("d", "e") + bulks("e")
            + ":5\r\n:2\r\n");
    assertThat(send("ZRANGE z a b BYLEX", "ZLEXCOUNT z - x", "ZRANGEBYLEX z ++ -")).isEqualTo(RANGE_NOT_LEX.repeat(3));
    assertThat(send("ZRANGE z - + BYLEX WITHSCORES", "ZRANGEBYLEX z - + WITHSCORES"))
        .isEqualTo("-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n".repeat(2));
  }

  @Test
  void zcount() {
    send("ZADD z 1 a 2 b 3 c");
    assertThat(send("ZCOUNT z -inf +inf", "ZCOUNT z (1 3", "ZCOUNT z (1 (2", "ZCOUNT z 5 1", "ZCOUNT nokey 0 1"))
        .isEqualTo(":3\r\n:2\r\n:0\r\n:0\r\n:0\r\n");
    assertThat(send("ZCOUNT z x 1")).isEqualTo(RANGE_NOT_FLOAT);
  }

  @Test
  void zrank_zrevrank_withScore() {
    send("ZADD z 1 a 2 b 3 c");
    assertThat(send("ZRANK z a", "ZREVRANK z a", "ZRANK z x", "ZRANK nokey a")).isEqualTo(":0\r\n:2\r\n$-1\r\n$-1\r\n");
    assertThat(send("ZRANK z c WITHSCORE", "ZREVRANK z c WITHSCORE", "ZRANK z x WITHSCORE"))
        .isEqualTo("*2\r\n:2\r\n" + bulk("3") + "*2\r\n:0\r\n" + bulk("3") + "*-1\r\n");
    assertThat(send("ZRANK z c FOO", "ZRANK z c WITHSCORE x"))
        .isEqualTo(SYNTAX + "-ERR wrong number of arguments for 'zrank' command\r\n");
  }

  @Test
  void zremrange_byScoreRankAndLex_removeTheKeyWithItsLastMember() {
    send("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assertThat(send("ZREMRANGEBYSCORE z (1 2", "ZREMRANGEBYRANK z -1 -1", "ZREMRANGEBYLEX z [c [d", "ZRANGE z 0 -1"))
        .as("by lex over mixed scores walks as Redis walks a listpack").isEqualTo(":1\r\n:1\r\n:2\r\n" + bulks("a"));
    assertThat(send("ZREMRANGEBYRANK z 5 10", "ZREMRANGEBYRANK z 0 -1", "EXISTS z", "ZREMRANGEBYSCORE nokey 0 1"))
        .isEqualTo(":0\r\n:1\r\n:0\r\n:0\r\n");
    send("ZADD l 0 a 0 b 0 c");
    assertThat(send("ZREMRANGEBYLEX l (a +", "ZRANGE l 0 -1")).isEqualTo(":2\r\n" + bulks("a"));
    send("ZADD m 0 p 0 q 4 d 5 e");
    assertThat(send("ZREMRANGEBYLEX m [p [p", "ZREMRANGEBYLEX m [q [p", "ZREMRANGEBYLEX m (d [d", "ZCARD m"))
        .as("as Redis: nothing when the last member is below min, or min is above max").isEqualTo(":0\r\n:0\r\n:0\r\n:4\r\n");
    assertThat(send("ZREMRANGEBYRANK z x 1", "ZREMRANGEBYSCORE z x 1", "ZREMRANGEBYLEX z x y"))
        .isEqualTo(NOT_INTEGER + RANGE_NOT_FLOAT + RANGE_NOT_LEX);
  }

  @Test
  void ranges_ofALargeSet_areFoundOnItsPayload_andItsRemovalsLeaveTheRest() {
    StringBuilder zadd = new StringBuilder("ZADD z");
    for (int i = 0; i < 1000; i++) {
      zadd.append(' ').append(i / 10).append(String.format(" m%04d", i)); // ten members a score
    }
    assertThat(send(zadd.toString())).isEqualTo(":1000\r\n");
    assertThat(send("ZCOUNT z (10 20", "ZLEXCOUNT z [m0100 (m0200", "ZRANGEBYSCORE z (49 +inf LIMIT 2 3",
        "ZREVRANGEBYSCORE z 50 -inf WITHSCORES LIMIT 0 2", "ZRANGE z + [m0990 BYLEX REV LIMIT 1 2",
        "ZRANGE z (99 98 BYSCORE REV LIMIT 8 5", "ZRANGEBYLEX z (m0997 + LIMIT 0 -1"))
        .isEqualTo(":100\r\n:100\r\n" + bulks("m0502", "m0503", "m0504") + bulks("m0509", "50", "m0508", "50")
            + bulks("m0998", "m0997") + bulks("m0981", "m0980") + bulks("m0998", "m0999"));
    assertThat(send("ZREMRANGEBYSCORE z 0 0", "ZREMRANGEBYRANK z -10 -1", "ZPOPMIN z 2", "ZPOPMAX z",
        "ZREMRANGEBYLEX z [m0500 [m0599", "ZCARD z", "ZRANGE z 0 0", "ZRANGE z -1 -1", "ZRANGE z 487 488"))
        .isEqualTo(":10\r\n:10\r\n" + bulks("m0010", "1", "m0011", "1") + bulks("m0989", "98") + ":100\r\n:877\r\n"
            + bulks("m0012") + bulks("m0988") + bulks("m0499", "m0600"));
  }

  @Test
  void zpopmin_zpopmax() {
    send("ZADD z 1 a 2 b 3 c 4 d");
    assertThat(send("ZPOPMIN z", "ZPOPMAX z 2", "ZPOPMIN z 0", "ZPOPMIN z 10", "EXISTS z", "ZPOPMIN nokey", "ZPOPMAX nokey 2"))
        .isEqualTo(bulks("a", "1") + bulks("d", "4", "c", "3") + "*0\r\n" + bulks("b", "2") + ":0\r\n*0\r\n*0\r\n");
    String positive = "-ERR value is out of range, must be positive\r\n";
    assertThat(send("ZPOPMIN z -1", "ZPOPMIN z x", "ZPOPMIN z 1 2")).isEqualTo(positive + positive + SYNTAX);
  }

  @Test
  void zrandmember() {
    assertThat(send("ZRANDMEMBER nokey", "ZRANDMEMBER nokey 2")).isEqualTo("$-1\r\n*0\r\n");
    send("ZADD z 1 a 2 b 3 c");
    assertThat(send("ZRANDMEMBER z")).matches("\\$1\r\n[abc]\r\n");
    assertThat(send("ZRANDMEMBER z 10")).startsWith("*3\r\n").contains("$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n");
    assertThat(send("ZRANDMEMBER z -5 WITHSCORES")).as("negative: exactly |count|, repeats allowed").startsWith("*10\r\n");
    assertThat(send("ZRANDMEMBER z 1 WITHSCORES")).matches("\\*2\r\n\\$1\r\n([abc])\r\n\\$1\r\n[123]\r\n");
    assertThat(send("ZRANDMEMBER z x", "ZRANDMEMBER z 1 FOO", "ZRANDMEMBER z 2000000"))
        .isEqualTo(NOT_INTEGER + SYNTAX + "-ERR value is out of range\r\n");
  }

  @Test
  void zscan_answersEveryMatchingMemberWithItsScore() {
    send("ZADD z 1 a1 2.5 a2 3 b1");
    assertThat(send("ZSCAN z 0 MATCH a* COUNT 10")).isEqualTo("*2\r\n$1\r\n0\r\n" + bulks("a1", "1", "a2", "2.5"));
    assertThat(send("ZSCAN nokey 0")).isEqualTo("*2\r\n$1\r\n0\r\n*0\r\n");
    assertThat(send("ZSCAN z 0 COUNT 0", "ZSCAN z 0 FOO")).isEqualTo(SYNTAX.repeat(2));
  }

  @Test
  void resp3_scoresAreDoubles_andWithScoresArePairs() {
    send("HELLO 3", "ZADD z 1 a 2.5 b");
    assertThat(send("ZSCORE z b", "ZINCRBY z 1 a", "ZMSCORE z a x")).isEqualTo(",2.5\r\n,2\r\n*2\r\n,2\r\n_\r\n");
    assertThat(send("ZRANGE z 0 -1 WITHSCORES")).isEqualTo("*2\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
    assertThat(send("ZPOPMIN z")).as("without a count: flat").isEqualTo("*2\r\n$1\r\na\r\n,2\r\n");
    assertThat(send("ZPOPMAX z 1")).as("with a count: pairs").isEqualTo("*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
  }

  @Test
  void wrongType_typeEncodingAndScan() {
    send("SET str v", "ZADD z 1 a", "ZADD big 1 " + "m".repeat(65));
    for (String c : new String[] {"ZADD str 1 a", "ZINCRBY str 1 a", "ZREM str a", "ZSCORE str a", "ZMSCORE str a",
        "ZCARD str", "ZCOUNT str 0 1", "ZLEXCOUNT str - +", "ZRANK str a", "ZRANGE str 0 -1", "ZRANGEBYSCORE str 0 1",
        "ZREMRANGEBYRANK str 0 1", "ZPOPMIN str", "ZRANDMEMBER str", "ZSCAN str 0", "GET z", "SADD z a", "HGET z f"}) {
      assertThat(send(c)).as(c).isEqualTo(WRONGTYPE);
    }
    assertThat(send("TYPE z", "OBJECT ENCODING z", "OBJECT ENCODING big"))
        .isEqualTo("+zset\r\n" + bulk("listpack") + bulk("skiplist"));
    assertThat(send("SCAN 0 TYPE zset COUNT 100")).startsWith("*2\r\n$1\r\n0\r\n*2\r\n").contains("$1\r\nz\r\n", "$3\r\nbig\r\n");
  }

  @Test
  void writes_keepTheKeysExpiry_andCopyRenameKeepTheType() {
    send("ZADD z 1 a", "EXPIRE z 100", "ZADD z 2 b", "ZREM z a");
    assertThat(send("TTL z")).isEqualTo(":100\r\n");
    assertThat(send("COPY z z2", "RENAME z z3", "TYPE z2", "ZRANGE z3 0 -1 WITHSCORES"))
        .isEqualTo(":1\r\n+OK\r\n+zset\r\n" + bulks("b", "2"));
  }

  @Test
  void insideMulti_runsAtomically() {
    assertThat(send("MULTI", "ZADD z 1 a 2 b", "ZINCRBY z 5 a", "ZRANGE z 0 -1", "EXEC"))
        .isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:2\r\n" + bulk("6") + bulks("b", "a"));
  }

  @Test
  void watch_aZaddByAnotherClient_abortsTheTransaction() {
    try (RespChannel other = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock)) {
      send("ZADD z 1 a", "WATCH z");
      other.send("ZADD z 2 a");
      assertThat(send("MULTI", "ZCARD z", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n*-1\r\n");
      send("WATCH z");
      other.send("ZADD z 2 a"); // no change: the same score
      assertThat(send("MULTI", "ZCARD z", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n*1\r\n:1\r\n");
    }
  }

  @Test
  void memberLimit_configured_isCheckedBeforeWriting() {
    Store small = Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
    try (RespChannel limited = new RespChannel(new LocalRouter(new LocalExecutor(small,
        io.distcache.protocol.ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 3)), small, clock)) {
      assertThat(limited.send("ZADD z 1 a 2 b 3 c", "ZADD z 4 a 5 d", "ZSCORE z a", "ZADD z 9 c", "ZSCORE z c")).isEqualTo(
          ":3\r\n-ERR sorted set 'z' would hold 4 members; the limit is 3 members per sorted set"
              + " (--max-collection-elements)\r\n" + bulk("1") + ":0\r\n" + bulk("9"));
    } finally {
      small.close();
    }
  }
}
