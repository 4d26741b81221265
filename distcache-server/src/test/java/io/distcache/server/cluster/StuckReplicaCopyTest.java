package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A replica (not a learner) whose full copy an owner accepted but never ended with COPIED (the
 * owner stopped it: its stream was replaced, or its placement kept moving) asks for it again once
 * it is STUCK_COPY_NANOS old, only for the slots still not whole, and with the same token, so
 * the COPIED of a copy that was merely slow still counts. Before, only a joining learner asked
 * again, so such a replica's copy stayed incomplete for good.
 */
class StuckReplicaCopyTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));

  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  private final AtomicLong nanos = new AtomicLong(TimeUnit.HOURS.toNanos(1));
  /** The REPLICA_SYNC requests B sent; the owner accepts each and never streams anything. */
  private final List<Frame> asked = new CopyOnWriteArrayList<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() == Opcode.REPLICA_SYNC) {
      assertThat(to).isEqualTo(A.address());
      asked.add(request);
    }
    return CompletableFuture.completedFuture(request.replyOk());
  });
  private final Replicator replica = new Replicator(store, () -> placement, () -> B, peers, ReplicationMode.SYNC,
      local::execute, nanos::get);

  @AfterEach
  void close() {
    replica.close();
    store.close();
  }

  private static boolean has(byte[] map, int slot) {
    return (map[slot >>> 3] & (1 << (slot & 7))) != 0;
  }

  @Test
  void copyAcceptedButNeverEnded_isAskedForAgainAfterTheStuckTime_forTheSlotsStillNotWhole() {
    replica.placementChanged(placement);
    long[] dropped = new long[KeySlot.SLOTS / 64];
    int first = -1;
    int count = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (placement.owns(A, s) && placement.isReplica(B, s)) {
        dropped[s >>> 6] |= 1L << s;
        first = first < 0 ? s : first;
        count++;
      }
    }
    assertThat(count).isGreaterThan(1);
    replica.slotsDropped(dropped);
    await().atMost(Duration.ofSeconds(10)).until(() -> asked.size() == 1);
    Frame request = asked.get(0);
    long token = request.extras()[2];
    // The owner ends the copy of one slot only; the others never end.
    replica.copied(first, token);
    assertThat(replica.whole(first)).isTrue();

    nanos.addAndGet(Replicator.STUCK_COPY_NANOS - 1);
    replica.askAgainForStuckCopies();
    // Not stuck yet: askAgainForStuckCopies sends what it asks for before it returns.
    assertThat(asked).hasSize(1);

    nanos.addAndGet(1);
    replica.askAgainForStuckCopies();
    assertThat(asked).hasSize(2);
    byte[] again = asked.get(1).value();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      boolean wasAsked = has(request.value(), s);
      assertThat(has(again, s)).as("slot %d asked again", s).isEqualTo(wasAsked && s != first);
    }
    assertThat(asked.get(1).extras()[2]).as("the same token").isEqualTo(token);

    // The first copy, merely slow, ends now: its COPIED still counts, and nothing is asked again.
    int second = -1;
    for (int s = first + 1; second < 0; s++) {
      second = has(again, s) ? s : -1;
    }
    replica.copied(second, token);
    assertThat(replica.whole(second)).isTrue();
    nanos.addAndGet(Replicator.STUCK_COPY_NANOS);
    replica.askAgainForStuckCopies();
    assertThat(asked).hasSize(3);
    assertThat(has(asked.get(2).value(), second)).as("a whole slot is not asked again").isFalse();
  }
}
