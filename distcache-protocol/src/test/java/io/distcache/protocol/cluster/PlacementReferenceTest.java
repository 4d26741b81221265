package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The ring and the placement tables against plain restatements of their rules: a ring as every
 * (point, member) pair sorted with ties in id order, and each slot's owner, replicas, extras,
 * learners and solo owners worked out slot by slot through {@link HashRing#ownersAt}. The builds
 * under test take shortcuts (points memoized per member, runs merged, one walk per run of slots
 * that start at the same point); these say the shortcuts change nothing.
 */
class PlacementReferenceTest {
  private static final Comparator<Member> BY_ID = Comparator.comparing(Member::id);

  private static List<Member> members(Random random, int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(Member.newId(1_700_000_000_000L + random.nextInt(1000), random),
          new Address("127.0.0.1", 7000 + i)));
    }
    return out;
  }

  /** A ring hash that puts virtual nodes where {@code point} says (keys are not hashed here). */
  private static RingHash pointsAt(java.util.function.ToLongBiFunction<String, Integer> point) {
    return new RingHash() {
      @Override
      public long hashKey(byte[] key) {
        return key.length;
      }

      @Override
      public long hashPoint(String memberId, int index) {
        return point.applyAsLong(memberId, index);
      }
    };
  }

  /** Every (point, member) pair of these members, sorted by point, equal points in id order. */
  private static List<Map.Entry<Long, Member>> naiveRing(List<Member> members, int virtualNodes, RingHash hash) {
    List<Map.Entry<Long, Member>> all = new ArrayList<>();
    for (Member m : members) {
      for (int v = 0; v < virtualNodes; v++) {
        all.add(Map.entry(hash.hashPoint(m.id(), v), m));
      }
    }
    all.sort(Comparator.<Map.Entry<Long, Member>>comparingLong(Map.Entry::getKey)
        .thenComparing(e -> e.getValue().id()));
    return all;
  }

  /** The member of the first pair at or after h, wrapping to the first pair. */
  private static Member naiveOwner(List<Map.Entry<Long, Member>> ring, long h) {
    int lo = 0;
    int hi = ring.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (ring.get(mid).getKey() < h) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return ring.get(lo == ring.size() ? 0 : lo).getValue();
  }

  /** The points and their members in ring order, as the ring under test holds them. */
  private static void assertSameRing(HashRing ring, List<Map.Entry<Long, Member>> naive, String what) {
    for (int i = 0; i < naive.size(); i++) {
      long p = naive.get(i).getKey();
      // Just at a point: its owner is that point's member (the first of equal points).
      assertThat(ring.ownerAt(p)).as("%s: point %d", what, i).isEqualTo(naiveOwner(naive, p));
    }
  }

  @Test
  void ring_withCollidingPoints_ownersAreTheNaiveSortsInIdOrder() {
    Random random = new Random(7);
    // Few distinct point values: most points collide, within a member and across members.
    RingHash colliding = pointsAt((id, index) -> (id.hashCode() + index * 31L) % 5 * 1000 - 2000);
    for (int round = 0; round < 20; round++) {
      List<Member> ms = members(random, 1 + random.nextInt(6));
      int vn = 1 + random.nextInt(9);
      HashRing ring = HashRing.of(1, ms, vn, colliding);
      List<Map.Entry<Long, Member>> naive = naiveRing(ms, vn, colliding);
      for (long h = -3000; h <= 3000; h += 250) {
        assertThat(ring.ownerAt(h)).as("round %d h %d", round, h).isEqualTo(naiveOwner(naive, h));
      }
    }
  }

  @Test
  void slotWalks_onPointsExactly_andWhereThePositionsTurnBack_areOwnersAtEachPosition() {
    Random random = new Random(13);
    RingHash onTheThousands = pointsAt((id, index) -> Math.floorMod(id.hashCode() + index * 7L, 9) * 1000 - 4000);
    for (int round = 0; round < 10; round++) {
      List<Member> ms = members(random, 1 + random.nextInt(5));
      HashRing ring = HashRing.of(1, ms, 1 + random.nextInt(4), onTheThousands);
      // Runs of equal positions, positions on points and between them, and drops back (a wrap).
      java.util.function.IntToLongFunction position = s -> (s / 3 % 23) * 500L - 5500;
      int want = 1 + random.nextInt(ms.size() + 1);
      int n = Math.min(want, ms.size());

      int[] walks = ring.walkSlots(300, position, want);

      for (int s = 0; s < 300; s++) {
        List<Member> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          got.add(ring.memberArray()[walks[s * n + i]]);
        }
        assertThat(got).as("round %d slot %d", round, s).isEqualTo(ring.ownersAt(position.applyAsLong(s), want));
      }
    }
  }

  @Test
  void ring_xxHash_manyAndUnevenRuns_everyPointIsTheNaiveSorts() {
    Random random = new Random(11);
    // Member counts that are not powers of two leave an odd run at each round of the merge.
    int[][] cases = {{1, 7}, {3, 1}, {5, 64}, {7, 1024}, {33, 300}, {64, 50}, {9, 4096}};
    for (int[] c : cases) {
      List<Member> ms = members(random, c[0]);
      HashRing ring = HashRing.of(1, ms, c[1], RingHash.XXHASH64);
      List<Map.Entry<Long, Member>> naive = naiveRing(ms, c[1], RingHash.XXHASH64);

      assertSameRing(ring, naive, c[0] + " members, " + c[1] + " points each");
      for (int i = 0; i < 200; i++) {
        long h = random.nextLong();
        assertThat(ring.ownerAt(h)).isEqualTo(naiveOwner(naive, h));
      }
    }
  }

  @Test
  void slotWalks_ofTheRealSlotPositions_areOwnersAtEachSlot_andEmptyForNoneOrNothing() {
    List<Member> ms = members(new Random(17), 5);
    HashRing ring = HashRing.of(1, ms, 64, RingHash.XXHASH64);
    for (int want : new int[] {1, 3, 5, 6}) {
      int n = Math.min(want, ms.size());
      int[] walks = ring.walkSlots(KeySlot.SLOTS, Placement::position, want);
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        List<Member> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          got.add(ring.memberArray()[walks[s * n + i]]);
        }
        assertThat(got).as("want %d slot %d", want, s).isEqualTo(ring.ownersAt(Placement.position(s), want));
      }
    }
    assertThat(ring.walkSlots(KeySlot.SLOTS, Placement::position, 0)).isEmpty();
    assertThat(HashRing.empty().walkSlots(KeySlot.SLOTS, Placement::position, 2)).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ring.walkSlots(1, Placement::position, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
  }

  @Test
  void memberPoints_areKeptPerHash_andAMemberEvictedIsComputedAgainTheSame() {
    RingHash shifted = pointsAt((id, index) -> RingHash.XXHASH64.hashPoint(id, index) + 1);
    List<Member> ms = members(new Random(19), 3);
    HashRing a = HashRing.of(1, ms, 16, RingHash.XXHASH64);
    HashRing b = HashRing.of(1, ms, 16, shifted);

    // One hash's kept points are not another's (each ring is its own hash's naive sort).
    assertSameRing(a, naiveRing(ms, 16, RingHash.XXHASH64), "xxHash64");
    assertSameRing(b, naiveRing(ms, 16, shifted), "shifted by one");
    // Past the bound, the first members are evicted; building again gives the same ring.
    for (Member m : members(new Random(23), MemberPoints.MAX_CACHED + 5)) {
      MemberPoints.of(RingHash.XXHASH64, m.id(), 16);
    }
    assertSameRing(HashRing.of(2, ms, 16, RingHash.XXHASH64), naiveRing(ms, 16, RingHash.XXHASH64), "after eviction");
  }

  @Test
  void placement_ownersReplicasExtrasLearnersAndSoloOwners_areTheSlotBySlotRules() {
    Random random = new Random(3);
    for (int round = 0; round < 50; round++) {
      int vn = new int[] {1, 3, 16, 200, 1024}[random.nextInt(5)];
      int replicas = random.nextInt(Placement.MAX_REPLICAS + 1);
      List<Member> all = members(random, 1 + random.nextInt(12));
      int owningCount = random.nextInt(all.size() + 1);
      List<Member> owning = all.subList(0, owningCount);
      List<Member> learners = all.subList(owningCount, Math.min(all.size(), owningCount + 3));
      List<Member> departing = new ArrayList<>();
      for (Member m : all) {
        // Mostly owners; sometimes a learner, which is not an owner and is ignored.
        if (random.nextInt(owning.contains(m) ? 4 : 8) == 0) {
          departing.add(m);
        }
      }
      if (!owning.isEmpty() && random.nextInt(5) == 0) {
        // The id of an owner at another address: not that member, so ignored too.
        Member o = owning.get(0);
        departing.add(new Member(o.id(), new Address("127.0.0.2", o.address().port())));
      }
      String what = String.format("round %d: %d owning, %d learners, %d departing, r=%d, vn=%d", round, owning.size(),
          learners.size(), departing.size(), replicas, vn);

      Placement p = Placement.of(5, owning, learners, departing, vn, replicas);

      checkAgainstRules(p, owning, learners, departing, vn, replicas, what);
    }
  }

  @Test
  void placement_defaultRingOfFiveWithALearnerAndADeparture_isTheSlotBySlotRules() {
    List<Member> all = members(new Random(5), 6);
    List<Member> owning = all.subList(0, 5);
    Placement p = Placement.of(9, owning, List.of(all.get(5)), List.of(all.get(2)), HashRing.DEFAULT_VIRTUAL_NODES, 2);

    checkAgainstRules(p, owning, List.of(all.get(5)), List.of(all.get(2)), HashRing.DEFAULT_VIRTUAL_NODES, 2,
        "five, a learner, a departure");
  }

  private static void checkAgainstRules(Placement p, List<Member> owningIn, List<Member> learnersIn,
      List<Member> departing, int vn, int replicas, String what) {
    List<Member> owning = owningIn;
    List<Member> learners = learnersIn;
    if (owning.isEmpty()) {
      owning = learners; // a learner-only set of members owns as ordinary members
      learners = List.of();
    }
    if (owning.isEmpty()) {
      assertThat(p.isEmpty()).isTrue();
      return;
    }
    HashRing ring = HashRing.of(5, owning, vn, RingHash.XXHASH64);
    List<Member> everyone = new ArrayList<>(owning);
    everyone.addAll(learners);
    HashRing target = HashRing.of(5, everyone, vn, RingHash.XXHASH64);
    Set<Member> leaving = new HashSet<>(departing);
    leaving.retainAll(owning);
    int perSlot = Math.min(replicas, owning.size() - 1);
    int targetCopies = Math.min(replicas, everyone.size() - 1) + 1;
    int staying = owning.size() - leaving.size();
    int keptCopies = Math.min(replicas + 1, staying);
    boolean extras = perSlot > 0 && !leaving.isEmpty() && staying > 0;
    List<HashRing> solos = new ArrayList<>();
    for (Member l : learners) {
      List<Member> withIt = new ArrayList<>(owning);
      withIt.add(l);
      solos.add(HashRing.of(5, withIt, vn, RingHash.XXHASH64));
    }
    List<Member> owners = new ArrayList<>();
    List<Member> expectedOwners = new ArrayList<>();
    List<List<Member>> replicasOf = new ArrayList<>();
    List<List<Member>> expectedReplicasOf = new ArrayList<>();
    List<Boolean> soloOwns = new ArrayList<>();
    List<Boolean> expectedSoloOwns = new ArrayList<>();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      long point = Placement.position(s);
      List<Member> copies = ring.ownersAt(point, perSlot + 1);
      Set<Member> extra = new HashSet<>();
      if (extras) {
        List<Member> walk = ring.ownersAt(point, owning.size());
        int kept = 0;
        for (int i = 0; i < walk.size() && kept < keptCopies; i++) {
          if (leaving.contains(walk.get(i))) {
            continue;
          }
          kept++;
          if (i > perSlot) {
            extra.add(walk.get(i));
          }
        }
      }
      Set<Member> learning = new HashSet<>();
      for (Member m : target.ownersAt(point, targetCopies)) {
        if (!ring.contains(m)) {
          learning.add(m);
        }
      }
      for (int l = 0; l < learners.size(); l++) {
        boolean soloOwner = solos.get(l).ownerAt(point).equals(learners.get(l));
        expectedSoloOwns.add(soloOwner);
        soloOwns.add(p.wouldOwn(learners.get(l), s));
        if (soloOwner) {
          learning.add(learners.get(l));
        }
      }
      extra.removeAll(learning);
      List<Member> expected = new ArrayList<>(copies.subList(1, copies.size()));
      if (!extra.isEmpty()) {
        expected.addAll(extra.stream().sorted(BY_ID).toList());
      }
      if (!learning.isEmpty()) {
        expected.addAll(learning.stream().sorted(BY_ID).toList());
      }

      expectedOwners.add(copies.get(0));
      owners.add(p.owner(s));
      expectedReplicasOf.add(expected);
      replicasOf.add(p.replicas(s));
    }
    // Whole tables at once (a per-slot assertion made this test take seconds); a mismatch names its index, the slot.
    assertThat(owners).as("%s: owners", what).isEqualTo(expectedOwners);
    assertThat(replicasOf).as("%s: replicas", what).isEqualTo(expectedReplicasOf);
    assertThat(soloOwns).as("%s: solo owners (slot-major, learners in order)", what).isEqualTo(expectedSoloOwns);
  }
}
