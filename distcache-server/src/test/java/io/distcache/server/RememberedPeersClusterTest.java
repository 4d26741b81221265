package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.membership.MembershipConfig;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * The first node of a cluster (started without seeds) restarted with the same settings: with its
 * peers file it joins its old cluster as a learner instead of founding a new one, so nothing
 * acknowledged meanwhile is undone; with no peer answering it founds a new cluster after the wait.
 */
class RememberedPeersClusterTest {
  private static final MembershipConfig FAST = ClusterTest.FAST;
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  @TempDir Path dir;
  private final List<DistCacheNode> nodes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    for (DistCacheNode n : nodes) {
      n.close();
    }
  }

  private DistCacheNode start(DistCacheNode.Builder b) {
    DistCacheNode n = b.build();
    nodes.add(n);
    return n.start();
  }

  private DistCacheNode.Builder node(int port, Path peers, Duration wait, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode.Builder b = DistCacheNode.builder().address("127.0.0.1", port).maxMemoryBytes(32L * 1024 * 1024)
        .membership(FAST).joinAddresses(join).replicas(1);
    return peers == null ? b : b.peersFile(peers, wait);
  }

  private static void awaitMembers(int count, DistCacheNode... in) {
    await().atMost(DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : in) {
        assertThat(n.membership().placement().ownerCount()).as("owners seen by %s", n.membership().self()).isEqualTo(count);
        assertThat(n.membership().placement().hasLearners()).as("learners seen by %s", n.membership().self()).isFalse();
      }
    });
  }

  @Test
  void founderRestartedWithoutJoin_joinsItsOldClusterAndNothingAcknowledgedIsLost() throws Exception {
    Path peers = dir.resolve("first.peers");
    DistCacheNode first = start(node(0, peers, Duration.ofMinutes(5)));
    int port = first.port();
    DistCacheNode second = start(node(0, null, null, first));
    DistCacheNode third = start(node(0, null, null, first));
    awaitMembers(3, first, second, third);
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(Files.readString(peers))
        .contains("127.0.0.1:" + second.port()).contains("127.0.0.1:" + third.port()));

    try (Jedis j = new Jedis("127.0.0.1", second.port())) {
      for (int i = 0; i < 300; i++) {
        assertThat(j.set("k" + i, "before-" + i)).isEqualTo("OK");
      }
    }
    first.close(); // SIGTERM: it hands its slots over and leaves
    awaitMembers(2, second, third);
    try (Jedis j = new Jedis("127.0.0.1", third.port())) {
      for (int i = 0; i < 300; i += 2) {
        assertThat(j.set("k" + i, "meanwhile-" + i)).isEqualTo("OK");
      }
      for (int i = 1; i < 300; i += 6) {
        assertThat(j.del("k" + i)).isEqualTo(1);
      }
    }

    // The same settings as its first start: no seeds, the same port and peers file.
    DistCacheNode again = start(node(port, peers, Duration.ofMinutes(5)));
    awaitMembers(3, again, second, third);
    assertThat(again.membership().placement().slotCount(again.membership().self()))
        .as("the restarted node owns its share again").isGreaterThan(0);

    for (DistCacheNode through : List.of(again, second, third)) {
      try (Jedis j = new Jedis("127.0.0.1", through.port())) {
        for (int i = 0; i < 300; i++) {
          String expected = i % 6 == 1 ? null : i % 2 == 0 ? "meanwhile-" + i : "before-" + i;
          assertThat(j.get("k" + i)).as("k%d through %s", i, through.port()).isEqualTo(expected);
        }
      }
    }
  }

  @Test
  void restartWithRememberedPeersThatNeverAnswer_foundsANewClusterAfterTheWait() throws Exception {
    Path peers = dir.resolve("stale.peers");
    int nobody;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      nobody = s.getLocalPort(); // closed again: nothing listens there
    }
    Files.writeString(peers, "# a stale file\n127.0.0.1:" + nobody + "\nnot an address\n");

    DistCacheNode n = start(node(0, peers, Duration.ofMillis(500)));
    try (Jedis j = new Jedis("127.0.0.1", n.port())) {
      await().atMost(DEADLINE).ignoreExceptions().untilAsserted(() -> assertThat(j.set("a", "1")).isEqualTo("OK"));
      assertThat(j.get("a")).isEqualTo("1");
    }
    assertThat(n.membership().placement().ownerCount()).isEqualTo(1);
    // Alone now, it remembers nobody: its next start founds at once.
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(Files.readString(peers)).doesNotContain("127.0.0.1:"));
  }

  @Test
  void nodeGivenRememberedPeers_servesNothingWhileItWaitsForThem() throws Exception {
    Path peers = dir.resolve("waiting.peers");
    Files.writeString(peers, "127.0.0.1:1\n");
    DistCacheNode n = start(node(0, peers, Duration.ofMinutes(5)));
    try (Jedis j = new Jedis("127.0.0.1", n.port())) {
      assertThat(catching(() -> j.set("a", "1"))).as("a write while it waits for its cluster").startsWith("TRYAGAIN");
      assertThat(j.ping()).isEqualTo("PONG");
    }
    assertThat(Files.readString(peers)).as("not forgotten while waiting").contains("127.0.0.1:1");
  }

  private static String catching(java.util.concurrent.Callable<?> call) {
    try {
      return String.valueOf(call.call());
    } catch (Exception e) {
      return e.getMessage();
    }
  }
}
