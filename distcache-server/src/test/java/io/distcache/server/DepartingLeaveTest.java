package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A graceful leave hands a departing member's replica slots to their next members before it goes
 * (Placement, "Departing members"): with --replicas 1, a SIGTERM followed at once by the death of
 * another member lost the keys whose two copies were on those two (the slots the leaver replicated
 * had one copy left until their new replicas filled, and the slots it owned were handed to a
 * replica that alone held them).
 */
class DepartingLeaveTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  @Test
  void sigtermThenKillOfAnotherMemberTheMomentTheLeaveLands_nothingLost() throws Exception {
    cluster.cluster(4);
    Map<String, String> acked = cluster.writeEvery(3000);
    DistCacheNode watcher = cluster.nodes.get(0);
    DistCacheNode leaving = cluster.nodes.get(1);
    DistCacheNode victim = cluster.nodes.get(2);
    Member leaver = leaving.membership().self();
    Placement before = watcher.membership().placement();
    int shared = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      boolean leaverHolds = before.owns(leaver, s) || before.isReplica(leaver, s);
      Member v = victim.membership().self();
      if (leaverHolds && (before.owns(v, s) || before.isReplica(v, s))) {
        shared++;
      }
    }
    assertThat(shared).as("slots whose two copies are on the leaver and the victim").isPositive();

    // The victim dies the moment a survivor's placement drops the leaver: before any new replica
    // of the leaver's slots could have asked for its copy after the leave.
    AtomicBoolean killed = new AtomicBoolean();
    Thread killer = new Thread(() -> {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (watcher.membership().placement().contains(leaver) && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      cluster.kill(victim);
      killed.set(true);
    });
    killer.start();
    cluster.stop(leaving); // what SIGTERM does
    killer.join();
    assertThat(killed).isTrue();
    cluster.awaitSettled();

    // The victim's slots are served by their new owners once its lease has surely ended.
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.noneRefused(acked));
    cluster.assertIntact(acked);
  }
}
