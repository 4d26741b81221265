package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A replica that refuses a REPLICATE batch (BAD_REQUEST: it cannot read it, e.g. a format that
 * differs between versions in a rolling upgrade). Before the fix the owner resent the refused batch
 * every 100 ms for ever: every write waiting on that replica (of any slot it replicates, the stream
 * being one) hung SYNC_WAIT_MILLIS and got BUSY, and the replica got nothing more.
 */
class ReplicaRefusalTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Store store = TestStores.reference(closing);
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  /** The key whose batches the replica refuses. */
  private volatile String poisoned;
  /** How many more batches with the poisoned key the replica refuses. */
  private final AtomicInteger refusalsLeft = new AtomicInteger(Integer.MAX_VALUE);
  /** When set, B applies what it does not refuse as a node does. */
  private final java.util.concurrent.atomic.AtomicReference<ReplicaApplier> replicaApplier =
      new java.util.concurrent.atomic.AtomicReference<>();
  /** Batches that carried the poisoned key: the replica refuses each. */
  private final AtomicInteger refusedBatches = new AtomicInteger();
  /** Every effect B applied, in stream order (a new stream restarts at 1). */
  private final List<Effect> applied = new ArrayList<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() != Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    List<Effect> effects = EffectCodec.decode(request.value());
    for (Effect e : effects) {
      if (!e.isMarker() && new String(e.key(), StandardCharsets.UTF_8).equals(poisoned)
          && refusalsLeft.getAndDecrement() > 0) {
        refusedBatches.incrementAndGet();
        return CompletableFuture.completedFuture(request.replyError(Status.BAD_REQUEST,
            "malformed REPLICATE batch: an effect of an unknown kind 99"));
      }
    }
    ReplicaApplier real = replicaApplier.get();
    if (real != null) {
      return CompletableFuture.completedFuture(real.apply(request));
    }
    synchronized (applied) {
      applied.addAll(effects);
    }
    return CompletableFuture.completedFuture(request.replyOk(request.extras()[1] + effects.size() - 1));
  });
  private final Replicator replicator = new Replicator(store, () -> placement, () -> A, peers, ReplicationMode.SYNC,
      local::execute);

  @AfterEach
  void close() throws Exception {
    replicator.close();
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A key named {@code name} in the first slot that A owns and B replicates (all such keys share it). */
  private String keyReplicatedToB(String name) {
    return TestKeys.replicatedBy(placement, A, B, 0, name);
  }

  private Frame set(String key, String value) {
    return replicator.execute(Frame.request(Opcode.SET, 0, b(key), b(value)), placement).join();
  }

  @Test
  void refusedBatch_isNotResent_theWriteFailsAndTheReplicaGetsItsSlotAgain() {
    replicator.placementChanged(placement);
    poisoned = keyReplicatedToB("bad");
    String good = keyReplicatedToB("good");
    assertThat(set(good, "before").status()).isEqualTo(Status.OK);

    Frame refused = set(poisoned, "x");
    // The client hears the replica did not take it (as when the replica is unreachable), while the
    // owner holds it: BUSY, never OK.
    assertThat(refused.status()).isEqualTo(Status.BUSY);
    assertThat(refused.valueText()).contains("refused").contains("malformed REPLICATE batch");

    // The stream goes on: a later write of another key reaches the replica and is acknowledged.
    Frame later = set(good, "after");
    assertThat(later.status()).as(later.valueText()).isEqualTo(Status.OK);
    assertThat(refusedBatches.get()).as("times the refused batch was sent").isEqualTo(1);

    // The replica is told its copy of the poisoned key's slot missed a write (RELEASED, before the
    // later write in the new stream): it drops the copy and asks for a new one, as after a skipped
    // placement.
    int slot = KeySlot.of(b(poisoned));
    synchronized (applied) {
      assertThat(applied.stream().filter(e -> e.isReleased() && e.copiedSlot() == slot)).hasSize(1);
    }
    assertThat(replicator.infoLines(1, false)).contains("replication_refused_batches:1");
    assertThat(replicator.owedCopies()).as("the slot's copy is owed until the replica has a new one").isEqualTo(1);
    assertThat(local.execute(Frame.request(Opcode.GET, 0, b(poisoned), null)).valueText()).isEqualTo("x");
  }

  /**
   * The whole path with B's applier: refused once (say, mid-upgrade), the owner's RELEASED makes B
   * drop its copy of the slot and ask for a new one (as its node does: ReplicaSyncRequester), and
   * the full copy brings back both the key B had and the one it refused.
   */
  @Test
  void refusedOnce_theReplicaDropsItsCopyOfTheSlotAndAFullCopyMakesItWholeAgain() {
    refusalsLeft.set(1);
    Store replicaStore = TestStores.reference(closing);
    poisoned = keyReplicatedToB("bad");
    String kept = keyReplicatedToB("kept");
    int slot = KeySlot.of(b(poisoned));
    java.util.Set<Integer> copied = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.Set<Integer> dropped = java.util.concurrent.ConcurrentHashMap.newKeySet();
    ReplicaApplier.SlotCopies copies = new ReplicaApplier.SlotCopies() {
      @Override
      public void copied(int s, long token) {
        copied.add(s);
      }

      @Override
      public void drop(long[] slots) {
        // As B's node: the slot's keys go (its cleaner), then the slot is asked of its owner.
        assertThat(slots[slot >>> 6] & (1L << slot)).isNotZero();
        dropped.add(slot);
        replicaStore.delete(b(kept));
        replicaStore.delete(b(poisoned));
        byte[] bits = new byte[KeySlot.SLOTS / 8];
        bits[slot >>> 3] |= (byte) (1 << (slot & 7));
        assertThat(replicator.syncRequested(Frame.request(Opcode.REPLICA_SYNC, 0, B.id().getBytes(
            StandardCharsets.US_ASCII), bits, placement.epoch(), placement.fingerprint(), 1L)).status())
            .isEqualTo(Status.OK);
      }
    };
    io.distcache.server.placement.SlotGuard guard = new io.distcache.server.placement.SlotGuard(new ManualClock(),
        1_000_000_000L);
    guard.placementChanged(B, Placement.empty(), placement, null);
    replicaApplier.set(new ReplicaApplier(replicaStore, () -> placement, () -> B, guard, copies));
    replicator.placementChanged(placement);

    assertThat(set(kept, "1").status()).isEqualTo(Status.OK);
    assertThat(set(poisoned, "x").status()).isEqualTo(Status.BUSY);

    org.awaitility.Awaitility.await().until(() -> copied.contains(slot));
    assertThat(dropped).containsExactly(slot);
    assertThat(replicaStore.get(b(kept))).isEqualTo(b("1"));
    assertThat(replicaStore.get(b(poisoned))).isEqualTo(b("x"));
    assertThat(refusedBatches.get()).isEqualTo(1);
  }
}
