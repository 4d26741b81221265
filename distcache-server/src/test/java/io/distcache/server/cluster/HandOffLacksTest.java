package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The hand-off's blind spot: a replica that dropped its copy of a slot for a reason its owner did
 * not see (a placement the owner skipped) asks for a new one only once their placements agree, and
 * an owner leaving before that went without sending it: the replica, promoted, lacked the slot's
 * keys. The leaving owner now asks each replica what it lacks (REPLICA_LACKS) and sends it.
 */
class HandOffLacksTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));

  private final Placement p = Placement.of(1, List.of(A, B), 64, 1);
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Store ownerStore = store();
  private final Store replicaStore = store();
  private final SlotGuard replicaGuard = new SlotGuard(new ManualClock(), 1_000_000_000L);
  /** B's requests for full copies: refused, as an owner whose placement differs refuses them. */
  private final List<Frame> syncsRefused = new CopyOnWriteArrayList<>();
  private final AtomicReference<ReplicaApplier> applier = new AtomicReference<>();

  private final Replicator replica = new Replicator(replicaStore, () -> p, () -> B,
      TestPeers.answering((to, request) -> {
        if (request.op() == Opcode.REPLICA_SYNC) {
          syncsRefused.add(request);
          return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "placements differ"));
        }
        return CompletableFuture.completedFuture(request.replyOk());
      }), ReplicationMode.SYNC, new LocalExecutor(replicaStore)::execute);

  /** A's peer B: applies A's stream and answers REPLICA_LACKS as a node does. */
  private final Peers toReplica = TestPeers.answering((to, request) -> {
    assertThat(to).isEqualTo(B.address());
    if (request.op() == Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(applier.get().apply(request));
    }
    if (request.op() == Opcode.REPLICA_LACKS) {
      return CompletableFuture.completedFuture(replica.lacksRequested(request, replicaGuard.processedFingerprint()));
    }
    return CompletableFuture.completedFuture(request.replyOk());
  });
  private final Replicator owner = new Replicator(ownerStore, () -> p, () -> A, toReplica, ReplicationMode.SYNC,
      new LocalExecutor(ownerStore)::execute);

  HandOffLacksTest() {
    closing.add(owner);
    closing.add(replica);
    replicaGuard.placementChanged(B, Placement.empty(), p, null);
    applier.set(new ReplicaApplier(replicaStore, () -> p, () -> B, replicaGuard, replica.slotCopies()));
    owner.placementChanged(Placement.empty(), p);
    replica.placementChanged(Placement.empty(), p);
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private Store store() {
    return TestStores.reference(closing);
  }

  /** The first slots A owns under p with B as their replica. */
  private List<Integer> slotsOfAReplicatedByB(int n) {
    List<Integer> out = new ArrayList<>();
    for (int s = 0; s < KeySlot.SLOTS && out.size() < n; s++) {
      if (p.owns(A, s) && p.isReplica(B, s)) {
        out.add(s);
      }
    }
    return out;
  }

  private static byte[] keyIn(int slot, String prefix) {
    for (int i = 0; ; i++) {
      byte[] k = (prefix + i).getBytes(StandardCharsets.UTF_8);
      if (KeySlot.of(k) == slot) {
        return k;
      }
    }
  }

  /** B drops its copy of {@code slot} as SlotCleaner does: marked dropping, its keys deleted, then dropped. */
  private void replicaDrops(int slot, byte[]... keys) {
    long[] bits = new long[KeySlot.SLOTS / 64];
    bits[slot >>> 6] |= 1L << slot;
    replica.slotsDropping(bits);
    for (byte[] k : keys) {
      replicaStore.delete(k);
    }
    replica.slotsDropped(bits);
  }

  @Test
  void settleCopies_replicaDroppedACopyItsOwnerDoesNotKnowOf_isAskedAndSentTheSlotBeforeTheLeave() {
    int slot = slotsOfAReplicatedByB(1).get(0);
    List<byte[]> keys = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      byte[] k = keyIn(slot, "k" + i + "-");
      keys.add(k);
      assertThat(owner.execute(Frame.request(Opcode.SET, 0, k, k), p).join().status()).isEqualTo(Status.OK);
    }
    assertThat(replicaStore.get(keys.get(0))).as("B applied A's writes").isNotNull();
    replicaDrops(slot, keys.toArray(byte[][]::new));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !syncsRefused.isEmpty());
    assertThat(owner.owedCopies()).as("A's own changes made it owe B nothing").isZero();

    int owed = owner.settleCopies(System.nanoTime() + TimeUnit.SECONDS.toNanos(20));

    assertThat(owed).isZero();
    for (byte[] k : keys) {
      assertThat(replicaStore.get(k)).as("key %s on B after the settle", new String(k, StandardCharsets.UTF_8))
          .isEqualTo(k);
    }
    // Its COPIED effect follows the entries on the stream; B, no longer refused, asks nothing more.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(replica.whole(slot)).as("the copy counts under the token B answered with")
            .isTrue());
    assertThat(replica.current(slot)).isTrue();
  }

  @Test
  void lacksRequested_onlyUnderTheSamePlacementProcessed_andAnswersAnAskedSlotWithItsToken() {
    List<Integer> slots = slotsOfAReplicatedByB(2);
    Frame ask = Frame.request(Opcode.REPLICA_LACKS, 0, A.id().getBytes(StandardCharsets.US_ASCII), null,
        p.epoch(), p.fingerprint());
    assertThat(replica.lacksRequested(ask, p.fingerprint() + 1).status()).as("guard still installing").isEqualTo(
        Status.TRY_AGAIN);
    assertThat(replica.lacksRequested(Frame.request(Opcode.REPLICA_LACKS, 0, A.id().getBytes(StandardCharsets.US_ASCII),
        null, p.epoch(), p.fingerprint() + 1), p.fingerprint() + 1).status()).isEqualTo(Status.TRY_AGAIN);
    Frame none = replica.lacksRequested(ask, p.fingerprint());
    assertThat(none.status()).isEqualTo(Status.OK);
    assertThat(ReplicaSyncRequester.decodeLacking(none.value())).as("nothing dropped: nothing lacking").isEmpty();

    replicaDrops(slots.get(0));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !syncsRefused.isEmpty());
    long asked = syncsRefused.get(0).extras()[2];
    Map<Long, long[]> lacking = ReplicaSyncRequester.decodeLacking(replica.lacksRequested(ask, p.fingerprint()).value());
    // The slot keeps the token of its refused request (asked again under it every 100 ms), so the
    // owner's copy counts whether the answer or the request started it.
    assertThat(lacking).containsOnlyKeys(asked);
    long token = lacking.keySet().iterator().next();
    long[] bits = lacking.get(token);
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      assertThat((bits[s >>> 6] & (1L << s)) != 0).as("slot %d", s).isEqualTo(s == slots.get(0));
    }
    assertThat(token).isNotZero();
    replica.copied(slots.get(0), token);
    assertThat(replica.whole(slots.get(0))).isTrue();
    assertThat(syncsRefused).as("asked again, under the same token").allMatch(f -> f.extras()[2] == asked);
  }

  @Test
  void decodeLacking_malformedAnswers_areRefusedNotAllocated() {
    int group = 8 + KeySlot.SLOTS / 8;
    assertThat(ReplicaSyncRequester.decodeLacking(null)).isNull();
    assertThat(ReplicaSyncRequester.decodeLacking(new byte[1])).isNull();
    byte[] tooMany = new byte[2 + (ProtocolConstants.MAX_LACKING_GROUPS + 1) * group];
    tooMany[1] = (byte) (ProtocolConstants.MAX_LACKING_GROUPS + 1);
    assertThat(ReplicaSyncRequester.decodeLacking(tooMany)).isNull();
    byte[] shortByOne = new byte[2 + group - 1];
    shortByOne[1] = 1;
    assertThat(ReplicaSyncRequester.decodeLacking(shortByOne)).isNull();
    byte[] claimsHuge = new byte[] {(byte) 0xFF, (byte) 0xFF};
    assertThat(ReplicaSyncRequester.decodeLacking(claimsHuge)).isNull();
    byte[] one = new byte[2 + group];
    one[1] = 1;
    one[2 + 7] = 42; // token 42
    one[2 + 8 + 1] = 0b100; // slot 10
    Map<Long, long[]> decoded = ReplicaSyncRequester.decodeLacking(one);
    assertThat(decoded).containsOnlyKeys(42L);
    assertThat(decoded.get(42L)[0]).isEqualTo(1L << 10);
  }

  @Test
  void anyOwnerQuestion_answersEverySlotNotWholeReadOnly_andAnUnknownThirdExtraIsRefused() {
    List<Integer> slots = slotsOfAReplicatedByB(2);
    replicaDrops(slots.get(0));
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> !syncsRefused.isEmpty());
    int asked = syncsRefused.size();
    byte[] id = "c".repeat(40).getBytes(StandardCharsets.US_ASCII); // not A: any member may ask this
    byte[] aId = A.id().getBytes(StandardCharsets.US_ASCII);

    // Asked by a member of the placement with LACKS_ANY_OWNER: one group, token 0, the dropped slot only.
    Frame any = replica.lacksRequested(Frame.request(Opcode.REPLICA_LACKS, 0, aId, null, p.epoch(), p.fingerprint(),
        io.distcache.protocol.ProtocolConstants.LACKS_ANY_OWNER), replicaGuard.processedFingerprint());
    assertThat(any.status()).isEqualTo(Status.OK);
    java.util.Map<Long, long[]> groups = ReplicaSyncRequester.decodeLacking(any.value());
    assertThat(groups).containsOnlyKeys(0L);
    long[] lacking = groups.get(0L);
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      assertThat((lacking[s >>> 6] & (1L << s)) != 0).as("slot %d", s).isEqualTo(s == slots.get(0));
    }
    assertThat(replica.whole(slots.get(0))).isFalse();
    // The refused request is asked again every 100 ms (the same token and slots): only a request of
    // the question's own, another token or other slots, would differ (a slow CI run saw a retry here).
    Frame first = syncsRefused.get(0);
    assertThat(syncsRefused).as("the question starts no request of its own").hasSizeGreaterThanOrEqualTo(asked)
        .allSatisfy(r -> {
          assertThat(r.extras()[2]).isEqualTo(first.extras()[2]);
          assertThat(r.value()).isEqualTo(first.value());
        });

    Frame unknown = replica.lacksRequested(Frame.request(Opcode.REPLICA_LACKS, 0, aId, null, p.epoch(), p.fingerprint(),
        7), replicaGuard.processedFingerprint());
    assertThat(unknown.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(unknown.valueText()).contains("got 7");
    Frame stranger = replica.lacksRequested(Frame.request(Opcode.REPLICA_LACKS, 0, id, null, p.epoch(), p.fingerprint(),
        io.distcache.protocol.ProtocolConstants.LACKS_ANY_OWNER), replicaGuard.processedFingerprint());
    assertThat(stranger.status()).isEqualTo(Status.BAD_REQUEST);
  }
}
