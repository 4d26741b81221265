package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A write that runs under an older placement than the one its owner installed meanwhile. The
 * router picks the placement when a request arrives (ClusterRouter.replicated), but a script or a
 * scripted EXEC runs when its turn on the script lane comes, and a write may wait for its slot's
 * lock while a script holds it: a learner may have arrived, and its copy read the key, before the
 * write runs. A learner L joins: p1 = {A, B}, p2 = p1 with L learning, p3 = {A, B, L}, where L owns
 * slot s, which A owned. A write routed under p1 (or p2) must end on L once L owns s, or not be
 * applied on A at all; else the acknowledged write is gone from the cluster. The peers apply each
 * REPLICATE batch at once with the receiver's real ReplicaApplier.
 */
class OlderPlacementWriteTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final byte[] OLD = b("old");
  private static final byte[] NEW = b("acknowledged");

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Map<Address, ReplicaSide> replicas = new ConcurrentHashMap<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    ReplicaSide r = replicas.get(to);
    if (request.op() != Opcode.REPLICATE || r == null) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    return CompletableFuture.completedFuture(r.applier.apply(request));
  });
  private final AtomicReference<Placement> installed = new AtomicReference<>(Placement.empty());
  /** Runs once inside the owner's next apply, before the write: a change that overtakes a running write. */
  private final AtomicReference<Runnable> beforeNextApply = new AtomicReference<>();
  private final Thread testThread = Thread.currentThread();
  /** Runs once right after the owner's next read of its installed placement on the test's thread (the write's first check). */
  private final AtomicReference<Runnable> afterNextPlacementRead = new AtomicReference<>();
  /** The requests the owner sent on to another member instead of applying them. */
  private final List<Frame> sentOn = new CopyOnWriteArrayList<>();

  private Placement p1;
  private Placement p2;
  private Placement p3;
  private int slot;
  private byte[] key;
  private Store ownerStore;
  private Replicator owner;
  private ReplicaSide onB;
  private ReplicaSide onL;

  /** A owns s under p1 and p2 and has written "old" to key k of it under p1; B is its replica if any. */
  private void start(int replicasPerSlot) {
    p1 = Placement.of(1, List.of(A, B), List.of(), 64, replicasPerSlot);
    p2 = Placement.of(2, List.of(A, B), List.of(L), 64, replicasPerSlot);
    p3 = Placement.of(3, List.of(A, B, L), List.of(), 64, replicasPerSlot);
    slot = -1;
    for (int s = 0; s < KeySlot.SLOTS && slot < 0; s++) {
      if (p1.owns(A, s) && p2.owns(A, s) && p2.wouldOwn(L, s) && p3.owns(L, s)) {
        slot = s;
      }
    }
    assertThat(slot).as("a slot of A's that L takes over").isNotNegative();
    key = TestKeys.inSlot(slot);
    ownerStore = store();
    LocalExecutor executor = new LocalExecutor(ownerStore);
    owner = new Replicator(ownerStore, this::readPlacement, () -> A, peers, ReplicationMode.SYNC, r -> {
      Runnable change = beforeNextApply.getAndSet(null);
      if (change != null) {
        change.run();
      }
      return executor.execute(r);
    });
    closing.add(owner);
    // The router's reroute: served here while A owns the slot in the installed placement, else
    // sent on to its owner.
    owner.onRelease(r -> {
      Placement now = installed.get();
      if (now.owns(A, KeySlot.of(r.key()))) {
        return owner.execute(r, now);
      }
      sentOn.add(r);
      return CompletableFuture.completedFuture(r.replyOk());
    });
    onB = replicaSide(B);
    onL = replicaSide(L);
    installOnOwner(p1);
    onB.install(p1);
    assertThat(set(p1, OLD).join().status()).isEqualTo(Status.OK);
  }

  /** The owner's view of the installed placement: the value read is the one before an armed change runs. */
  private Placement readPlacement() {
    Placement read = installed.get();
    // Only the test's own thread (the write's first check), not the replicator's background threads.
    Runnable change = Thread.currentThread() == testThread ? afterNextPlacementRead.getAndSet(null) : null;
    if (change != null) {
      change.run();
    }
    return read;
  }

  private ReplicaSide replicaSide(Member m) {
    ReplicaSide r = new ReplicaSide(m, store());
    replicas.put(m.address(), r);
    return r;
  }

  private void installOnOwner(Placement next) {
    Placement previous = installed.getAndSet(next);
    owner.placementChanged(previous, next);
  }

  /** Every member installs {@code next}, the owner first. */
  private void moveTo(Placement next) {
    installOnOwner(next);
    onB.install(next);
    onL.install(next);
  }

  /** L asks A for its copy of s (REPLICA_SYNC under p2) and waits until the copy gave it the key. */
  private void learnerCopiesTheKey() {
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    bits[slot >>> 3] |= (byte) (1 << (slot & 7));
    Frame sync = Frame.request(Opcode.REPLICA_SYNC, 0, L.id().getBytes(StandardCharsets.US_ASCII), bits,
        p2.epoch(), p2.fingerprint(), 7L);
    assertThat(owner.syncRequested(sync).status()).isEqualTo(Status.OK);
    await().atMost(Duration.ofSeconds(10)).until(() -> java.util.Arrays.equals(onL.store.get(key), OLD));
  }

  /** L arrives (p2 everywhere) and its copy of s reads the key. */
  private void learnerArrivesAndCopiesTheKey() {
    moveTo(p2);
    learnerCopiesTheKey();
  }

  private CompletableFuture<Frame> set(Placement routedUnder, byte[] value) {
    return owner.execute(Frame.request(Opcode.SET, 0, key, value), routedUnder);
  }

  /** L prepares its join (A waits until L applied every effect sent), joins, and owns s: it must hold the write. */
  private void assertTheNewOwnerHoldsTheWriteOnceItJoined() {
    Frame prepared = prepare().join();
    assertThat(prepared.status()).isEqualTo(Status.OK);
    moveTo(p3);
    assertThat(onL.store.get(key)).as("slot %d's new owner after the join lacks the write its old owner"
        + " acknowledged: lost", slot).isEqualTo(NEW);
  }

  @Test
  void execute_routedBeforeALearnerArrived_runAfterItsCopyReadTheKey_reachesTheLearner() {
    start(1);
    moveTo(p2);
    learnerCopiesTheKey();
    // Routed under p1 before L arrived (it waited on the script lane), run now.
    assertThat(set(p1, NEW).join().status()).isEqualTo(Status.OK);
    assertTheNewOwnerHoldsTheWriteOnceItJoined();
  }

  @Test
  void execute_withoutReplicas_routedBeforeALearnerArrived_runAfterItsCopyReadTheKey_reachesTheLearner() {
    start(0);
    moveTo(p2);
    learnerCopiesTheKey();
    assertThat(set(p1, NEW).join().status()).isEqualTo(Status.OK);
    assertTheNewOwnerHoldsTheWriteOnceItJoined();
  }

  @Test
  void execute_withoutReplicas_overtakenWhileRunningByALearnersCopy_shipsTheKeyToTheLearnerAfter() {
    start(0);
    // Checked under p1, then L arrives and its copy reads the key before the write changes it: the
    // write takes no slot lock without replicas or learners.
    beforeNextApply.set(this::learnerArrivesAndCopiesTheKey);
    assertThat(set(p1, NEW).join().status()).isEqualTo(Status.OK);
    assertTheNewOwnerHoldsTheWriteOnceItJoined();
  }

  @Test
  void execute_routedBeforeALearnerJoined_runAfterItOwnsTheSlot_goesToTheNewOwner_notAppliedHere() {
    start(1);
    moveTo(p2);
    learnerCopiesTheKey();
    assertThat(prepare().join().status()).isEqualTo(Status.OK);
    moveTo(p3);

    // Routed under p2, when A still owned s, run once L owns it.
    assertThat(set(p2, NEW).join().status()).isEqualTo(Status.OK);
    assertThat(sentOn).as("sent on to slot %d's owner under the installed placement", slot).hasSize(1);
    assertThat(sentOn.get(0).key()).isEqualTo(key);
    assertThat(ownerStore.get(key)).as("not applied on the old owner, where no later owner would see it")
        .isEqualTo(OLD);
  }

  @Test
  void execute_withReplicas_learnerArrivesBetweenTheFirstCheckAndTheSlotLock_recheckedUnderTheLock_reachesTheLearner() {
    start(1);
    // The write's first check reads p1 (not moved); before it takes the slot's lock, L arrives and
    // its copy reads the key. Only the check under the lock sees p2: applied under p1 it would go to
    // B alone and never reach L.
    afterNextPlacementRead.set(this::learnerArrivesAndCopiesTheKey);
    assertThat(set(p1, NEW).join().status()).isEqualTo(Status.OK);
    assertThat(afterNextPlacementRead.get()).as("the change ran inside the write's first check").isNull();
    assertTheNewOwnerHoldsTheWriteOnceItJoined();
  }

  @Test
  void execute_withoutReplicas_slotChangedHandsWhileTheWriteRan_answersBusy_notAcknowledged() {
    start(0);
    // The write takes no lock (no replicas, no learners); while it runs, L arrives, copies the key,
    // prepares and joins: the slot is L's before the write returns, and L's copy is from before it.
    beforeNextApply.set(() -> {
      learnerArrivesAndCopiesTheKey();
      assertThat(prepare().join().status()).isEqualTo(Status.OK);
      moveTo(p3);
    });
    Frame reply = set(p1, NEW).join();
    assertThat(reply.status()).as("a write the new owner may lack is never acknowledged").isEqualTo(Status.BUSY);
    assertThat(reply.valueText()).contains("slot changed hands");
    assertThat(onL.store.get(key)).as("the new owner has the value its copy read").isEqualTo(OLD);
  }

  /** L is learning (p2) and copied the key; the owner runs scripts that start {@code clustered} or alone. */
  private ScriptHost learnerCopiedBesideScripts(boolean clustered) {
    start(0);
    ScriptHost scripts = new ScriptHost(new ManualClock());
    closing.add(scripts::close);
    owner.scripts(scripts);
    moveTo(p2);
    learnerCopiesTheKey();
    scripts.clustered(() -> clustered);
    return scripts;
  }

  /** A script run through the script lane until {@code release} opens; {@code started} opens once it runs. */
  private CompletableFuture<Frame> scriptOnTheLane(ScriptHost scripts, java.util.concurrent.CountDownLatch started,
      java.util.concurrent.CountDownLatch release) {
    scripts.runner((request, script, calls) -> {
      started.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return request.replyOk();
    });
    Frame eval = io.distcache.protocol.ScriptCodec.request(b("return 1"), "default", List.of(), List.of(), 0);
    return scripts.submit(eval, () -> CompletableFuture.completedFuture(
        scripts.run(eval, new TransactionGate(scripts), r -> r)));
  }

  @Test
  void prepareMigration_whileAScriptStartedAloneRuns_asksAgain_andIsAnsweredOnceTheScriptEnded() throws Exception {
    // A script that started while its node was alone (keyless there, it may write any key without
    // a slot lock) runs until released.
    ScriptHost scripts = learnerCopiedBesideScripts(false);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    CompletableFuture<Frame> script = scriptOnTheLane(scripts, started, release);
    assertThat(started.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

    Frame whileRunning = prepare().join();
    assertThat(whileRunning.status()).as("the learner's prepare while such a script runs").isEqualTo(Status.TRY_AGAIN);
    assertThat(whileRunning.valueText()).contains("a script is running");
    release.countDown();
    assertThat(script.join().status()).isEqualTo(Status.OK);
    await().atMost(Duration.ofSeconds(10)).until(() -> !scripts.unclusteredScriptRunning());
    assertThat(prepare().join().status()).isEqualTo(Status.OK);
  }

  @Test
  void prepareMigration_whileAScriptStartedInTheClusterRuns_isAnswered() throws Exception {
    // Started in a cluster, a script writes only its slot, under the slot's lock: no reason to wait.
    ScriptHost scripts = learnerCopiedBesideScripts(true);
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    CompletableFuture<Frame> script = scriptOnTheLane(scripts, started, release);
    assertThat(started.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    try {
      assertThat(prepare().join().status()).isEqualTo(Status.OK);
    } finally {
      release.countDown();
    }
    assertThat(script.join().status()).isEqualTo(Status.OK);
  }

  private CompletableFuture<Frame> prepare() {
    return owner.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0, L.id().getBytes(StandardCharsets.US_ASCII),
        null, p2.epoch(), p2.fingerprint()));
  }

  @AfterEach
  void close() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  private Store store() {
    Store s = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
    closing.add(s);
    return s;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
