package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What an owner owes its replicas across placement changes, REPLICA_SYNCs and finished copies. */
class OwedCopiesTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final Member D = new Member("d".repeat(40), new Address("127.0.0.1", 7004));

  private static Placement placement(long epoch, List<Member> members, List<Member> learners) {
    return Placement.of(epoch, members, learners, HashRing.DEFAULT_VIRTUAL_NODES, 1);
  }

  /** The slots {@code owner} owns in {@code next} whose replica there is {@code replica} and was not before. */
  private static long[] newlyReplicated(Member owner, Member replica, Placement previous, Placement next) {
    long[] bits = new long[KeySlot.SLOTS / 64];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (next.owns(owner, s) && next.isReplica(replica, s) && !(previous.owns(owner, s) && previous.isReplica(replica, s))) {
        bits[s >>> 6] |= 1L << s;
      }
    }
    return bits;
  }

  private static int count(long[] bits) {
    int n = 0;
    for (long w : bits) {
      n += Long.bitCount(w);
    }
    return n;
  }

  @Test
  void placementChange_marksExactlyTheSlotsWhoseReplicaIsNewToThisOwner_andACopyThatEndedSettlesThem() {
    Placement three = placement(1, List.of(A, B, C), List.of());
    Placement two = placement(2, List.of(A, B), List.of()); // C gone: A takes some of its slots over
    OwedCopies owed = new OwedCopies();
    owed.placementChanged(A, Placement.empty(), three);
    assertThat(owed.count()).as("the first placement owes nothing").isZero();

    owed.placementChanged(A, three, two);

    long[] expected = newlyReplicated(A, B, three, two);
    assertThat(count(expected)).isPositive();
    assertThat(owed.owed()).containsOnlyKeys(B.id());
    assertThat(owed.owed().get(B.id())).isEqualTo(expected);
    long started = owed.start();
    owed.settled(B.id(), expected, started);
    assertThat(owed.count()).isZero();
  }

  @Test
  void failover_owesTheReplicasThatKeptTheirCopies_whichMayHaveBeenUnfinished() {
    Placement four = Placement.of(1, List.of(A, B, C, D), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 2);
    Placement three = Placement.of(2, List.of(A, B, C), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 2);
    OwedCopies owed = new OwedCopies();

    owed.placementChanged(A, four, three);

    int keptThroughFailover = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (four.owner(s).equals(D) && three.owns(A, s)) {
        for (Member r : three.replicas(s)) {
          if (four.isReplica(r, s)) {
            keptThroughFailover++;
            assertThat(owed.owed().get(r.id())[s >>> 6] & (1L << s)).as("slot %d to %s", s, r.address()).isNotZero();
          }
        }
      }
    }
    assertThat(keptThroughFailover).isPositive();
  }

  private static Placement twoReplicas(long epoch, List<Member> members) {
    return Placement.of(epoch, members, List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 2);
  }

  /** The slots {@code me} took over from {@code gone} at the change with {@code r} keeping its copy. */
  private static long[] keptThrough(Member me, Member gone, Member r, Placement previous, Placement next) {
    long[] bits = new long[KeySlot.SLOTS / 64];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (previous.owner(s).equals(gone) && previous.isReplica(r, s) && next.owns(me, s) && next.isReplica(r, s)) {
        bits[s >>> 6] |= 1L << s;
      }
    }
    return bits;
  }

  /**
   * The kept copies of a failover (or of a graceful leave: they look alike) are owed until the
   * replica says they are whole: nothing else ever cleared them, since a replica whose kept copy is
   * whole never asks for one (a tester: replication_copies_owed stayed above 0 for good after a
   * restart). What it says settles only those marks: not a slot it asked for since.
   */
  @Test
  void keptCopiesOfAFailover_goOnceTheReplicaSaysTheyAreWhole_butNotOneItAskedFor() {
    Placement four = twoReplicas(1, List.of(A, B, C, D));
    Placement three = twoReplicas(2, List.of(A, B, C)); // D died: A took some of its slots over
    OwedCopies owed = new OwedCopies();
    owed.placementChanged(A, Placement.empty(), four);
    owed.placementChanged(A, four, three);

    assertThat(owed.keptToConfirm(four.fingerprint())).as("not the placement processed last").isNull();
    OwedCopies.Kept kept = owed.keptToConfirm(three.fingerprint());
    assertThat(kept).isNotNull();
    int keptCount = 0;
    for (Member r : List.of(B, C)) {
      long[] expected = keptThrough(A, D, r, four, three);
      keptCount += count(expected);
      assertThat(kept.slots().getOrDefault(r.id(), new long[KeySlot.SLOTS / 64])).as("kept by %s", r.address())
          .isEqualTo(expected);
      long[] all = owed.owed().get(r.id());
      for (int w = 0; w < expected.length; w++) {
        assertThat(all[w] & expected[w]).as("a kept slot is owed").isEqualTo(expected[w]);
      }
    }
    assertThat(keptCount).isPositive();
    int before = owed.count();
    assertThat(before).as("and slots new to a replica, which drops them").isGreaterThan(keptCount);

    String asker = kept.slots().keySet().iterator().next();
    long[] keptByIt = kept.slots().get(asker);
    int asked = 0;
    while ((keptByIt[asked >>> 6] & (1L << asked)) == 0) {
      asked++;
    }
    long[] one = new long[KeySlot.SLOTS / 64];
    one[asked >>> 6] |= 1L << asked;
    owed.requested(asker, one); // its kept copy was unfinished: it asked the new owner, owed for real
    long[] everything = new long[KeySlot.SLOTS / 64];
    java.util.Arrays.fill(everything, -1L);
    kept.slots().keySet().forEach(id -> owed.confirmedWhole(id, everything, kept.asked()));

    assertThat(owed.count()).as("the slots new to a replica, and the one asked for").isEqualTo(before - keptCount + 1);
    assertThat(owed.owed().get(asker)[asked >>> 6] & (1L << asked)).isNotZero();
    assertThat(owed.keptToConfirm(three.fingerprint())).as("nothing kept is left to ask about").isNull();
    owed.settled(asker, one, owed.start());
    assertThat(owed.count()).isEqualTo(before - keptCount);
  }

  @Test
  void keptCopies_anAnswerAskedBeforeAChange_settlesNoMarkThatChangeMade_andKeptMarksGoWhenTheSlotMoves() {
    Member e = new Member("e".repeat(40), new Address("127.0.0.1", 7005));
    Placement five = twoReplicas(1, List.of(A, B, C, D, e));
    Placement four = twoReplicas(2, List.of(A, B, C, D)); // E died
    Placement three = twoReplicas(3, List.of(A, B, C)); // then D
    OwedCopies owed = new OwedCopies();
    owed.placementChanged(A, five, four);
    OwedCopies.Kept first = owed.keptToConfirm(four.fingerprint());
    assertThat(first).isNotNull();
    owed.placementChanged(A, four, three);
    OwedCopies.Kept second = owed.keptToConfirm(three.fingerprint());
    long[] everything = new long[KeySlot.SLOTS / 64];
    java.util.Arrays.fill(everything, -1L);
    // Answers to the question asked before the second change (under four) come in after it.
    first.slots().keySet().forEach(id -> owed.confirmedWhole(id, everything, first.asked()));

    int secondChange = 0;
    for (Member r : List.of(B, C)) {
      long[] expected = keptThrough(A, D, r, four, three);
      secondChange += count(expected);
      long[] m = owed.owed().getOrDefault(r.id(), new long[KeySlot.SLOTS / 64]);
      for (int w = 0; w < expected.length; w++) {
        assertThat(m[w] & expected[w]).as("kept at the second change, by %s", r.address()).isEqualTo(expected[w]);
      }
    }
    assertThat(secondChange).isPositive();
    OwedCopies.Kept left = owed.keptToConfirm(three.fingerprint());
    int keptLeft = left.slots().values().stream().mapToInt(OwedCopiesTest::count).sum();
    assertThat(keptLeft).as("what the first answers left kept").isEqualTo(secondChange);
    int owedBefore = owed.count();
    second.slots().keySet().forEach(id -> owed.confirmedWhole(id, everything, second.asked()));
    assertThat(owed.count()).as("only the kept marks went").isEqualTo(owedBefore - keptLeft);
    assertThat(owed.keptToConfirm(three.fingerprint())).isNull();

    // A kept mark goes with its slot: B and C leave, A replicates nothing.
    owed.placementChanged(A, three, twoReplicas(4, List.of(A, B)));
    assertThat(owed.keptToConfirm(twoReplicas(4, List.of(A, B)).fingerprint())).isNotNull();
    Placement alone = twoReplicas(5, List.of(A));
    owed.placementChanged(A, twoReplicas(4, List.of(A, B)), alone);
    assertThat(owed.count()).isZero();
    assertThat(owed.keptToConfirm(alone.fingerprint())).isNull();
  }

  @Test
  void replicaAskingAgainDuringACopy_staysOwedUntilTheNextCopyEnds() {
    OwedCopies owed = new OwedCopies();
    long[] slots = new long[KeySlot.SLOTS / 64];
    slots[0] = 0b111;
    owed.requested(B.id(), slots);
    long first = owed.start();
    owed.requested(B.id(), slots); // it dropped the copy on its way and asked again

    owed.settled(B.id(), slots, first);
    assertThat(owed.count()).as("the first copy may have been dropped there").isEqualTo(3);

    owed.settled(B.id(), slots, owed.start());
    assertThat(owed.count()).isZero();
  }

  @Test
  void learners_areNeverOwed_andMarksGoWhenTheSlotOrItsReplicaMoves() {
    Placement three = placement(1, List.of(A, B, C), List.of());
    Placement joining = placement(2, List.of(A, B, C), List.of(D));
    Placement two = placement(3, List.of(A, B), List.of());
    OwedCopies owed = new OwedCopies();

    owed.placementChanged(A, three, joining);
    assertThat(owed.owed()).as("a learner copies what it learns itself").doesNotContainKey(D.id());

    owed.placementChanged(A, joining, two);
    assertThat(owed.count()).isPositive();
    // B leaves too: A alone replicates nothing, so nothing is owed any more.
    owed.placementChanged(A, two, placement(4, List.of(A), List.of()));
    assertThat(owed.count()).isZero();
  }

  @Test
  void awaitNone_returnsWhatIsStillOwedAtTheDeadline() throws InterruptedException {
    OwedCopies owed = new OwedCopies();
    long[] slots = new long[KeySlot.SLOTS / 64];
    slots[1] = 1;
    owed.requested(C.id(), slots);

    assertThat(owed.awaitNone(System.nanoTime())).isEqualTo(1);
    owed.settled(C.id(), slots, owed.start());
    assertThat(owed.awaitNone(System.nanoTime() + 1_000_000_000L)).isZero();
  }
}
