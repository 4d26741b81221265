package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * docs/PROTOCOL.md "Computing the placement" tells a third-party client how to build the nodes'
 * slot table from CLUSTER_MEMBERS. This test follows that recipe step by step, with nothing of
 * HashRing or Placement but xxHash64, and checks that it gives Placement's owner for every slot and
 * Placement's fingerprint; and it pins the worked example's numbers that the document quotes.
 */
class PlacementRecipeTest {
  private static final List<Member> EXAMPLE = List.of(
      new Member("00000000000a00000000000000000000000000a1", new Address("10.0.0.1", 7000)),
      new Member("00000000000b00000000000000000000000000b2", new Address("10.0.0.2", 7000)),
      new Member("00000000000c00000000000000000000000000c3", new Address("10.0.0.3", 7000)));

  /** The recipe: points, sorted as signed 64-bit with ties by id, then a lower-bound search per slot position. */
  private static String[] recipeOwners(List<Member> members, int virtualNodes) {
    record Point(long position, String id) {}
    List<Point> points = new ArrayList<>();
    for (Member m : members) {
      for (int i = 0; i < virtualNodes; i++) {
        points.add(new Point(XxHash64.hash(m.id().getBytes(StandardCharsets.UTF_8), i), m.id()));
      }
    }
    points.sort(Comparator.comparingLong(Point::position).thenComparing(Point::id));
    String[] owners = new String[KeySlot.SLOTS];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      long h = (long) s * (1L << 50); // the slots evenly spaced around the circle
      Point owner = points.get(0); // past the last point the circle wraps to the first
      for (Point p : points) {
        if (p.position() >= h) {
          owner = p;
          break;
        }
      }
      owners[s] = owner.id();
    }
    return owners;
  }

  private static long recipeFingerprint(List<Member> members, int virtualNodes) {
    Member[] sorted = members.toArray(new Member[0]);
    Arrays.sort(sorted, Comparator.comparing(Member::id));
    StringBuilder text = new StringBuilder();
    for (Member m : sorted) {
      text.append(m.id()).append('@').append(m.address().host()).append(':').append(m.address().port()).append('\n');
    }
    text.append(virtualNodes).append("\ns=linear");
    return XxHash64.hash(text.toString().getBytes(StandardCharsets.US_ASCII), 0);
  }

  @Test
  void recipe_givesPlacementsOwnerForEverySlotAndItsFingerprint() {
    for (int vnodes : new int[] {1, 16, 1024}) {
      Placement placement = Placement.of(5, EXAMPLE, vnodes);
      String[] owners = recipeOwners(EXAMPLE, vnodes);

      for (int s = 0; s < KeySlot.SLOTS; s++) {
        assertThat(placement.owner(s).id()).as("slot %d with %d virtual nodes", s, vnodes).isEqualTo(owners[s]);
      }
      assertThat(placement.fingerprint()).isEqualTo(recipeFingerprint(EXAMPLE, vnodes));
    }
  }

  @Test
  void workedExample_numbersQuotedInTheDocument() {
    Placement p = Placement.of(5, EXAMPLE, 1024);

    assertThat(p.fingerprint()).isEqualTo(0x67e5836516fdecf6L);
    assertThat(p.owner(0).id()).endsWith("c3");
    assertThat(p.owner(1).id()).endsWith("c3");
    assertThat(p.owner(12182).id()).endsWith("b2");
    assertThat(p.owner(16383).id()).endsWith("c3");
    assertThat(p.ranges()).as("consecutive slots share owners: runs, not one range per slot").hasSize(1875);
    assertThat(KeySlot.of("foo".getBytes(StandardCharsets.US_ASCII))).isEqualTo(12182);
    assertThat(KeySlot.of("{user1000}.following".getBytes(StandardCharsets.US_ASCII))).isEqualTo(3443);
    assertThat(XxHash64.hash(new byte[0])).isEqualTo(0xef46db3751d8e999L);
    assertThat(XxHash64.hash(EXAMPLE.get(0).id().getBytes(StandardCharsets.UTF_8), 1)).isEqualTo(0x1c434eeb0e3026a3L);
    assertThat(p.slotCount(EXAMPLE.get(0)) + p.slotCount(EXAMPLE.get(1)) + p.slotCount(EXAMPLE.get(2)))
        .isEqualTo(KeySlot.SLOTS);
    assertThat(p.slotCount(EXAMPLE.get(0))).isEqualTo(5427);
  }
}
