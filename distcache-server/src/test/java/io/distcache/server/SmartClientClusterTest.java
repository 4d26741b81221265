package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.client.ClusterMember;
import io.distcache.client.DistCacheClient;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.membership.MembershipConfig;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The smart client against a real three-node cluster in this JVM: requests go straight to the
 * owners of their slots (no node forwards anything), a node joining is learnt from NOT_OWNER's
 * newer epoch, a node leaving is followed without errors, and size, scan and flush cover every
 * member.
 */
class SmartClientClusterTest {
  /** Fast membership timers, so joins and leaves settle in well under a second. */
  private static final MembershipConfig FAST = MembershipConfig.defaults()
      .withTickInterval(Duration.ofMillis(25))
      .withProtocolPeriod(Duration.ofMillis(150))
      .withProbeTimeouts(Duration.ofMillis(100), Duration.ofMillis(250))
      .withSuspicionTimeout(Duration.ofMillis(1000))
      .withReconnectInterval(Duration.ofMillis(300))
      .withSyncInterval(Duration.ofSeconds(2));
  private static final Duration DEADLINE = Duration.ofSeconds(15);

  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<DistCacheClient> clients = new ArrayList<>();

  @AfterEach
  void tearDown() {
    clients.forEach(DistCacheClient::close);
    nodes.forEach(DistCacheNode::close);
  }

  private List<DistCacheNode> cluster(int n) {
    for (int i = 0; i < n; i++) {
      List<InetSocketAddress> join = i == 0 ? List.of()
          : List.of(InetSocketAddress.createUnresolved("127.0.0.1", nodes.get(0).port()));
      nodes.add(DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
          .membership(FAST).joinAddresses(join).start());
    }
    awaitRings(nodes, n);
    return List.copyOf(nodes);
  }

