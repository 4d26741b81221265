package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.Member;
import io.distcache.server.resp.RedirectMode;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/** The cluster through the Redis protocol: forwarding for Redis clients, CLUSTER and INFO cluster. */
class ClusterRespTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<Jedis> clients = new ArrayList<>();

  @AfterEach
  void tearDown() {
    clients.forEach(Jedis::close);
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    return start(RedirectMode.AUTO, seeds);
  }

  private DistCacheNode start(RedirectMode redirects, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).joinAddresses(join).redirects(redirects).start();
    nodes.add(n);
    return n;
  }

  private List<DistCacheNode> cluster3() {
    DistCacheNode a = start();
    List<DistCacheNode> c = List.of(a, start(a), start(a));
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : c) {
        assertThat(n.membership().placement().members()).as("ring of %s", n.membership().self()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        // One placement everywhere: two of three members with three in their rings may still
        // differ for a moment (a failure at load 16: CLUSTER OWNER named two owners).
        assertThat(n.membership().placement().fingerprint()).as("placement of %s", n.membership().self())
            .isEqualTo(c.get(0).membership().placement().fingerprint());
      }
    });
    return c;
  }

  /** Keys in {@code n}'s store whose slot {@code n} owns. */
  private static long ownedKeys(DistCacheNode n) {
    long count = 0;
    long cursor = 0;
    do {
      io.distcache.server.store.ScanResult page = n.store().scan(cursor, 1024);
      for (byte[] k : page.keys()) {
        if (n.membership().placement().owns(n.membership().self(), io.distcache.protocol.cluster.KeySlot.of(k))) {
          count++;
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    return count;
  }

  private Jedis redis(DistCacheNode n) {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", n.port()), DefaultJedisClientConfig.builder().build());
    clients.add(j);
    return j;
  }

  private static String str(Object reply) {
    return new String((byte[]) reply, StandardCharsets.UTF_8);
  }

  private static DistCacheNode ownerOf(List<DistCacheNode> c, String key) {
    Member owner = c.get(0).membership().placement().ownerOf(key.getBytes(StandardCharsets.UTF_8));
    return c.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  @Test
  void info_standaloneNode_reportsAOneNodeCluster() {
    DistCacheNode solo = start();

    String info = redis(solo).info("cluster");

    assertThat(info).contains("cluster_enabled:1\r\n", "cluster_known_nodes:1\r\n", "cluster_alive_nodes:1\r\n",
        "cluster_suspect_nodes:0\r\n", "cluster_dead_nodes:0\r\n", "forwarded_requests:0\r\n")
        .contains("cluster_current_epoch:" + solo.membership().placement().epoch() + "\r\n");
  }

  @Test
  void setAndGet_redisClientOnANonOwner_forwardedToTheOwner() {
    List<DistCacheNode> c = cluster3();
    List<Jedis> r = c.stream().map(this::redis).toList();

    for (int i = 0; i < 30; i++) {
      assertThat(r.get(i % 3).set("rk" + i, "v" + i)).isEqualTo("OK");
    }

    for (int i = 0; i < 30; i++) {
      assertThat(r.get((i + 1) % 3).get("rk" + i)).isEqualTo("v" + i);
      assertThat(ownerOf(c, "rk" + i).store().get(("rk" + i).getBytes(StandardCharsets.UTF_8))).isNotNull();
    }
    // A plain connection's DBSIZE counts the whole cluster, whichever node it asks.
    assertThat(r).allSatisfy(j -> assertThat(j.dbSize()).isEqualTo(30));
    assertThat(r.get(0).mget("rk0", "nope", "rk1", "rk2")).containsExactly("v0", null, "v1", "v2");
    assertThat(r.get(1).info("cluster")).contains("cluster_alive_nodes:3\r\n").containsPattern("forwarded_requests:[1-9]");
  }

  @Test
  void clusterOwnerAndMembers_anyNode_sameOwnerAndEveryMemberAlive() {
    List<DistCacheNode> c = cluster3();
    DistCacheNode owner = ownerOf(c, "user:42");

    for (DistCacheNode n : c) {
      Jedis j = redis(n);
      // Awaited: under load a member may be suspected for a moment (a failure at load 16).
      await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
        assertThat(str(j.sendCommand(Protocol.Command.CLUSTER, "OWNER", "user:42"))).isEqualTo("127.0.0.1:" + owner.port());
        @SuppressWarnings("unchecked")
        List<List<Object>> members = (List<List<Object>>) j.sendCommand(Protocol.Command.CLUSTER, "MEMBERS");
        assertThat(members).hasSize(3);
        assertThat(members).allSatisfy(m -> assertThat(str(m.get(2))).isEqualTo("alive"));
        assertThat(members.stream().map(m -> str(m.get(1))))
            .containsExactlyInAnyOrderElementsOf(c.stream().map(x -> "127.0.0.1:" + x.port()).toList());
        assertThat(str(j.sendCommand(Protocol.Command.CLUSTER, "INFO"))).contains("cluster_known_nodes:3\r\n");
      });
    }
  }

  @Test
  void keyspaceCommands_plainConnection_coverTheWholeCluster() {
    List<DistCacheNode> c = cluster3();
    Jedis plain = redis(c.get(1));
    for (int i = 0; i < 60; i++) {
      plain.set("ks" + i, "v");
    }
    assertThat(c.stream().mapToLong(n -> n.store().size())).allSatisfy(n -> assertThat(n).isPositive());

    assertThat(plain.dbSize()).isEqualTo(60);
    assertThat(plain.keys("ks*")).hasSize(60);
    assertThat(plain.keys("ks1?")).hasSize(10);
    assertThat(plain.keys("ks42")).containsExactly("ks42");
    assertThat(plain.randomKey()).startsWith("ks");
    Set<String> scanned = new HashSet<>();
    String cursor = "0";
    int steps = 0;
    do {
      ScanResult<String> step = plain.scan(cursor, new ScanParams().count(7));
      scanned.addAll(step.getResult());
      cursor = step.getCursor();
      steps++;
    } while (!cursor.equals("0") && steps < 1000);
    assertThat(scanned).hasSize(60);

    // Spring's @CacheEvict(allEntries = true): FLUSHALL through one node empties every node.
    assertThat(plain.flushAll()).isEqualTo("OK");
    assertThat(c).allSatisfy(n -> assertThat(n.store().size()).isZero());
    assertThat(plain.dbSize()).isZero();
    assertThat(plain.randomKey()).isNull();
  }

  @Test
  void keyspaceCommands_connectionThatAskedForTheSlotMap_perNodeAsRedisCluster() {
    List<DistCacheNode> c = cluster3();
    Jedis plain = redis(c.get(0));
    for (int i = 0; i < 30; i++) {
      plain.set("pn" + i, "v");
    }
    Jedis clusterAware = redis(c.get(0));
    clusterAware.sendCommand(Protocol.Command.CLUSTER, "SLOTS");

    // Per node: the keys of the slots it owns (with --replicas 1 its store also holds copies of others').
    assertThat(clusterAware.dbSize()).isEqualTo(ownedKeys(c.get(0))).isLessThan(30);
    // The same count in CLUSTER INFO; INFO keyspace counts the whole store, copies included.
    assertThat(clusterAware.clusterInfo()).contains("cluster_owned_keys:" + ownedKeys(c.get(0)) + "\r\n");
    assertThat(clusterAware.info("keyspace")).contains("db0:keys=" + c.get(0).store().size() + ",");
    assertThat(c.get(0).store().size()).isGreaterThan(ownedKeys(c.get(0)));
    assertThat(clusterAware.flushDB()).isEqualTo("OK");
    assertThat(ownedKeys(c.get(0))).isZero();
    assertThat(ownedKeys(c.get(1)) + ownedKeys(c.get(2))).isEqualTo(plain.dbSize()).isPositive();
  }

  @Test
  void movedMode_keyOwnedElsewhere_movedToItsOwner_multiKeyByItsFirstKey() {
    DistCacheNode a = start(RedirectMode.MOVED);
    DistCacheNode b = start(RedirectMode.MOVED, a);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(a.membership().placement().members()).hasSize(2);
      assertThat(a.membership().placement().hasLearners()).as("learners").isFalse();
      assertThat(b.membership().placement().members()).hasSize(2);
      assertThat(b.membership().placement().hasLearners()).as("learners").isFalse();
    });
    String ours = keyOwnedBy(a, "a");
    String theirs = keyOwnedBy(b, "b");
    int theirSlot = io.distcache.protocol.cluster.KeySlot.of(theirs.getBytes(StandardCharsets.UTF_8));
    Jedis j = redis(a);
    String moved = "MOVED " + theirSlot + " 127.0.0.1:" + b.port();

    assertThat(j.set(ours, "1")).isEqualTo("OK");
    assertThatThrownBy(() -> j.set(theirs, "2")).hasMessage(moved);
    redis(b).set(theirs, "2");
    // The first key is ours: the other keys are split and forwarded, never redirected.
    assertThat(j.mget(ours, theirs)).containsExactly("1", "2");
    assertThatThrownBy(() -> j.mget(theirs, ours)).hasMessage(moved);
    assertThat(a.forwardedRequests()).isEqualTo(1);
  }

  private static String keyOwnedBy(DistCacheNode n, String prefix) {
    for (int i = 0; ; i++) {
      String k = prefix + i;
      if (n.membership().placement().ownerOf(k.getBytes(StandardCharsets.UTF_8)).equals(n.membership().self())) {
        return k;
      }
    }
  }

  @Test
  void keys_plainConnectionMatchingMoreThanTheFrameLimit_refusedNamingScan() {
    int maxFrame = 1024 + 20 + 64 + 65536; // the smallest frame a 1 KiB value allows
    DistCacheNode a = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .maxValueBytes(1024).maxFrameBytes(maxFrame).membership(ClusterTest.FAST).start();
    nodes.add(a);
    start(a);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(a.membership().placement().members()).hasSize(2);
      assertThat(a.membership().placement().hasLearners()).as("learners").isFalse();
    });
    Jedis j = redis(a);
    String pad = "k".repeat(96);
    for (int i = 0; i < 800; i++) {
      j.set(pad + String.format("%04d", i), "v");
    }

    assertThatThrownBy(() -> j.keys("*"))
        .hasMessage("ERR KEYS across the cluster matched more than " + maxFrame + " bytes of keys, the limit; use SCAN");
    assertThat(j.keys("*000?")).hasSize(10);
  }

  @Test
  void dbsizeAndFlushall_plainConnectionWithAMemberDown_failNamingIt() {
    DistCacheNode a = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.PATIENT).start();
    nodes.add(a);
    DistCacheNode b = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.PATIENT).joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", a.port())))
        .start();
    nodes.add(b);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(a.membership().placement().members()).hasSize(2);
      assertThat(a.membership().placement().hasLearners()).as("learners").isFalse();
    });
    Jedis j = redis(a);
    assertThat(j.dbSize()).isZero();

    b.closeAbruptly(); // still an owner: PATIENT never declares it dead

    assertThatThrownBy(j::dbSize).hasMessageStartingWith("BUSY member 127.0.0.1:" + b.port() + " unreachable");
    assertThatThrownBy(j::flushAll).hasMessageStartingWith("BUSY member 127.0.0.1:" + b.port() + " unreachable");
  }
}
