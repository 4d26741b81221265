package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A copy that is not whole and that nothing asks for (no request waiting, on its way or accepted)
 * is asked for once it has been so for the stuck time. Before, only copies an owner had accepted
 * were asked again: a dropped slot whose request was given up (the requester found it was not this
 * node's under the placement of that moment) and which became this node's again without a drop
 * stayed not whole until the next membership change. A learner in that state waited for good (a
 * tester's rejoin sat at "7076 of 8448 slots copied whole" for 60-150 s).
 */
class OrphanCopyAskTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final long STUCK = TimeUnit.SECONDS.toNanos(10);

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final AtomicLong nanos = new AtomicLong(TimeUnit.HOURS.toNanos(1));

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  @Test
  void aDroppedSlotGivenUpAndThenHeldAgain_isAskedForAfterTheStuckTime() throws Exception {
    Placement three = Placement.of(1, List.of(A, B, C), 64, 1);
    Placement two = Placement.of(2, List.of(A, B), 64, 1);
    // A slot B does not hold among three members, and replicates among two (A owns it there).
    int slot = -1;
    for (int s = 0; s < KeySlot.SLOTS && slot < 0; s++) {
      if (!three.owns(B, s) && !three.isReplica(B, s) && two.owns(A, s) && two.isReplica(B, s)) {
        slot = s;
      }
    }
    assertThat(slot).isNotNegative();
    AtomicReference<Placement> current = new AtomicReference<>(three);
    List<Frame> asked = new CopyOnWriteArrayList<>();
    Peers peers = TestPeers.answering((to, request) -> {
      asked.add(request);
      return CompletableFuture.completedFuture(request.replyOk());
    });
    ReplicaSyncRequester replica = new ReplicaSyncRequester(current::get, () -> B, peers, timer, nanos::get);
    long[] slots = new long[KeySlot.SLOTS / 64];
    slots[slot >>> 6] |= 1L << slot;
    replica.dropped(slots);
    // The requester runs under three members: the slot is not B's, so it is not asked for.
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(replica.pendingSlots()).isZero();
    assertThat(asked).isEmpty();

    current.set(two); // B replicates the slot now, with no drop to ask for it
    int s0 = slot;
    assertThat(replica.describeMissing(s -> s == s0)).isEqualTo("0 to ask, 0 asked, 0 accepted by their owners, 1 not asked (being dropped, or asked 10 s after their drop)");
    assertThat(replica.incompleteCopies(s -> two.isReplica(B, s))).isEqualTo(1);
    nanos.addAndGet(STUCK - 1);
    replica.askAgainIfStuck(s -> true, STUCK);
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(asked).as("not stuck for the stuck time yet").isEmpty();

    nanos.addAndGet(1);
    replica.askAgainIfStuck(s -> true, STUCK);
    await().atMost(Duration.ofSeconds(10)).until(() -> asked.size() == 1 && replica.pendingSlots() == 0);
    Frame request = asked.get(0);
    assertThat(request.extras()[1]).as("asked under the placement of now").isEqualTo(two.fingerprint());
    assertThat(request.value()[slot >>> 3] & (1 << (slot & 7))).isNotZero();
    assertThat(replica.orphansAsked()).isEqualTo(1);
    assertThat(replica.describeMissing(s -> s == s0)).isEqualTo("0 to ask, 0 asked, 1 accepted by their owners, 0 not asked (being dropped, or asked 10 s after their drop)");

    replica.copied(slot, request.extras()[2]);
    assertThat(replica.whole(slot)).isTrue();
    assertThat(replica.incompleteCopies(s -> true)).isZero();
    nanos.addAndGet(STUCK);
    replica.askAgainIfStuck(s -> true, STUCK);
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(asked).as("a whole copy is not asked for again").hasSize(1);
  }

  @Test
  void aSlotNeverDropped_isNotAskedFor() throws Exception {
    Placement two = Placement.of(1, List.of(A, B), 64, 1);
    List<Frame> asked = new CopyOnWriteArrayList<>();
    Peers peers = TestPeers.answering((to, request) -> {
      asked.add(request);
      return CompletableFuture.completedFuture(request.replyOk());
    });
    ReplicaSyncRequester replica = new ReplicaSyncRequester(() -> two, () -> B, peers, timer, nanos::get);
    nanos.addAndGet(STUCK * 10);
    replica.askAgainIfStuck(s -> true, STUCK);
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(asked).as("a founder's copies hold every acknowledged write: nothing to ask for").isEmpty();
  }

  /**
   * A drop is announced (dropping) when it is queued; drops run one at a time, each a pass over the
   * store. A slot whose drop is still queued or running after the stuck time is not asked for: the
   * drop's end asks for it (with a new token), and asking before made its owner copy it twice (a
   * reviewer).
   */
  @Test
  void aSlotWhoseDropStillRuns_isNotAskedBeforeTheDropIsDone() throws Exception {
    Placement two = Placement.of(1, List.of(A, B), 64, 1);
    int slot = -1;
    for (int s = 0; s < KeySlot.SLOTS && slot < 0; s++) {
      if (two.owns(A, s) && two.isReplica(B, s)) {
        slot = s;
      }
    }
    List<Frame> asked = new CopyOnWriteArrayList<>();
    Peers peers = TestPeers.answering((to, request) -> {
      asked.add(request);
      return CompletableFuture.completedFuture(request.replyOk());
    });
    ReplicaSyncRequester replica = new ReplicaSyncRequester(() -> two, () -> B, peers, timer, nanos::get);
    long[] slots = new long[KeySlot.SLOTS / 64];
    slots[slot >>> 6] |= 1L << slot;
    replica.dropping(slots); // the drop is queued behind others / runs its pass over a large store
    nanos.addAndGet(STUCK);
    replica.askAgainIfStuck(s -> true, STUCK); // Replicator.askAgainForStuckCopies, every second
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    replica.dropped(slots); // the drop is done
    await().atMost(Duration.ofSeconds(10)).until(() -> replica.pendingSlots() == 0);
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(asked).as("asked once, after the drop; not also while its keys were being deleted").hasSize(1);
  }
}
