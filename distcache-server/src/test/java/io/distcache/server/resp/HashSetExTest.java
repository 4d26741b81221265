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

/**
 * Redis 8.0's HSETEX, replies and error texts as Redis's t_hash.c gives them (Debian's
 * redis-server is 7.x and has no HSETEX, so they are taken from Redis's source and command page).
 */
class HashSetExTest {
  private static final long T0 = 1_700_000_000_000L;
  private static final String ARITY = "-ERR wrong number of arguments for 'hsetex' command\r\n";
  private final ManualClock clock = new ManualClock(T0);
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);
  private final RespContext context =
      RespContext.builder(new LocalRouter(executor), store).clock(clock).version("test").build();
  private final RespChannel resp = new RespChannel(context);
  private final RespChannel sub = new RespChannel(context);

  {
    executor.pubSub(context.pubSub(), context.keyspaceEvents());
  }

  @AfterEach
  void tearDown() {
    resp.close();
    sub.close();
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

  @Test
  void withoutOptions_setsLikeHset_andDropsTheFieldsTime() {
    assertThat(send("HSETEX h FIELDS 2 a 1 b 2")).isEqualTo(":1\r\n");
    assertThat(send("HGETALL h")).isEqualTo("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    send("HEXPIRE h 100 FIELDS 1 a");
    assertThat(send("HSETEX h FIELDS 1 a 3", "HTTL h FIELDS 1 a", "HGET h a")).isEqualTo(":1\r\n" + ints(-1) + "$1\r\n3\r\n");
    assertThat(send("HSETEX h FIELDS 2 c 1 c 2", "HGET h c")).as("a repeated field: the last value wins")
        .isEqualTo(":1\r\n$1\r\n2\r\n");
  }

  @Test
  void expiryOptions_setEveryFieldsTime() {
    assertThat(send("HSETEX h EX 100 FIELDS 2 a 1 b 2", "HTTL h FIELDS 2 a b")).isEqualTo(":1\r\n" + ints(100, 100));
    assertThat(send("HSETEX h PX 1500 FIELDS 1 a 1", "HPTTL h FIELDS 1 a")).isEqualTo(":1\r\n" + ints(1500));
    assertThat(send("HSETEX h EXAT " + (T0 / 1000 + 7200) + " FIELDS 1 a 1", "HEXPIRETIME h FIELDS 1 a"))
        .isEqualTo(":1\r\n" + ints(T0 / 1000 + 7200));
    assertThat(send("HSETEX h pxat " + (T0 + 9_999) + " FIELDS 1 a 1", "HPEXPIRETIME h FIELDS 1 a"))
        .isEqualTo(":1\r\n" + ints(T0 + 9_999));
    clock.advanceMillis(9_999);
    assertThat(send("HEXISTS h a", "HEXISTS h b")).as("a's time came, b's did not").isEqualTo(":0\r\n:1\r\n");
  }

  @Test
  void keepTtl_keepsEachFieldsTime_aNewFieldHasNone() {
    send("HSETEX h EX 100 FIELDS 1 a 1");
    assertThat(send("HSETEX h KEEPTTL FIELDS 2 a 2 b 2", "HTTL h FIELDS 2 a b", "HGET h a"))
        .isEqualTo(":1\r\n" + ints(100, -1) + "$1\r\n2\r\n");
  }

  @Test
  void fnx_setsOnlyWhenNoFieldExists() {
    send("HSET h a 1");
    assertThat(send("HSETEX h FNX FIELDS 2 a x c y", "HGET h a", "HEXISTS h c"))
        .isEqualTo(":0\r\n$1\r\n1\r\n:0\r\n");
    assertThat(send("HSETEX h FNX EX 60 FIELDS 2 c y d z", "HTTL h FIELDS 2 c d")).isEqualTo(":1\r\n" + ints(60, 60));
    assertThat(send("HSETEX nokey FNX FIELDS 1 a 1", "HGET nokey a")).isEqualTo(":1\r\n$1\r\n1\r\n");
    send("HPEXPIRE h 100 FIELDS 1 a");
    clock.advanceMillis(100);
    assertThat(send("HSETEX h FNX FIELDS 1 a new", "HGET h a")).as("an expired field is absent")
        .isEqualTo(":1\r\n$3\r\nnew\r\n");
  }

  @Test
  void fxx_setsOnlyWhenEveryFieldExists() {
    send("HSET h a 1 b 2");
    assertThat(send("HSETEX h FXX FIELDS 2 a x c y", "HGET h a", "HEXISTS h c"))
        .isEqualTo(":0\r\n$1\r\n1\r\n:0\r\n");
    assertThat(send("HSETEX h FXX PX 500 FIELDS 2 a x b y", "HPTTL h FIELDS 2 a b", "HGET h b"))
        .isEqualTo(":1\r\n" + ints(500, 500) + "$1\r\ny\r\n");
    assertThat(send("HSETEX nokey FXX FIELDS 1 a 1", "EXISTS nokey")).as("FXX does not create the key")
        .isEqualTo(":0\r\n:0\r\n");
  }

  @Test
  void aPastTime_deletesTheFieldsAfterSettingThem_andTheKeyWithTheLast() {
    send("HSET h keep k a 1");
    assertThat(send("HSETEX h PXAT 1 FIELDS 2 a 2 b 2", "HKEYS h")).isEqualTo(":1\r\n*1\r\n$4\r\nkeep\r\n");
    assertThat(send("HSETEX g EX 0 FIELDS 1 a 1", "EXISTS g")).isEqualTo(":1\r\n:0\r\n");
  }

  @Test
  void errors_inRedisOrderAndWords() {
    assertThat(send("HSETEX h FIELDS 1 a")).isEqualTo(ARITY);
    assertThat(send("HSETEX h EX 10 FIELDS 1 a")).as("FIELDS with fewer than 3 arguments after it").isEqualTo(ARITY);
    assertThat(send("HSETEX h FIELDS 2 a 1")).isEqualTo(ARITY);
    assertThat(send("HSETEX h FIELDS 1 a 1 b")).isEqualTo(ARITY);
    assertThat(send("HSETEX h FIELDS 0 a 1")).isEqualTo("-ERR invalid number of fields\r\n");
    assertThat(send("HSETEX h FIELDS -1 a 1")).isEqualTo("-ERR invalid number of fields\r\n");
    assertThat(send("HSETEX h FIELDS x a 1")).isEqualTo("-ERR invalid number of fields\r\n");
    String expiry = "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified\r\n";
    assertThat(send("HSETEX h EX 10 PX 10 FIELDS 1 a 1")).isEqualTo(expiry);
    assertThat(send("HSETEX h KEEPTTL EX 10 FIELDS 1 a 1")).isEqualTo(expiry);
    assertThat(send("HSETEX h EXAT 10 KEEPTTL FIELDS 1 a 1")).isEqualTo(expiry);
    assertThat(send("HSETEX h FNX FXX FIELDS 1 a 1"))
        .isEqualTo("-ERR Only one of FXX or FNX arguments can be specified\r\n");
    assertThat(send("HSETEX h FXX FXX FIELDS 1 a 1"))
        .isEqualTo("-ERR Only one of FXX or FNX arguments can be specified\r\n");
    assertThat(send("HSETEX h BOGUS FIELDS 1 a 1")).isEqualTo("-ERR unknown argument: BOGUS\r\n");
    assertThat(send("HSETEX h EX -1 FIELDS 1 a 1")).isEqualTo("-ERR invalid expire time, must be >= 0\r\n");
    assertThat(send("HSETEX h EX abc FIELDS 1 a 1")).isEqualTo("-ERR value is not an integer or out of range\r\n");
    assertThat(send("HSETEX h EX 70368744178 FIELDS 1 a 1"))
        .isEqualTo("-ERR invalid expire time in 'hsetex' command\r\n");
    assertThat(send("HSETEX h PXAT 70368744177664 FIELDS 1 a 1"))
        .isEqualTo("-ERR invalid expire time in 'hsetex' command\r\n");
    assertThat(send("EXISTS h")).as("no error wrote anything").isEqualTo(":0\r\n");
    send("SET s x");
    assertThat(send("HSETEX s FIELDS 1 a 1"))
        .isEqualTo("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  }

  @Test
  void insideMulti_queuedAndRun() {
    assertThat(send("MULTI", "HSETEX h EX 100 FIELDS 1 a 1", "HTTL h FIELDS 1 a", "EXEC"))
        .isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n" + ints(100));
  }

  @Test
  void events_hsetThenHexpireOrHdel_andDelForTheKey() {
    resp.send("CONFIG SET notify-keyspace-events Kgh");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    send("HSETEX h FIELDS 1 a 1", "HSETEX h EX 10 FIELDS 1 a 1", "HSETEX h FNX FIELDS 1 a 1",
        "HSETEX h PXAT 1 FIELDS 1 a 1");
    // The FNX that failed publishes nothing.
    assertThat(sub.output()).isEqualTo(HashActiveExpiryTest.events("h", "hset", "h", "hset", "h", "hexpire", "h", "hset",
        "h", "hdel", "h", "del"));
  }

  /**
   * On a full hash, HSETEX of a new field with a time already past changes nothing and answers 1,
   * small hash (decoded) or large (edited), as the field never stays (a reviewer: the decoding path
   * refused it as over the limit while the edit answered 1).
   */
  @Test
  void fullHash_hsetexOfANewFieldWithAPastTime_answersOne_onBothPaths() {
    Store small = Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
    try (RespChannel large = new RespChannel(new LocalRouter(new LocalExecutor(small,
            io.distcache.protocol.ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 200)), small, clock);
        RespChannel few = new RespChannel(new LocalRouter(new LocalExecutor(small,
            io.distcache.protocol.ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 3)), small, clock)) {
      StringBuilder big = new StringBuilder("HSET big");
      for (int i = 0; i < 200; i++) {
        big.append(" f").append(i).append(" v");
      }
      large.send(big.toString(), "HPEXPIRE big 100000 FIELDS 1 f0");
      String past = " PXAT " + (T0 - 1) + " FIELDS 1 new v";
      assertThat(large.send("HSETEX big" + past, "HLEN big")).as("edited").isEqualTo(":1\r\n:200\r\n");
      // a small hash with a field time (its trailer) is decoded
      assertThat(few.send("HSET tiny a 1 b 2 c 3", "HPEXPIRE tiny 100000 FIELDS 1 a", "HSETEX tiny" + past, "HLEN tiny"))
          .as("decoded").isEqualTo(":3\r\n*1\r\n:1\r\n:1\r\n:3\r\n");
    } finally {
      small.close();
    }
  }
}
