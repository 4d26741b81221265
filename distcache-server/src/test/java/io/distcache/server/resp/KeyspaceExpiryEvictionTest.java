package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.DistCacheNode;
import io.distcache.server.store.EvictionPolicy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/** The store's own removals as keyspace events: "expired" (x) and "evicted" (e), only when asked for. */
class KeyspaceExpiryEvictionTest {
  private DistCacheNode node;
  private Jedis subscriberConnection;

  @AfterEach
  void stop() {
    if (subscriberConnection != null) {
      subscriberConnection.close();
    }
    node.close();
  }

  private List<String> subscribe(String... channels) {
    List<String> got = new CopyOnWriteArrayList<>();
    subscriberConnection = new Jedis("127.0.0.1", node.port());
    JedisPubSub listener = new JedisPubSub() {
      @Override
      public void onMessage(String channel, String message) {
        got.add(channel + " " + message);
      }

      @Override
      public void onSubscribe(String channel, int count) {
        got.add("subscribed");
      }
    };
    Thread t = new Thread(() -> {
      try {
        subscriberConnection.subscribe(listener, channels);
      } catch (RuntimeException closed) {
        // closed by the test
      }
    });
    t.setDaemon(true);
    t.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == channels.length);
    got.clear();
    return got;
  }

  @Test
  void expiredKey_publishesExpired_onKeyspaceAndKeyevent() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20).start();
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.configSet("notify-keyspace-events", "KEx");
      List<String> got = subscribe("__keyevent@0__:expired", "__keyspace@0__:temp");
      j.psetex("temp", 50, "v");
      // The sweeper (every 100 ms) or a read removes it; either publishes the event once.
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 2);
      assertThat(got).containsExactlyInAnyOrder("__keyevent@0__:expired temp", "__keyspace@0__:temp expired");
      assertThat(j.exists("temp")).isFalse();
    }
  }

  @Test
  void evictedKeys_publishEvicted_andOnlyWhenTheClassIsOn() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(4L << 20)
        .evictionPolicy(EvictionPolicy.ALLKEYS_LRU).start();
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      List<String> got = subscribe("__keyevent@0__:evicted");
      String value = "v".repeat(16 * 1024);
      for (int i = 0; i < 400; i++) {
        j.set("off:" + i, value); // 6 MiB into 4: evictions, but the class is off
      }
      assertThat(j.info("stats")).doesNotContain("evicted_keys:0\r\n");
      assertThat(got).isEmpty(); // the class was off: the store was given no listener at all
      j.configSet("notify-keyspace-events", "Ee");
      for (int i = 0; i < 400; i++) {
        j.set("on:" + i, value);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> !got.isEmpty());
      assertThat(got).allMatch(m -> m.startsWith("__keyevent@0__:evicted "));
      String evicted = got.get(0).substring("__keyevent@0__:evicted ".length());
      assertThat(j.exists(evicted)).isFalse();
      assertThat(got).allMatch(m -> m.contains(" on:") || m.contains(" off:")); // no made-up key
    }
  }
}
