package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Several engines on an in-memory network with a manual clock: the protocol end to end. */
class MembershipEngineClusterTest {

  @Test
  void join_noSeeds_formsOneNodeCluster() {
    SimCluster c = new SimCluster();
    MembershipEngine a = c.start("a");

    c.runFor(Duration.ofSeconds(2));

    assertThat(a.snapshot().ringMembers()).containsExactly(a.self());
    assertThat(a.snapshot().state(a.self().id())).contains(MemberState.ALIVE);
  }

  @Test
  void join_throughOneSeed_everyNodeLearnsEveryOther() {
    SimCluster c = new SimCluster();
    c.start("a");
    c.start("b", "a");
    c.start("c", "a");
    c.start("d", "b"); // through a node that is itself new

    Duration took = c.runUntil(Duration.ofSeconds(3), "all four see each other", c::converged);

    assertThat(took).isLessThanOrEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void join_twoNodesAtTheSameMomentListingEachOther_formOneCluster() {
    SimCluster c = new SimCluster();
    c.start("a", "b");
    c.start("b", "a");

    c.runUntil(Duration.ofSeconds(1), "a and b in one cluster", c::converged);
  }

  @Test
  void join_threeNodesAtOnceInACircle_formOneCluster() {
    SimCluster c = new SimCluster();
    c.start("a", "b");
    c.start("b", "c");
    c.start("c", "a");

    c.runUntil(Duration.ofSeconds(2), "a, b and c in one cluster", c::converged);
  }

  @Test
  void join_firstAttemptsLost_retriedUntilOneCluster() {
    SimCluster c = new SimCluster();
    // Both start at once listing each other, but neither hears the other yet (say, a firewall
    // rule not applied yet); each is a one-node cluster until the seeds are retried.
    c.net.blockBothWays(SimCluster.address("a"), SimCluster.address("b"));
    c.start("a", "b");
    c.start("b", "a");
    c.runFor(Duration.ofSeconds(2));
    assertThat(c.node("a").snapshot().ringMembers()).hasSize(1);

    c.net.heal();

    c.runUntil(c.config.reconnectInterval().plusSeconds(2), "a and b in one cluster after retry", c::converged);
  }

  @Test
  void failureDetection_nodeStopsResponding_suspectThenDeadWithinConfiguredTimes() {
    SimCluster c = new SimCluster();
    for (String n : List.of("a", "b", "c", "d")) {
      c.start(n, "a");
    }
    c.runUntil(Duration.ofSeconds(3), "four nodes converge", c::converged);
    String dead = c.node("d").self().id();
    Map<String, Duration> firstSuspect = new HashMap<>();
    Map<String, Duration> firstDead = new HashMap<>();
    Duration crashedAt = c.elapsed();
    for (String n : List.of("a", "b", "c")) {
      c.node(n).addListener(s -> {
        Duration since = c.elapsed().minus(crashedAt);
        s.state(dead).ifPresent(st -> {
          if (st == MemberState.SUSPECT) {
            firstSuspect.putIfAbsent(n, since);
          } else if (st == MemberState.DEAD) {
            firstDead.putIfAbsent(n, since);
          }
        });
      });
    }

    c.crash("d");
    Duration took = c.runUntil(Duration.ofSeconds(5), "everyone declares d dead",
        () -> c.nodes().stream().allMatch(e -> e.snapshot().state(dead).orElse(null) == MemberState.DEAD));

    MembershipConfig cfg = c.config;
    Duration earliestSuspect = firstSuspect.values().stream().min(Duration::compareTo).orElseThrow();
    Duration earliestDead = firstDead.values().stream().min(Duration::compareTo).orElseThrow();
    assertThat(earliestSuspect).isGreaterThanOrEqualTo(cfg.probeTimeout());
    assertThat(earliestDead).isGreaterThanOrEqualTo(earliestSuspect.plus(cfg.suspicionTimeout()));
    assertThat(took).isLessThanOrEqualTo(Duration.ofSeconds(5));
    for (MembershipEngine e : c.nodes()) {
      assertThat(e.snapshot().ringMembers()).extracting(Member::id).doesNotContain(dead);
    }
  }

  @Test
  void refutation_slowNodeSuspected_refutesAndIsNeverDeclaredDead() {
    SimCluster c = new SimCluster();
    for (String n : List.of("a", "b", "c")) {
      c.start(n, "a");
    }
    c.runUntil(Duration.ofSeconds(3), "three nodes converge", c::converged);
    String slow = c.node("c").self().id();
    List<MemberState> seen = new ArrayList<>();
    for (String n : List.of("a", "b")) {
      c.node(n).addListener(s -> s.state(slow).ifPresent(seen::add));
    }

    // c answers, but later than the probe timeout: suspected again and again, refuting each time.
    c.net.delayFrom(SimCluster.address("c"), c.config.probeTimeout().toMillis() + 200);
    c.runFor(Duration.ofSeconds(6));
    c.net.heal();
    c.runUntil(Duration.ofSeconds(3), "c ALIVE everywhere again", c::converged);

    assertThat(seen).contains(MemberState.SUSPECT).doesNotContain(MemberState.DEAD);
    assertThat(c.node("a").snapshot().status(slow).orElseThrow().incarnation()).isPositive();
  }

  @Test
  void leave_graceful_othersDropItFromTheRingAtOnce() {
    SimCluster c = new SimCluster();
    for (String n : List.of("a", "b", "c")) {
      c.start(n, "a");
    }
    c.runUntil(Duration.ofSeconds(3), "three nodes converge", c::converged);
    Member leaving = c.node("c").self();

    c.node("c").leave();
    c.net.deliverDue(); // no clock movement: one hop

    for (String n : List.of("a", "b")) {
      MembershipSnapshot s = c.node(n).snapshot();
      assertThat(s.state(leaving.id())).contains(MemberState.LEFT);
      assertThat(s.ringMembers()).doesNotContain(leaving);
    }
    assertThat(c.node("c").snapshot().state(leaving.id())).contains(MemberState.LEFT);
    // It stays gone: no later gossip revives it.
    c.crash("c");
    c.runFor(Duration.ofSeconds(10));
    assertThat(c.node("a").snapshot().state(leaving.id())).contains(MemberState.LEFT);
    assertThat(c.converged()).isTrue();
  }

  @Test
  void rejoin_restartWithNewIdAtSameAddress_replacesOldEntry() {
    SimCluster c = new SimCluster();
    for (String n : List.of("a", "b", "c")) {
      c.start(n, "a");
    }
    c.runUntil(Duration.ofSeconds(3), "three nodes converge", c::converged);
    Member before = c.node("b").self();

    c.crash("b");
    c.runFor(Duration.ofMillis(300)); // back before anyone notices it was gone
    Member after = c.start("b", "a").self();

    assertThat(after.id()).isNotEqualTo(before.id());
    assertThat(after.address()).isEqualTo(before.address());
    c.runUntil(Duration.ofSeconds(3), "the new b replaces the old everywhere", c::converged);
    for (MembershipEngine e : c.nodes()) {
      assertThat(e.snapshot().state(before.id())).as("old b at %s", e.self()).contains(MemberState.DEAD);
    }
    // Failure detection of the old run finds nothing more to do: the view stays as it is.
    c.runFor(Duration.ofSeconds(10));
    assertThat(c.converged()).as(c.views()).isTrue();
  }

  @Test
  void partition_healed_convergesToOneCluster() {
    SimCluster c = new SimCluster();
    List<String> names = List.of("a", "b", "c", "d", "e");
    for (String n : names) {
      c.start(n, "a");
    }
    c.runUntil(Duration.ofSeconds(3), "five nodes converge", c::converged);
    Set<Address> left = Set.of(SimCluster.address("a"), SimCluster.address("b"));
    Set<Address> right = Set.of(SimCluster.address("c"), SimCluster.address("d"), SimCluster.address("e"));

    c.net.partition(left, right);
    c.runFor(Duration.ofSeconds(15));
    String eId = c.node("e").self().id();
    String aId = c.node("a").self().id();
    assertThat(c.node("a").snapshot().state(eId)).contains(MemberState.DEAD);
    assertThat(c.node("e").snapshot().state(aId)).contains(MemberState.DEAD);
    assertThat(c.node("a").snapshot().ringMembers()).hasSize(2);
    assertThat(c.node("e").snapshot().ringMembers()).hasSize(3);

    c.net.heal();

    c.runUntil(c.config.reconnectInterval().multipliedBy(3), "one cluster of five after the heal", c::converged);
  }

  @Test
  void listener_everyChange_seesRisingVersions() {
    SimCluster c = new SimCluster();
    MembershipEngine a = c.start("a");
    List<Long> versions = new ArrayList<>();
    a.addListener(s -> versions.add(s.version()));

    c.start("b", "a");
    c.start("c", "a");
    c.runUntil(Duration.ofSeconds(3), "three nodes converge", c::converged);

    assertThat(versions).hasSizeGreaterThanOrEqualTo(3).isSorted().doesNotHaveDuplicates();
    assertThat(versions.get(versions.size() - 1)).isEqualTo(a.snapshot().version());
  }

  @Test
  void tombstones_olderThanTimeout_areForgotten() {
    SimCluster c = new SimCluster(MembershipConfig.defaults().withTombstoneTimeout(Duration.ofSeconds(20)));
    c.start("a");
    c.start("b", "a");
    c.runUntil(Duration.ofSeconds(2), "two nodes converge", c::converged);
    String bId = c.node("b").self().id();

    c.crash("b");
    c.runUntil(Duration.ofSeconds(5), "b dead", () -> c.node("a").snapshot().state(bId).isPresent()
        && c.node("a").snapshot().state(bId).get() == MemberState.DEAD);
    c.runFor(Duration.ofSeconds(21));

    assertThat(c.node("a").snapshot().state(bId)).isEmpty();
  }
}
