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
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The replica's map of owners' streams past its bound: what it drops, and how the dropped owners' links go on. */
class ReplicaApplierPruneTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final Member D = new Member("d".repeat(40), new Address("127.0.0.1", 7004));

  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final SlotGuard guard = new SlotGuard(clock, 1_000_000_000L);
  private final AtomicReference<Placement> now = new AtomicReference<>();
  private final LostStreams lost = new LostStreams();
  private final ReplicaApplier bounded = new ReplicaApplier(store, now::get, () -> B, guard, lost, 2);

  @AfterEach
  void tearDown() {
    store.close();
  }

  private void install(Placement next) {
    Placement before = now.get() == null ? Placement.empty() : now.get();
    now.set(next);
    guard.placementChanged(B, before, next, null);
  }

  private static byte[] key(Placement p, Member owner, String prefix) {
    for (int i = 0; ; i++) {
      byte[] k = (prefix + i).getBytes(StandardCharsets.UTF_8);
      int s = KeySlot.of(k);
      if (p.owner(s).equals(owner) && p.isReplica(B, s)) {
        return k;
      }
    }
  }

  private static Frame batch(Placement p, Member from, long stream, long first, Effect... effects) {
    return Frame.request(Opcode.REPLICATE, 0, null, EffectCodec.encode(List.of(effects)), stream, first,
        p.fingerprint(), p.members().indexOf(from));
  }

  private static Effect put(byte[] key, String value, long version) {
    return new Effect(key, value.getBytes(StandardCharsets.UTF_8), 0, version);
  }

  /** Past the bound, the entries of owners outside the placement go; members' entries and streams stay. */
  @Test
  void pastTheBound_theEntriesOfOwnersNoLongerMembersAreDropped_membersGoOn() throws Exception {
    Placement p2 = dropA();

    java.lang.reflect.Field f = ReplicaApplier.class.getDeclaredField("streams");
    f.setAccessible(true);
    assertThat(new java.util.HashSet<Object>(((java.util.Map<?, ?>) f.get(bounded)).keySet()))
        .containsExactlyInAnyOrder((Object) C.id(), D.id());
    Frame fromC = bounded.apply(batch(p2, C, 5, 2, put(key(p2, C, "c"), "c2", 128)));
    assertThat(fromC.status()).as("%s", fromC.valueText()).isEqualTo(Status.OK);
    assertThat(fromC.extras()).containsExactly(2);
  }

  /**
   * An owner declared dead and back keeps its member id and its link; if its entry was dropped
   * meanwhile, its link's next batch is refused with -1 (its stream lost), so the owner opens a new
   * link from number 1. Answered as a gap (0) it was refused for good: the owner resends only from
   * its last acknowledged number (a reviewer).
   */
  @Test
  void ownerBackFromDeath_afterItsEntryWasDropped_getsMinusOne_andItsNewLinkApplies() {
    Placement p3 = pruneA(); // A declared dead (out of the placement), dropped, then back with the same id
    byte[] k = key(p3, A, "a");
    Frame r = bounded.apply(batch(p3, A, 8, 2, put(k, "a2", 128)));
    assertThat(r.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(r.extras()).as("%s", r.valueText()).containsExactly(-1);
    assertThat(lost.owners).containsExactly(A.id());

    Frame next = bounded.apply(batch(p3, A, 9, 1, put(k, "a3", 192)));
    assertThat(next.status()).as("%s", next.valueText()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo("a3".getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A batch whose thread read the placement before a join does not drop the joiner's entry: the
   * prune keeps the members of the current placement too.
   */
  @Test
  void pruneWithAPlacementReadBeforeAJoin_keepsTheJoinersStream() {
    Placement p1 = Placement.of(3, List.of(A, B, C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement p2 = Placement.of(4, List.of(A, B, C, D), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    install(p2);
    // C's batch under p1, read by its thread before p2 was installed: the supplier gives p1 for it,
    // then p2 to the prune, as when the install lands between the two reads.
    java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger(1);
    ReplicaApplier racing = new ReplicaApplier(store, () -> reads.getAndIncrement() == 0 ? p1 : p2, () -> B, guard,
        new LostStreams(), 2);
    assertThat(racing.apply(batch(p2, A, 8, 1, put(key(p2, A, "a"), "a1", 64))).status()).isEqualTo(Status.OK);
    assertThat(racing.apply(batch(p2, D, 3, 1, put(key(p2, D, "d"), "d1", 64))).status()).isEqualTo(Status.OK);
    reads.set(0);
    racing.apply(batch(p1, C, 5, 1, put(key(p1, C, "c"), "c1", 64)));
    Frame r = racing.apply(batch(p2, D, 3, 2, put(key(p2, D, "d"), "d2", 128)));
    assertThat(r.status()).as("%s", r.valueText()).isEqualTo(Status.OK);
    assertThat(r.extras()).containsExactly(2);
  }

  /** A (its stream 8 applied) leaves the placement and D's first batch fills the bound: A's entry is dropped. */
  private Placement dropA() {
    Placement p1 = Placement.of(3, List.of(A, B, C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    install(p1);
    assertThat(bounded.apply(batch(p1, A, 8, 1, put(key(p1, A, "a"), "a1", 64))).status()).isEqualTo(Status.OK);
    assertThat(bounded.apply(batch(p1, C, 5, 1, put(key(p1, C, "c"), "c1", 64))).status()).isEqualTo(Status.OK);
    Placement p2 = Placement.of(4, List.of(B, C, D), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    install(p2);
    assertThat(bounded.apply(batch(p2, D, 3, 1, put(key(p2, D, "d"), "d1", 64))).status()).isEqualTo(Status.OK);
    return p2;
  }

  /** dropA, then A is back in the placement with the same member id. */
  private Placement pruneA() {
    dropA();
    Placement p3 = Placement.of(5, List.of(A, B, C, D), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    install(p3);
    return p3;
  }

  /** A dropped owner's NEW link whose second batch comes first is a gap like any new link's, not a lost stream. */
  @Test
  void droppedOwnersNewLink_secondBatchFirst_isAGap_thenItsFirstApplies() {
    Placement p3 = pruneA();
    byte[] k = key(p3, A, "a");
    Frame early = bounded.apply(batch(p3, A, 9, 2, put(k, "a3", 192)));
    assertThat(early.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(early.extras()).as("%s", early.valueText()).containsExactly(0);
    assertThat(lost.owners).isEmpty();
    assertThat(bounded.apply(batch(p3, A, 9, 1, put(k, "a2", 128))).status()).isEqualTo(Status.OK);
    assertThat(bounded.apply(batch(p3, A, 9, 2, put(k, "a3", 192))).status()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo("a3".getBytes(StandardCharsets.UTF_8));
  }

  /** A delayed first batch of a link older than the dropped owner's stream is still refused, and that stream is lost. */
  @Test
  void droppedOwner_olderLinksFirstBatch_refused_itsStreamLost_aNewLinkApplies() {
    Placement p3 = pruneA();
    byte[] k = key(p3, A, "a");
    Frame old = bounded.apply(batch(p3, A, 7, 1, put(k, "old", 32)));
    assertThat(old.extras()).as("%s", old.valueText()).containsExactly(-1);
    assertThat(store.get(k)).as("not the older link's value").isNotEqualTo("old".getBytes(StandardCharsets.UTF_8));
    assertThat(bounded.apply(batch(p3, A, 8, 2, put(k, "a2", 128))).extras()).containsExactly(-1);
    assertThat(bounded.apply(batch(p3, A, 9, 1, put(k, "a3", 192))).status()).isEqualTo(Status.OK);
    assertThat(store.get(k)).isEqualTo("a3".getBytes(StandardCharsets.UTF_8));
  }
}
