package io.distcache.client;

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
  void set_staleViewGetsNotOwner_resendsUnflaggedThroughAnyNodeAndRefreshes() {
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

    // First try: ROUTED to the old owner, which says NOT_OWNER; then unflagged to any node.
    List<FakeCluster.Received> tries = cluster.keyed();
    assertThat(tries).hasSize(2);
    assertThat(tries.get(0).routed()).isTrue();
    assertThat(tries.get(0).node()).isNotEqualTo(cluster.id(2));
    assertThat(tries.get(1).routed()).isFalse();
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
}
