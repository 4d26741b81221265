package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The replica's rules: in order, once each, only under the owner's placement, only its own slots. */
class ReplicaApplierTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final Placement placement = Placement.of(3, List.of(A, B, C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
  private final SlotGuard guard = new SlotGuard(clock, 1_000_000_000L);
  private final ReplicaApplier applier = new ReplicaApplier(store, () -> placement, () -> B, guard);

  ReplicaApplierTest() {
    guard.placementChanged(B, Placement.empty(), placement, null);
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  /** Keys of slots owned by {@code owner} whose replica is {@code replica}. */
  private List<byte[]> keys(Member owner, Member replica, int n) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; out.size() < n; i++) {
      byte[] k = ("k" + i).getBytes(StandardCharsets.UTF_8);
      int s = KeySlot.of(k);
      if (placement.owner(s).equals(owner) && placement.isReplica(replica, s)) {
        out.add(k);
      }
    }
    return out;
  }

  private Frame batch(Member from, long stream, long first, long fingerprint, Effect... effects) {
    return Frame.request(Opcode.REPLICATE, 0, null, EffectCodec.encode(List.of(effects)), stream, first, fingerprint,
        placement.members().indexOf(from));
  }

  private static Effect put(byte[] key, String value, long version) {
    return new Effect(key, value.getBytes(StandardCharsets.UTF_8), 0, version);
  }

  @Test
  void apply_inOrder_thenAResentBatchChangesNothing() {
    List<byte[]> k = keys(A, B, 2);
    long fp = placement.fingerprint();

    Frame r = applier.apply(batch(A, 7, 1, fp, put(k.get(0), "v1", 64), put(k.get(1), "x", 128), put(k.get(0), "v2", 192)));
    assertThat(r.status()).isEqualTo(Status.OK);
    assertThat(r.extras()).containsExactly(3);
    assertThat(store.get(k.get(0))).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));

    Frame d = applier.apply(batch(A, 7, 4, fp, Effect.delete(k.get(0))));
    assertThat(d.extras()).containsExactly(4);
    // the first batch again (a resend after a lost reply): skipped, the delete stays
    Frame again = applier.apply(batch(A, 7, 1, fp, put(k.get(0), "v1", 64), put(k.get(1), "x", 128), put(k.get(0), "v2", 192)));
    assertThat(again.status()).isEqualTo(Status.OK);
    assertThat(again.extras()).containsExactly(4);
    assertThat(store.get(k.get(0))).isNull();
    assertThat(store.peekEntry(k.get(1)).version()).isEqualTo(128);
  }

  @Test
  void apply_gap_refusedWithTheLastApplied() {
    byte[] k = keys(A, B, 1).get(0);
    applier.apply(batch(A, 7, 1, placement.fingerprint(), put(k, "v1", 64)));

    Frame r = applier.apply(batch(A, 7, 3, placement.fingerprint(), put(k, "v3", 192)));

    assertThat(r.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(r.extras()).containsExactly(1);
    assertThat(store.get(k)).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void apply_forgottenStreamNotFromTheStart_answersMinusOne() {
    byte[] k = keys(A, B, 1).get(0);
    assertThat(applier.apply(batch(A, 8, 1, placement.fingerprint(), put(k, "v", 64))).status()).isEqualTo(Status.OK);
    applier.forget(); // this node's store was emptied: what it applied of stream 8 is gone
    Frame r = applier.apply(batch(A, 8, 2, placement.fingerprint(), put(k, "v2", 64)));
    assertThat(r.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(r.extras()).containsExactly(-1);
  }

  /** The -1 for a forgotten stream tells the copies its owner's link took along are lost (they are asked again). */
  @Test
  void apply_forgottenStream_minusOne_saysItsOwnersStreamIsLost() {
    LostStreams lost = new LostStreams();
    ReplicaApplier recording = new ReplicaApplier(store, () -> placement, () -> B, guard, lost);
    byte[] k = keys(A, B, 1).get(0);
    assertThat(recording.apply(batch(A, 8, 1, placement.fingerprint(), put(k, "v", 64))).status()).isEqualTo(Status.OK);
    assertThat(lost.owners).isEmpty();
    recording.forget();
    assertThat(recording.apply(batch(A, 8, 2, placement.fingerprint(), put(k, "v2", 64))).extras()).containsExactly(-1);
    assertThat(lost.owners).containsExactly(A.id());
  }

  @Test
  void apply_streamForgottenThenEmptiedAgain_stillAnswersMinusOne() {
    byte[] k = keys(A, B, 1).get(0);
    assertThat(applier.apply(batch(A, 8, 1, placement.fingerprint(), put(k, "v", 64))).status()).isEqualTo(Status.OK);
    applier.forget();
    applier.forget(); // emptied twice before stream 8's next batch came
    Frame r = applier.apply(batch(A, 8, 2, placement.fingerprint(), put(k, "v2", 64)));
    assertThat(r.extras()).containsExactly(-1);
  }

  /**
   * A first batch of a link the owner already replaced, arriving late (over a connection dialled
   * again), is refused with -1 and leaves the newer stream as it was: taken, it reset the count,
   * and every later batch of the newer stream was a gap for good (a reviewer).
   */
  @Test
  void apply_lateFirstBatchOfAReplacedStream_isRefusedMinusOne_andTheNewerStreamGoesOn() {
    byte[] k = keys(A, B, 1).get(0);
    long fp = placement.fingerprint();
    assertThat(applier.apply(batch(A, 8, 1, fp, put(k, "old", 64))).status()).isEqualTo(Status.OK);
    assertThat(applier.apply(batch(A, 9, 1, fp, put(k, "v1", 128))).status()).isEqualTo(Status.OK);

    Frame late = applier.apply(batch(A, 8, 1, fp, put(k, "old", 64)));
    assertThat(late.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(late.extras()).containsExactly(-1);
    assertThat(store.get(k)).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));

    Frame next = applier.apply(batch(A, 9, 2, fp, put(k, "v2", 192)));
    assertThat(next.status()).isEqualTo(Status.OK);
    assertThat(next.extras()).containsExactly(2);
    assertThat(store.get(k)).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A new link's first batch that waits for the owner's stream while this node forgets its streams
   * (declared dead) starts a stream the map holds: its next batch follows on. Applied to the stream
   * just forgotten, it was answered OK while the map lost it, and the next batch was a gap that no
   * resend could fill (a reviewer: a learner's copy never ended).
   */
  @Test
  void apply_firstBatchWaitingWhileStreamsAreForgotten_startsAStreamTheNextBatchFollows() throws Exception {
    byte[] k = keys(A, B, 1).get(0);
    long fp = placement.fingerprint();
    assertThat(applier.apply(batch(A, 8, 1, fp, put(k, "old", 64))).status()).isEqualTo(Status.OK);
    java.lang.reflect.Field f = ReplicaApplier.class.getDeclaredField("streams");
    f.setAccessible(true);
    Object stream = ((java.util.Map<?, ?>) f.get(applier)).get(A.id());
    java.util.concurrent.atomic.AtomicReference<Frame> first = new java.util.concurrent.atomic.AtomicReference<>();
    Thread t = new Thread(() -> first.set(applier.apply(batch(A, 9, 1, fp, put(k, "v1", 128)))));
    synchronized (stream) {
      t.start();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> t.getState() == Thread.State.BLOCKED);
      applier.forget(); // the membership loop: this node was declared dead
    }
    t.join(10_000);
    assertThat(first.get().status()).isEqualTo(Status.OK);

    Frame next = applier.apply(batch(A, 9, 2, fp, put(k, "v2", 192)));
    assertThat(next.status()).as("%s", next.valueText()).isEqualTo(Status.OK);
    assertThat(next.extras()).containsExactly(2);
    assertThat(store.get(k)).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The first batch of a link its owner replaced before this node was emptied, delayed past the
   * emptying and past the new link's first batch, is an older link's: refused with -1, the newer
   * stream untouched. Taken as a new stream (once the emptying took the owner's streams out of the
   * map), it wrote the old value over the new one and made the new link's next batch a refusal.
   */
  @Test
  void apply_firstBatchOfALinkReplacedBeforeAnEmptying_arrivingLate_isRefused_andTheNewLinkGoesOn() {
    byte[] k = keys(A, B, 1).get(0);
    long fp = placement.fingerprint();
    assertThat(applier.apply(batch(A, 8, 1, fp, put(k, "old", 64))).status()).isEqualTo(Status.OK);
    applier.forget(); // declared dead: the store is emptied, and the owner opens a new link
    store.flush();
    assertThat(applier.apply(batch(A, 9, 1, fp, put(k, "v1", 128))).status()).isEqualTo(Status.OK);

    Frame late = applier.apply(batch(A, 8, 1, fp, put(k, "old", 64)));
    assertThat(late.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(late.extras()).containsExactly(-1);
    assertThat(late.valueText()).contains("replaced by stream 9");
    assertThat(store.get(k)).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));

    Frame next = applier.apply(batch(A, 9, 2, fp, put(k, "v2", 192)));
    assertThat(next.status()).as("%s", next.valueText()).isEqualTo(Status.OK);
    assertThat(next.extras()).containsExactly(2);
    assertThat(store.get(k)).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A first batch of a stream whose effects an emptying took, arriving again (a resend, or one
   * delayed in flight), is refused with -1 and the owner's stream called lost: taken, it started the
   * stream over in the emptied store with effects older than what the owner has since written.
   */
  @Test
  void apply_firstBatchAgainOfAStreamAnEmptyingTook_isRefusedMinusOne_andTheStreamIsLost() {
    LostStreams lost = new LostStreams();
    ReplicaApplier recording = new ReplicaApplier(store, () -> placement, () -> B, guard, lost);
    byte[] k = keys(A, B, 1).get(0);
    long fp = placement.fingerprint();
    assertThat(recording.apply(batch(A, 8, 1, fp, put(k, "old", 64))).status()).isEqualTo(Status.OK);
    recording.forget();
    store.flush();

    Frame again = recording.apply(batch(A, 8, 1, fp, put(k, "old", 64)));
    assertThat(again.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(again.extras()).containsExactly(-1);
    assertThat(store.get(k)).isNull();
    assertThat(lost.owners).containsExactly(A.id());
    // the owner's next link is a new stream
    assertThat(recording.apply(batch(A, 10, 1, fp, put(k, "v1", 128))).status()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));
  }

  /** A stream of which nothing was applied loses nothing to an emptying: its first batch is still taken. */
  @Test
  void apply_streamOfWhichNothingWasApplied_isNotLostByAnEmptying() {
    byte[] k = keys(A, B, 1).get(0);
    long fp = placement.fingerprint();
    byte[] tooLarge = new byte[2 * 1024 * 1024]; // past the store's 1 MiB value limit: refused, nothing applied
    Frame refused = applier.apply(batch(A, 8, 1, fp, new Effect(k, tooLarge, 0, 64)));
    assertThat(refused.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(refused.extras()).containsExactly(0);
    applier.forget();

    Frame r = applier.apply(batch(A, 8, 1, fp, put(k, "v1", 64)));
    assertThat(r.status()).as("%s", r.valueText()).isEqualTo(Status.OK);
    assertThat(r.extras()).containsExactly(1);
    assertThat(store.get(k)).isEqualTo("v1".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void apply_newStreamWhoseFirstBatchWasRefused_isAGapNotALostStream_andResentFromOneApplies() {
    byte[] k = keys(A, B, 1).get(0);
    // The first batch came while this node's placement still differed (refused); the second after.
    assertThat(applier.apply(batch(A, 8, 1, placement.fingerprint() + 1, put(k, "v1", 64))).status())
        .isEqualTo(Status.TRY_AGAIN);
    Frame r = applier.apply(batch(A, 8, 2, placement.fingerprint(), put(k, "v2", 64)));
    assertThat(r.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(r.extras()).as("nothing applied: resend from 1").containsExactly(0);
    assertThat(store.get(k)).isNull();

    assertThat(applier.apply(batch(A, 8, 1, placement.fingerprint(), put(k, "v1", 64))).status()).isEqualTo(Status.OK);
    assertThat(applier.apply(batch(A, 8, 2, placement.fingerprint(), put(k, "v2", 128))).status()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void apply_anotherPlacement_refusedUntilTheyAgree() {
    byte[] k = keys(A, B, 1).get(0);
    Frame r = applier.apply(batch(A, 7, 1, placement.fingerprint() + 1, put(k, "v", 64)));
    assertThat(r.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(r.extras()).containsExactly(0);
    assertThat(store.get(k)).isNull();
  }

  @Test
  void apply_slotThisNodeDoesNotReplicateForThatOwner_skipped() {
    byte[] notMine = keys(A, C, 1).get(0);
    byte[] mine = keys(A, B, 1).get(0);
    Frame r = applier.apply(batch(A, 7, 1, placement.fingerprint(), put(notMine, "x", 64), put(mine, "y", 128)));
    assertThat(r.extras()).containsExactly(2);
    assertThat(store.get(notMine)).isNull();
    assertThat(store.get(mine)).isEqualTo("y".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void apply_malformed_badRequest() {
    Frame r = applier.apply(Frame.request(Opcode.REPLICATE, 0, null, new byte[] {0, 1, 11}, 7, 1,
        placement.fingerprint(), 0));
    assertThat(r.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(r.valueText()).contains("unknown kind 11");
    Frame noExtras = applier.apply(Frame.request(Opcode.REPLICATE, 0, null, new byte[0], 7, 1));
    assertThat(noExtras.status()).isEqualTo(Status.BAD_REQUEST);
    Frame badOwner = applier.apply(Frame.request(Opcode.REPLICATE, 0, null, new byte[] {0, 0}, 7, 1,
        placement.fingerprint(), 3));
    assertThat(badOwner.valueText()).contains("owner index 3 is outside 0..2");
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A hash's fields and values in its order, as text. */
  private static List<String> fields(io.distcache.server.store.TypedEntry e) {
    List<String> out = new ArrayList<>();
    io.distcache.server.store.CollectionCodec.decodeHash(e.value())
        .forEach((f, v) -> out.add(new String(f.b(), StandardCharsets.UTF_8) + "=" + new String(v, StandardCharsets.UTF_8)));
    return out;
  }

  /** Edits the hash at {@code key} on {@code s} as HSET/HDEL would: puts {@code put}, removes {@code remove}. */
  private static void editHash(Store s, byte[] key, List<String> put, List<String> remove) {
    List<byte[]> names = new ArrayList<>();
    put.forEach(f -> names.add(b(f)));
    remove.forEach(f -> names.add(b(f)));
    s.editPacked(key, io.distcache.protocol.ValueType.HASH, payload -> {
      io.distcache.server.store.PackedEdit e = io.distcache.server.store.PackedEdit.hash(payload, names);
      for (int i = 0; i < names.size(); i++) {
        if (i < put.size()) {
          e.put(i, b("value of " + put.get(i) + " ".repeat(i)));
        } else {
          e.remove(i);
        }
      }
      return new io.distcache.server.store.PackedChange<>(null, e);
    });
  }

  /** The edit effect of one edit of the hash at {@code key} on the owner's store {@code s}. */
  private static Effect shippedEdit(Store s, byte[] key, List<String> put, List<String> remove) {
    io.distcache.server.store.EditJournal journal = io.distcache.server.store.EditJournal.open();
    try {
      editHash(s, key, put, remove);
    } finally {
      journal.close();
    }
    io.distcache.server.store.TypedEntry now = s.peekEntry(key);
    io.distcache.server.store.EditJournal.Edit edit = journal.edit(key, now.version(), now.expireAtMillis());
    assertThat(edit).as("the journal explains the key's state by the one edit").isNotNull();
    return Effect.edited(key, io.distcache.protocol.ValueType.HASH, edit.baseVersion(), now.version(),
        now.expireAtMillis(), edit.ops());
  }

  @Test
  void edit_appliedOnTheCopyAtItsBase_aNoOpCheckChangesNothing_aDivergedCopyOfTheKeyIsRemoved_theSlotKept() {
    List<Integer> diverged = new ArrayList<>();
    List<long[]> dropped = new ArrayList<>();
    ReplicaApplier withCopies = new ReplicaApplier(store, () -> placement, () -> B, guard, new ReplicaApplier.SlotCopies() {
      @Override
      public void copied(int slot, long token) {}

      @Override
      public void drop(long[] slots) {
        dropped.add(slots);
      }

      @Override
      public void diverged(int slot, String why) {
        diverged.add(slot);
      }
    });
    List<byte[]> two = keys(A, B, 2);
    byte[] k = two.get(0);
    byte[] other = two.get(1);
    long fp = placement.fingerprint();
    List<String> all = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      all.add("field" + i);
    }
    try (Store owner = Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock))) {
      editHash(owner, k, all, List.of());
      io.distcache.server.store.TypedEntry base = owner.peekEntry(k);
      store.applyReplicated(k, io.distcache.protocol.ValueType.HASH, base.value(), 0, base.version());
      store.applyReplicated(other, io.distcache.protocol.ValueType.STRING, new byte[] {1}, 0, 5);

      // a value of another length moves its field last (PackedIndex), a new one is appended
      Effect edit = shippedEdit(owner, k, List.of("field7", "new"), List.of("field9", "absent"));
      assertThat(edit.encodedBytes()).isLessThan(base.value().length / 50);
      assertThat(withCopies.apply(batch(A, 7, 1, fp, edit)).status()).isEqualTo(Status.OK);
      io.distcache.server.store.TypedEntry own = owner.peekEntry(k);
      assertThat(fields(store.peekEntry(k))).containsExactlyElementsOf(fields(own));
      assertThat(store.peekEntry(k).version()).isEqualTo(own.version());
      // a write that changed nothing ships a check of the version: the copy passes it, unchanged
      Effect check = shippedEdit(owner, k, List.of(), List.of("absent"));
      assertThat(withCopies.apply(batch(A, 7, 2, fp, check)).status()).isEqualTo(Status.OK);
      assertThat(fields(store.peekEntry(k))).containsExactlyElementsOf(fields(own));
      assertThat(diverged).isEmpty();

      // A real edit finding the copy at its own version did not make it: versions are unique per
      // node only, so a replica that kept a dead owner's last unacknowledged edit meets the promoted
      // owner's first edit under the same number. Removed, never trusted.
      assertThat(withCopies.apply(batch(A, 7, 3, fp, edit)).status()).isEqualTo(Status.OK);
      assertThat(store.peekEntry(k)).as("a copy at the edit's version from another edit is removed").isNull();
      assertThat(diverged).containsExactly(KeySlot.of(k));

      // a copy at another version (it missed an edit): removed, the slot's other keys kept
      store.applyReplicated(k, io.distcache.protocol.ValueType.HASH, own.value(), 0, own.version());
      shippedEdit(owner, k, List.of("field1"), List.of());
      Effect next = shippedEdit(owner, k, List.of("field2"), List.of("field3"));
      assertThat(withCopies.apply(batch(A, 7, 4, fp, next)).status()).isEqualTo(Status.OK);
      assertThat(store.peekEntry(k)).as("never applied on a copy at another version").isNull();
      // and a copy that is gone altogether (evicted, say) stays gone
      assertThat(withCopies.apply(batch(A, 7, 5, fp, next)).status()).isEqualTo(Status.OK);
      assertThat(store.peekEntry(k)).isNull();
      assertThat(diverged).hasSize(3);
      assertThat(dropped).as("no slot is dropped for a key's divergence").isEmpty();
      assertThat(store.peekEntry(other)).as("the slot's other keys are kept").isNotNull();
      // a whole value of the key brings it back
      store.applyReplicated(k, io.distcache.protocol.ValueType.HASH, owner.peekEntry(k).value(), 0,
          owner.peekEntry(k).version());
      assertThat(fields(store.peekEntry(k))).containsExactlyElementsOf(fields(owner.peekEntry(k)));
    }
  }

  /**
   * A batch whose large string arrived in the chunks it was gathered in (MeteredFrameDecoder lends
   * them) is read from there and stored byte for byte, with no array of the frame or the value.
   */
  @Test
  void apply_aBatchHeldInHeapChunks_storesItsLargeValueFromThem() {
    List<byte[]> k = keys(A, B, 2);
    byte[] big = new byte[5 * EffectCodec.LARGE_VALUE_BYTES + 3];
    new java.util.Random(9).nextBytes(big);
    io.distcache.protocol.BufferedValue held = io.distcache.protocol.BufferedValue.heapCopyOf(
        java.nio.ByteBuffer.wrap(big));
    io.distcache.protocol.BufferedValue frameValue = io.distcache.protocol.BufferedValue.ofHeap(EffectCodec.encodeBuffer(
        List.of(Effect.large(k.get(0), held, 0, 640), put(k.get(1), "small", 704))));
    Frame request = Frame.request(Opcode.REPLICATE, 0, null, Frame.EMPTY, 7, 1, placement.fingerprint(),
        placement.members().indexOf(A)).withValue(frameValue);
    // The store sees the large value as a buffer and copies from it (the interface's default would
    // make an array of it: value.array()).
    List<io.distcache.protocol.BufferedValue> handed = new ArrayList<>();
    ReplicaApplier applier = new ReplicaApplier(recording(handed), () -> placement, () -> B, guard);

    Frame r = applier.apply(request);

    assertThat(r.status()).isEqualTo(Status.OK);
    assertThat(r.extras()).containsExactly(2);
    assertThat(store.get(k.get(0))).isEqualTo(big);
    assertThat(store.peekEntry(k.get(0)).version()).isEqualTo(640);
    assertThat(store.get(k.get(1))).isEqualTo("small".getBytes(StandardCharsets.UTF_8));
    assertThat(frameValue.copied()).as("the batch was read from its chunks").isFalse();
    assertThat(handed).hasSize(1);
    assertThat(handed.get(0).length()).isEqualTo(big.length);
    assertThat(handed.get(0).copied()).as("stored from the chunks, not through an array").isFalse();
  }

  /** The store, recording each BufferedValue that applyReplicated is handed. */
  private Store recording(List<io.distcache.protocol.BufferedValue> handed) {
    return (Store) java.lang.reflect.Proxy.newProxyInstance(Store.class.getClassLoader(),
        new Class<?>[] {Store.class}, (proxy, method, args) -> {
          if (method.getName().equals("applyReplicated") && args[1] instanceof io.distcache.protocol.BufferedValue b) {
            handed.add(b);
          }
          try {
            return method.invoke(store, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** A batch that arrived whole, in one array: its large string is stored from a view of it, not a copy. */
  @Test
  void apply_aBatchInOneArray_storesItsLargeValueFromAViewOfIt() {
    byte[] k = keys(A, B, 1).get(0);
    byte[] big = new byte[EffectCodec.LARGE_VALUE_BYTES + 5];
    new java.util.Random(10).nextBytes(big);
    List<io.distcache.protocol.BufferedValue> handed = new ArrayList<>();
    ReplicaApplier applier = new ReplicaApplier(recording(handed), () -> placement, () -> B, guard);

    Frame r = applier.apply(batch(A, 7, 1, placement.fingerprint(), new Effect(k, big, 0, 640)));

    assertThat(r.status()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo(big);
    assertThat(handed).hasSize(1);
    assertThat(handed.get(0).copied()).isFalse();
  }
}
