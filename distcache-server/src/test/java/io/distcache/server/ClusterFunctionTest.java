package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.cluster.ReplicationMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisCluster;

/**
 * Functions in a three-node cluster with one replica per slot (sync). Libraries are per node, as in
 * Redis Cluster; an FCALL on a plain connection carries its library's code to the owner of its
 * keys' slot, so a library loaded on one node serves keys owned anywhere, also after the owner's
 * failover; a cluster client that loads on every primary (JedisCluster broadcasts FUNCTION LOAD)
 * calls functions on whichever node owns the key.
 */
class ClusterFunctionTest {
  /** Sets keys[1] to args[1] and answers the id of the node that ran it. */
  private static final String LIB = "#!lua name=locks\n"
      + "redis.register_function('set_and_name', function(keys, args) redis.call('set', keys[1], args[1])"
      + " return redis.call('cluster', 'myid') end)\n"
      + "redis.register_function('release', function(keys, args) if redis.call('get', keys[1]) == args[1] then"
      + " return redis.call('del', keys[1]) else return 0 end end)\n"
      + "redis.register_function{function_name='peek', callback=function(keys, args) return redis.call('get', keys[1])"
      + " end, flags={'no-writes'}}\n"
      + "redis.register_function{function_name='lonely', callback=function(keys, args) return 1 end,"
      + " flags={'no-cluster'}}";

  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);
  private final List<AutoCloseable> clients = new ArrayList<>();

  @BeforeEach
  void cluster3() {
    cluster.cluster(3);
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    cluster.close();
  }

  private List<DistCacheNode> live() {
    return cluster.live();
  }

  private Jedis redis(DistCacheNode n) {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", n.port()), DefaultJedisClientConfig.builder().timeoutMillis(10_000).build());
    clients.add(j);
    return j;
  }

  private DistCacheNode ownerOf(String key) {
    Member owner = live().get(0).membership().placement().ownerOf(b(key));
    return live().stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  private DistCacheNode notOwnerOf(String key) {
    DistCacheNode owner = ownerOf(key);
    return live().stream().filter(n -> n != owner).findFirst().orElseThrow();
  }

  private static byte[] b(String s) {
    return ClusterFixture.b(s);
  }

  @Test
  void fcall_plainConnectionOnANonOwner_runsOnTheOwner_andSurvivesItsFailover() {
    String key = "lock:{orders}";
    DistCacheNode owner = ownerOf(key);
    DistCacheNode entry = notOwnerOf(key);
    Jedis j = redis(entry);
    assertThat(j.functionLoad(LIB)).isEqualTo("locks"); // on the entry node only
    assertThat(redis(owner).functionList()).isEmpty();
    assertThat(j.fcall("set_and_name", List.of(key), List.of("token-1"))).isEqualTo(owner.membership().self().id());
    assertThat(owner.store().get(b(key))).isEqualTo(b("token-1"));
    assertThat(j.fcallReadonly("peek", List.of(key), List.of())).isEqualTo("token-1");
    Member replica = owner.membership().placement().replicas(KeySlot.of(b(key))).get(0);
    DistCacheNode replicaNode = live().stream().filter(n -> n.membership().self().equals(replica)).findFirst()
        .orElseThrow();
    assertThat(replicaNode.store().get(b(key))).isEqualTo(b("token-1")); // the function's write, as an effect

    cluster.kill(owner);
    cluster.awaitSettled();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(j.fcallReadonly("peek", List.of(key), List.of())).isEqualTo("token-1"));
    assertThat(j.fcall("release", List.of(key), List.of("someone-else"))).isEqualTo(0L);
    assertThat(j.fcall("release", List.of(key), List.of("token-1"))).isEqualTo(1L);
    for (DistCacheNode n : live()) {
      assertThat(n.store().get(b(key))).as("node %d", n.port()).isNull();
    }
  }

  @Test
  void fcall_crossSlotAndNoCluster_refused() {
    Jedis j = redis(cluster.nodes.get(0));
    j.functionLoad(LIB);
    assertThatThrownBy(() -> j.fcall("set_and_name", List.of("x1", "x2"), List.of("v")))
        .hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThatThrownBy(() -> j.fcall("lonely", List.of(), List.of()))
        .hasMessage("ERR Can not run script on cluster, 'no-cluster' flag is set.");
  }

  @Test
  void jedisCluster_loadsOnEveryPrimary_fcallOnTheOwner() {
    JedisCluster jc = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", cluster.nodes.get(0).port())),
        DefaultJedisClientConfig.builder().timeoutMillis(5000).build());
    clients.add(jc);
    jc.functionLoad(LIB);
    for (DistCacheNode n : live()) {
      assertThat(redis(n).functionList()).as("node %d", n.port()).hasSize(1);
    }
    for (String key : List.of("a", "b", "c", "lock:{x}")) {
      assertThat(jc.fcall("set_and_name", List.of(key), List.of("v-" + key)))
          .isEqualTo(ownerOf(key).membership().self().id());
      assertThat(jc.fcallReadonly("peek", List.of(key), List.of())).isEqualTo("v-" + key);
    }
  }
}
