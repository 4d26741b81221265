package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PlacementTest {

  @Test
  void of_memberOrder_doesNotChangeOwnersOrFingerprint() {
    List<Member> members = members(5, 1);
    List<Member> reversed = new ArrayList<>(members);
    java.util.Collections.reverse(reversed);

    Placement a = Placement.of(3, members);
    Placement b = Placement.of(3, reversed);

    assertThat(a.sameAs(b)).isTrue();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      assertThat(a.owner(s)).isEqualTo(b.owner(s));
    }
  }

  @Test
  void of_memberJoins_onlySlotsMovingToTheNewMemberMove() {
    List<Member> three = members(4, 2);
    Member joiner = three.remove(3);
    Placement before = Placement.of(1, three);
    List<Member> four = new ArrayList<>(three);
    four.add(joiner);
    Placement after = Placement.of(2, four);

    int moved = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (!before.owner(s).equals(after.owner(s))) {
        assertThat(after.owner(s)).isEqualTo(joiner);
        moved++;
      }
    }
    assertThat(moved).isEqualTo(after.slotCount(joiner)).isBetween(KeySlot.SLOTS / 4 * 8 / 10, KeySlot.SLOTS / 4 * 12 / 10);
    assertThat(after.isNewerThan(before)).isTrue();
    assertThat(before.isNewerThan(after)).isFalse();
  }

  @Test
  void ranges_coverEverySlotOnceInOrder() {
    Placement p = Placement.of(1, members(3, 3));
    int next = 0;
    for (Placement.SlotRange r : p.ranges()) {
      assertThat(r.first()).isEqualTo(next);
      for (int s = r.first(); s <= r.last(); s++) {
        assertThat(p.owner(s)).isEqualTo(r.owner());
      }
      next = r.last() + 1;
    }
    assertThat(next).isEqualTo(KeySlot.SLOTS);
  }

  @Test
  void empty_ownsNothing() {
    assertThat(Placement.empty().ownerOf(new byte[] {1})).isNull();
    assertThat(Placement.empty().ranges()).isEmpty();
    assertThat(Placement.of(4, List.of()).isEmpty()).isTrue();
  }

  @Test
  void withEpoch_keepsOwnersAndFingerprint() {
    Placement p = Placement.of(1, members(3, 4));
    Placement q = p.withEpoch(9);
    assertThat(q.epoch()).isEqualTo(9);
    assertThat(q.fingerprint()).isEqualTo(p.fingerprint());
    assertThat(q.owner(100)).isEqualTo(p.owner(100));
    assertThat(q.sameAs(p)).isFalse();
  }

  static List<Member> members(int n, long seed) {
    Random r = new Random(seed);
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Member(Member.newId(1_700_000_000_000L + i, r), new Address("127.0.0.1", 7000 + i)));
    }
    return out;
  }
}
