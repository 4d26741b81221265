package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Placement's index queries (member positions and bit masks, what placement listeners ask slot by
 * slot) answer exactly what its member queries answer, for placements of up to 64 members with
 * replicas, learners and departing members, asked with equal members that are other instances, and with members that are
 * not in the placement (an id at another address).
 */
class PlacementIndexQueriesTest {

  private static List<Member> members(Random random, int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(Member.newId(1_700_000_000_000L + random.nextInt(1000), random),
          new Address("127.0.0.1", 7000 + i)));
    }
    return out;
  }

  private static Placement randomPlacement(Random random, List<Member> all, long epoch) {
    List<Member> owning = new ArrayList<>();
    List<Member> learners = new ArrayList<>();
    List<Member> departing = new ArrayList<>();
    for (Member m : all) {
      // At the cluster limit every member is in (64 bits in use); below it some are left out.
      int r = random.nextInt(all.size() == 64 ? 8 : 10);
      if (r < 6) {
        owning.add(m);
        if (random.nextInt(5) == 0) {
          departing.add(m);
        }
      } else if (r < 8) {
        learners.add(m);
      }
    }
    // Few points for large clusters: the member queries this compares against cost O(members) each.
    int vn = all.size() > 9 ? 8 : new int[] {1, 7, 64, 1024}[random.nextInt(4)];
    return Placement.of(epoch, owning, learners, departing, vn, random.nextInt(4));
  }

  @Test
  void indexQueries_answerAsTheMemberQueries_slotBySlot() {
    Random random = new Random(29);
    int learnersSeen = 0;
    int departingSeen = 0;
    int highLearners = 0;
    for (int round = 0; round < 42; round++) {
      // Small clusters, then the cluster limit (64 members: bit 63) and one past an int's bits.
      int n = round < 40 ? 1 + random.nextInt(9) : round == 40 ? 64 : 33 + random.nextInt(31);
      List<Member> all = members(random, n);
      Placement p = randomPlacement(random, all, 3);
      if (n == 64 && (p.size() != 64 || !p.hasLearners())) {
        throw new AssertionError("the 64-member round must have 64 members and learners; change the seed");
      }
      highLearners += Long.numberOfLeadingZeros(p.learnerMask()) < 32 ? 1 : 0;
      learnersSeen += p.hasLearners() ? 1 : 0;
      departingSeen += p.hasDeparting() ? 1 : 0;
      List<Member> ms = p.members();
      String what = "round " + round + ": " + p;

      List<Member> asked = new ArrayList<>();
      for (Member m : all) {
        asked.add(new Member(m.id(), m.address())); // equal, not the placement's instance
        asked.add(new Member(m.id(), new Address("127.0.0.2", m.address().port()))); // same id, not a member
      }
      long learnerMask = 0;
      for (Member m : asked) {
        int i = p.indexOf(m);
        assertThat(i >= 0).as("%s: indexOf %s", what, m).isEqualTo(p.contains(m));
        if (i >= 0) {
          assertThat(ms.get(i)).isEqualTo(m);
          if (p.isLearner(m)) {
            learnerMask |= 1L << i;
          }
        }
      }
      assertThat(p.learnerMask()).as("%s: learnerMask", what).isEqualTo(learnerMask);

      // Whole tables compared at once (an assertion per slot costs seconds).
      int[] ownerIndex = new int[KeySlot.SLOTS];
      int[] ownerExpected = new int[KeySlot.SLOTS];
      long[][] actual = new long[3][KeySlot.SLOTS];
      long[][] expected = new long[3][KeySlot.SLOTS];
      List<String> replicasDisagree = new ArrayList<>();
      List<Member> equalCopies = new ArrayList<>();
      for (Member m : ms) {
        equalCopies.add(new Member(m.id(), m.address()));
      }
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        Member owner = p.owner(s);
        ownerIndex[s] = p.ownerIndex(s);
        ownerExpected[s] = owner == null ? -1 : ms.indexOf(owner);
        Set<Member> copies = new HashSet<>(p.replicas(s));
        for (int i = 0; i < ms.size(); i++) {
          Member m = equalCopies.get(i);
          if (copies.contains(m) != p.isReplica(m, s)) {
            replicasDisagree.add(s + ":" + i);
          }
          expected[0][s] |= p.isReplica(m, s) ? 1L << i : 0;
          expected[1][s] |= p.isLearner(m, s) ? 1L << i : 0;
          expected[2][s] |= p.wouldOwn(m, s) ? 1L << i : 0;
        }
        actual[0][s] = p.replicaBits(s);
        actual[1][s] = p.learningBits(s);
        actual[2][s] = p.wouldOwnBits(s);
      }
      assertThat(replicasDisagree).as("%s: replicas() against isReplica", what).isEmpty();
      assertThat(ownerIndex).as("%s: ownerIndex", what).isEqualTo(ownerExpected);
      assertThat(actual[0]).as("%s: replicaBits", what).isEqualTo(expected[0]);
      assertThat(actual[1]).as("%s: learningBits", what).isEqualTo(expected[1]);
      assertThat(actual[2]).as("%s: wouldOwnBits", what).isEqualTo(expected[2]);
    }
    assertThat(learnersSeen).as("placements with learners").isPositive();
    assertThat(highLearners).as("placements with a learner past bit 31").isPositive();
    assertThat(departingSeen).as("placements with departing members").isPositive();
  }

  @Test
  void indexesOf_mapsEachMemberOfAnotherPlacementByEquality() {
    Random random = new Random(31);
    for (int round = 0; round < 30; round++) {
      List<Member> all = members(random, round == 0 ? 64 : 1 + random.nextInt(9));
      Placement a = randomPlacement(random, all, 3);
      List<Member> moved = new ArrayList<>(all);
      if (!moved.isEmpty() && random.nextBoolean()) {
        Member m = moved.remove(0); // back at another address: another member
        moved.add(new Member(m.id(), new Address("127.0.0.2", m.address().port())));
      }
      Placement b = randomPlacement(random, moved, 4);

      int[] aInB = b.indexesOf(a);
      assertThat(aInB).hasSize(a.size());
      for (int i = 0; i < a.size(); i++) {
        assertThat(aInB[i]).as("round %d: %s", round, a.members().get(i)).isEqualTo(b.members().indexOf(a.members().get(i)));
      }
    }
  }

  @Test
  void emptyPlacement_hasNoOwnerNoCopiesAndNoMember() {
    Placement e = Placement.empty();
    Member m = new Member("a", new Address("127.0.0.1", 7000));
    assertThat(e.indexOf(m)).isEqualTo(-1);
    assertThat(e.ownerIndex(0)).isEqualTo(-1);
    assertThat(e.replicaBits(KeySlot.SLOTS - 1)).isZero();
    assertThat(e.learnerMask()).isZero();
    assertThat(e.indexesOf(Placement.of(1, List.of(m)))).containsExactly(-1);
  }
}
