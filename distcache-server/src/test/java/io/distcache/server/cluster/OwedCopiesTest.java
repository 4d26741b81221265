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
