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
import redis.clients.jedis.Transaction;

/**
 * Scripts in a three-node cluster with one replica per slot (sync): run whole on their keys' owner
 * whatever node received them, one slot per script, and their writes replicated as effects so they
 * survive the owner's failure; inside MULTI/EXEC too.
 */
class ClusterScriptTest {
  /** Sets KEYS[1] to ARGV[1] and answers the id of the node that ran it. */
  private static final String SET_AND_NAME = "redis.call('set', KEYS[1], ARGV[1]); return redis.call('cluster', 'myid')";
  /** Redis's lock release: delete the key only while it holds the caller's token. */
  private static final String RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1])"
      + " else return 0 end";

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
  void evalsha_plainConnectionOnANonOwner_runsOnTheOwner_andSurvivesItsFailover() {
    String key = "lock:{orders}";
    DistCacheNode owner = ownerOf(key);
    DistCacheNode entry = notOwnerOf(key);
    Jedis j = redis(entry);
    String sha = j.scriptLoad(SET_AND_NAME); // on the entry node only: the owner has never seen it
    assertThat(j.evalsha(sha, 1, key, "token-1")).isEqualTo(owner.membership().self().id());
    assertThat(owner.store().get(b(key))).isEqualTo(b("token-1"));

    Member replica = owner.membership().placement().replicas(KeySlot.of(b(key))).get(0);
    DistCacheNode replicaNode = live().stream().filter(n -> n.membership().self().equals(replica)).findFirst().orElseThrow();
    // The write reached the replica as an effect, before the reply (sync replication).
    assertThat(replicaNode.store().get(b(key))).isEqualTo(b("token-1"));

    cluster.kill(owner);
    cluster.awaitSettled();
    DistCacheNode survivor = live().get(0);
    Jedis after = redis(survivor);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> assertThat(after.get(key)).isEqualTo("token-1"));
    // The release script runs on the new owner, through any node, with the script loaded nowhere but the entry.
    DistCacheNode newEntry = entry == owner ? survivor : entry;
    Jedis e2 = redis(newEntry);
    assertThat(e2.eval(RELEASE, 1, key, "someone-else")).isEqualTo(0L);
    assertThat(e2.evalsha(e2.scriptLoad(RELEASE), 1, key, "token-1")).isEqualTo(1L);
    for (DistCacheNode n : live()) {
      assertThat(n.store().get(b(key))).as("node %d", n.port()).isNull();
    }
  }

  @Test
  void keysOfTwoSlots_crossSlot_andUndeclaredKeysRefused() {
    Jedis j = redis(cluster.nodes.get(0));
    assertThat(KeySlot.of(b("x1"))).isNotEqualTo(KeySlot.of(b("x2")));
    assertThatThrownBy(() -> j.eval("return redis.call('set', KEYS[1], '1')", 2, "x1", "x2"))
        .hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    for (DistCacheNode n : cluster.nodes) {
      assertThat(n.store().get(b("x1"))).isNull();
    }
    assertThatThrownBy(() -> j.eval("return redis.call('set', 'x2', '1')", 1, "x1"))
        .hasMessageStartingWith("ERR Script attempted to access keys that do not hash to the same slot script: ");
    assertThatThrownBy(() -> j.eval("return redis.call('get', 'x1')", 0))
        .hasMessageStartingWith("ERR Script attempted to access a non local key in a cluster node script script: ");
    assertThat(j.eval("return redis.call('set', '{t}b', '2')", 1, "{t}a")).isEqualTo("OK"); // same slot: fine
    assertThat(j.eval("return ARGV[1]", 0, "keyless")).isEqualTo("keyless");
  }

  @Test
  void jedisCluster_evalsha_goesToTheOwner() {
    JedisCluster jc = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", cluster.nodes.get(0).port())),
        DefaultJedisClientConfig.builder().timeoutMillis(5000).build());
    clients.add(jc);
    String key = "lock:{cluster}";
    String sha = jc.scriptLoad(RELEASE, key);
    jc.set(key, "t");
    assertThat(jc.evalsha(sha, 1, key, "t")).isEqualTo(1L);
    assertThat(jc.exists(key)).isFalse();
  }

  /** Writes KEYS[1], runs one second of the node's clock, writes KEYS[2], returns KEYS[1] as it reads it then. */
  private static final String SLOW_WRITER = "#!lua name=slowc\n"
      + "local function now() local t = redis.call('time'); return tonumber(t[1]) * 1000000 + tonumber(t[2]) end\n"
      + "redis.register_function('slowc', function(keys, args)\n"
      + "  redis.call('set', keys[1], '1')\n"
      + "  local t = now()\n"
      + "  while now() - t < 1000000 do end\n"
      + "  redis.call('set', keys[2], '2')\n"
      + "  return redis.call('get', keys[1])\n"
      + "end)";

  @Test
  void clusterWideFlushAndDbsize_whileAScriptRunsOnAMember_waitForIt() throws Exception {
    String k1 = "{slow}1";
    String k2 = "{slow}2";
    DistCacheNode owner = ownerOf(k1);
    Jedis entry = redis(notOwnerOf(k1));
    entry.functionLoad(SLOW_WRITER); // every member gets the library
    Jedis watcher = redis(owner);
    java.util.concurrent.CompletableFuture<Object> running = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", owner.port()),
          DefaultJedisClientConfig.builder().timeoutMillis(10_000).build())) {
        return j.fcall("slowc", List.of(k1, k2), List.of());
      }
    });
    await().atMost(ClusterTest.DEADLINE).until(() -> watcher.functionStats().getRunningScript() != null);
    // Through another node: the owner's part of each waits for the function's end.
    assertThat(entry.dbSize()).isEqualTo(2);
    assertThat(entry.flushAll()).isEqualTo("OK");
    assertThat(running.get()).isEqualTo("1");
    for (DistCacheNode n : live()) {
      assertThat(n.store().get(b(k1))).as("node %d", n.port()).isNull();
      assertThat(n.store().get(b(k2))).as("node %d", n.port()).isNull();
    }
  }

  private DistCacheNode replicaOf(String key) {
    Member replica = ownerOf(key).membership().placement().replicas(KeySlot.of(b(key))).get(0);
    return live().stream().filter(n -> n.membership().self().equals(replica)).findFirst().orElseThrow();
  }

  @Test
  void multiWithEvalsha_plainConnectionOnANonOwner_runsOnTheOwner_replicated_survivesFailover() {
    String key = "tx:{orders}";
    String extra = key + ":extra"; // written by the script only, never named by the transaction
    DistCacheNode owner = ownerOf(key);
    DistCacheNode entry = notOwnerOf(key);
    DistCacheNode replica = replicaOf(key);
    Jedis j = redis(entry);
    String sha = j.scriptLoad("redis.call('set', KEYS[1] .. ':extra', ARGV[1]); redis.call('incr', KEYS[1]);"
        + " return redis.call('cluster', 'myid')"); // on the entry node only
    Transaction t = j.multi();
    t.set(key, "10");
    t.evalsha(sha, 1, key, "e1");
    t.get(key);
    assertThat(t.exec()).containsExactly("OK", owner.membership().self().id(), "11");
    // The batch's key and the key only its script wrote are on the replica before EXEC's reply (sync).
    assertThat(replica.store().get(b(key))).isEqualTo(b("11"));
    assertThat(replica.store().get(b(extra))).isEqualTo(b("e1"));

    cluster.kill(owner);
    cluster.awaitSettled();
    Jedis after = redis(live().get(0));
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> assertThat(after.mget(key, extra)).containsExactly("11", "e1"));
  }

  @Test
  void multiWithAScript_keysOfTwoSlots_crossSlotAndNothingRuns_undeclaredKeyFailsItsSlot() {
    Jedis j = redis(cluster.nodes.get(0));
    assertThat(KeySlot.of(b("x1"))).isNotEqualTo(KeySlot.of(b("x2")));
    Transaction t = j.multi();
    t.set("x1", "1");
    t.eval("return redis.call('set', KEYS[1], '2')", 1, "x2");
    assertThatThrownBy(t::exec).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    for (DistCacheNode n : cluster.nodes) {
      assertThat(n.store().get(b("x1"))).as("node %d", n.port()).isNull();
      assertThat(n.store().get(b("x2"))).as("node %d", n.port()).isNull();
    }
    Transaction undeclared = j.multi();
    undeclared.set("{t}a", "1");
    undeclared.eval("return redis.call('set', 'x2', '1')", 1, "{t}b");
    List<Object> replies = undeclared.exec();
    assertThat(replies.get(0)).isEqualTo("OK");
    assertThat(((Exception) replies.get(1)).getMessage())
        .startsWith("ERR Script attempted to access keys that do not hash to the same slot script: ");
    assertThat(j.get("{t}a")).isEqualTo("1");
  }

  @Test
  void multiWithAKeylessScript_runsWhereTheTransactionRuns_touchesNoKey() {
    String key = "kl:{k}";
    DistCacheNode owner = ownerOf(key);
    DistCacheNode entry = notOwnerOf(key);
    Jedis j = redis(entry);
    String name = "return redis.call('cluster', 'myid')";
    Transaction alone = j.multi();
    alone.eval(name);
    assertThat(alone.exec()).as("no key: on the node that received it").containsExactly(entry.membership().self().id());
    Transaction withKey = j.multi();
    withKey.set(key, "v");
    withKey.eval(name);
    assertThat(withKey.exec()).as("with the transaction, on its slot's owner")
        .containsExactly("OK", owner.membership().self().id());
    Transaction touching = j.multi();
    touching.eval("return redis.call('get', '" + key + "')");
    List<Object> replies = touching.exec();
    assertThat(((Exception) replies.get(0)).getMessage())
        .startsWith("ERR Script attempted to access a non local key in a cluster node script script: ");
  }
}
