package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
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
 * Functions in a three-node cluster with one replica per slot (sync). A library loaded, deleted or
 * flushed on one node reaches every member (FUNCTION_SYNC), so a cluster client finds it on the
 * owner of any key; a member that missed a change (its function traffic dropped) catches up by
 * pulling, a joiner holds the libraries before it owns slots, and a peer's hostile change set is
 * refused. An FCALL on a plain connection still carries its library's code to the owner of its
 * keys' slot, also after the owner's failover; a cluster client that loads on every primary
 * (JedisCluster broadcasts FUNCTION LOAD) gets no error from the nodes that have it already.
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
    assertThat(j.functionLoad(LIB)).isEqualTo("locks");
    assertThat(redis(owner).functionList()).hasSize(1); // propagated before the reply
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

  @Test
  void loadOnOneNode_clusterClientCallsOnTheOwnerOfAnotherNode() {
    DistCacheNode a = cluster.nodes.get(0);
    String key = keyOwnedByAnotherThan(a);
    assertThat(redis(a).functionLoad(LIB)).isEqualTo("locks"); // one node, plain connection
    for (DistCacheNode n : live()) { // the reply waited for every member's answer
      assertThat(redis(n).functionList()).as("node %d", n.port()).extracting(l -> l.getLibraryName())
          .containsExactly("locks");
    }
    JedisCluster jc = jedisCluster();
    assertThat(jc.fcall("set_and_name", List.of(key), List.of("v"))).isEqualTo(ownerOf(key).membership().self().id());
    assertThat(jc.fcallReadonly("peek", List.of(key), List.of())).isEqualTo("v");
  }

  @Test
  void deleteFlushAndRestore_propagate_andClusterClientBroadcastsGetNoError() {
    JedisCluster jc = jedisCluster();
    Jedis b = redis(cluster.nodes.get(1));
    b.functionLoad(LIB);
    b.functionLoad("#!lua name=other\nredis.register_function('other_f', function() return 2 end)");
    assertThat(redis(cluster.nodes.get(2)).functionDelete("locks")).isEqualTo("OK");
    awaitLibraries("other");
    assertThatThrownBy(() -> jc.fcall("set_and_name", List.of("a"), List.of("v"))).hasMessage("ERR Function not found");
    assertThat(jc.functionDelete("other")).isEqualTo("OK"); // to every primary: deleted by the first already
    assertThat(jc.functionLoad(LIB)).isEqualTo("locks");
    byte[] dump = redis(cluster.nodes.get(0)).functionDump();
    assertThat(jc.functionFlush()).isEqualTo("OK");
    awaitLibraries();
    assertThat(jc.functionRestore(dump)).isEqualTo("OK"); // APPEND on every primary: the first one's reached all
    awaitLibraries("locks");
  }

  /**
   * Every live node lists exactly these libraries. Polled: a change's reply waits for the other
   * members' answers, but one that timed out on a loaded machine is only caught up by a pull.
   */
  private void awaitLibraries(String... names) {
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : live()) {
        try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", n.port()))) {
          assertThat(j.functionList()).as("node %d", n.port()).extracting(l -> l.getLibraryName())
              .containsExactly(names);
        }
      }
    });
  }

  @Test
  void memberThatMissedALoadAndADelete_catchesUpByPulling() {
    DistCacheNode a = cluster.nodes.get(0);
    DistCacheNode c = cluster.nodes.get(2);
    redis(a).functionLoad("#!lua name=doomed\nredis.register_function('doomed_f', function() return 1 end)");
    for (DistCacheNode other : List.of(cluster.nodes.get(0), cluster.nodes.get(1))) {
      cluster.firewall.dropOpcode(ClusterFixture.address(c), ClusterFixture.address(other), Opcode.FUNCTION_SYNC);
      cluster.firewall.dropOpcode(ClusterFixture.address(other), ClusterFixture.address(c), Opcode.FUNCTION_SYNC);
    }
    assertThat(redis(a).functionLoad(LIB)).isEqualTo("locks"); // c's copy of the push gets no answer
    assertThat(redis(a).functionDelete("doomed")).isEqualTo("OK");
    assertThat(redis(c).functionList()).extracting(l -> l.getLibraryName()).containsExactly("doomed");
    cluster.firewall.clear();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(redis(c).functionList()).extracting(l -> l.getLibraryName()).containsExactly("locks"));
    // c's pulls of a and b bring nothing back to them: the deletion holds everywhere.
    awaitLibraries("locks");
    for (DistCacheNode n : live()) {
      assertThat(redis(n).functionList()).as("node %d", n.port()).extracting(l -> l.getLibraryName())
          .containsExactly("locks");
    }
  }

  @Test
  void joiner_holdsTheLibrariesOnceItOwnsSlots() {
    redis(cluster.nodes.get(1)).functionLoad(LIB);
    DistCacheNode joiner = cluster.start(cluster.nodes.get(0));
    cluster.awaitSettled();
    assertThat(redis(joiner).functionList()).extracting(l -> l.getLibraryName()).containsExactly("locks");
    String key = java.util.stream.IntStream.range(0, 10_000).mapToObj(i -> "key" + i).filter(k -> ownerOf(k) == joiner)
        .findFirst().orElseThrow();
    assertThat(jedisCluster().fcall("set_and_name", List.of(key), List.of("v")))
        .isEqualTo(joiner.membership().self().id());
  }

  @Test
  void hostilePeerChangeSets_refusedWithTheReason_andClientsMaySendNone() {
    DistCacheNode n = cluster.nodes.get(0);
    try (PeerSession peer = PeerSession.open(n.port())) {
      assertThat(peer.handshake(null).status()).isEqualTo(Status.OK);
      Frame garbage = peer.call(Frame.request(Opcode.FUNCTION_SYNC, 0, null, new byte[] {1, 0, 0},
          Opcode.FUNCTION_SYNC_PUSH));
      assertThat(garbage.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(garbage.valueText()).isEqualTo("FUNCTION_SYNC: the flush stamp: the stamp is cut short");
      byte[] manyEntries = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF};
      Frame many = peer.call(Frame.request(Opcode.FUNCTION_SYNC, 0, null, manyEntries, Opcode.FUNCTION_SYNC_PUSH));
      assertThat(many.valueText()).isEqualTo("FUNCTION_SYNC: function change set holds 65535 entries, more than the"
          + " limit of 2000");
      Frame kind = peer.call(Frame.request(Opcode.FUNCTION_SYNC, 0, null, new byte[] {1}, 7));
      assertThat(kind.valueText()).isEqualTo("FUNCTION_SYNC: kind 7 is not 0 (push) or 1 (pull)");
    }
    try (io.distcache.server.net.RawClient client = new io.distcache.server.net.RawClient(n.port())) {
      Frame refused = ClusterFixture.call(client, Frame.request(Opcode.FUNCTION_SYNC, 0, null, new byte[] {1},
          Opcode.FUNCTION_SYNC_PULL));
      assertThat(refused.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(refused.valueText()).contains("FUNCTION_SYNC is accepted only on a peer connection");
    }
    for (DistCacheNode each : live()) {
      assertThat(redis(each).functionList()).isEmpty();
    }
  }

  private JedisCluster jedisCluster() {
    JedisCluster jc = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", cluster.nodes.get(0).port())),
        DefaultJedisClientConfig.builder().timeoutMillis(5000).build());
    clients.add(jc);
    return jc;
  }

  private String keyOwnedByAnotherThan(DistCacheNode n) {
    return java.util.stream.IntStream.range(0, 10_000).mapToObj(i -> "key" + i).filter(k -> ownerOf(k) != n).findFirst()
        .orElseThrow();
  }
}
