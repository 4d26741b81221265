package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.support.caching.CacheAccessor;
import io.lettuce.core.support.caching.CacheFrontend;
import io.lettuce.core.support.caching.ClientSideCaching;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.csc.Cache;
import redis.clients.jedis.csc.DefaultCache;

/** Lettuce's and Jedis's client-side caching against a real node, kept correct while another client writes. */
class TrackingClientsTest {
  private final RespTestServer server = new RespTestServer();

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void lettuce_clientSideCaching_seesAnotherClientsWrites() {
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", server.port()));
    try (StatefulRedisConnection<String, String> conn = client.connect();
        Jedis writer = new Jedis("127.0.0.1", server.port())) {
      Map<String, String> local = new ConcurrentHashMap<>();
      CacheFrontend<String, String> frontend =
          ClientSideCaching.enable(CacheAccessor.forMap(local), conn, TrackingArgs.Builder.enabled());
      writer.set("k", "v1");
      assertThat(frontend.get("k")).isEqualTo("v1");
      assertThat(local).containsEntry("k", "v1");
      for (int i = 2; i <= 20; i++) {
        writer.set("k", "v" + i);
        String expected = "v" + i;
        // The invalidation drops the local copy; the next read fetches the new value.
        await().atMost(Duration.ofSeconds(10)).until(() -> !local.containsKey("k"));
        assertThat(frontend.get("k")).isEqualTo(expected);
      }
      writer.del("k");
      await().atMost(Duration.ofSeconds(10)).until(() -> !local.containsKey("k"));
      assertThat(frontend.get("k")).isNull();
      // No FLUSHALL here: its invalidation carries a null key list (as Redis sends it), which
      // Lettuce 7.7's DefaultRedisCache does not handle (NullPointerException in its listener).
      frontend.close();
    } finally {
      client.shutdown();
    }
  }

  @Test
  void jedis8_redisClientWithCache_seesAnotherClientsWrites() {
    // Jedis refuses client-side caching unless HELLO says "redis" >= 7.4; distcache reports
    // 7.2.4, so the cache runs in Jedis's compatibility mode (the same tracking underneath).
    Cache cache = new DefaultCache(1000) {
      @Override
      public boolean compatibilityMode() {
        return true;
      }
    };
    try (redis.clients.jedis.RedisClient reader = redis.clients.jedis.RedisClient.builder()
        .hostAndPort("127.0.0.1", server.port())
        .clientConfig(DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())
        .cache(cache)
        .build();
        Jedis writer = new Jedis("127.0.0.1", server.port())) {
      writer.set("k", "v1");
      assertThat(reader.get("k")).isEqualTo("v1");
      assertThat(cache.getSize()).isEqualTo(1);
      assertThat(reader.get("k")).isEqualTo("v1");
      assertThat(cache.getStats().getHitCount()).isEqualTo(1);
      for (int i = 2; i <= 20; i++) {
        writer.set("k", "v" + i);
        String expected = "v" + i;
        // Jedis reads pending invalidations before it serves from its cache, so after the
        // acknowledged write the next read must not return the old value.
        await().atMost(Duration.ofSeconds(10)).until(() -> expected.equals(reader.get("k")));
      }
      writer.del("k");
      await().atMost(Duration.ofSeconds(10)).until(() -> reader.get("k") == null);
      assertThat(writer.configGet("tracking-table-max-keys")).containsEntry("tracking-table-max-keys", "1000000");
      assertThat(writer.configSet("tracking-table-max-keys", "5")).isEqualTo("OK");
      assertThat(writer.configGet("tracking-table-max-keys")).containsEntry("tracking-table-max-keys", "5");
      assertThat(cache.getStats().getInvalidationCount()).isPositive();
    }
  }

  @Test
  void lettuce_clientSideCaching_dropsAnEvictedKey() {
    // A 2 MiB node: another client's writes evict the cached key, and the cache must hear of it.
    io.distcache.server.DistCacheNode small = io.distcache.server.DistCacheNode.builder()
        .address("127.0.0.1", 0).maxMemoryBytes(2L * 1024 * 1024).start();
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", small.port()));
    try (StatefulRedisConnection<String, String> conn = client.connect();
        Jedis writer = new Jedis("127.0.0.1", small.port())) {
      Map<String, String> local = new ConcurrentHashMap<>();
      CacheFrontend<String, String> frontend =
          ClientSideCaching.enable(CacheAccessor.forMap(local), conn, TrackingArgs.Builder.enabled());
      writer.set("victim", "v1");
      assertThat(frontend.get("victim")).isEqualTo("v1");
      assertThat(local).containsEntry("victim", "v1");
      String value = "x".repeat(10 * 1024);
      for (int i = 0; i < 10_000 && writer.exists("victim"); i++) {
        writer.set("filler" + i, value);
      }
      assertThat(writer.exists("victim")).as("evicted").isFalse();
      await().atMost(Duration.ofSeconds(10)).until(() -> !local.containsKey("victim"));
      assertThat(frontend.get("victim")).isNull();
      frontend.close();
    } finally {
      client.shutdown();
      small.close();
    }
  }
}
