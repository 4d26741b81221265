package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * A request held for a killed owner (UnsentForwards) and resent to this node, its slot's new
 * owner, that the replicator then sends on again (here: it waited on the script lane while the
 * placement changed, so it was routed under an older one). Sent on as a new client request, it
 * waited in its slot's line behind the held requests, itself among them, and never came back: the
 * client got no answer and every later request of the slot on this node waited behind it.
 */
class ResentHeldRequestTest {
  private static final String SET_SCRIPT = "return redis.call('SET', KEYS[1], ARGV[1])";

  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.FAST);
  private final CountDownLatch release = new CountDownLatch(1);

  ResentHeldRequestTest() {
    cluster.forwardTimeout = Duration.ofSeconds(8); // past FAST's detection time and the new owner's lease
  }

  @AfterEach
  void tearDown() {
    release.countDown();
    List.copyOf(cluster.live()).forEach(cluster::kill);
    cluster.close();
  }

  @Test
  void aResentScriptRoutedUnderAnOlderPlacement_isServed_andTheSlotKeepsServing() throws Exception {
    cluster.cluster(3);
    DistCacheNode doomed = cluster.nodes.get(2);
    Placement p = cluster.nodes.get(0).membership().placement();
    String key = null;
    Member replica = null;
    for (int i = 0; key == null; i++) {
      int slot = KeySlot.of(ClusterFixture.b("r:" + i));
      if (p.owner(slot).equals(doomed.membership().self())) {
        key = "r:" + i;
        replica = p.replicas(slot).get(0);
      }
    }
    DistCacheNode entry = cluster.nodeOf(replica);
    String k = key;
    assertThat(ClusterFixture.writeOne(entry, k)).isNotEmpty();
    cluster.kill(doomed);

    try (Jedis client = new Jedis("127.0.0.1", entry.port(), 30_000);
        Jedis other = new Jedis("127.0.0.1", entry.port(), 30_000)) {
      // The script cannot reach the killed owner and is held on the entry.
      CompletableFuture<Object> eval = CompletableFuture.supplyAsync(() -> client.eval(SET_SCRIPT, List.of(k),
          List.of("held")));
      await().atMost(ClusterTest.DEADLINE).until(() -> ClusterFixture.counter(other.info("stats"),
          "unsent_forwards_held") > 0);
      // The entry's script lane is busy when the script is resent to it, as its slot's new owner.
      entry.scripts().onLane(() -> {
        try {
          return release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
      await().atMost(ClusterTest.DEADLINE).until(() -> entry.scripts().waiting() > 0);
      assertThat(entry.membership().placement().owner(KeySlot.of(ClusterFixture.b(k))))
          .as("resent because the entry owns the slot now").isEqualTo(replica);
      // The placement changes while it waits there: a member joins (its first placement names it a learner).
      long before = entry.membership().placement().fingerprint();
      cluster.start(entry);
      await().atMost(ClusterTest.DEADLINE).until(() -> entry.membership().placement().fingerprint() != before);
      release.countDown();

      assertThat(eval.get(20, TimeUnit.SECONDS)).isEqualTo("OK");
      assertThat(other.get(k)).as("a later request of the slot on the same node").isEqualTo("held");
    }
  }
}
