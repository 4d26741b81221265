package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.server.DistCacheNode;
import io.distcache.server.ManualClock;
import io.lettuce.core.ExpireArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.ExpiryOption;
import redis.clients.jedis.exceptions.JedisDataException;

/** Jedis 8 and Lettuce 7 field-expiry calls, in their default modes, against a node on a manual clock. */
class HashFieldExpiryClientsTest {
  private final ManualClock clock = new ManualClock();
  private DistCacheNode node;
  private Jedis jedis;
  private RedisClient lettuce;
  private StatefulRedisConnection<String, String> connection;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20).clock(clock).start();
    jedis = new Jedis("127.0.0.1", node.port());
    lettuce = RedisClient.create(RedisURI.create("127.0.0.1", node.port()));
    connection = lettuce.connect();
  }

  @AfterEach
  void stop() {
    connection.close();
    lettuce.shutdown();
    jedis.close();
    node.close();
  }

  @Test
  void jedis_hexpireHttlHpersist() {
    jedis.hset("session", Map.of("user", "ada", "token", "t1", "csrf", "c1"));
    assertThat(jedis.hexpire("session", 60, "token", "missing")).containsExactly(1L, -2L);
    assertThat(jedis.hexpire("session", 30, ExpiryOption.NX, "token", "csrf")).containsExactly(0L, 1L);
    assertThat(jedis.httl("session", "token", "csrf", "user")).containsExactly(60L, 30L, -1L);
    assertThat(jedis.hpttl("session", "token")).containsExactly(60_000L);
    assertThat(jedis.hexpireTime("session", "token")).containsExactly(clock.millis() / 1000 + 60);
    assertThat(jedis.hpersist("session", "csrf", "user")).containsExactly(1L, -1L);
    assertThat(jedis.hpexpire("session", 500, "token")).containsExactly(1L);
    clock.advanceMillis(500);
    assertThat(jedis.hget("session", "token")).isNull();
    assertThat(jedis.hgetAll("session")).isEqualTo(Map.of("user", "ada", "csrf", "c1"));
    assertThat(jedis.hexpireAt("session", clock.millis() / 1000 - 1, "csrf")).containsExactly(2L);
    assertThatThrownBy(() -> jedis.hexpire("session", -1, "user"))
        .isInstanceOf(JedisDataException.class).hasMessage("ERR invalid expire time, must be >= 0");
    jedis.set("text", "x");
    assertThatThrownBy(() -> jedis.httl("text", "a")).isInstanceOf(JedisDataException.class)
        .hasMessageStartingWith("WRONGTYPE");
  }

  @Test
  void jedis_redis8_hgetexHgetdel() {
    jedis.hset("h", Map.of("a", "1", "b", "2"));
    assertThat(jedis.hgetex("h", redis.clients.jedis.params.HGetExParams.hGetExParams().ex(60), "a", "zz"))
        .containsExactly("1", null);
    assertThat(jedis.httl("h", "a")).containsExactly(60L);
    assertThat(jedis.hgetex("h", redis.clients.jedis.params.HGetExParams.hGetExParams().persist(), "a"))
        .containsExactly("1");
    assertThat(jedis.httl("h", "a")).containsExactly(-1L);
    assertThat(jedis.hgetdel("h", "a", "b")).containsExactly("1", "2");
    assertThat(jedis.exists("h")).isFalse();
  }

  @Test
  void jedis_redis8_hsetex() {
    redis.clients.jedis.params.HSetExParams ex60 = redis.clients.jedis.params.HSetExParams.hSetExParams().ex(60);
    assertThat(jedis.hsetex("h", ex60, Map.of("a", "1", "b", "2"))).isEqualTo(1L);
    assertThat(jedis.httl("h", "a", "b")).containsExactly(60L, 60L);
    assertThat(jedis.hsetex("h", redis.clients.jedis.params.HSetExParams.hSetExParams().fnx().px(500), "a", "x"))
        .isZero();
    assertThat(jedis.hsetex("h", redis.clients.jedis.params.HSetExParams.hSetExParams().fxx().keepTtl(), "a", "x"))
        .isEqualTo(1L);
    assertThat(jedis.hget("h", "a")).isEqualTo("x");
    assertThat(jedis.httl("h", "a")).containsExactly(60L);
    assertThat(jedis.hsetex("h", redis.clients.jedis.params.HSetExParams.hSetExParams()
        .pxAt(clock.millis() + 250), "c", "3")).isEqualTo(1L);
    assertThat(jedis.hpexpireTime("h", "c")).containsExactly(clock.millis() + 250);
    clock.advanceMillis(250);
    assertThat(jedis.hgetAll("h")).isEqualTo(Map.of("a", "x", "b", "2"));
  }

  @Test
  void lettuce_redis8_hsetex_syncAndAsync() throws Exception {
    RedisCommands<String, String> sync = connection.sync();
    assertThat(sync.hsetex("h", Map.of("a", "1"))).isEqualTo(1L);
    assertThat(sync.hsetex("h", new io.lettuce.core.HSetExArgs().ex(Duration.ofSeconds(30)), Map.of("b", "2")))
        .isEqualTo(1L);
    assertThat(sync.httl("h", "a", "b")).containsExactly(-1L, 30L);
    assertThat(sync.hsetex("h", new io.lettuce.core.HSetExArgs().fxx(), Map.of("a", "9", "zz", "0"))).isZero();
    RedisAsyncCommands<String, String> async = connection.async();
    assertThat(async.hsetex("h", new io.lettuce.core.HSetExArgs().fnx()
        .exAt(java.time.Instant.ofEpochMilli(clock.millis() + 10_000)), Map.of("c", "3")).get(10, TimeUnit.SECONDS))
        .isEqualTo(1L);
    assertThat(async.httl("h", "c").get(10, TimeUnit.SECONDS)).containsExactly(10L);
  }

  @Test
  void jedis_lastFieldExpiring_removesTheKey_throughTheSweep() {
    jedis.hset("h", "only", "v");
    jedis.hpexpire("h", 100, "only");
    clock.advanceMillis(100);
    assertThat(jedis.hlen("h")).isZero();
    // The node's sweep runs every 100 ms of real time and reads the manual clock.
    await().atMost(Duration.ofSeconds(10)).until(() -> !jedis.exists("h"));
  }

  @Test
  void lettuce_syncAndAsync() throws Exception {
    RedisCommands<String, String> sync = connection.sync();
    sync.hset("h", Map.of("a", "1", "b", "2"));
    assertThat(sync.hexpire("h", 100, "a", "zz")).containsExactly(1L, -2L);
    assertThat(sync.hexpire("h", Duration.ofSeconds(50), ExpireArgs.Builder.gt(), "a")).containsExactly(0L);
    assertThat(sync.hexpire("h", Duration.ofSeconds(50), ExpireArgs.Builder.lt(), "a", "b")).containsExactly(1L, 1L);
    assertThat(sync.httl("h", "a", "b", "zz")).containsExactly(50L, 50L, -2L);
    assertThat(sync.hpttl("h", "a")).containsExactly(50_000L);
    assertThat(sync.hexpiretime("h", "a")).containsExactly(clock.millis() / 1000 + 50);
    assertThat(sync.hpersist("h", "a")).containsExactly(1L);
    assertThat(sync.hexpireat("h", clock.millis() / 1000 + 10, "b")).containsExactly(1L);
    RedisAsyncCommands<String, String> async = connection.async();
    assertThat(async.httl("h", "a", "b").get(10, TimeUnit.SECONDS)).containsExactly(-1L, 10L);
    assertThat(async.hpersist("h", "b").get(10, TimeUnit.SECONDS)).containsExactly(1L);
    clock.advanceMillis(20_000);
    assertThat(sync.hgetall("h")).isEqualTo(Map.of("a", "1", "b", "2"));
  }
}
