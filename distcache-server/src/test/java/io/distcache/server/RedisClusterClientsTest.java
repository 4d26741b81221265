package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.Protocol;

/**
 * Redis Cluster clients (JedisCluster, Lettuce's RedisClusterClient) against three in-process
 * nodes: every key goes straight to its owner, multi-key commands work across slots, and after a
 * fourth node joins the clients follow MOVED until nothing is forwarded any more, while a plain
 * connection keeps being forwarded and never sees a redirect.
 */
class RedisClusterClientsTest {
  private static final int KEYS = 1000;
  /** The bound: cluster clients reach the new owners within 10 s of traffic. */
  private static final Duration FOLLOW_MOVED = Duration.ofSeconds(10);

  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<AutoCloseable> clients = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    // PATIENT: a slow build machine must not declare a node dead (a placement change) mid-test.
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(32L * 1024 * 1024)
        .membership(ClusterTest.PATIENT).joinAddresses(join).start();
    nodes.add(n);
    return n;
  }

  private List<DistCacheNode> cluster3() {
    DistCacheNode a = start();
    start(a);
    start(a);
    awaitSamePlacement(3);
    return List.copyOf(nodes);
  }

  /** Every node knows {@code size} owners, and all of them the same owners. */
  private void awaitSamePlacement(int size) {
    await().atMost(ClusterTest.DEADLINE).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      Placement first = nodes.get(0).membership().placement();
      for (DistCacheNode n : nodes) {
        Placement p = n.membership().placement();
        assertThat(p.members()).as("owners seen by %s", n.membership().self()).hasSize(size);
        assertThat(p.hasLearners()).as("learners").isFalse();
        assertThat(p.fingerprint()).as("owners seen by %s", n.membership().self()).isEqualTo(first.fingerprint());
      }
    });
  }

  private long forwarded() {
    return nodes.stream().mapToLong(DistCacheNode::forwardedRequests).sum();
  }

  private DistCacheNode ownerOf(String key) {
    Member owner = nodes.get(0).membership().placement().ownerOf(key.getBytes(StandardCharsets.UTF_8));
    return nodes.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  private JedisCluster jedisCluster(DistCacheNode entry) {
    JedisCluster c = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", entry.port())),
        DefaultJedisClientConfig.builder().timeoutMillis(5000).build());
    clients.add(c);
    return c;
  }

  private RedisAdvancedClusterCommands<String, String> lettuceCluster(DistCacheNode entry) {
    RedisClusterClient client = RedisClusterClient.create(RedisURI.create("127.0.0.1", entry.port()));
    StatefulRedisClusterConnection<String, String> connection = client.connect();
    clients.add(() -> {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    });
    return connection.sync();
  }

  /** Writes and reads back every key; returns nothing, fails on a wrong value. */
  private static void round(BiConsumer<String, String> set, Function<String, String> get, String tag) {
    for (int i = 0; i < KEYS; i++) {
      set.accept("key:" + i, tag + i);
    }
    for (int i = 0; i < KEYS; i++) {
      assertThat(get.apply("key:" + i)).as("key:%d", i).isEqualTo(tag + i);
    }
  }

  /** Every key is held by its owner's store. */
  private void assertOnOwners() {
    for (int i = 0; i < KEYS; i++) {
      String key = "key:" + i;
      assertThat(ownerOf(key).store().get(key.getBytes(StandardCharsets.UTF_8))).as(key).isNotNull();
    }
  }

  /**
   * Joins a fourth node, then runs traffic rounds until one whole round forwards nothing: the
   * client has learned the new owners from MOVED.
   */
  private void joinAndAwaitDirectRouting(BiConsumer<String, String> set, Function<String, String> get) {
    DistCacheNode d = start(nodes.get(0));
    awaitSamePlacement(4);
    int[] rounds = {0};
    await().atMost(FOLLOW_MOVED).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(1)).untilAsserted(() -> {
      long before = forwarded();
      round(set, get, "after-join-" + rounds[0]++ + "-");
      assertThat(forwarded()).as("requests forwarded during round %d", rounds[0]).isEqualTo(before);
    });
    assertThat(d.store().size()).as("keys on the new node").isPositive();
    assertOnOwners();
  }

  @Test
  void jedisCluster_thousandKeys_everyKeyReachesItsOwnerDirectly() {
    cluster3();
    JedisCluster jc = jedisCluster(nodes.get(1));

    round(jc::set, jc::get, "v");

    assertThat(forwarded()).isZero();
    assertOnOwners();
  }

  @Test
  void jedisCluster_mgetAndDelAcrossSlots_mergedInKeyOrder() {
    cluster3();
    JedisCluster jc = jedisCluster(nodes.get(0));
    round(jc::set, jc::get, "v");

    // JedisCluster refuses a cross-slot MGET itself; sent raw to the first key's owner, the node
    // splits it by owner and merges the values in key order (Redis Cluster would say CROSSSLOT).
    Object reply = jc.sendCommand("key:1", Protocol.Command.MGET, "key:1", "key:2", "nope", "key:3", "key:4");
    assertThat(((List<?>) reply).stream().map(v -> v == null ? null : new String((byte[]) v, StandardCharsets.UTF_8)))
        .containsExactly("v1", "v2", null, "v3", "v4");
    assertThat(jc.sendCommand("key:1", Protocol.Command.DEL, "key:1", "key:2", "nope", "key:3")).isEqualTo(3L);
    assertThat(jc.get("key:2")).isNull();
  }

  @Test
  void jedisCluster_fourthNodeJoins_followsMovedUntilNothingIsForwarded() {
    cluster3();
    JedisCluster jc = jedisCluster(nodes.get(0));
    round(jc::set, jc::get, "v");

    joinAndAwaitDirectRouting(jc::set, jc::get);
  }

  @Test
  void lettuceCluster_thousandKeys_everyKeyReachesItsOwnerDirectly() {
    cluster3();
    RedisAdvancedClusterCommands<String, String> c = lettuceCluster(nodes.get(2));

    round(c::set, c::get, "v");

    assertThat(forwarded()).isZero();
    assertOnOwners();
  }

  @Test
  void lettuceCluster_mgetAcrossSlots_splitByClientAndMerged() {
    cluster3();
    RedisAdvancedClusterCommands<String, String> c = lettuceCluster(nodes.get(0));
    round(c::set, c::get, "v");

    assertThat(c.mget("key:1", "key:2", "nope", "key:3").stream().map(kv -> kv.getValueOrElse(null)).toList())
        .containsExactly("v1", "v2", null, "v3");
    Map<String, String> pairs = new HashMap<>();
    for (int i = 0; i < 20; i++) {
      pairs.put("m:" + i, "x" + i);
    }
    assertThat(c.mset(pairs)).isEqualTo("OK");
    assertThat(c.del(pairs.keySet().toArray(new String[0]))).isEqualTo(20);
    assertThat(forwarded()).isZero();
  }

  @Test
  void lettuceCluster_fourthNodeJoins_followsMovedUntilNothingIsForwarded() {
    cluster3();
    RedisAdvancedClusterCommands<String, String> c = lettuceCluster(nodes.get(0));
    round(c::set, c::get, "v");

    joinAndAwaitDirectRouting(c::set, c::get);
  }

  @Test
  void plainJedis_fourthNodeJoins_keepsBeingForwardedAndNeverRedirected() {
    cluster3();
    Jedis plain = new Jedis(new HostAndPort("127.0.0.1", nodes.get(0).port()), DefaultJedisClientConfig.builder().build());
    clients.add(plain);
    round(plain::set, plain::get, "v");
    long forwardedBefore = forwarded();
    assertThat(forwardedBefore).isPositive();

    start(nodes.get(0));
    awaitSamePlacement(4);
    round(plain::set, plain::get, "after-");

    assertThat(forwarded()).isGreaterThan(forwardedBefore);
    assertOnOwners();
  }
}
