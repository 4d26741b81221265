package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
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

  /** The owner of position h on a ring of these members: the naive sort of all their points. */
  private static Member naiveOwner(List<Member> members, int virtualNodes, RingHash hash, long h) {
    List<Member> sorted = new ArrayList<>(members);
    sorted.sort(BY_ID);
    long bestPoint = 0;
    Member best = null;
    long firstPoint = 0;
    Member first = null;
    for (Member m : sorted) {
      for (int v = 0; v < virtualNodes; v++) {
        long p = hash.hashPoint(m.id(), v);
        // Strictly smaller wins, so among equal points the member met first (smaller id) stays.
        if (first == null || p < firstPoint) {
          firstPoint = p;
          first = m;
        }
        if (p >= h && (best == null || p < bestPoint)) {
          bestPoint = p;
          best = m;
        }
      }
    }
    return best != null ? best : first;
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
      for (long h = -3000; h <= 3000; h += 250) {
        assertThat(ring.ownerAt(h)).as("round %d h %d", round, h).isEqualTo(naiveOwner(ms, vn, colliding, h));
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
  void ring_xxHash_ownersAreTheNaiveSorts() {
    Random random = new Random(11);
    for (int round = 0; round < 10; round++) {
      List<Member> ms = members(random, 1 + random.nextInt(5));
      int vn = 1 + random.nextInt(64);
      HashRing ring = HashRing.of(1, ms, vn, RingHash.XXHASH64);
      for (int i = 0; i < 200; i++) {
        long h = random.nextLong();
        assertThat(ring.ownerAt(h)).isEqualTo(naiveOwner(ms, vn, RingHash.XXHASH64, h));
      }
    }
  }

  @Test
  void placement_ownersReplicasExtrasLearnersAndSoloOwners_areTheSlotBySlotRules() {
    Random random = new Random(3);
    for (int round = 0; round < 60; round++) {
      int vn = new int[] {1, 3, 16, 200, 1024}[random.nextInt(5)];
      int replicas = random.nextInt(4);
      List<Member> all = members(random, 1 + random.nextInt(8));
      int owningCount = random.nextInt(all.size() + 1);
      List<Member> owning = all.subList(0, owningCount);
      List<Member> learners = all.subList(owningCount, Math.min(all.size(), owningCount + 2));
      List<Member> departing = new ArrayList<>();
      for (Member m : owning) {
        if (random.nextInt(4) == 0) {
          departing.add(m);
        }
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
        assertThat(p.wouldOwn(learners.get(l), s)).as("%s: slot %d solo owner", what, s).isEqualTo(soloOwner);
        if (soloOwner) {
          learning.add(learners.get(l));
        }
      }
      extra.removeAll(learning);
      List<Member> expected = new ArrayList<>(copies.subList(1, copies.size()));
      expected.addAll(extra.stream().sorted(BY_ID).toList());
      expected.addAll(learning.stream().sorted(BY_ID).toList());

      assertThat(p.owner(s)).as("%s: slot %d owner", what, s).isEqualTo(copies.get(0));
      assertThat(p.replicas(s)).as("%s: slot %d replicas", what, s).isEqualTo(expected);
    }
  }
}
