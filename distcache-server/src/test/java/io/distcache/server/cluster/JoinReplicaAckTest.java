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
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review finding F3: a sync write acknowledged on a replica that a join displaces, while the
 * learner that takes its place had not applied it yet.
 *
 * A owns slot s throughout; B replicates it under p1 = {A, B} and p2 = {A, B} + learner L; under
 * p3 = {A, B, L} L replicates it in B's place (L's ring points fall between A's and B's), so B
 * drops the slot when it installs p3. L learns s as a future replica only, so A never holds its
 * writes: after L's MIGRATE_PREPARE, A goes on writing s under p2, shipping to B and to L, and
 * acknowledged with B alone (L's stream is asynchronous). L joins; A and B install p3; A's link to
 * B resends the effect under p3, where B does not replicate s: B skips it and counts it applied,
 * and the client hears OK. L's stream has not delivered it yet. A dying now leaves the
 * acknowledged write nowhere: B skipped it (and drops s), and L, promoted as s's first replica
 * under p3, never got it. The peers here hold each REPLICATE batch until the test delivers it to
 * the member's real ReplicaApplier, so every step happens in this order.
 */
class JoinReplicaAckTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final Placement p2 = Placement.of(2, List.of(A, B), List.of(L), 64, 1);
  private final Placement p3 = Placement.of(3, List.of(A, B, L), 64, 1);
  /** A slot A owns under p2 and p3, that B replicates under p2 and L (not B) under p3. */
  private final int slot = displacedReplicaSlot();
  private final byte[] key = TestKeys.inSlot(slot);
  private final byte[] value = b("acknowledged");

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final AtomicReference<Placement> ownerPlacement = new AtomicReference<>(p2);
  /** REPLICATE batches A sent, per receiver, each waiting for the test to deliver it. */
  private final Map<Address, Queue<Parked>> parked = new ConcurrentHashMap<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() != Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    Parked p = new Parked(request, new CompletableFuture<>());
    parked.computeIfAbsent(to, a -> new ConcurrentLinkedQueue<>()).add(p);
    return p.reply();
  });
  private final Store ownerStore = store();
  private final Replicator owner = new Replicator(ownerStore, ownerPlacement::get, () -> A, peers,
      ReplicationMode.SYNC, new LocalExecutor(ownerStore)::execute);
  private final Replica onB = new Replica(B);
  private final Replica onL = new Replica(L);

  private record Parked(Frame request, CompletableFuture<Frame> reply) {}

  /** A member's replica side, whose batches from A wait for the test to deliver them. */
  private final class Replica extends ReplicaSide {
    Replica(Member member) {
      super(member, store());
    }

    /** Waits until A has sent this member a batch (not delivered yet). */
    Queue<Parked> awaitSent() {
      Queue<Parked> q = parked.computeIfAbsent(member.address(), a -> new ConcurrentLinkedQueue<>());
      await().atMost(Duration.ofSeconds(10)).until(() -> !q.isEmpty());
      return q;
    }

    /** Applies the oldest batch A sent here and lets A's link hear the answer; returns it. */
    Frame deliverOne() {
      Parked next = awaitSent().poll();
      Frame reply = applier.apply(next.request());
      next.reply().complete(reply);
      return reply;
    }

    /** Delivers A's batches until one is applied (each refused one is resent by A's link). */
    Frame deliverUntilApplied() {
      while (true) {
        Frame reply = deliverOne();
        if (reply.status() == Status.OK) {
          return reply;
        }
      }
    }
  }

  JoinReplicaAckTest() {
    closing.add(owner);
    owner.placementChanged(Placement.empty(), p2);
  }

  @AfterEach
  void close() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  @Test
  void syncWrite_afterPrepareSkippedByTheReplicaTheJoinDisplaces_waitsForTheLearner() {
    CompletableFuture<Frame> write = writtenAfterPrepare();
    onB.awaitSent();
    onL.awaitSent();

    // L joins: it installs p3 and tells every member directly; B installs it before A does.
    onL.install(p3);
    onB.install(p3);
    ownerPlacement.set(p3);
    owner.placementChanged(p2, p3);
    // A's batch went out under p2: B, under p3, refuses it; A resends it under p3, where B does
    // not replicate the slot: it skips the effect and acknowledges it.
    assertThat(onB.deliverOne().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(onB.deliverUntilApplied().extras()[0]).isEqualTo(1);
    assertThat(onB.store.get(key)).as("B skipped it").isNull();

    assertThat(write).as("acknowledged while the only copy of slot %d under p3 besides its owner, L, lacks it: the"
        + " owner dying now loses it", slot).isNotDone();
    assertAcknowledgedOnceTheLearnerHasIt(write);
  }

  @Test
  void syncWrite_afterPrepareAppliedByTheReplicaTheJoinDisplaces_waitsForTheLearner() {
    CompletableFuture<Frame> write = writtenAfterPrepare();
    // B holds it under p2, but drops slot s once it installs p3, which L is about to bring.
    assertThat(onB.deliverUntilApplied().extras()[0]).isEqualTo(1);
    assertThat(onB.store.get(key)).isEqualTo(value);

    assertThat(write).as("acknowledged on B alone after L prepared to join: B drops slot %d at the join, and the"
        + " owner dying before L's stream delivers it loses it", slot).isNotDone();
    assertAcknowledgedOnceTheLearnerHasIt(write);
  }

  /** Under p2 everywhere, L asks A to prepare its join, then a client writes slot s on A. */
  private CompletableFuture<Frame> writtenAfterPrepare() {
    onB.install(p2);
    onL.install(p2);
    assertThat(prepare().join().status()).isEqualTo(Status.OK);
    return set();
  }

  private void assertAcknowledgedOnceTheLearnerHasIt(CompletableFuture<Frame> write) {
    onL.deliverUntilApplied();
    assertThat(write.join().status()).isEqualTo(Status.OK);
    assertThat(onL.store.get(key)).isEqualTo(value);
  }

  @Test
  void syncWrite_whileTheLearnerMerelyLearns_isAcknowledgedWithoutIt_andItsPrepareWaitsForIt() {
    onB.install(p2);
    onL.install(p2);
    CompletableFuture<Frame> write = set();
    onB.deliverUntilApplied();
    assertThat(write.join().status()).as("a learner's stream is asynchronous until it prepares to join")
        .isEqualTo(Status.OK);

    CompletableFuture<Frame> prepared = prepare();
    assertThat(prepared).as("the learner may join only once it has every effect").isNotDone();
    onL.deliverUntilApplied();
    assertThat(prepared.join().status()).isEqualTo(Status.OK);
    assertThat(onL.store.get(key)).isEqualTo(value);
  }

  @Test
  void ownersToPrepare_includeAnOwnerTheLearnerTakesNoSlotFrom() {
    // One ring point each: L's point falls between two others, so it takes slots from one owner
    // and becomes the replica of the other's slots, taking none of them.
    Placement joining = Placement.of(2, List.of(A, B), List.of(L), 1, 1);
    Member onlyReplicated = null;
    for (Member m : List.of(A, B)) {
      boolean loses = false;
      boolean replicated = false;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if (joining.owns(m, s) && joining.isLearner(L, s)) {
          loses |= joining.wouldOwn(L, s);
          replicated |= !joining.wouldOwn(L, s);
        }
      }
      if (replicated && !loses) {
        onlyReplicated = m;
      }
    }
    assertThat(onlyReplicated).as("an owner whose slots L only replicates").isNotNull();
    assertThat(JoinDriver.ownersToPrepare(joining, L)).containsExactlyInAnyOrder(A, B);

    // That owner holds none of its writes for L, but acknowledges them only once L has them.
    Member m = onlyReplicated;
    int s = -1;
    for (int i = 0; i < KeySlot.SLOTS && s < 0; i++) {
      if (joining.owns(m, i) && joining.isLearner(L, i)) {
        s = i;
      }
    }
    Store st = store();
    AtomicReference<Placement> current = new AtomicReference<>(joining);
    Replicator r = new Replicator(st, current::get, () -> m, peers, ReplicationMode.SYNC,
        new LocalExecutor(st)::execute);
    closing.add(r);
    r.placementChanged(Placement.empty(), joining);
    Frame ok = r.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0, L.id().getBytes(StandardCharsets.US_ASCII),
        null, joining.epoch(), joining.fingerprint())).join();
    assertThat(ok.status()).isEqualTo(Status.OK);
    Member other = m.equals(A) ? B : A;
    Replica replica = new Replica(other);
    Replica learner = new Replica(L);
    replica.install(joining);
    learner.install(joining);
    CompletableFuture<Frame> write = r.execute(Frame.request(Opcode.SET, 0, TestKeys.inSlot(s), value), joining);
    replica.deliverUntilApplied();
    assertThat(write).as("not held, but waiting for the learner").isNotDone();
    learner.deliverUntilApplied();
    assertThat(write.join().status()).isEqualTo(Status.OK);
    assertThat(st.get(TestKeys.inSlot(s))).isEqualTo(value);
  }

  private CompletableFuture<Frame> prepare() {
    return owner.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0, L.id().getBytes(StandardCharsets.US_ASCII),
        null, p2.epoch(), p2.fingerprint()));
  }

  private CompletableFuture<Frame> set() {
    CompletableFuture<Frame> write = owner.execute(Frame.request(Opcode.SET, 0, key, value), p2);
    assertThat(HeldReply.holds(write)).as("slot %d is not one L takes over: not held", slot).isFalse();
    return write;
  }

  private int displacedReplicaSlot() {
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p2.owns(A, s) && p2.isReplica(B, s) && p2.isLearner(L, s) && !p2.wouldOwn(L, s) && p3.owns(A, s)
          && p3.isReplica(L, s) && !p3.isReplica(B, s)) {
        return s;
      }
    }
    throw new AssertionError("no slot of A whose replica L takes over from B in " + p3);
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
