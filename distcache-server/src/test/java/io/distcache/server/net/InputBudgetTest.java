package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The parked clients' share of the node-wide input bound (InputBudget.reserveParked). */
class InputBudgetTest {
  private final InputBudget budget = new InputBudget(16_000);

  @Test
  void reserveParked_oneClientPastASixteenthOfTheLimit_isRefused() {
    assertThat(budget.reserveParked(1_001)).isFalse();
    assertThat(budget.reserveParked(1_000)).isTrue();
    assertThat(budget.usedBytes()).isEqualTo(1_000);
    assertThat(budget.parkedBytes()).isEqualTo(1_000);
    assertThat(budget.refusals()).isEqualTo(1);
  }

  @Test
  void reserveParked_clientsTogether_fillAtMostHalfTheLimit_andOrdinaryRequestsKeepTheRest() {
    for (int i = 0; i < 8; i++) {
      assertThat(budget.reserveParked(1_000)).as("parked client %d", i).isTrue();
    }
    assertThat(budget.reserveParked(1)).as("the parked half is full").isFalse();
    assertThat(budget.resize(0, 8_000)).as("the other half is still there for requests being read").isTrue();

    budget.releaseParked(1_000);
    assertThat(budget.parkedBytes()).isEqualTo(7_000);
    assertThat(budget.resize(0, 500)).isTrue();
    assertThat(budget.reserveParked(1_000)).as("room in the parked half, not in the whole bound").isFalse();
    assertThat(budget.parkedBytes()).as("a refusal changes nothing").isEqualTo(7_000);
    assertThat(budget.usedBytes()).isEqualTo(15_500);
  }

  @Test
  void reserveParked_isNotRefusedBecauseOtherRequestsHoldMoreThanHalf() {
    assertThat(budget.resize(0, 12_000)).isTrue();

    assertThat(budget.reserveParked(1_000)).isTrue();
    assertThat(budget.usedBytes()).isEqualTo(13_000);
  }

  @Test
  void growth_withRoomHereButNotInTheNodesHeapBudgets_isRefused_andNeitherTotalChanges() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(10_000);
    InputBudget shared = new InputBudget(16_000, heap);
    heap.take(6_500); // another budget's bytes
    assertThat(shared.resize(0, 3_000)).isTrue();
    assertThat(shared.resize(3_000, 5_000)).as("5,000 here, 11,500 together").isFalse();
    assertThat(shared.usedBytes()).isEqualTo(3_000);
    assertThat(heap.usedBytes()).isEqualTo(9_500);
    assertThat(shared.parentRefused(2_000)).isTrue();
    assertThat(shared.refusal(2_000)).isEqualTo("this connection's requests not yet run (2000 bytes more) would pass"
        + " 10000 bytes, the node's limit on what its heap budgets hold together (9500 held)");
    assertThat(shared.reserveParked(1_000)).as("room in the parked share, not together").isFalse();
    assertThat(shared.parkedBytes()).isZero();
    assertThat(heap.usedBytes()).isEqualTo(9_500);
    assertThat(shared.full()).as("full when the heap budgets together are").isFalse();
    heap.take(500);
    assertThat(shared.full()).isTrue();
  }

  /** A peer's link: other budgets filling the shared total must not close it; its own bound still does. */
  @Test
  void resizeOwn_isRefusedByThisBoundAlone_andCountsInTheSharedTotalByForce() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(10_000);
    InputBudget shared = new InputBudget(16_000, heap);
    heap.take(9_000); // MULTI queues and subscriptions
    assertThat(shared.resize(0, 3_000)).as("a client's growth").isFalse();
    assertThat(shared.resizeOwn(0, 3_000)).as("a peer's").isTrue();
    assertThat(heap.usedBytes()).isEqualTo(12_000);
    assertThat(shared.resizeOwn(3_000, 17_000)).as("past --max-input-buffer").isFalse();
    assertThat(shared.usedBytes()).isEqualTo(3_000);
    assertThat(shared.resizeOwn(3_000, 0)).isTrue();
    assertThat(heap.usedBytes()).isEqualTo(9_000);
    assertThat(shared.usedBytes()).isZero();
  }

  /**
   * A peer's forwarded request waiting behind a held write: counted in the total by force, as its
   * link's frames are; a client's waiting request is refused by a full total (helper 150 found the
   * peer's refused too, answered TRY_AGAIN).
   */
  @Test
  void holdWaiting_onAPeersLink_isNotRefusedByTheSharedTotal_aClientsIs() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(10_000);
    InputBudget shared = new InputBudget(16_000, heap);
    heap.take(9_500);
    InputMeter peer = meterOnAChannel(shared);
    peer.peerLink();
    InputMeter client = meterOnAChannel(shared);

    assertThat(client.holdWaiting(2_000)).isFalse();
    assertThat(peer.holdWaiting(2_000)).isTrue();
    assertThat(heap.usedBytes()).isEqualTo(11_500);
    assertThat(peer.holdWaiting(15_000)).as("past --max-input-buffer").isFalse();
    peer.releaseWaiting(2_000);
    assertThat(heap.usedBytes()).isEqualTo(9_500);
    assertThat(shared.usedBytes()).isZero();
  }

  private static InputMeter meterOnAChannel(InputBudget budget) {
    InputMeter m = new InputMeter(budget, java.time.Duration.ZERO, java.time.Duration.ZERO);
    new io.netty.channel.embedded.EmbeddedChannel(m);
    return m;
  }

  /** A refused growth never shows in the shared total, even for a moment: compare-and-set, not add then take back. */
  @Test
  void refusedTake_neverRaisesTheSharedTotal_soASmallerGrowthBesideItFits() throws Exception {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(10_000);
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong seenAbove = new java.util.concurrent.atomic.AtomicLong();
    Thread big = new Thread(() -> {
      while (!stop.get()) {
        heap.take(1_000_000); // always refused
      }
    });
    big.start();
    try {
      for (int i = 0; i < 200_000; i++) {
        long u = heap.usedBytes();
        if (u != 0) {
          seenAbove.set(u);
        }
        assertThat(heap.take(100)).as("small growth beside a refused large one").isTrue();
        heap.release(100);
      }
    } finally {
      stop.set(true);
      big.join();
    }
    assertThat(seenAbove.get()).isZero();
  }

  @Test
  void forcedAndParkedBytes_countInTheNodesHeapBudgets_andEveryReleaseGivesBackExactly() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(10_000);
    InputBudget shared = new InputBudget(16_000, heap);
    assertThat(shared.resize(0, 4_000)).isTrue();
    shared.force(8_000);
    assertThat(heap.usedBytes()).as("forced past the shared limit").isEqualTo(12_000);
    assertThat(shared.resize(0, 1)).isFalse();
    shared.resize(8_000, 0);
    assertThat(shared.reserveParked(500)).isTrue();
    assertThat(heap.usedBytes()).isEqualTo(4_500);
    shared.releaseParked(500);
    shared.resize(4_000, 1_000);
    shared.resize(1_000, 0);
    assertThat(shared.usedBytes()).isZero();
    assertThat(heap.usedBytes()).isZero();
  }
}
