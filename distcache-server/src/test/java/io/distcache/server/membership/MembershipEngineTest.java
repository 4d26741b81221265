package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One engine, messages fed by hand, everything it sends recorded: the rules one at a time. */
class MembershipEngineTest {
  private record Sent(Address to, GossipMessage message) {}

  private static final Member A = new Member("0002-a", new Address("a", 7000));
  private static final Member B = new Member("0002-b", new Address("b", 7000));
  private static final Member C = new Member("0002-c", new Address("c", 7000));

  private final ManualClock clock = new ManualClock();
  private final List<Sent> sent = new ArrayList<>();
  private final MembershipConfig config = MembershipConfig.defaults();
  private MembershipEngine a;

  @BeforeEach
  void setUp() {
    a = new MembershipEngine(A, config, (to, m) -> sent.add(new Sent(to, m)), clock, new Random(1));
  }

  @Test
  void onMessage_pingForThisMember_answersAckWithTheSameSeq() {
    Optional<GossipMessage> reply = a.onMessage(new GossipMessage.Ping(B, 42, A.id(), List.of(alive(B, 0))));

    assertThat(reply).get().isInstanceOf(GossipMessage.Ack.class);
    assertThat(((GossipMessage.Ack) reply.get()).seq()).isEqualTo(42);
    assertThat(a.snapshot().state(B.id())).contains(MemberState.ALIVE);
  }

  @Test
  void onMessage_pingForAnEarlierRunAtThisAddress_staysSilent() {
    Optional<GossipMessage> reply = a.onMessage(new GossipMessage.Ping(B, 42, "0001-a", List.of()));

    assertThat(reply).isEmpty();
  }

  @Test
  void onMessage_suspicionAboutUs_refutedWithHigherIncarnation() {
    a.onMessage(gossip(alive(B, 0), new MemberStatus(A, MemberState.SUSPECT, 0)));

    MemberStatus me = a.snapshot().status(A.id()).orElseThrow();
    assertThat(me.state()).isEqualTo(MemberState.ALIVE);
    assertThat(me.incarnation()).isEqualTo(1);
    GossipMessage ack = a.onMessage(new GossipMessage.Ping(B, 1, A.id(), List.of())).orElseThrow();
    assertThat(ack.updates()).contains(new MemberStatus(A, MemberState.ALIVE, 1));
  }

  @Test
  void onMessage_deathAboutUs_dropsDataThenRefutesARevivalStepAbove() {
    int[] drops = {0};
    a.onDeclaredDead(() -> drops[0]++);
    a.onMessage(gossip(new MemberStatus(A, MemberState.DEAD, 6)));

    assertThat(drops[0]).isEqualTo(1);
    assertThat(a.snapshot().status(A.id()).orElseThrow().incarnation()).isEqualTo(6 + MemberTable.REVIVAL_STEP);
    // Older news about us changes nothing, and the same death is not handled twice.
    a.onMessage(gossip(new MemberStatus(A, MemberState.SUSPECT, 3)));
    a.onMessage(gossip(new MemberStatus(A, MemberState.DEAD, 6)));
    assertThat(a.snapshot().status(A.id()).orElseThrow().incarnation()).isEqualTo(6 + MemberTable.REVIVAL_STEP);
    assertThat(drops[0]).isEqualTo(1);
  }

  @Test
  void onMessage_deathAfterWeRefutedAnOlderSuspicion_isStillHandled() {
    int[] drops = {0};
    a.onDeclaredDead(() -> drops[0]++);
    // A stalled node wakes up and first reads an old suspicion of itself, then the death.
    a.onMessage(gossip(new MemberStatus(A, MemberState.SUSPECT, 0)));
    assertThat(drops[0]).isZero();
    a.onMessage(gossip(new MemberStatus(A, MemberState.DEAD, 0)));

    assertThat(drops[0]).isEqualTo(1);
    assertThat(a.snapshot().status(A.id()).orElseThrow().incarnation()).isEqualTo(MemberTable.REVIVAL_STEP);
  }

