package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.client.DistCacheClient;
import io.distcache.client.NearCacheStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** The Java client's near cache against a real node: hits, invalidations, concurrent writers, a lost connection. */
class ClientNearCacheTest {
  private final ManualClock clock = new ManualClock();
  private DistCacheNode node;
  private DistCacheClient cached;
  private DistCacheClient writer;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024).clock(clock).start();
    cached = DistCacheClient.builder().addresses("127.0.0.1:" + node.port()).nearCache(1000).build();
    writer = DistCacheClient.builder().addresses("127.0.0.1:" + node.port()).build();
  }

  @AfterEach
  void stop() {
    cached.close();
    writer.close();
    node.close();
  }

  @Test
  void secondRead_isALocalHit_untilAnotherClientWrites() {
    writer.set("k", "v1");
    writer.set("other", "o");
    assertThat(cached.get("k")).isEqualTo("v1");
    assertThat(cached.get("k")).isEqualTo("v1");
    NearCacheStats s = cached.nearCacheStats();
    assertThat(s.hits()).isEqualTo(1);
    assertThat(s.misses()).isEqualTo(1);
    assertThat(cached.get("other")).isEqualTo("o");
    writer.set("k", "v2");
    await().atMost(Duration.ofSeconds(10)).until(() -> "v2".equals(cached.get("k")));
    // Only k was dropped, by its own invalidation: the connection carrying them stayed up.
    long hits = cached.nearCacheStats().hits();
    assertThat(cached.get("other")).isEqualTo("o");
    assertThat(cached.nearCacheStats().hits()).isEqualTo(hits + 1);
    writer.delete("k");
    await().atMost(Duration.ofSeconds(10)).until(() -> cached.get("k") == null);
    // A missing key is cached as missing, and its creation invalidates it.
    assertThat(cached.get("absent")).isNull();
    hits = cached.nearCacheStats().hits();
    assertThat(cached.get("absent")).isNull();
    assertThat(cached.nearCacheStats().hits()).isEqualTo(hits + 1);
    writer.set("absent", "now");
    await().atMost(Duration.ofSeconds(10)).until(() -> "now".equals(cached.get("absent")));
  }

  @Test
  void expiry_redisWrites_andFlush_invalidate() {
    writer.set("t", "v", Duration.ofSeconds(1));
    assertThat(cached.get("t")).isEqualTo("v");
    clock.advanceMillis(2000);
    // The node finds it expired when another client reads it, and tells the near cache.
    assertThat(writer.get("t")).isNull();
    await().atMost(Duration.ofSeconds(10)).until(() -> cached.get("t") == null);

    writer.set("r", "1");
    assertThat(cached.get("r")).isEqualTo("1");
    try (Jedis jedis = new Jedis("127.0.0.1", node.port())) {
      jedis.incr("r");
      await().atMost(Duration.ofSeconds(10)).until(() -> "2".equals(cached.get("r")));
      jedis.flushAll();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> cached.get("r") == null);
  }

  @Test
  void ownWrite_isSeenAtOnceAfterItsAcknowledgement() {
    for (int i = 0; i < 200; i++) {
      cached.set("own", "v" + i);
      assertThat(cached.get("own")).isEqualTo("v" + i);
      assertThat(cached.get("own")).isEqualTo("v" + i);
    }
    cached.delete("own");
    assertThat(cached.get("own")).isNull();
  }

  @Test
  void concurrentWriters_readersNeverGoBack_andEndOnTheLastAcknowledgedValue() throws Exception {
    int keys = 8;
    int writes = 400;
    AtomicBoolean done = new AtomicBoolean();
    List<String> problems = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    ConcurrentHashMap<String, Integer> lastAcked = new ConcurrentHashMap<>();
    for (int k = 0; k < keys; k++) {
      writer.set("c" + k, "0");
      lastAcked.put("c" + k, 0);
    }
    for (int w = 0; w < 2; w++) {
      int first = w;
      threads.add(new Thread(() -> {
        // Each writer owns half the keys, so one key's versions only grow.
        for (int i = 1; i <= writes; i++) {
          for (int k = first; k < keys; k += 2) {
            writer.set("c" + k, Integer.toString(i));
            lastAcked.put("c" + k, i);
          }
        }
      }));
    }
    for (int r = 0; r < 3; r++) {
      threads.add(new Thread(() -> {
        int[] seen = new int[keys];
        while (!done.get()) {
          for (int k = 0; k < keys; k++) {
            int v = Integer.parseInt(cached.get("c" + k));
            if (v < seen[k]) {
              problems.add("c" + k + " went back from " + seen[k] + " to " + v);
            }
            seen[k] = v;
          }
        }
      }));
    }
    threads.forEach(Thread::start);
    for (int i = 0; i < 2; i++) {
      threads.get(i).join();
    }
    // Every write is acknowledged: the near cache must come to the last values and stay there.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      for (int k = 0; k < keys; k++) {
        assertThat(cached.get("c" + k)).isEqualTo(Integer.toString(writes));
      }
    });
    done.set(true);
    for (Thread t : threads) {
      t.join();
    }
    assertThat(problems).isEmpty();
    assertThat(lastAcked.values()).containsOnly(writes);
    assertThat(cached.nearCacheStats().hits()).as("reads served locally").isPositive();
    assertThat(cached.nearCacheStats().invalidations()).isPositive();
  }

  @Test
  void connectionLost_dropsTheWholeNearCache() {
    for (int i = 0; i < 50; i++) {
      writer.set("l" + i, "v");
      cached.get("l" + i);
    }
    assertThat(cached.nearCacheStats().size()).isEqualTo(50);
    node.closeAbruptly();
    await().atMost(Duration.ofSeconds(10)).until(() -> cached.nearCacheStats().size() == 0);
  }

  @Test
  void withoutNearCache_noStats() {
    assertThat(writer.nearCacheStats()).isNull();
  }
}
