package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.FieldExpirySweeper;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.distcache.server.store.TypedEntry;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST as Redis 7.4 answers them. */
class HashFieldExpiryTest {
  private static final String WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  private static final long T0 = 1_700_000_000_000L;
  private final ManualClock clock = new ManualClock(T0);
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalRouter router = new LocalRouter(new LocalExecutor(store));
  private final RespChannel resp = new RespChannel(router, store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  private static String ints(long... values) {
    StringBuilder sb = new StringBuilder("*").append(values.length).append("\r\n");
    for (long v : values) {
      sb.append(':').append(v).append("\r\n");
    }
    return sb.toString();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void hexpire_setsPerField_andEveryReadCommandReportsIt() {
    send("HSET h f1 v1 f2 v2");
    assertThat(send("HEXPIRE h 100 FIELDS 3 f1 f2 nofield")).isEqualTo(ints(1, 1, -2));
    assertThat(send("HTTL h FIELDS 3 f1 f2 nofield")).isEqualTo(ints(100, 100, -2));
    assertThat(send("HPTTL h FIELDS 1 f1")).isEqualTo(ints(100_000));
    assertThat(send("HEXPIRETIME h FIELDS 1 f1")).isEqualTo(ints(T0 / 1000 + 100));
    assertThat(send("HPEXPIRETIME h FIELDS 1 f1")).isEqualTo(ints(T0 + 100_000));
    clock.advanceMillis(500);
    // Redis rounds the seconds left up: 99.5 s is 100.
    assertThat(send("HTTL h FIELDS 1 f1", "HPTTL h FIELDS 1 f1")).isEqualTo(ints(100) + ints(99_500));
    assertThat(send("HPEXPIRE h 1500 FIELDS 1 f2", "HPTTL h FIELDS 1 f2")).isEqualTo(ints(1) + ints(1500));
    assertThat(send("HEXPIREAT h " + (T0 / 1000 + 7200) + " FIELDS 1 f1", "HEXPIRETIME h FIELDS 1 f1"))
        .isEqualTo(ints(1) + ints(T0 / 1000 + 7200));
    assertThat(send("HPEXPIREAT h " + (T0 + 9_999) + " FIELDS 1 f1", "HPEXPIRETIME h FIELDS 1 f1"))
        .isEqualTo(ints(1) + ints(T0 + 9_999));
  }

  @Test
  void absentKey_answersNoFieldForEachField() {
    assertThat(send("HEXPIRE nokey 10 FIELDS 2 a b")).isEqualTo(ints(-2, -2));
    assertThat(send("HTTL nokey FIELDS 1 a", "HPEXPIRETIME nokey FIELDS 1 a")).isEqualTo(ints(-2) + ints(-2));
    assertThat(send("HPERSIST nokey FIELDS 2 a b")).isEqualTo(ints(-2, -2));
    assertThat(send("EXISTS nokey")).isEqualTo(":0\r\n");
  }

  @Test
  void wrongType() {
    send("SET s x");
    assertThat(send("HEXPIRE s 10 FIELDS 1 a")).isEqualTo(WRONGTYPE);
    assertThat(send("HTTL s FIELDS 1 a")).isEqualTo(WRONGTYPE);
    assertThat(send("HPERSIST s FIELDS 1 a")).isEqualTo(WRONGTYPE);
  }

  @Test
  void argumentErrors_withRedisTexts() {
    send("HSET h a 1");
    assertThat(send("HEXPIRE h 10 FIELDS 1")).isEqualTo("-ERR wrong number of arguments for 'hexpire' command\r\n");
    assertThat(send("HTTL h FIELDS 1")).isEqualTo("-ERR wrong number of arguments for 'httl' command\r\n");
    assertThat(send("HEXPIRE h 10 FIELDS 0 a")).isEqualTo("-ERR Parameter `numFields` should be greater than 0\r\n");
    assertThat(send("HEXPIRE h 10 FIELDS abc a")).isEqualTo("-ERR Parameter `numFields` should be greater than 0\r\n");
    assertThat(send("HEXPIRE h 10 FIELDS 2 a"))
        .isEqualTo("-ERR The `numfields` parameter must match the number of arguments\r\n");
    assertThat(send("HEXPIRE h 10 FIELDS 1 a b"))
        .isEqualTo("-ERR The `numfields` parameter must match the number of arguments\r\n");
    assertThat(send("HEXPIRE h 10 FELDS 1 a"))
        .isEqualTo("-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assertThat(send("HEXPIRE h 10 NX XX FIELDS 1 a"))
        .isEqualTo("-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assertThat(send("HEXPIRE h -1 FIELDS 1 a")).isEqualTo("-ERR invalid expire time, must be >= 0\r\n");
    assertThat(send("HEXPIRE h x FIELDS 1 a")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("HEXPIRE h 70368744178 FIELDS 1 a")).isEqualTo("-ERR invalid expire time in 'hexpire' command\r\n");
    assertThat(send("HPEXPIREAT h 70368744177664 FIELDS 1 a"))
        .isEqualTo("-ERR invalid expire time in 'hpexpireat' command\r\n");
    assertThat(send("HPEXPIRE h " + (70368744177663L - T0 + 1) + " FIELDS 1 a"))
        .isEqualTo("-ERR invalid expire time in 'hpexpire' command\r\n");
    assertThat(send("HTTL h FIELDS 0 a")).isEqualTo("-ERR Number of fields must be a positive integer\r\n");
    assertThat(send("HPERSIST h FIELDS -1 a")).isEqualTo("-ERR Number of fields must be a positive integer\r\n");
    assertThat(send("HTTL h FIELDS 2 a")).isEqualTo("-ERR The `numfields` parameter must match the number of arguments\r\n");
    assertThat(send("HPTTL h NOTFIELDS 1 a"))
        .isEqualTo("-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assertThat(send("HTTL h FIELDS 1 a")).as("nothing above changed the field").isEqualTo(ints(-1));
  }

  @Test
  void timeNowOrPast_deletesTheField_andTheLastOneTheKey() {
    send("HSET h a 1 b 2");
    assertThat(send("HEXPIRE h 0 FIELDS 2 a nofield")).isEqualTo(ints(2, -2));
    assertThat(send("HGET h a", "HLEN h")).isEqualTo("$-1\r\n:1\r\n");
    assertThat(send("HPEXPIREAT h 1 FIELDS 1 b")).isEqualTo(ints(2));
    assertThat(send("EXISTS h", "TYPE h")).isEqualTo(":0\r\n+none\r\n");
    send("HSET h c 3");
    assertThat(send("HEXPIREAT h " + T0 / 1000 + " FIELDS 1 c", "EXISTS h")).isEqualTo(ints(2) + ":0\r\n");
  }

  @Test
  void conditions_nxXxGtLt_withAndWithoutAnExistingTtl() {
    send("HSET h a 1 b 2 c 3");
    assertThat(send("HEXPIRE h 100 NX FIELDS 2 a b")).isEqualTo(ints(1, 1));
    assertThat(send("HEXPIRE h 200 NX FIELDS 2 a c")).isEqualTo(ints(0, 1));
    assertThat(send("HPERSIST h FIELDS 1 c")).isEqualTo(ints(1));
    assertThat(send("HEXPIRE h 50 XX FIELDS 2 a c")).isEqualTo(ints(1, 0));
    // GT: no expiry counts as infinite, so nothing is greater; LT: anything is less.
    assertThat(send("HEXPIRE h 100 gt FIELDS 2 a c")).isEqualTo(ints(1, 0));
    assertThat(send("HEXPIRE h 100 GT FIELDS 1 a")).as("equal is not greater").isEqualTo(ints(0));
    assertThat(send("HEXPIRE h 10 LT FIELDS 2 a c")).isEqualTo(ints(1, 1));
    assertThat(send("HEXPIRE h 20 lt FIELDS 1 a")).isEqualTo(ints(0));
    assertThat(send("HTTL h FIELDS 3 a b c")).isEqualTo(ints(10, 100, 10));
    // A condition that fails keeps the field even when the time is in the past.
    assertThat(send("HEXPIRE h 0 NX FIELDS 1 a", "HGET h a")).isEqualTo(ints(0) + "$1\r\n1\r\n");
    assertThat(send("HEXPIRE h 0 XX FIELDS 1 a", "HEXISTS h a")).isEqualTo(ints(2) + ":0\r\n");
  }

  @Test
  void hpersist_removesTheExpiry() {
    send("HSET h a 1 b 2");
    send("HEXPIRE h 100 FIELDS 1 a");
    assertThat(send("HPERSIST h FIELDS 3 a b c")).isEqualTo(ints(1, -1, -2));
    assertThat(send("HTTL h FIELDS 2 a b")).isEqualTo(ints(-1, -1));
    clock.advanceMillis(200_000);
    assertThat(send("HGET h a")).isEqualTo("$1\r\n1\r\n");
  }

  @Test
  void expiredFields_areInvisibleToEveryHashCommand() {
    send("HSET h a 1 b 2 c 3");
    send("HPEXPIRE h 100 FIELDS 2 a b");
    clock.advanceMillis(99);
    assertThat(send("HLEN h")).isEqualTo(":3\r\n");
    clock.advanceMillis(1);
    assertThat(send("HGET h a", "HMGET h a c", "HLEN h", "HEXISTS h a", "HSTRLEN h a"))
        .isEqualTo("$-1\r\n*2\r\n$-1\r\n$1\r\n3\r\n:1\r\n:0\r\n:0\r\n");
    assertThat(send("HGETALL h", "HKEYS h", "HVALS h"))
        .isEqualTo("*2\r\n$1\r\nc\r\n$1\r\n3\r\n*1\r\n$1\r\nc\r\n*1\r\n$1\r\n3\r\n");
    assertThat(send("HSCAN h 0", "HRANDFIELD h -3"))
        .isEqualTo("*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*3\r\n$1\r\nc\r\n$1\r\nc\r\n$1\r\nc\r\n");
    assertThat(send("HTTL h FIELDS 2 a c", "HEXPIRE h 10 FIELDS 1 a", "HPERSIST h FIELDS 1 b"))
        .isEqualTo(ints(-2, -1) + ints(-2) + ints(-2));
    assertThat(send("HINCRBY h a 5")).as("an expired field counts as absent").isEqualTo(":5\r\n");
    assertThat(send("HSETNX h b new", "HGET h b", "HTTL h FIELDS 1 b")).isEqualTo(":1\r\n$3\r\nnew\r\n" + ints(-1));
  }

  @Test
  void lastFieldExpiring_removesTheKey_atTheNextWrite() {
    send("HSET h a 1");
    send("HPEXPIRE h 10 FIELDS 1 a");
    clock.advanceMillis(10);
    assertThat(send("HLEN h", "HGETALL h")).isEqualTo(":0\r\n*0\r\n");
    assertThat(send("HDEL h a", "EXISTS h")).isEqualTo(":0\r\n:0\r\n");
  }

  @Test
  void hsetDropsAFieldsExpiry_hincrbyKeepsIt() {
    send("HSET h a 1 b 2 c 1.5");
    send("HEXPIRE h 100 FIELDS 3 a b c");
    assertThat(send("HSET h a 5", "HTTL h FIELDS 1 a")).isEqualTo(":0\r\n" + ints(-1));
    assertThat(send("HINCRBY h b 1", "HINCRBYFLOAT h c 1", "HTTL h FIELDS 2 b c"))
        .isEqualTo(":3\r\n$3\r\n2.5\r\n" + ints(100, 100));
    assertThat(send("HMSET h b 9", "HTTL h FIELDS 1 b")).isEqualTo("+OK\r\n" + ints(-1));
    assertThat(send("HDEL h c", "HSET h c x", "HTTL h FIELDS 1 c")).isEqualTo(":1\r\n:1\r\n" + ints(-1));
  }

  @Test
  void keyExpiry_isIndependentOfFieldExpiry() {
    send("HSET h a 1 b 2");
    send("EXPIRE h 1000");
    assertThat(send("HEXPIRE h 10 FIELDS 1 a", "TTL h")).isEqualTo(ints(1) + ":1000\r\n");
    clock.advanceMillis(10_000);
    assertThat(send("HSET h c 3", "TTL h", "HKEYS h")).isEqualTo(":1\r\n:990\r\n*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    send("HEXPIRE h 5000 FIELDS 1 b");
    clock.advanceMillis(990_000);
    assertThat(send("EXISTS h", "HTTL h FIELDS 1 b")).as("the key's expiry ends every field").isEqualTo(":0\r\n" + ints(-2));
  }

  @Test
  void fieldTimes_travelWithTheValue_throughRenameAndCopy() {
    send("HSET h a 1 b 2");
    send("HPEXPIRE h 5000 FIELDS 1 a");
    assertThat(send("RENAME h h2", "COPY h2 h3", "HPTTL h2 FIELDS 2 a b", "HPTTL h3 FIELDS 2 a b"))
        .isEqualTo("+OK\r\n:1\r\n" + ints(5000, -1) + ints(5000, -1));
  }

  @Test
  void activeSweep_reclaimsExpiredFields_ofHashesNobodyReads() {
    send("HSET h1 a 1 b 2", "HSET h2 a 1", "HSET plain x y", "SET s v");
    send("HPEXPIRE h1 100 FIELDS 1 a", "HPEXPIRE h2 100 FIELDS 1 a");
    long plainVersion = store.getTyped(b("plain")).version();
    int h1Bytes = store.getTyped(b("h1")).value().length;
    long usage = memoryUsage("h1");
    try (FieldExpirySweeper sweeper = new FieldExpirySweeper(store, router, key -> true)) {
      assertThat(sweeper.sweepOnce()).as("nothing is due yet").isZero();
      clock.advanceMillis(100);
      assertThat(sweeper.sweepOnce()).isEqualTo(2);
      assertThat(sweeper.sweepOnce()).as("nothing left to reap").isZero();
    }
    TypedEntry h1 = store.getTyped(b("h1"));
    Map<Bytes, Long> ttl = new HashMap<>();
    assertThat(CollectionCodec.decodeHash(h1.value(), ttl)).containsOnlyKeys(new Bytes(b("b")));
    assertThat(ttl).isEmpty();
    assertThat(h1.value().length).isLessThan(h1Bytes);
    assertThat(store.exists(b("h2"))).as("its last field went, so the key went").isFalse();
    assertThat(store.getTyped(b("plain")).version()).as("a hash without expiring fields is not rewritten")
        .isEqualTo(plainVersion);
    assertThat(store.typeOf(b("s"))).isEqualTo(ValueType.STRING);
    assertThat(memoryUsage("h1")).isLessThan(usage);
  }

  private long memoryUsage(String key) {
    String reply = send("MEMORY USAGE " + key);
    assertThat(reply).startsWith(":");
    return Long.parseLong(reply.substring(1).trim());
  }

  @Test
  void activeSweep_skipsKeysThisNodeDoesNotOwn() {
    send("HSET h a 1 b 2");
    send("HPEXPIRE h 100 FIELDS 1 a");
    clock.advanceMillis(100);
    try (FieldExpirySweeper sweeper = new FieldExpirySweeper(store, router, key -> false)) {
      assertThat(sweeper.sweepOnce()).isZero();
    }
    Map<Bytes, Long> ttl = new HashMap<>();
    assertThat(CollectionCodec.decodeHash(store.getTyped(b("h")).value(), ttl)).hasSize(2);
  }

  @Test
  void largeHash_givenAFieldTime_keepsItsIndex_withTheTimeBesideIt() {
    StringBuilder hset = new StringBuilder("HSET h");
    for (int i = 0; i < 200; i++) {
      hset.append(" f").append(i).append(" v").append(i);
    }
    send(hset.toString());
    assertThat(PackedIndex.isIndexed(store.getTyped(b("h")).value())).as("200 fields: indexed").isTrue();
    assertThat(send("HEXPIRE h 100 FIELDS 1 f1", "HGET h f2", "HLEN h", "HSET h f3 w"))
        .isEqualTo("*1\r\n:1\r\n$2\r\nv2\r\n:200\r\n:0\r\n");
    assertThat(PackedIndex.isIndexed(store.getTyped(b("h")).value())).as("a field with a time: still indexed")
        .isTrue();
    assertThat(send("HTTL h FIELDS 2 f1 f2", "OBJECT ENCODING h")).isEqualTo("*2\r\n:100\r\n:-1\r\n$9\r\nhashtable\r\n");
    assertThat(send("HPERSIST h FIELDS 1 f1", "HGET h f3", "HTTL h FIELDS 1 f1"))
        .isEqualTo("*1\r\n:1\r\n$1\r\nw\r\n*1\r\n:-1\r\n");
    assertThat(PackedIndex.isIndexed(store.getTyped(b("h")).value())).as("no time left: indexed").isTrue();
    send("HEXPIRE h 100 FIELDS 2 f5 f6");
    clock.advanceMillis(100_000);
    assertThat(send("HLEN h", "HGET h f5", "HEXISTS h f6", "HSTRLEN h f6", "HMGET h f5 f8", "HRANDFIELD h -300"))
        .as("their time has come: hidden by the reads through the table")
        .startsWith(":198\r\n$-1\r\n:0\r\n:0\r\n*2\r\n$-1\r\n$2\r\nv8\r\n*300\r\n")
        .doesNotContain("$2\r\nf5\r\n").doesNotContain("$2\r\nf6\r\n");
    assertThat(send("HDEL h f7", "HLEN h", "HGET h f5", "HGET h f8")).as("the write reaps f5 and f6")
        .isEqualTo(":1\r\n:197\r\n$-1\r\n$2\r\nv8\r\n");
    assertThat(PackedIndex.isIndexed(store.getTyped(b("h")).value())).as("reaped: indexed").isTrue();
    assertThat(CollectionCodec.earliestFieldExpiry(store.getTyped(b("h")).value())).as("no time left").isZero();
  }

  /** HTTL reads the hash once, small or large: one keyspace hit, as Redis counts (a reviewer saw two on a small hash). */
  @Test
  void httl_countsOneKeyspaceHit() {
    StringBuilder hset = new StringBuilder("HSET big");
    for (int i = 0; i < 200; i++) {
      hset.append(" f").append(i).append(" v");
    }
    send("HSET small a 1", "HPEXPIRE small 5000 FIELDS 1 a", hset.toString(), "HPEXPIRE big 5000 FIELDS 1 f1");
    for (String key : new String[] {"small", "big"}) {
      long before = store.stats().hits();
      assertThat(send("HPTTL " + key + " FIELDS 2 " + (key.equals("small") ? "a" : "f1") + " nofield"))
          .isEqualTo("*2\r\n:5000\r\n:-2\r\n");
      assertThat(store.stats().hits()).as("hits counted by HPTTL of %s", key).isEqualTo(before + 1);
    }
  }

  @Test
  void objectEncoding_listpackex_whileAFieldHasATime() {
    send("HSET h a 1");
    assertThat(send("OBJECT ENCODING h")).isEqualTo("$8\r\nlistpack\r\n");
    send("HEXPIRE h 100 FIELDS 1 a");
    assertThat(send("OBJECT ENCODING h")).isEqualTo("$10\r\nlistpackex\r\n");
    send("HPERSIST h FIELDS 1 a");
    assertThat(send("OBJECT ENCODING h")).isEqualTo("$8\r\nlistpack\r\n");
  }

  @Test
  void hgetdel_returnsAndDeletes_theLastFieldTakesTheKey() {
    send("HSET h a 1 b 2");
    send("HPEXPIRE h 100 FIELDS 1 b");
    assertThat(send("HGETDEL h FIELDS 2 a nofield", "HGET h a", "HTTL h FIELDS 1 b"))
        .isEqualTo("*2\r\n$1\r\n1\r\n$-1\r\n$-1\r\n" + ints(1));
    assertThat(send("HGETDEL h FIELDS 1 b", "EXISTS h")).isEqualTo("*1\r\n$1\r\n2\r\n:0\r\n");
    assertThat(send("HGETDEL nokey FIELDS 2 a b")).isEqualTo("*2\r\n$-1\r\n$-1\r\n");
    assertThat(send("HGETDEL h FIELD 1 a"))
        .isEqualTo("-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assertThat(send("HGETDEL h FIELDS 0 a")).isEqualTo("-ERR Number of fields must be a positive integer\r\n");
    assertThat(send("HGETDEL h FIELDS 3 a b"))
        .isEqualTo("-ERR The `numfields` parameter must match the number of arguments\r\n");
    send("SET s x");
    assertThat(send("HGETDEL s FIELDS 1 a")).isEqualTo(WRONGTYPE);
  }

  @Test
  void hgetex_readsAndSetsOrRemovesExpiry() {
    send("HSET h a 1 b 2");
    assertThat(send("HGETEX h FIELDS 2 a nofield", "HTTL h FIELDS 1 a")).isEqualTo("*2\r\n$1\r\n1\r\n$-1\r\n" + ints(-1));
    assertThat(send("HGETEX h EX 100 FIELDS 2 a nofield", "HTTL h FIELDS 1 a"))
        .isEqualTo("*2\r\n$1\r\n1\r\n$-1\r\n" + ints(100));
    assertThat(send("HGETEX h PX 1500 FIELDS 1 a", "HPTTL h FIELDS 1 a")).isEqualTo("*1\r\n$1\r\n1\r\n" + ints(1500));
    assertThat(send("HGETEX h PXAT " + (T0 + 777) + " FIELDS 1 b", "HPEXPIRETIME h FIELDS 1 b"))
        .isEqualTo("*1\r\n$1\r\n2\r\n" + ints(T0 + 777));
    assertThat(send("HGETEX h PERSIST FIELDS 1 b", "HTTL h FIELDS 1 b")).isEqualTo("*1\r\n$1\r\n2\r\n" + ints(-1));
    assertThat(send("HGETEX h EXAT 1 FIELDS 1 b", "HEXISTS h b")).as("a past time deletes after reading")
        .isEqualTo("*1\r\n$1\r\n2\r\n:0\r\n");
    assertThat(send("HGETEX h EX -1 FIELDS 1 a")).isEqualTo("-ERR invalid expire time, must be >= 0\r\n");
    assertThat(send("HGETEX h EX 70368744178 FIELDS 1 a")).isEqualTo("-ERR invalid expire time in 'hgetex' command\r\n");
    assertThat(send("HGETEX h EX 10 FIELD 1 a"))
        .isEqualTo("-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assertThat(send("HGETEX h PERSIST FIELDS 2 a"))
        .isEqualTo("-ERR The `numfields` parameter must match the number of arguments\r\n");
    assertThat(send("HGETEX nokey EX 10 FIELDS 1 a")).isEqualTo("*1\r\n$-1\r\n");
  }

  @Test
  void insideMulti_queuedAndRun() {
    send("HSET h a 1");
    assertThat(send("MULTI", "HEXPIRE h 100 FIELDS 1 a", "HTTL h FIELDS 1 a", "EXEC"))
        .isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n" + ints(1) + ints(100));
  }
}