  @Test
  void onMessage_pingFromAMemberHeldDead_ackCarriesItsDeath() {
    a.onMessage(gossip(alive(B, 0)));
    a.onMessage(gossip(new MemberStatus(B, MemberState.DEAD, 0)));

    GossipMessage ack = a.onMessage(new GossipMessage.Ping(B, 9, A.id(), List.of())).orElseThrow();

    assertThat(ack).isInstanceOf(GossipMessage.Ack.class);
    assertThat(ack.updates()).contains(new MemberStatus(B, MemberState.DEAD, 0));
    // Any other message from it is answered with the verdict too, but not one that is news of us.
    assertThat(a.onMessage(new GossipMessage.Gossip(B, List.of()))).get().extracting(GossipMessage::updates)
        .asList().contains(new MemberStatus(B, MemberState.DEAD, 0));
    assertThat(a.onMessage(new GossipMessage.Gossip(B, List.of(new MemberStatus(A, MemberState.ALIVE, 0))))).isEmpty();
  }

  @Test
  void onMessage_incarnationRules_newerNewsWinsOlderIsIgnored() {
    a.onMessage(gossip(alive(B, 0)));
    a.onMessage(gossip(new MemberStatus(B, MemberState.SUSPECT, 0)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.SUSPECT); // suspect beats alive at equal

    a.onMessage(gossip(alive(B, 0)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.SUSPECT); // alive needs a higher one

    a.onMessage(gossip(alive(B, 1)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.ALIVE); // the refutation

    a.onMessage(gossip(new MemberStatus(B, MemberState.DEAD, 1)));
    a.onMessage(gossip(alive(B, 1)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.DEAD); // stale gossip cannot revive

    a.onMessage(gossip(alive(B, 2)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.DEAD); // refuting a suspicion cannot

    a.onMessage(gossip(alive(B, 1 + MemberTable.REVIVAL_STEP)));
    assertThat(a.snapshot().state(B.id())).contains(MemberState.ALIVE); // refuting the death can
  }

  @Test
  void onMessage_left_isFinal() {
    a.onMessage(gossip(alive(B, 0)));
    a.onMessage(gossip(new MemberStatus(B, MemberState.LEFT, 0)));
    a.onMessage(gossip(alive(B, 99)));

    assertThat(a.snapshot().state(B.id())).contains(MemberState.LEFT);
    assertThat(a.snapshot().ringMembers()).containsExactly(A);
  }

  @Test
  void onMessage_newerProcessAtAKnownAddress_replacesTheOlderOne() {
    Member oldB = new Member("0001-b", B.address());
    a.onMessage(gossip(alive(oldB, 4)));

    a.onMessage(gossip(alive(B, 0)));

    assertThat(a.snapshot().state(oldB.id())).contains(MemberState.DEAD);
    assertThat(a.snapshot().ringMembers()).containsExactly(A, B);
    // The old run's gossip, arriving late, is buried rather than admitted.
    a.onMessage(gossip(alive(oldB, 5)));
    assertThat(a.snapshot().state(oldB.id())).contains(MemberState.DEAD);
    assertThat(a.snapshot().ringMembers()).containsExactly(A, B);
  }

  @Test
  void onMessage_earlierRunOfThisNode_isDeclaredDead() {
    Member earlierA = new Member("0001-a", A.address());

    a.onMessage(gossip(alive(B, 0), alive(earlierA, 3)));

    assertThat(a.snapshot().state(earlierA.id())).contains(MemberState.DEAD);
    assertThat(a.snapshot().ringMembers()).containsExactly(A, B);
  }

  @Test
  void onMessage_knownIdAtAnotherAddress_isIgnored() {
    a.onMessage(gossip(alive(B, 0)));

    a.onMessage(gossip(alive(new Member(B.id(), new Address("elsewhere", 1)), 5)));

    assertThat(a.snapshot().status(B.id()).orElseThrow()).isEqualTo(alive(B, 0));
  }

  @Test
  void onMessage_syncRequest_answeredWithOurFullList() {
    a.onMessage(gossip(alive(C, 2)));

    GossipMessage reply = a.onMessage(new GossipMessage.Sync(B, false, List.of(alive(B, 0)))).orElseThrow();

    assertThat(reply).isInstanceOf(GossipMessage.Sync.class);
    assertThat(((GossipMessage.Sync) reply).reply()).isTrue();
    assertThat(reply.updates()).containsExactlyInAnyOrder(alive(A, 0), alive(B, 0), alive(C, 2));
    assertThat(a.onMessage(new GossipMessage.Sync(B, true, List.of()))).isEmpty();
  }

  @Test
  void onMessage_pingReq_pingsTargetAndRelaysItsAck() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.onMessage(new GossipMessage.PingReq(B, 9, C, List.of()));

    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).to()).isEqualTo(C.address());
    GossipMessage.Ping ping = (GossipMessage.Ping) sent.get(0).message();
    assertThat(ping.targetId()).isEqualTo(C.id());
    sent.clear();

    a.onMessage(new GossipMessage.Ack(C, ping.seq(), List.of()));

    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).to()).isEqualTo(B.address());
    assertThat(((GossipMessage.Ack) sent.get(0).message()).seq()).isEqualTo(9);
  }