  /** Until every node's ring has {@code size} members. */
  private static void awaitRings(List<DistCacheNode> live, int size) {
    await().atMost(DEADLINE).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      for (DistCacheNode n : live) {
        assertThat(n.membership().placement().members()).as("ring of %s", n.membership().self()).hasSize(size);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
      }
    });
  }

  private DistCacheClient client(DistCacheNode seed, boolean smart) {
    return client(seed, smart, Duration.ofMillis(100));
  }

  private DistCacheClient client(DistCacheNode seed, boolean smart, Duration refresh) {
    DistCacheClient c = DistCacheClient.builder().addresses("127.0.0.1:" + seed.port()).smartRouting(smart)
        .topologyRefreshInterval(refresh).build();
    clients.add(c);
    return c;
  }

  /** Sum over the nodes of STATS forwarded_requests, each read from the node itself. */
  private long forwardedByStats(List<DistCacheNode> live) {
    long sum = 0;
    for (DistCacheNode n : live) {
      sum += Long.parseLong(client(n, false).stats().get("forwarded_requests"));
    }
    return sum;
  }

  private static DistCacheNode owner(List<DistCacheNode> live, byte[] key) {
    Member owner = live.get(0).membership().placement().ownerOf(key);
    return live.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void smartClient_threeNodes_everyKeyedOpGoesToItsOwnerAndNothingIsForwarded() {
    List<DistCacheNode> live = cluster(3);
    DistCacheClient client = client(live.get(0), true);
    // A loaded machine may see a member suspected for a moment (FAST timers): wait for all ALIVE.
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(client.refreshMembers()).hasSize(3)
        .allSatisfy(m -> assertThat(m.state()).isEqualTo(ClusterMember.State.ALIVE)));
    long before = forwardedByStats(live);

    for (int i = 0; i < 1_000; i++) {
      client.set("key-" + i, "value-" + i);
    }
    List<CompletableFuture<String>> reads = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      reads.add(client.getAsync("key-" + i));
    }

    for (int i = 0; i < 1_000; i++) {
      assertThat(reads.get(i).join()).isEqualTo("value-" + i);
    }
    assertThat(forwardedByStats(live)).as("forwarded_requests over 2,000 keyed ops").isEqualTo(before);
    assertThat(live).extracting(DistCacheNode::forwardedRequests).containsOnly(0L);
    for (int i = 0; i < 1_000; i++) {
      byte[] key = bytes("key-" + i);
      DistCacheNode owner = owner(live, key);
      assertThat(client.ownerOf(key)).get().extracting(ClusterMember::port).isEqualTo(owner.port());
      for (DistCacheNode n : live) {
        // --replicas 1 (the default): the owner and the slot's replica hold it, nobody else
        boolean replica = owner.membership().placement().isReplica(n.membership().self(), KeySlot.of(key));
        assertThat(n.store().get(key)).as("key-%d on %s", i, n.membership().self())
            .isEqualTo(n == owner || replica ? bytes("value-" + i) : null);
      }
    }
  }

  @Test
  void smartClient_nodeLeaves_viewFollowsAndRoutingContinuesWithoutErrors() {
    List<DistCacheNode> live = new ArrayList<>(cluster(3));
    DistCacheClient client = client(live.get(0), true);
    assertThat(client.refreshMembers()).hasSize(3);
    for (int i = 0; i < 300; i++) {
      client.set("before-" + i, "v");
    }
    DistCacheNode leaving = live.remove(2);

    leaving.close();

    awaitRings(live, 2);
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(client.members())
        .filteredOn(m -> m.state().ownsKeys()).extracting(ClusterMember::port)
        .containsExactlyInAnyOrder(live.get(0).port(), live.get(1).port()));
    long before = forwardedByStats(live);
    for (int i = 0; i < 1_000; i++) {
      client.set("after-" + i, "v" + i);
    }
    for (int i = 0; i < 1_000; i++) {
      assertThat(client.get("after-" + i)).isEqualTo("v" + i);
      assertThat(owner(live, bytes("after-" + i)).store().get(bytes("after-" + i))).isEqualTo(bytes("v" + i));
    }
    assertThat(forwardedByStats(live)).isEqualTo(before);
  }

  @Test
  void plainClient_threeNodes_forwardsWhatTheSeedDoesNotOwn() {
    List<DistCacheNode> live = cluster(3);
    DistCacheClient client = client(live.get(0), false);

    for (int i = 0; i < 300; i++) {
      client.set("key-" + i, "v");
    }

    assertThat(client.members()).isEmpty();
    assertThat(live.get(0).forwardedRequests()).isPositive();
    assertThat(forwardedByStats(live)).isEqualTo(live.get(0).forwardedRequests());
  }

  @Test
  void smartClient_multiKeyAcrossSlots_eachPartReachesItsOwnerAndNothingIsForwarded() {
    List<DistCacheNode> live = cluster(3);
    DistCacheClient client = client(live.get(0), true);
    client.refreshMembers();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      keys.add(bytes("multi-" + i));
      values.add(bytes("v" + i));
    }

    client.setAll(keys, values);
    List<byte[]> got = client.getAll(keys);
    long existing = client.existsCount(keys);
    long deleted = client.deleteAll(keys.subList(0, 50));

    assertThat(got).containsExactlyElementsOf(values);
    assertThat(existing).isEqualTo(200);
    assertThat(deleted).isEqualTo(50);
    assertThat(live).extracting(DistCacheNode::forwardedRequests).containsOnly(0L);
    for (int i = 50; i < 200; i++) {
      assertThat(owner(live, keys.get(i)).store().get(keys.get(i))).isEqualTo(values.get(i));
    }
  }

  @Test
  void smartClient_nodeJoins_notOwnerWithTheNewerEpochRefreshesTheView() {
    List<DistCacheNode> live = new ArrayList<>(cluster(3));
    // No periodic refresh within the test: only NOT_OWNER can tell the client about the join.
    DistCacheClient client = client(live.get(0), true, Duration.ofHours(1));
    assertThat(client.refreshMembers()).hasSize(3);
    long epochBefore = live.get(0).membership().placement().epoch();

    live.add(DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).membership(FAST)
        .joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", live.get(0).port()))).start());
    nodes.add(live.get(3));
    awaitRings(live, 4);
    assertThat(live.get(0).membership().placement().epoch()).isGreaterThan(epochBefore);
    assertThat(client.members()).as("no refresh yet").hasSize(3);

    // Keys the new node owns are sent ROUTED to their old owners, which answer NOT_OWNER.
    for (int i = 0; i < 300; i++) {
      client.set("joined-" + i, "v" + i);
    }
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(client.members()).hasSize(4));

    long before = forwardedByStats(live);
    for (int i = 0; i < 1_000; i++) {
      client.set("after-join-" + i, "v" + i);
    }
    for (int i = 0; i < 300; i++) {
      assertThat(client.get("joined-" + i)).isEqualTo("v" + i);
    }
    assertThat(forwardedByStats(live)).as("forwarded once the view is the nodes' own").isEqualTo(before);
    assertThat(live.get(3).store().size()).isPositive();
  }

  @Test
  void smartClient_sizeScanFlush_coverEveryMember() {
    List<DistCacheNode> live = cluster(3);
    DistCacheClient client = client(live.get(0), true);
    client.refreshMembers();
    java.util.Set<String> written = new java.util.HashSet<>();
    for (int i = 0; i < 500; i++) {
      client.set("whole-" + i, "v");
      written.add("whole-" + i);
    }

    assertThat(client.size()).isEqualTo(500);
    java.util.Set<String> scanned = new java.util.HashSet<>();
    long cursor = 0;
    do {
      io.distcache.client.ScanResult step = client.scan(cursor, 64);
      step.keys().forEach(k -> scanned.add(new String(k, StandardCharsets.UTF_8)));
      cursor = step.nextCursor();
    } while (cursor != 0);
    assertThat(scanned).isEqualTo(written);

    client.flush();

    assertThat(client.size()).isZero();
    assertThat(live).allSatisfy(n -> assertThat(n.store().size()).isZero());
  }
}
