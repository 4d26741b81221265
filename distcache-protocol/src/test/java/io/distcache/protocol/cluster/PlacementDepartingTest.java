package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A departing member's slots gain the copies the placement without it names (ARCHITECTURE.md "Hand-off"). */
class PlacementDepartingTest {

  private static List<Member> members(int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(String.format("%040x", 0xabc000L + i * 7919L), new Address("127.0.0.1", 7200 + i)));
    }
    return out;
  }

  private static Set<Member> copies(Placement p, int slot) {
    Set<Member> out = new HashSet<>(p.replicas(slot));
    out.add(p.owner(slot));
    return out;
  }

  @Test
  void departing_keepsOwners_andEverySlotHoldsEveryCopyThePlacementWithoutItNames() {
    for (int n : new int[] {3, 4, 5}) {
      for (int replicas : new int[] {1, 2}) {
        List<Member> all = members(n);
        Member leaver = all.get(1);
        List<Member> rest = new ArrayList<>(all);
        rest.remove(leaver);
        Placement before = Placement.of(1, all, HashRing.DEFAULT_VIRTUAL_NODES, replicas);
        Placement departing = Placement.of(2, all, List.of(), List.of(leaver), HashRing.DEFAULT_VIRTUAL_NODES, replicas);
        Placement after = Placement.of(3, rest, HashRing.DEFAULT_VIRTUAL_NODES, replicas);

        assertThat(departing.hasDeparting()).isTrue();
        assertThat(departing.fingerprint()).isNotEqualTo(before.fingerprint()).isNotEqualTo(after.fingerprint());
        assertThat(departing.replicasPerSlot()).isEqualTo(before.replicasPerSlot());
        int extended = 0;
        for (int s = 0; s < KeySlot.SLOTS; s++) {
          assertThat(departing.owner(s)).isEqualTo(before.owner(s));
          // The ring's replicas first, in their order: the first still takes over when the owner goes.
          assertThat(departing.replicas(s).subList(0, before.replicas(s).size())).isEqualTo(before.replicas(s));
          Set<Member> held = copies(departing, s);
          assertThat(held).as("n=%d r=%d slot %d", n, replicas, s).containsAll(copies(after, s));
          Set<Member> expected = copies(before, s);
          expected.addAll(copies(after, s));
          assertThat(held).isEqualTo(expected);
          if (held.size() > copies(before, s).size()) {
            extended++;
            assertThat(copies(before, s)).contains(leaver);
            for (Member extra : departing.replicas(s).subList(before.replicas(s).size(), departing.replicas(s).size())) {
              assertThat(departing.isExtra(extra, s)).isTrue();
              assertThat(departing.isReplica(extra, s)).isTrue();
              assertThat(after.owns(extra, s) || after.isReplica(extra, s)).isTrue();
            }
          }
        }
        // Every member already holds every slot when replicas + 1 >= n: nothing to add.
        assertThat(extended > 0).as("n=%d r=%d", n, replicas).isEqualTo(replicas + 1 < n);
      }
    }
  }

  @Test
  void noReplicas_orTooFewMembers_departingChangesNothing() {
    List<Member> three = members(3);
    List<Member> two = three.subList(0, 2);
    assertThat(Placement.of(2, three, List.of(), List.of(three.get(0)), HashRing.DEFAULT_VIRTUAL_NODES, 0).fingerprint())
        .isEqualTo(Placement.of(2, three, HashRing.DEFAULT_VIRTUAL_NODES, 0).fingerprint());
    Placement pair = Placement.of(2, two, List.of(), List.of(two.get(0)), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    for (int s = 0; s < KeySlot.SLOTS; s += 97) {
      assertThat(copies(pair, s)).containsExactlyInAnyOrderElementsOf(two);
    }
  }

  @Test
  void fingerprint_function_matchesThePlacements() {
    List<Member> four = members(4);
    Placement p = Placement.of(5, four, List.of(), List.of(four.get(2)), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    assertThat(Placement.fingerprint(four, List.of(), List.of(four.get(2)), HashRing.DEFAULT_VIRTUAL_NODES, 1))
        .isEqualTo(p.fingerprint());
    assertThat(p.withEpoch(9).replicas(7)).isEqualTo(p.replicas(7));
  }
}