  @Test
  void tick_unansweredProbe_indirectThenSuspectThenDeadOnSchedule() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.tick(); // probe starts now
    GossipMessage.Ping ping = (GossipMessage.Ping) sent.get(0).message();
    Member target = ping.targetId().equals(B.id()) ? B : C;
    Member helper = target == B ? C : B;
    sent.clear();

    clock.advance(config.pingTimeout().minusMillis(1));
    a.tick();
    assertThat(sent).isEmpty();

    clock.advanceMillis(1);
    a.tick();
    assertThat(sent).extracting(Sent::to).containsExactly(helper.address());
    assertThat(sent.get(0).message()).isInstanceOf(GossipMessage.PingReq.class);

    clock.advance(config.probeTimeout().minus(config.pingTimeout()));
    a.tick();
    assertThat(a.snapshot().state(target.id())).contains(MemberState.SUSPECT);

    clock.advance(config.suspicionTimeout().minusMillis(1));
    a.tick();
    assertThat(a.snapshot().state(target.id())).contains(MemberState.SUSPECT);

    clock.advanceMillis(1);
    a.tick();
    assertThat(a.snapshot().state(target.id())).contains(MemberState.DEAD);
    assertThat(a.snapshot().ringMembers()).doesNotContain(target);
  }

  @Test
  void tick_answeredProbe_targetStaysAlive() {
    a.onMessage(gossip(alive(B, 0)));
    sent.clear();

    a.tick();
    GossipMessage.Ping ping = (GossipMessage.Ping) sent.get(0).message();
    a.onMessage(new GossipMessage.Ack(B, ping.seq(), List.of()));
    clock.advance(config.probeTimeout().plus(config.suspicionTimeout()));
    a.tick();

    assertThat(a.snapshot().state(B.id())).contains(MemberState.ALIVE);
  }

  @Test
  void join_ownAddressAmongSeeds_isSkipped() {
    a.join(List.of(A.address(), B.address()));

    assertThat(sent).extracting(Sent::to).containsExactly(B.address());
    assertThat(sent.get(0).message()).isInstanceOf(GossipMessage.Sync.class);
  }

  @Test
  void leave_afterwards_engineIsInert() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.leave();

    assertThat(sent).extracting(Sent::to).containsExactlyInAnyOrder(B.address(), C.address());
    assertThat(sent.get(0).message().updates()).containsExactly(new MemberStatus(A, MemberState.LEFT, 0));
    sent.clear();
    clock.advance(Duration.ofSeconds(60));
    a.tick();
    assertThat(a.onMessage(new GossipMessage.Ping(B, 1, A.id(), List.of()))).isEmpty();
    assertThat(sent).isEmpty();
  }

  @Test
  void depart_toldToEveryLiveMemberWithANewIncarnation_keptThroughARefutation_andOthersSeeIt() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.depart();
    a.depart(); // once only

    MemberStatus departing = new MemberStatus(A, MemberState.ALIVE, 1, false, true);
    assertThat(sent).extracting(Sent::to).containsExactlyInAnyOrder(B.address(), C.address());
    assertThat(sent.get(0).message().updates()).containsExactly(departing);
    assertThat(a.snapshot().departing()).containsExactly(A);
    assertThat(a.snapshot().ringMembers()).contains(A);
    a.onMessage(gossip(alive(B, 0), new MemberStatus(A, MemberState.SUSPECT, 1, false, true)));
    assertThat(a.snapshot().status(A.id())).contains(new MemberStatus(A, MemberState.ALIVE, 2, false, true));

    MembershipEngine b = new MembershipEngine(B, config, (to, m) -> { }, clock, new Random(2));
    b.onMessage(gossip(departing));
    assertThat(b.snapshot().departing()).containsExactly(A);
  }

  @Test
  void onMessage_floodOfInventedMembers_stopsAtTheLiveLimit() {
    for (int round = 0; round < 3; round++) {
      List<MemberStatus> flood = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        flood.add(alive(new Member("fake-" + round + "-" + i, new Address("f" + round + "-" + i, 1)), 0));
      }
      a.onMessage(new GossipMessage.Gossip(B, flood));
      clock.advance(Duration.ofSeconds(10)); // the bucket refills: only the live limit holds them back
    }

    assertThat(a.snapshot().members()).hasSize(MemberTable.MAX_LIVE_MEMBERS);
  }

  @Test
  void onMessage_newMembers_admittedAtTheBucketsRate() {
    // DEAD members own no keys, so the live limit does not apply: only the bucket does.
    a.onMessage(new GossipMessage.Gossip(B, dead(0, 100)));
    assertThat(a.snapshot().members()).as("a full bucket: one message's worth").hasSize(1 + GossipCodec.MAX_STATUSES);

    a.onMessage(new GossipMessage.Gossip(B, dead(100, 100)));
    assertThat(a.snapshot().members()).as("an empty bucket").hasSize(1 + GossipCodec.MAX_STATUSES);

    clock.advance(Duration.ofSeconds(1));
    a.onMessage(new GossipMessage.Gossip(B, dead(200, 100)));
    assertThat(a.snapshot().members()).as("one second's tokens")
        .hasSize(1 + GossipCodec.MAX_STATUSES + config.newMembersPerSecond());
  }

  @Test
  void onMessage_pingReqForAMemberNotAdmitted_sendsNothing() {
    a.onMessage(gossip(alive(B, 0)));
    sent.clear();

    a.onMessage(new GossipMessage.PingReq(B, 5, new Member("0002-x", new Address("victim", 80)), List.of()));
    // C is not a member either: a PING_REQ from it is ignored even for a known target.
    a.onMessage(new GossipMessage.PingReq(C, 6, B, List.of()));

    assertThat(sent).isEmpty();
  }

  @Test
  void onMessage_pingReqForAnAdmittedMemberAtAnotherAddress_sendsNothing() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.onMessage(new GossipMessage.PingReq(B, 5, new Member(C.id(), new Address("victim", 80)), List.of()));

    assertThat(sent).isEmpty();
  }

  @Test
  void onMessage_pingReqBetweenMembers_pingsTheTarget() {
    a.onMessage(gossip(alive(B, 0), alive(C, 0)));
    sent.clear();

    a.onMessage(new GossipMessage.PingReq(B, 5, C, List.of()));

    assertThat(sent).extracting(Sent::to).containsExactly(C.address());
  }

  private static List<MemberStatus> dead(int from, int n) {
    List<MemberStatus> out = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      out.add(new MemberStatus(new Member("dead-" + i, new Address("d" + i, 1)), MemberState.DEAD, 0));
    }
    return out;
  }

  @Test
  void addListener_calledAtOnceWithTheCurrentState() {
    List<MembershipSnapshot> seen = new ArrayList<>();

    a.addListener(seen::add);
    a.onMessage(gossip(alive(B, 0)));

    assertThat(seen).hasSize(2);
    assertThat(seen.get(0).ringMembers()).containsExactly(A);
    assertThat(seen.get(1).ringMembers()).containsExactly(A, B);
  }

  /**
   * Nodes started together, each with the others as seeds: a peer dialled this one before its own
   * join, and its answer said "ALIVE, not joining" at incarnation 0. The join makes it a learner at
   * a higher incarnation, so the peer's copy of its status changes too. At the same incarnation the
   * peer kept the first: it counted this node an owner while the node counted itself a learner,
   * their placements never agreed, and copies were refused for 45 s (ClusterTest's mutual join).
   */
  @Test
  void join_afterAnsweringAPeerThatDialledFirst_theLearnerStatusReplacesTheOneSent() {
    a.learnBeforeOwning();
    MembershipEngine b = new MembershipEngine(B, config, (to, m) -> { }, clock, new Random(2));
    GossipMessage answer = a.onMessage(new GossipMessage.Sync(B, false, List.of(alive(B, 0)))).orElseThrow();
    assertThat(answer.updates()).contains(alive(A, 0));
    b.onMessage(answer);
    assertThat(b.snapshot().status(A.id()).orElseThrow().joining()).isFalse();

    a.join(List.of(B.address()));
    MemberStatus learner = a.snapshot().status(A.id()).orElseThrow();
    assertThat(learner.joining()).isTrue();
    b.onMessage(new GossipMessage.Gossip(A, List.of(learner)));

    assertThat(b.snapshot().status(A.id()).orElseThrow()).isEqualTo(learner);
    assertThat(b.snapshot().learners()).containsExactly(A);
  }

  /** A node that spoke to nobody before its join becomes a learner at incarnation 0, as before. */
  @Test
  void join_beforeAnyMessage_becomesALearnerAtIncarnationZero() {
    a.learnBeforeOwning();

    a.join(List.of(B.address()));

    assertThat(a.snapshot().status(A.id()).orElseThrow()).isEqualTo(new MemberStatus(A, MemberState.ALIVE, 0, true));
  }

  /** A founder (no seeds, or only itself) given seeds later (SeedResolver's addSeeds joins again) stays an owner. */
  @Test
  void join_ofAFounderGivenSeedsLater_leavesItAnOwner() {
    a.learnBeforeOwning();
    a.startLearning(List.of(A.address())); // a --join name that resolved to this node only
    a.join(List.of(A.address()));
    a.tick();
    a.join(List.of(B.address()));

    assertThat(a.snapshot().status(A.id()).orElseThrow()).isEqualTo(new MemberStatus(A, MemberState.ALIVE, 0, false));
  }

  /** A learner that joins again (more seeds) keeps its status: nothing new to tell. */
  @Test
  void join_again_keepsTheLearnerStatus() {
    a.learnBeforeOwning();
    a.startLearning(List.of(B.address()));
    a.join(List.of(B.address()));
    a.join(List.of(B.address(), C.address()));

    assertThat(a.snapshot().status(A.id()).orElseThrow()).isEqualTo(new MemberStatus(A, MemberState.ALIVE, 0, true));
  }

  private static MemberStatus alive(Member m, long incarnation) {
    return new MemberStatus(m, MemberState.ALIVE, incarnation);
  }

  private static GossipMessage gossip(MemberStatus... updates) {
    return new GossipMessage.Gossip(B, List.of(updates));
  }
}
