package io.distcache.server.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlotGuardTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final long LEASE = 1_500_000_000L;

  private final ManualClock clock = new ManualClock();
  private final SlotGuard guard = new SlotGuard(clock, LEASE);
  /** Drops handed to the cleaner, finished by the test. */
  private final List<Runnable> pendingDrops = new ArrayList<>();
  private final SlotGuard.Dropper cleaner = (slots, done) -> pendingDrops.add(done);

  private void finishDrops() {
    List<Runnable> done = new ArrayList<>(pendingDrops);
    pendingDrops.clear();
    done.forEach(Runnable::run);
  }

  private static int slotOwnedBy(Placement p, Member m, Placement butNotIn) {
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p.owns(m, s) && (butNotIn == null || !butNotIn.owns(m, s))) {
        return s;
      }
    }
    throw new AssertionError("no such slot");
  }

  @Test
  void gainedSlot_servedOnlyOnceEveryOtherOwnerReportsThePlacementAndTheDropIsDone() {
    Placement two = Placement.of(1, List.of(A, B));
    guard.placementChanged(A, Placement.empty(), two, cleaner);
    guard.renew(B.id(), clock.nanos());
    int mine = slotOwnedBy(two, A, null);

    assertThat(guard.mayServe(two, mine)).as("B has not confirmed").isFalse();
    guard.report(B.id(), 1, two.fingerprint());
    // The first placement drops nothing (the store holds only what this node served alone).
    assertThat(guard.mayServe(two, mine)).isTrue();
    finishDrops();
    assertThat(guard.settled()).isTrue();

    // C leaves the picture, A gains: the gained slot waits for B again, kept slots stay served.
    Placement three = Placement.of(2, List.of(A, B, C));
    guard.placementChanged(A, two, three, cleaner);
    guard.report(C.id(), 2, three.fingerprint());
    guard.report(B.id(), 2, three.fingerprint());
    finishDrops();
    Placement backToTwo = Placement.of(3, List.of(A, B));
    guard.placementChanged(A, three, backToTwo, cleaner);
    int regained = slotOwnedBy(backToTwo, A, three);
    int kept = slotOwnedBy(three, A, null);
    assertThat(guard.mayServe(backToTwo, kept)).isTrue();
    assertThat(guard.mayServe(backToTwo, regained)).isFalse();
    guard.report(B.id(), 2, three.fingerprint()); // an old report confirms nothing
    finishDrops();
    assertThat(guard.mayServe(backToTwo, regained)).isFalse();
    guard.report(B.id(), 3, backToTwo.fingerprint());
    // C did not leave: it died (or is cut off). Its slots wait one lease more, until whatever lease
    // it may still hold has run out.
    assertThat(guard.mayServe(backToTwo, regained)).isFalse();
    assertThat(guard.mayServe(backToTwo, kept)).isTrue();
    clock.advanceMillis(1_501);
    guard.renew(B.id(), clock.nanos());
    assertThat(guard.mayServe(backToTwo, regained)).isTrue();
  }

  /** A and B own every slot; C learns its share. */
  private static final Placement LEARNING =
      Placement.of(2, List.of(A, B), List.of(C), HashRing.DEFAULT_VIRTUAL_NODES, 1);

  /** A's guard through A and B, C learning, then C joined (epochs 1 to 3); the last placement. */
  private Placement cJoinsAandB() {
    Placement two = Placement.of(1, List.of(A, B), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement joined = Placement.of(3, List.of(A, B, C), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    guard.placementChanged(A, Placement.empty(), two, cleaner);
    guard.placementChanged(A, two, LEARNING, cleaner);
    guard.placementChanged(A, LEARNING, joined, cleaner);
    return joined;
  }

  /** A slot of A's that C learned, A staying its replica. */
  private static int slotGivenToC(Placement joined) {
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (LEARNING.owns(A, s) && joined.owns(C, s) && joined.isReplica(A, s)) {
        return s;
      }
    }
    throw new AssertionError("no slot of A's went to C with A as its replica");
  }

  @Test
  void handedOver_theSlotsThisNodeGaveToTheMemberThatLearnedThem_onlyUntilTheNextPlacement() {
    Placement joined = cJoinsAandB();
    int given = slotGivenToC(joined);
    int kept = slotOwnedBy(joined, A, null);
    assertThat(guard.handedOver(given)).as("until every member confirmed the placement").isTrue();
    assertThat(guard.handedOver(kept)).as("a slot A still owns").isFalse();

    confirmAll(joined, B, C);
    finishDrops();
    assertThat(guard.settled()).isTrue();
    assertThat(guard.handedOver(given)).as("confirmed everywhere: a peer sending it here is ahead of us").isFalse();
    assertThat(guard.gaveAway(given)).as("but the placement still gave it away (a request sent before it)").isTrue();
    assertThat(guard.gaveAway(kept)).isFalse();
  }

  /**
   * A peer installed the same table first, at a higher epoch, and this node adopts that epoch
   * (PlacementHolder.observe): the table handed the same slots over, and a peer that has not heard
   * of the join yet still forwards them here.
   */
  @Test
  void handedOver_staysThroughTheSameTableAtAHigherEpoch_untilEveryMemberConfirmsIt() {
    Placement joined = cJoinsAandB();
    int given = slotGivenToC(joined);

    Placement bumped = joined.withEpoch(5);
    guard.placementChanged(A, joined, bumped, cleaner);

    assertThat(guard.handedOver(given)).as("the same table at epoch 5, not confirmed everywhere yet").isTrue();
    assertThat(guard.gaveAway(given)).isTrue();
    confirmAll(bumped, B, C);
    assertThat(guard.handedOver(given)).as("confirmed everywhere").isFalse();
    assertThat(guard.gaveAway(given)).isTrue();
  }

  /**
   * Once every member confirmed the table, nothing short of a new table makes a forward for a slot
   * given away look like one from a peer that has not heard: not the same table adopted at a higher
   * epoch (a flap elsewhere) with only some members' reports in, nor this node's own death notice,
   * both of which make the guard wait for reports again. Such a peer is ahead (the new owner died,
   * this node is its first replica); passing its request on would send it to the dead owner.
   */
  @Test
  void handedOver_onceTheTableIsConfirmedEverywhere_staysOffThroughEpochsAndDeath_untilTheTableChanges() {
    Placement joined = cJoinsAandB();
    int given = slotGivenToC(joined);
    confirmAll(joined, B, C);
    assertThat(guard.handedOver(given)).isFalse();

    Placement bumped = joined.withEpoch(7);
    guard.placementChanged(A, joined, bumped, cleaner);
    guard.report(B.id(), bumped.epoch(), bumped.fingerprint());
    assertThat(guard.settled()).as("C has not reported epoch 7").isFalse();
    assertThat(guard.handedOver(given)).as("the same table, confirmed everywhere at epoch 3").isFalse();
    assertThat(guard.gaveAway(given)).isTrue();

    guard.declaredDead();
    assertThat(guard.settled()).isFalse();
    assertThat(guard.handedOver(given)).as("declared dead, the table unchanged").isFalse();

    Placement again = Placement.of(8, List.of(A, B), List.of(C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement rejoined = Placement.of(9, List.of(A, B, C), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    guard.placementChanged(A, bumped, again, cleaner);
    guard.placementChanged(A, again, rejoined, cleaner);
    assertThat(guard.handedOver(given)).as("a new table: not confirmed by anyone yet").isTrue();
  }

  @Test
  void majority_aNodeCutOffFromTheOthersServesNothing_andMayNotDeclareThemDead() {
    Placement three = Placement.of(1, List.of(A, B, C));
    guard.placementChanged(A, Placement.empty(), three, cleaner);
    guard.report(B.id(), 1, three.fingerprint());
    guard.report(C.id(), 1, three.fingerprint());
    finishDrops();
    guard.renew(B.id(), clock.nanos());
    int mine = slotOwnedBy(three, A, null);
    assertThat(guard.mayServe(three, mine)).isTrue();

    assertThat(guard.majorityAlive(java.util.Set.of(A.id(), B.id()))).isTrue();
    assertThat(guard.majorityAlive(java.util.Set.of(A.id()))).as("alone of three").isFalse();
    Placement alone = Placement.of(2, List.of(A)); // were it to get there anyway
    guard.placementChanged(A, three, alone, cleaner);
    assertThat(guard.mayServe(alone, mine)).isFalse();
    assertThat(guard.leaseHeld(alone)).isFalse();

    // Members that leave gracefully do not count against the majority.
    guard.left(B.id());
    guard.left(C.id());
    assertThat(guard.mayServe(alone, mine)).isTrue();
  }

  @Test
  void leaseLapsedMoments_onlyForOneLeaseAfterItRanOut_andWithAMajority() {
    Placement two = Placement.of(1, List.of(A, B));
    guard.placementChanged(A, Placement.empty(), two, cleaner);
    guard.report(B.id(), 1, two.fingerprint());
    long sent = clock.nanos();
    guard.renew(B.id(), sent);
    assertThat(guard.leaseLapsedMoments(two)).as("held").isFalse();

    clock.advanceMillis(1_501); // the lease ran out 1 ms ago
    assertThat(guard.leaseHeld(two)).isFalse();
    assertThat(guard.leaseLapsedMoments(two)).isTrue();
    clock.advanceMillis(1_499); // one lease after it ran out
    assertThat(guard.leaseLapsedMoments(two)).isFalse();
  }

  @Test
  void leaseLapsedMoments_countsFromWhenTheLeaseRanOut_notFromEachRenewalOfAMinority() {
    Member d = new Member("d".repeat(40), new Address("127.0.0.1", 7004));
    Placement four = Placement.of(1, List.of(A, B, C, d));
    guard.placementChanged(A, Placement.empty(), four, cleaner);
    guard.report(B.id(), 1, four.fingerprint());
    guard.report(C.id(), 1, four.fingerprint());
    guard.report(d.id(), 1, four.fingerprint());
    finishDrops();
    guard.renew(B.id(), clock.nanos()); // C and d never answer: B alone is a minority of four
    assertThat(guard.leaseHeld(four)).isFalse();
    assertThat(guard.leaseLapsedMoments(four)).isTrue();

    for (int i = 0; i < 3; i++) {
      clock.advanceMillis(600);
      guard.renew(B.id(), clock.nanos());
    }
    assertThat(guard.leaseLapsedMoments(four)).as("1.8 s since it ran out, B's answers notwithstanding").isFalse();
  }

  @Test
  void lease_runsFromTheSendTimeOfTheLastHeldAliveReply() {
    Placement two = Placement.of(1, List.of(A, B));
    guard.placementChanged(A, Placement.empty(), two, cleaner);
    guard.report(B.id(), 1, two.fingerprint());
    finishDrops();
    int mine = slotOwnedBy(two, A, null);

    assertThat(guard.mayServe(two, mine)).as("never heard from a peer").isFalse();
    long sent = clock.nanos();
    clock.advanceMillis(200);
    guard.renew(B.id(), sent);
    assertThat(guard.mayServe(two, mine)).isTrue();
    clock.advanceMillis(1_301); // 1,501 ms after the send
    assertThat(guard.mayServe(two, mine)).isFalse();
    assertThat(guard.leaseHeld(two)).isFalse();
    guard.renew(B.id(), sent); // a late reply to an old request renews nothing
    assertThat(guard.mayServe(two, mine)).isFalse();
  }

  @Test
  void declaredDead_nothingServedUntilConfirmedAgain() {
    Placement two = Placement.of(1, List.of(A, B));
    guard.placementChanged(A, Placement.empty(), two, cleaner);
    guard.report(B.id(), 1, two.fingerprint());
    finishDrops();
    guard.renew(B.id(), clock.nanos());
    int mine = slotOwnedBy(two, A, null);
    assertThat(guard.mayServe(two, mine)).isTrue();

    guard.declaredDead();

    assertThat(guard.mayServe(two, mine)).isFalse();
    Placement again = Placement.of(3, List.of(A, B));
    guard.placementChanged(A, two, again, cleaner);
    guard.report(B.id(), 3, again.fingerprint());
    assertThat(guard.mayServe(again, mine)).isTrue();
  }

  @Test
  void joiner_servesNothingAloneUntilItHasJoined_thenAloneIsFine() {
    guard.awaitJoin();
    Placement alone = Placement.of(1, List.of(A));
    guard.placementChanged(A, Placement.empty(), alone, cleaner);
    assertThat(guard.mayServe(alone, 0)).isFalse();
    assertThat(guard.leaseHeld(alone)).isFalse();

    Placement two = Placement.of(2, List.of(A, B));
    guard.placementChanged(A, alone, two, cleaner);
    Placement aloneAgain = Placement.of(3, List.of(A));
    guard.placementChanged(A, two, aloneAgain, cleaner);

    assertThat(guard.mayServe(aloneAgain, 0)).as("every other member gone").isTrue();
  }

  @Test
  void aloneThenJoiningOlderMembers_dropsWhatItTookAlone_theOldestKeepsItsData() {
    List<long[]> dropped = new ArrayList<>();
    SlotGuard.Dropper recorder = (slots, done) -> {
      dropped.add(slots.clone());
      done.run();
    };
    Placement aloneB = Placement.of(1, List.of(B));
    Placement ab = Placement.of(2, List.of(A, B));
    int keptByB = slotOwnedBy(ab, B, null);

    SlotGuard b = new SlotGuard(clock, LEASE);
    b.placementChanged(B, Placement.empty(), aloneB, recorder);
    dropped.clear();
    b.placementChanged(B, aloneB, ab, recorder);
    assertThat(dropped).hasSize(1);
    assertThat(SlotGuard.has(dropped.get(0), keptByB)).as("B is newer than A: its slots start empty").isTrue();

    SlotGuard a = new SlotGuard(clock, LEASE);
    Placement aloneA = Placement.of(1, List.of(A));
    a.placementChanged(A, Placement.empty(), aloneA, recorder);
    dropped.clear();
    a.placementChanged(A, aloneA, ab, recorder);
    int keptByA = slotOwnedBy(ab, A, null);
    assertThat(dropped).hasSize(1);
    assertThat(SlotGuard.has(dropped.get(0), keptByA)).as("A, the oldest, keeps its data").isFalse();
  }

  @Test
  void aloneThenJoinedByALearnerWithASmallerId_keepsWhatItTookAlone() {
    // B served alone (no seeds); A, which started its JVM earlier (a smaller id) but joins with
    // seeds, learns from B: B is the only owner, so B keeps its data for A to learn.
    List<long[]> dropped = new ArrayList<>();
    SlotGuard.Dropper recorder = (slots, done) -> {
      dropped.add(slots.clone());
      done.run();
    };
    Placement aloneB = Placement.of(1, List.of(B));
    Placement learning = Placement.of(2, List.of(B), List.of(A), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    SlotGuard b = new SlotGuard(clock, LEASE);
    b.placementChanged(B, Placement.empty(), aloneB, recorder);
    dropped.clear();
    b.placementChanged(B, aloneB, learning, recorder);
    for (long[] d : dropped) {
      assertThat(d).as("nothing B took alone is dropped").containsOnly(0L);
    }
  }

  @Test
  void ownerBackOnlyAsALearner_inAPlacementThatSkippedItsDeath_itsReplicaKeepsTheCopy_asInAFailover() {
    // B saw C stall and come back, but never installed the placement without C that A made when it
    // declared C dead: it goes from {A, B, C} straight to {A, B} with C learning (C emptied its
    // store when it learned of its death). B's copies of C's slots are the only ones left.
    List<long[]> dropped = new ArrayList<>();
    SlotGuard.Dropper recorder = (slots, done) -> {
      dropped.add(slots.clone());
      done.run();
    };
    Placement all = Placement.of(15, List.of(A, B, C), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement withoutC = Placement.of(16, List.of(A, B), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement cLearning = Placement.of(17, List.of(A, B), List.of(C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    SlotGuard b = new SlotGuard(clock, LEASE);
    b.placementChanged(B, Placement.empty(), all, recorder);
    int promoted = -1;
    for (int s = 0; s < KeySlot.SLOTS && promoted < 0; s++) {
      if (all.owner(s).equals(C) && all.isReplica(B, s) && cLearning.owns(B, s)) {
        promoted = s;
      }
    }
    assertThat(promoted).as("a slot of C's that B replicated and owns once C is gone").isNotNegative();

    dropped.clear();
    b.placementChanged(B, all, cLearning, recorder);
    for (long[] d : dropped) {
      assertThat(SlotGuard.has(d, promoted)).as("B's copy of slot %d, the only one left, dropped", promoted).isFalse();
    }

    // The same as when B hears of the death (the failover it always kept).
    SlotGuard viaDeath = new SlotGuard(clock, LEASE);
    viaDeath.placementChanged(B, Placement.empty(), all, recorder);
    dropped.clear();
    viaDeath.placementChanged(B, all, withoutC, recorder);
    for (long[] d : dropped) {
      assertThat(SlotGuard.has(d, promoted)).isFalse();
    }
  }

  @Test
  void declaredDeadThenLearning_thisNodesOwnStepIsNoFailover_itDropsWhatItOwnedAndLearnsItAgain() {
    List<long[]> dropped = new ArrayList<>();
    SlotGuard.Dropper recorder = (slots, done) -> {
      dropped.add(slots.clone());
      done.run();
    };
    Placement all = Placement.of(15, List.of(A, B, C), List.of(), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement cLearning = Placement.of(17, List.of(A, B), List.of(C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    int relearned = -1;
    for (int s = 0; s < KeySlot.SLOTS && relearned < 0; s++) {
      if (all.owns(C, s) && cLearning.isReplica(C, s)) {
        relearned = s;
      }
    }
    assertThat(relearned).as("a slot C owned and learns again").isNotNegative();
    SlotGuard c = new SlotGuard(clock, LEASE);
    c.placementChanged(C, Placement.empty(), all, recorder);
    dropped.clear();
    c.placementChanged(C, all, cLearning, recorder);
    int slot = relearned;
    assertThat(dropped).as("C's own copy of a slot it learns again is dropped, so that it is asked for")
        .anyMatch(d -> SlotGuard.has(d, slot));
  }

  private static final Member D = new Member("d".repeat(40), new Address("127.0.0.1", 7004));

  /**
   * C owned a slot while D learned it, then C was declared dead (it emptied its store) and comes
   * back learning the same slot under D, D having joined meanwhile. That is no hand-over to D that
   * leaves C's copy in place: C holds nothing, so the slot is dropped and asked for. Before, C took
   * it for a hand-over, dropped nothing, and its requester, which had given the slot up while C
   * still owned it, never asked for it again: a tester's rejoin sat at "6807 of 8082 slots copied
   * whole" until the next membership change.
   */
  @Test
  void ownerDeclaredDeadWhileALearnerTakesItsSlot_learnsItAgain_itIsNoHandOver() {
    List<long[]> dropped = new ArrayList<>();
    SlotGuard.Dropper recorder = (slots, done) -> {
      dropped.add(slots.clone());
      done.run();
    };
    Placement dLearning = Placement.of(27, List.of(A, B, C), List.of(D), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    Placement cLearning = Placement.of(29, List.of(A, B, D), List.of(C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    int relearned = -1;
    for (int s = 0; s < KeySlot.SLOTS && relearned < 0; s++) {
      if (dLearning.owns(C, s) && dLearning.wouldOwn(D, s) && cLearning.owns(D, s) && cLearning.isLearner(C, s)) {
        relearned = s;
      }
    }
    assertThat(relearned).as("a slot C owned, D learned, and C learns again under D").isNotNegative();
    SlotGuard c = new SlotGuard(clock, LEASE);
    c.placementChanged(C, Placement.empty(), dLearning, recorder);
    dropped.clear();
    c.placementChanged(C, dLearning, cLearning, recorder);
    int slot = relearned;
    assertThat(dropped).as("C's copy of slot %d is dropped, so that it is asked for", slot)
        .anyMatch(d -> SlotGuard.has(d, slot));
    assertThat(c.handedOver(slot)).as("C gave nothing to D: it was declared dead").isFalse();
  }

  /** A slot A owns under both placements whose replica under {@code before} is still a member of {@code after} but no longer its replica. */
  private static int keptSlotLosingItsReplica(Placement before, Placement after) {
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (before.owns(A, s) && after.owns(A, s)) {
        Member was = before.replicas(s).get(0);
        if (after.contains(was) && !after.isReplica(was, s)) {
          return s;
        }
      }
    }
    throw new AssertionError("no such slot");
  }

  private void confirmAll(Placement p, Member... others) {
    for (Member m : others) {
      guard.report(m.id(), p.epoch(), p.fingerprint());
      guard.renew(m.id(), clock.nanos());
    }
    finishDrops();
  }

  @Test
  void replicaReads_aKeptSlotWhoseLiveReplicaIsReplaced_waitsUntilEveryMemberConfirms() {
    guard.replicaReads(true);
    Placement three = Placement.of(1, List.of(A, B, C), List.of(), 64, 1);
    Placement four = Placement.of(2, List.of(A, B, C, D), List.of(), 64, 1);
    guard.placementChanged(A, Placement.empty(), three, cleaner);
    confirmAll(three, B, C);
    int slot = keptSlotLosingItsReplica(three, four);
    int unchanged = -1;
    for (int s = 0; s < KeySlot.SLOTS && unchanged < 0; s++) {
      if (three.owns(A, s) && four.owns(A, s) && four.replicas(s).equals(three.replicas(s))) {
        unchanged = s;
      }
    }
    assertThat(guard.mayServe(three, slot)).isTrue();

    guard.placementChanged(A, three, four, cleaner);
    // Its old replica may still answer READONLY reads from its copy: no write may be acknowledged
    // without it until it has installed the new placement.
    assertThat(guard.mayServe(four, slot)).isFalse();
    assertThat(guard.mayServe(four, unchanged)).as("a slot whose replicas stay").isTrue();
    guard.report(D.id(), 2, four.fingerprint());
    guard.report(C.id(), 2, four.fingerprint());
    assertThat(guard.mayServe(four, slot)).isFalse();
    guard.report(B.id(), 2, four.fingerprint());
    finishDrops();
    assertThat(guard.mayServe(four, slot)).isTrue();
  }

  @Test
  void replicaReads_off_aKeptSlotStaysServed() {
    Placement three = Placement.of(1, List.of(A, B, C), List.of(), 64, 1);
    Placement four = Placement.of(2, List.of(A, B, C, D), List.of(), 64, 1);
    guard.placementChanged(A, Placement.empty(), three, cleaner);
    confirmAll(three, B, C);
    int slot = keptSlotLosingItsReplica(three, four);

    guard.placementChanged(A, three, four, cleaner);

    assertThat(guard.mayServe(four, slot)).isTrue();
    assertThat(guard.mayServeReplica(four)).as("never, with replica reads off").isFalse();
  }

  @Test
  void mayServeReplica_onlyWithinTheLease_andNeverWhileLearning() {
    guard.replicaReads(true);
    Placement three = Placement.of(1, List.of(A, B, C), List.of(), 64, 1);
    guard.placementChanged(A, Placement.empty(), three, cleaner);
    confirmAll(three, B, C);
    assertThat(guard.mayServeReplica(three)).isTrue();

    clock.advanceMillis(1_501); // no reply from a majority since: the others may declare A dead soon
    assertThat(guard.mayServeReplica(three)).isFalse();
    guard.renew(B.id(), clock.nanos());
    assertThat(guard.mayServeReplica(three)).isTrue();
    guard.learning(true);
    assertThat(guard.mayServeReplica(three)).isFalse();
  }

  @Test
  void mayServeReplica_notForAPlacementThisGuardHasNotProcessed() {
    guard.replicaReads(true);
    Placement three = Placement.of(1, List.of(A, B, C), List.of(), 64, 1);
    guard.placementChanged(A, Placement.empty(), three, cleaner);
    confirmAll(three, B, C);
    assertThat(guard.mayServeReplica(three)).isTrue();
    // The router sees the next placement before the guard has marked the copies it gains or loses.
    Placement withD = Placement.of(2, List.of(A, B, C, D), List.of(), 64, 1);
    assertThat(guard.mayServeReplica(withD)).as("copies of a placement not processed yet").isFalse();
    guard.placementChanged(A, three, withD, cleaner);
    confirmAll(withD, B, C, D);
    assertThat(guard.mayServeReplica(withD)).isTrue();
  }
}
