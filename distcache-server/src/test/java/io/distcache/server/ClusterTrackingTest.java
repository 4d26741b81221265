package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TrackingArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.support.caching.CacheAccessor;
import io.lettuce.core.support.caching.CacheFrontend;
import io.lettuce.core.support.caching.ClientSideCaching;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** Client tracking in a cluster: reads forwarded to the owner, and keys whose slot moves to a joining member. */
class ClusterTrackingTest {
  private final ClusterFixture cluster = new ClusterFixture(0, ReplicationMode.SYNC);
  private RedisClient client;

  @AfterEach
  void stop() {
    if (client != null) {
      client.shutdown();
    }
    cluster.close();
  }

  private static String keyOwnedBy(Placement p, Member owner, String prefix, int from) {
    for (int i = from; ; i++) {
      String k = prefix + i;
      if (p.owner(KeySlot.of(k.getBytes(StandardCharsets.UTF_8))).equals(owner)) {
        return k;
      }
    }
  }

  @Test
  void forwardedRead_ownersWrite_invalidatesTheEntryNodesClient() {
    cluster.cluster(2);
    DistCacheNode entry = cluster.nodes.get(0);
    DistCacheNode owner = cluster.nodes.get(1);
    String key = keyOwnedBy(entry.membership().placement(), owner.membership().self(), "fwd", 0);
    client = RedisClient.create(RedisURI.create("127.0.0.1", entry.port()));
    try (StatefulRedisConnection<String, String> conn = client.connect();
        Jedis writer = new Jedis("127.0.0.1", owner.port())) {
      Map<String, String> local = new ConcurrentHashMap<>();
      CacheFrontend<String, String> frontend =
          ClientSideCaching.enable(CacheAccessor.forMap(local), conn, TrackingArgs.Builder.enabled());
      writer.set(key, "v1");
      assertThat(frontend.get(key)).isEqualTo("v1");
      assertThat(local).containsEntry(key, "v1");
      for (int i = 2; i <= 10; i++) {
        writer.set(key, "v" + i); // applied on the owner, the read was served through the entry node
        await().atMost(Duration.ofSeconds(10)).until(() -> !local.containsKey(key));
        assertThat(frontend.get(key)).isEqualTo("v" + i);
      }
      frontend.close();
    }
  }

  @Test
  void javaNearCache_inACluster_followsWritesOnEveryOwner_andAKeyMovingToAJoiner() {
    cluster.cluster(2);
    DistCacheNode first = cluster.nodes.get(0);
    try (io.distcache.client.DistCacheClient near = io.distcache.client.DistCacheClient.builder()
            .addresses("127.0.0.1:" + first.port()).nearCache(1000).build();
        io.distcache.client.DistCacheClient writer = io.distcache.client.DistCacheClient.builder()
            .addresses("127.0.0.1:" + first.port()).build()) {
      List<String> keys = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        keys.add("nc" + i);
        writer.set("nc" + i, "a" + i);
        assertThat(near.get("nc" + i)).isEqualTo("a" + i);
      }
      for (String k : keys) {
        writer.set(k, "b" + k);
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (String k : keys) {
          assertThat(near.get(k)).isEqualTo("b" + k);
        }
      });
      Placement before = first.membership().placement();
      DistCacheNode joiner = cluster.start(first);
      cluster.awaitSettled();
      Placement after = first.membership().placement();
      List<String> moved = new ArrayList<>();
      for (String k : keys) {
        int slot = KeySlot.of(k.getBytes(StandardCharsets.UTF_8));
        if (!before.owner(slot).equals(after.owner(slot))) {
          moved.add(k);
        }
      }
      assertThat(moved).isNotEmpty();
      // Written on the new owner directly: the near cache must end on the new values.
      try (Jedis onJoiner = new Jedis("127.0.0.1", joiner.port())) {
        for (String k : moved) {
          onJoiner.set(k, "c" + k);
        }
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (String k : moved) {
          assertThat(near.get(k)).isEqualTo("c" + k);
        }
      });
    }
  }

  @Test
  void keyMovingToAJoiningMember_isInvalidated() {
    cluster.cluster(2);
    DistCacheNode entry = cluster.nodes.get(0);
    client = RedisClient.create(RedisURI.create("127.0.0.1", entry.port()));
    Map<String, String> local = new ConcurrentHashMap<>();
    List<String> keys = new ArrayList<>();
    try (StatefulRedisConnection<String, String> conn = client.connect();
        Jedis writer = new Jedis("127.0.0.1", entry.port())) {
      CacheFrontend<String, String> frontend =
          ClientSideCaching.enable(CacheAccessor.forMap(local), conn, TrackingArgs.Builder.enabled());
      for (int i = 0; i < 300; i++) {
        keys.add("move" + i);
        writer.set("move" + i, "old" + i);
        assertThat(frontend.get("move" + i)).isEqualTo("old" + i);
      }
      assertThat(local).hasSize(300);
      Placement before = entry.membership().placement();
      DistCacheNode joiner = cluster.start(entry);
      cluster.awaitSettled();
      Placement after = entry.membership().placement();
      List<String> moved = new ArrayList<>();
      for (String k : keys) {
        int slot = KeySlot.of(k.getBytes(StandardCharsets.UTF_8));
        if (!before.owner(slot).equals(after.owner(slot))) {
          moved.add(k);
          assertThat(after.owner(slot)).isEqualTo(joiner.membership().self());
        }
      }
      assertThat(moved).as("keys whose slot moved to the joiner").isNotEmpty();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (String k : moved) {
          assertThat(local).as("a local copy of %s, whose slot moved", k).doesNotContainKey(k);
        }
      });
      // Writes on the new owner reach the client through the registration its next read makes.
      String k = moved.get(0);
      assertThat(frontend.get(k)).isEqualTo("old" + k.substring(4));
      try (Jedis onJoiner = new Jedis("127.0.0.1", joiner.port())) {
        onJoiner.set(k, "new");
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> !local.containsKey(k));
      assertThat(frontend.get(k)).isEqualTo("new");
      frontend.close();
    }
  }
}
