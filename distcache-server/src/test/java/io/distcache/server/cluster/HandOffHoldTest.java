package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The hand-off hold (SIGTERM): writes are held in order, then sent on; one that comes later goes on at once. */
class HandOffHoldTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));

  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement two = Placement.of(1, List.of(A, B), List.of(), 64, 1);
  /** B applies whatever REPLICATE batch it gets. */
  private final Peers peers = TestPeers.applyingAll();
  /** The replicator's clock (when a hold began). */
  private final java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
  private final Replicator replicator = new Replicator(store, () -> two, () -> A, peers, ReplicationMode.SYNC,
      local::execute, nanos::get);
  /** What was sent on to the slots' next owners, in order. */
  private final List<String> sentOn = new ArrayList<>();

  HandOffHoldTest() {
    replicator.placementChanged(two);
  }

  @AfterEach
  void close() {
    replicator.close();
    store.close();
  }

  /** A key of A's slots whose name starts with {@code prefix}. */
  private String ownKey(String prefix) {
    for (int i = 0; ; i++) {
      String k = prefix + i;
      if (two.owns(A, io.distcache.protocol.cluster.KeySlot.of(k.getBytes(StandardCharsets.UTF_8)))) {
        return k;
      }
    }
  }

  private CompletableFuture<Frame> set(String key) {
    return replicator.execute(Frame.request(Opcode.SET, 0, key.getBytes(StandardCharsets.UTF_8),
        "v".getBytes(StandardCharsets.UTF_8)), two);
  }

  private CompletableFuture<Frame> setForwarded(String key) {
    return replicator.execute(Frame.request(Opcode.SET, 0, key.getBytes(StandardCharsets.UTF_8),
        "v".getBytes(StandardCharsets.UTF_8)).withFlags(io.distcache.protocol.Flags.FORWARDED), two);
  }

  private CompletableFuture<Frame> onward(Frame request) {
    sentOn.add(new String(request.key(), StandardCharsets.UTF_8));
    return CompletableFuture.completedFuture(request.replyOk());
  }

  @Test
  void writesHeldWhileHandingOff_areSentOnInOrder_andOneArrivingAfterTheRelease_goesOnAtOnce() {
    String one = ownKey("one");
    String two = ownKey("two");
    String late = ownKey("late");
    replicator.holdAndDrain(System.nanoTime() + 1_000_000_000L); // nothing sent yet: nothing to wait for
    CompletableFuture<Frame> first = set(one);
    CompletableFuture<Frame> second = set(two);
    assertThat(first).isNotDone();
    assertThat(HeldReply.holds(first)).as("the connection's next requests wait behind it").isTrue();

    replicator.releaseHeld(this::onward);
    assertThat(first.join().status()).isEqualTo(Status.OK);
    assertThat(second.join().status()).isEqualTo(Status.OK);

    // It passed routing before the hand-off and reaches the hold only now: sent on, not queued for ever.
    CompletableFuture<Frame> last = set(late);
    assertThat(last).isDone();
    assertThat(last.join().status()).isEqualTo(Status.OK);
    assertThat(sentOn).containsExactly(one, two, late);
    assertThat(store.get(one.getBytes(StandardCharsets.UTF_8))).as("applied by the next owner, not here").isNull();
  }

  @Test
  void forwardedWriteHeldPastTheForwardWait_isAnsweredTryAgainUnapplied_whileAClientsOwnWriteStaysHeld() {
    String forwarded = ownKey("fwd");
    String own = ownKey("own");
    String young = ownKey("young");
    replicator.holdAndDrain(System.nanoTime() + 1_000_000_000L);
    CompletableFuture<Frame> peers = setForwarded(forwarded);
    CompletableFuture<Frame> client = set(own);
    nanos.addAndGet(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ClusterRouter.WAIT_MILLIS) - 1);
    CompletableFuture<Frame> later = setForwarded(young);
    assertThat(replicator.expireForwardedHolds()).as("not yet past the wait").isEqualTo(2);
    assertThat(peers).isNotDone();

    nanos.addAndGet(1);
    // Its sender gives up at its 2 s forward timeout: sent on after that, it could land after a
    // write acknowledged since. Answered before, and never applied; the hold began 1.5 s ago, so
    // the younger forward too (it may have waited on its connection since then).
    assertThat(replicator.expireForwardedHolds()).isZero();
    assertThat(peers.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(peers.join().valueText()).contains("not applied");
    assertThat(later.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(client).as("a client's own write waits for the hand-off").isNotDone();

    replicator.releaseHeld(this::onward);
    assertThat(client.join().status()).isEqualTo(Status.OK);
    assertThat(sentOn).containsExactly(own);
    assertThat(store.get(forwarded.getBytes(StandardCharsets.UTF_8))).isNull();
  }

  @Test
  void forwardEnteringAHoldThatBeganTheWaitAgo_isAnsweredTryAgainAtTheNextSweep() {
    String first = ownKey("first");
    String behind = ownKey("behind");
    replicator.holdAndDrain(System.nanoTime() + 1_000_000_000L);
    CompletableFuture<Frame> held = setForwarded(first);
    nanos.addAndGet(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ClusterRouter.WAIT_MILLIS));
    assertThat(replicator.expireForwardedHolds()).isZero();
    assertThat(held.join().status()).isEqualTo(Status.TRY_AGAIN);

    // It waited on its peer connection behind the first and reaches the hold only now: its sender
    // sent it when the hold began, so it is as old as the hold, not fresh.
    CompletableFuture<Frame> late = setForwarded(behind);
    assertThat(replicator.expireForwardedHolds()).isZero();
    assertThat(late.join().status()).isEqualTo(Status.TRY_AGAIN);
    replicator.releaseHeld(this::onward);
    assertThat(sentOn).isEmpty();
  }

  @Test
  void forwardHeldAcrossASecondDrain_isStillAnsweredTryAgainWithinTheWait() {
    String fwd = ownKey("again");
    replicator.holdAndDrain(System.nanoTime() + 1_000_000_000L);
    CompletableFuture<Frame> held = setForwarded(fwd);
    nanos.addAndGet(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ClusterRouter.WAIT_MILLIS - 100));
    // handOff's re-check: the membership changed, so it drains and settles again, writes still held
    replicator.holdAndDrain(System.nanoTime() + 1_000_000_000L);
    nanos.addAndGet(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100));
    assertThat(replicator.expireForwardedHolds()).as("held for the whole wait: its sender gives up soon").isZero();
    assertThat(held.join().status()).isEqualTo(Status.TRY_AGAIN);
  }
}
