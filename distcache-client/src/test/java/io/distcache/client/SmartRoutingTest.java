package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Opcode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Routing decisions of the smart client against scripted nodes that act as a cluster. */
class SmartRoutingTest {
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private FakeCluster cluster(int nodes) {
    FakeCluster c = new FakeCluster(nodes);
    toClose.add(c);
    return c;
  }

  private DistCacheClient client(DistCacheClient.Builder b) {
    DistCacheClient c = b.build();
    toClose.add(c);
    return c;
  }

  @Test
  void set_clusterView_everyKeyGoesStraightToItsOwnerFlaggedRouted() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));

    for (int i = 0; i < 300; i++) {
      client.set("key-" + i, "v" + i);
    }
    for (int i = 0; i < 300; i++) {
      assertThat(client.get("key-" + i)).isEqualTo("v" + i);
    }

    List<FakeCluster.Received> keyed = cluster.keyed();
    assertThat(keyed).hasSize(600);
    assertThat(keyed).allSatisfy(r -> {
      assertThat(r.routed()).as("ROUTED on %s", r).isTrue();
      assertThat(r.node()).as("owner of %s", r.key()).isEqualTo(cluster.ownerId(r.key()));
    });
    assertThat(keyed).extracting(FakeCluster.Received::node).contains(cluster.id(0), cluster.id(1), cluster.id(2));
    assertThat(cluster.forwardedBy).isEmpty();
  }

  @Test
  void get_ownerAnswersTryAgain_resendsTheReadUnflaggedToTheSameOwnerAndSucceeds() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));
    client.set("key-1", "v1");
    cluster.tryAgainRouted.set(1);

    assertThat(client.get("key-1")).isEqualTo("v1");

    List<FakeCluster.Received> gets = cluster.keyed().stream()
        .filter(r -> r.key().equals("key-1") && r.op() == Opcode.GET).toList();
    assertThat(gets).hasSize(2);
    assertThat(gets.get(0).routed()).isTrue();
    assertThat(gets.get(1).routed()).as("the resend is unflagged, so the node waits for the move").isFalse();
    assertThat(gets).extracting(FakeCluster.Received::node).containsOnly(cluster.ownerId("key-1"));
  }

  @Test
  void set_ownerAnswersTryAgainAndRetriesAreOff_theWriteIsNotResentAndTheCallerIsTold() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .retryPolicy(RetryPolicy.none()));
    client.set("warm", "up");
    cluster.tryAgainRouted.set(1);

    assertThatThrownBy(() -> client.set("key-1", "v1")).isInstanceOf(DistCacheUnavailableException.class)
        .satisfies(e -> assertThat(((DistCacheUnavailableException) e).notApplied()).isTrue())
        .satisfies(e -> assertThat(((DistCacheException) e).status()).isEqualTo(Status.TRY_AGAIN));
    assertThat(cluster.keyed().stream().filter(r -> r.key().equals("key-1"))).hasSize(1);
  }

  @Test
  void delete_ownerAnswersTryAgain_isRetriedBecauseNothingWasApplied() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .retryPolicy(RetryPolicy.of(3, Duration.ofMillis(1), Duration.ofMillis(5))));
    client.set("warm", "up");
    cluster.tryAgainRouted.set(1);

    // TRY_AGAIN says the node did nothing, so even a non-idempotent write is sent again.
    assertThat(client.delete("key-1")).isTrue();
    assertThat(cluster.keyed().stream().filter(r -> r.key().equals("key-1"))).hasSize(2);
  }

  @Test
  void members_andOwnerOf_showTheViewTheClientRoutesBy() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1)));
    client.ping();

    assertThat(client.members()).containsExactly(cluster.member(0, ClusterMember.State.ALIVE),
        cluster.member(1, ClusterMember.State.ALIVE), cluster.member(2, ClusterMember.State.ALIVE));
    for (int i = 0; i < 50; i++) {
      assertThat(client.ownerOf("k" + i)).get().extracting(ClusterMember::id).isEqualTo(cluster.ownerId("k" + i));
    }
  }

  @Test
  void get_nodeWithoutClusterLayer_plainModeWithUnflaggedRequestsToTheConfiguredNode() {
    FakeCluster cluster = cluster(2); // members stay null: BAD_REQUEST to CLUSTER_MEMBERS
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1), cluster.address(0)));

    for (int i = 0; i < 20; i++) {
      client.set("k" + i, "v");
    }

    assertThat(client.members()).isEmpty();
    assertThat(client.ownerOf("k1")).isEmpty();
    assertThat(cluster.keyed()).hasSize(20).allSatisfy(r -> {
      assertThat(r.routed()).isFalse();
      assertThat(r.node()).isEqualTo(cluster.id(1));
    });
  }

  @Test
  void get_smartRoutingOff_sendsNoClusterMembersAndNothingRouted() {
    FakeCluster cluster = cluster(2);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)).smartRouting(false));

    for (int i = 0; i < 20; i++) {
      client.get("k" + i);
    }

    assertThat(cluster.membersRequests()).isZero();
    assertThat(cluster.keyed()).allSatisfy(r -> assertThat(r.node()).isEqualTo(cluster.id(0)));
    assertThat(client.members()).isEmpty();
  }

  @Test
  void set_staleViewGetsNotOwnerWithNewerEpoch_resendsUnflaggedToTheNamedOwnerAndRefreshes() {
    FakeCluster cluster = cluster(3);
    // The client first learns a two-node cluster; then node 2 joins without the client noticing.
    cluster.setMembers(List.of(cluster.member(0, ClusterMember.State.ALIVE), cluster.member(1, ClusterMember.State.ALIVE)));
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.ping();
    assertThat(client.members()).hasSize(2);
    cluster.allAlive();
    String moved = null;
    for (int i = 0; moved == null; i++) {
      if (cluster.ownerId("k" + i).equals(cluster.id(2))) {
        moved = "k" + i;
      }
    }
    long fetchesBefore = cluster.membersRequests();

    client.set(moved, "v");

    // First try: ROUTED to the old owner, which says NOT_OWNER naming node 2 at a newer epoch.
    // The client knows only nodes 0 and 1, and connects to no address a reply names, so the
    // resend goes unflagged to any node (node 0), which forwards it.
    List<FakeCluster.Received> tries = cluster.keyed();
    assertThat(tries).hasSize(2);
    assertThat(tries.get(0).routed()).isTrue();
    assertThat(tries.get(0).node()).isNotEqualTo(cluster.id(2));
    assertThat(tries.get(1).routed()).isFalse();
    assertThat(tries.get(1).node()).isEqualTo(cluster.id(0));
    assertThat(client.get(moved)).isEqualTo("v");
    await().atMost(Duration.ofSeconds(5)).until(() -> client.members().size() == 3);
    assertThat(cluster.membersRequests()).isGreaterThan(fetchesBefore);
    assertThat(client.ownerOf(moved)).get().extracting(ClusterMember::id).isEqualTo(cluster.id(2));
    int before = cluster.keyed().size();
    client.set(moved, "v2");
    assertThat(cluster.keyed().subList(before, cluster.keyed().size()))
        .singleElement().satisfies(r -> {
          assertThat(r.node()).isEqualTo(cluster.id(2));
          assertThat(r.routed()).isTrue();
        });
  }

  @Test
  void set_memberJoins_periodicRefreshPicksItUp() {
    FakeCluster cluster = cluster(3);
    cluster.setMembers(List.of(cluster.member(0, ClusterMember.State.ALIVE), cluster.member(1, ClusterMember.State.ALIVE)));
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofMillis(50)));
    client.ping();
    assertThat(client.members()).hasSize(2);

    cluster.allAlive();

    await().atMost(Duration.ofSeconds(5)).until(() -> client.members().size() == 3);
    int before = cluster.keyed().size();
    for (int i = 0; i < 100; i++) {
      client.set("j" + i, "v");
    }
    List<FakeCluster.Received> after = cluster.keyed().subList(before, cluster.keyed().size());
    assertThat(after).hasSize(100).allSatisfy(r -> assertThat(r.node()).isEqualTo(cluster.ownerId(r.key())));
    assertThat(after).anySatisfy(r -> assertThat(r.node()).isEqualTo(cluster.id(2)));
  }

  @Test
  void set_ownerRefusesConnections_fallsBackToAnyNodeAndTheRequestSucceeds() throws Exception {
    FakeCluster cluster = cluster(2);
    int deadPort;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      deadPort = probe.getLocalPort();
    }
    ClusterMember dead = new ClusterMember("node-dead", "127.0.0.1", deadPort, ClusterMember.State.ALIVE, 1);
    cluster.setMembers(List.of(cluster.member(0, ClusterMember.State.ALIVE), cluster.member(1, ClusterMember.State.ALIVE), dead));
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.ping();
    List<String> deadKeys = new ArrayList<>();
    for (int i = 0; deadKeys.size() < 5; i++) {
      if (client.ownerOf("d" + i).orElseThrow().id().equals("node-dead")) {
        deadKeys.add("d" + i);
      }
    }

    for (String key : deadKeys) {
      client.set(key, "v-" + key);
    }

    for (String key : deadKeys) {
      assertThat(client.get(key)).isEqualTo("v-" + key);
    }
    assertThat(cluster.keyed()).hasSize(10).allSatisfy(r -> assertThat(r.routed()).isFalse());
  }

  @Test
  void get_configuredNodeStopsAndViewKnowsAnother_continuesThroughTheKnownMember() {
    FakeCluster cluster = cluster(2);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.ping();

    cluster.stop(0);

    // Node 0 (the only configured address) is gone: keyed and node-wide requests reach node 1.
    await().atMost(Duration.ofSeconds(5)).ignoreExceptions().untilAsserted(() -> client.ping());
    for (int i = 0; i < 30; i++) {
      client.set("s" + i, "v");
    }
    assertThat(cluster.keyed()).hasSize(30).allSatisfy(r -> assertThat(r.node()).isEqualTo(cluster.id(1)));
  }

  @Test
  void multiKey_splitByOwner_eachPartGoesToItsOwnerAndRepliesMergeInOrder() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1)));
    client.ping();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      keys.add(("m" + i).getBytes(StandardCharsets.UTF_8));
      values.add(("v" + i).getBytes(StandardCharsets.UTF_8));
    }

    client.setAll(keys, values);
    List<byte[]> withMissing = new ArrayList<>(keys);
    withMissing.add(3, "absent".getBytes(StandardCharsets.UTF_8));
    List<byte[]> got = client.getAll(withMissing);
    long existing = client.existsCount(withMissing);
    long deleted = client.deleteAll(keys.subList(0, 30));

    List<byte[]> expected = new ArrayList<>(values);
    expected.add(3, null);
    assertThat(got).containsExactlyElementsOf(expected);
    assertThat(existing).isEqualTo(60);
    assertThat(deleted).isEqualTo(30);
    assertThat(cluster.multiKeys).allSatisfy(r -> {
      assertThat(r.node()).as("owner of %s", r.key()).isEqualTo(cluster.ownerId(r.key()));
      assertThat(r.routed()).isFalse();
    });
    assertThat(cluster.multiKeys).extracting(FakeCluster.Received::node).contains(cluster.id(0), cluster.id(1), cluster.id(2));
  }

  @Test
  void setAllIfAbsent_isNotSplit_goesWholeToOneNode() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1)));
    client.ping();

    client.setAllIfAbsent(Map.of("a", "1", "b", "2", "c", "3", "d", "4"));

    assertThat(cluster.log).filteredOn(r -> r.op() == Opcode.MULTI_SET_IF_ABSENT).singleElement()
        .satisfies(r -> assertThat(r.node()).isEqualTo(cluster.id(1)));
  }

  /** Members 0..n-1 ALIVE. */
  private static List<ClusterMember> alive(FakeCluster cluster, int n) {
    List<ClusterMember> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(cluster.member(i, ClusterMember.State.ALIVE));
    }
    return list;
  }

  /** A key that {@code node} owns in the cluster's current placement. */
  private static String keyOwnedBy(FakeCluster cluster, int node, String prefix) {
    for (int i = 0; ; i++) {
      if (cluster.ownerId(prefix + i).equals(cluster.id(node))) {
        return prefix + i;
      }
    }
  }

  @Test
  void set_notOwnerWithNewerEpochNamingAKnownMember_resendsUnflaggedToThatOwnerSoNothingIsForwarded() {
    FakeCluster cluster = cluster(3);
    // The client knows all three nodes; then node 1 leaves (LEFT, still listed): the owners
    // that NOT_OWNER names are members the client knows.
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.ping();
    List<ClusterMember> without1 = List.of(cluster.member(0, ClusterMember.State.ALIVE),
        cluster.member(1, ClusterMember.State.LEFT), cluster.member(2, ClusterMember.State.ALIVE));
    String key = null;
    for (int i = 0; key == null; i++) {
      if (client.ownerOf("n" + i).orElseThrow().id().equals(cluster.id(1))) {
        key = "n" + i; // owned by node 1 in the client's view
      }
    }
    cluster.setMembers(without1);
    String newOwner = cluster.ownerId(key);
    long fetchesBefore = cluster.membersRequests();

    client.set(key, "v");

    List<FakeCluster.Received> tries = cluster.keyed();
    assertThat(tries).hasSize(2);
    assertThat(tries.get(0)).satisfies(r -> {
      assertThat(r.node()).isEqualTo(cluster.id(1));
      assertThat(r.routed()).isTrue();
    });
    assertThat(tries.get(1)).satisfies(r -> {
      assertThat(r.node()).isEqualTo(newOwner);
      assertThat(r.routed()).isFalse();
    });
    assertThat(cluster.forwardedBy).isEmpty();
    await().atMost(Duration.ofSeconds(5)).until(() -> cluster.membersRequests() > fetchesBefore);
    // members() lists the current members only: node 1 left.
    await().atMost(Duration.ofSeconds(5)).until(() -> client.ownerOf("x").isPresent()
        && client.members().stream().map(ClusterMember::id).toList().equals(List.of(cluster.id(0), cluster.id(2))));
  }

  @Test
  void set_notOwnerFromALaggingNode_noRefreshAndTheRequestGoesThroughAnyNode() {
    FakeCluster cluster = cluster(3);
    List<ClusterMember> two = alive(cluster, 2);
    cluster.allAlive(); // epoch 7: three members
    // Node 2 has not heard of itself joining: it still routes by the two-member view of epoch 3.
    cluster.lag(2, two, 3);
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.ping();
    String key = keyOwnedBy(cluster, 2, "lag");
    long fetchesBefore = cluster.membersRequests();

    client.set(key, "v");

    List<FakeCluster.Received> tries = cluster.keyed();
    assertThat(tries).hasSize(2);
    assertThat(tries.get(0).node()).isEqualTo(cluster.id(2));
    assertThat(tries.get(0).routed()).isTrue();
    assertThat(tries.get(1).node()).isEqualTo(cluster.id(0));
    assertThat(tries.get(1).routed()).isFalse();
    assertThat(cluster.membersRequests()).as("no refresh for an older epoch").isEqualTo(fetchesBefore);
    assertThat(client.ownerOf(key)).get().extracting(ClusterMember::id).isEqualTo(cluster.id(2));
  }

  @Test
  void refresh_olderViewFromALaggingNode_isIgnored_aNewerOneIsTaken() {
    FakeCluster cluster = cluster(3);
    cluster.setMembers(alive(cluster, 3), 10);
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    // A fetch that failed (CI at load 13: the first one timed out) leaves the view as it was: ask again.
    await().atMost(Duration.ofSeconds(30)).until(() -> client.refreshMembers().size() == 3);
    String key = keyOwnedBy(cluster, 2, "old");

    cluster.setMembers(alive(cluster, 2), 9);
    long fetches = cluster.membersRequests();
    assertThat(client.refreshMembers()).as("epoch 9 is older than 10").hasSize(3);
    assertThat(cluster.membersRequests()).as("the older view was fetched").isGreaterThan(fetches);
    assertThat(client.ownerOf(key)).get().extracting(ClusterMember::id).isEqualTo(cluster.id(2));

    cluster.setMembers(alive(cluster, 2), 11);
    await().atMost(Duration.ofSeconds(30)).until(() -> client.refreshMembers().size() == 2);
    assertThat(client.ownerOf(key)).get().extracting(ClusterMember::id).isNotEqualTo(cluster.id(2));
  }

  @Test
  void refresh_sameOwnersAtAHigherEpoch_takesTheEpochAndKeepsRouting() {
    FakeCluster cluster = cluster(2);
    cluster.setMembers(alive(cluster, 2), 4);
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.refreshMembers();
    cluster.setMembers(alive(cluster, 2), 12);
    client.refreshMembers();
    // An older epoch for the same owners is now ignored: the client moved to 12.
    cluster.setMembers(List.of(cluster.member(0, ClusterMember.State.ALIVE), cluster.member(1, ClusterMember.State.DEAD)), 8);

    assertThat(client.refreshMembers()).extracting(ClusterMember::state).containsOnly(ClusterMember.State.ALIVE);
  }

  @Test
  void refresh_fingerprintMismatch_viewDiscardedAndRequestsStayPlain() {
    FakeCluster cluster = cluster(2);
    cluster.allAlive();
    cluster.fakeFingerprint = 12345L;
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1)));

    for (int i = 0; i < 10; i++) {
      client.set("f" + i, "v");
    }

    assertThat(client.members()).isEmpty();
    assertThat(cluster.keyed()).hasSize(10).allSatisfy(r -> {
      assertThat(r.routed()).isFalse();
      assertThat(r.node()).isEqualTo(cluster.id(1));
    });
  }

  @Test
  void refresh_twoExtrasFromAnOlderNode_usedUntilAViewWithAnEpochArrives() {
    FakeCluster cluster = cluster(3);
    cluster.legacyExtras = true;
    cluster.setMembers(alive(cluster, 2), 50);
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    assertThat(client.refreshMembers()).hasSize(2);
    client.set("legacy", "v");
    assertThat(cluster.keyed()).singleElement().satisfies(r -> assertThat(r.routed()).isTrue());

    cluster.legacyExtras = false;
    cluster.setMembers(alive(cluster, 3), 2);
    assertThat(client.refreshMembers()).as("an epoch, however low, replaces an unknown one").hasSize(3);

    cluster.legacyExtras = true;
    cluster.setMembers(alive(cluster, 2), 99);
    assertThat(client.refreshMembers()).as("no epoch: not comparable with the view we have").hasSize(3);
  }

  @Test
  void refresh_restartedClusterWithNewIdsAndLowerEpoch_isTaken() {
    FakeCluster cluster = cluster(2);
    cluster.setMembers(alive(cluster, 2), 40);
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofHours(1)));
    client.refreshMembers();
    // Every process restarted: new ids at the same addresses, epochs from 1 again.
    List<ClusterMember> restarted = List.of(
        new ClusterMember("new-0", "127.0.0.1", cluster.port(0), ClusterMember.State.ALIVE, 1),
        new ClusterMember("new-1", "127.0.0.1", cluster.port(1), ClusterMember.State.ALIVE, 1));
    cluster.setMembers(restarted, 1);

    assertThat(client.refreshMembers()).extracting(ClusterMember::id).containsExactly("new-0", "new-1");
  }

  @Test
  void sizeFlushScan_clusterView_coverEveryOwningMember() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));
    java.util.Set<String> written = new java.util.HashSet<>();
    for (int i = 0; i < 90; i++) {
      client.set("w" + i, "v");
      written.add("w" + i);
    }

    assertThat(client.size()).isEqualTo(90);
    java.util.Set<String> scanned = new java.util.HashSet<>();
    java.util.Set<Long> cursors = new java.util.HashSet<>();
    long cursor = 0;
    int steps = 0;
    do {
      ScanResult step = client.scan(cursor, 7);
      for (byte[] k : step.keys()) {
        assertThat(scanned.add(new String(k, StandardCharsets.UTF_8))).as("returned once").isTrue();
      }
      cursor = step.nextCursor();
      assertThat(cursors.add(cursor)).as("cursor %s seen before", cursor).isTrue();
      steps++;
    } while (cursor != 0 && steps < 100);
    assertThat(scanned).isEqualTo(written);
    assertThat(cluster.log).filteredOn(r -> r.op() == Opcode.SCAN).extracting(FakeCluster.Received::node)
        .contains(cluster.id(0), cluster.id(1), cluster.id(2));

    client.flush();
    assertThat(cluster.keys()).isEmpty();
    assertThat(client.size()).isZero();
    assertThat(cluster.log).filteredOn(r -> r.op() == Opcode.FLUSH).extracting(FakeCluster.Received::node)
        .containsExactlyInAnyOrder(cluster.id(0), cluster.id(1), cluster.id(2));
  }

  @Test
  void scan_cursorOfAMemberBeyondTheView_isFinished() {
    FakeCluster cluster = cluster(2);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));

    ScanResult step = client.scan(5L << 48, 10);

    assertThat(step.finished()).isTrue();
    assertThat(step.keys()).isEmpty();
  }

  @Test
  void size_plainMode_asksTheOneNode() {
    FakeCluster cluster = cluster(2); // no cluster layer
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(1)));

    client.size();

    assertThat(cluster.log).filteredOn(r -> r.op() == Opcode.SIZE).singleElement()
        .satisfies(r -> assertThat(r.node()).isEqualTo(cluster.id(1)));
  }
}
