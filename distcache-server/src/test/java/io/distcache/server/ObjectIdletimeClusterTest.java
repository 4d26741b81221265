package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.Member;
import io.distcache.server.store.EvictionPolicy;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * OBJECT IDLETIME in a cluster is answered by the key's owner (a KEY_OP request forwarded like
 * OBJECT FREQ): with only the owner under an LFU policy, asking any node about the owner's key gets
 * the owner's LFU refusal, and about another node's key that node's idle time.
 */
class ObjectIdletimeClusterTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<Jedis> clients = new ArrayList<>();

  @AfterEach
  void tearDown() {
    clients.forEach(Jedis::close);
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).joinAddresses(join).start();
    nodes.add(n);
    return n;
  }

  private Jedis redis(DistCacheNode n) {
    Jedis j = new Jedis("127.0.0.1", n.port());
    clients.add(j);
    return j;
  }

  private static DistCacheNode ownerOf(List<DistCacheNode> c, String key) {
    Member owner = c.get(0).membership().placement().ownerOf(key.getBytes(StandardCharsets.UTF_8));
    return c.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  @Test
  void objectIdletime_isAnsweredByTheKeysOwner() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    List<DistCacheNode> c = List.of(a, b);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : c) {
        assertThat(n.membership().placement().members()).hasSize(2);
        assertThat(n.membership().placement().hasLearners()).isFalse();
      }
    });
    String onA = null;
    String onB = null;
    for (int i = 0; onA == null || onB == null; i++) {
      String k = "idle:" + i;
      if (ownerOf(c, k) == a) {
        onA = onA == null ? k : onA;
      } else {
        onB = onB == null ? k : onB;
      }
    }
    Jedis viaA = redis(a);
    viaA.set(onA, "1");
    viaA.set(onB, "2");
    // only b turns to LFU: the answer shows which node's store was asked
    assertThat(redis(b).configSet("maxmemory-policy", "allkeys-lfu")).isEqualTo("OK");
    assertThat(b.store().config().policy()).isEqualTo(EvictionPolicy.ALLKEYS_LFU);

    String keyOnB = onB;
    assertThatThrownBy(() -> viaA.objectIdletime(keyOnB)).isInstanceOf(JedisDataException.class)
        .hasMessageStartingWith("ERR An LFU maxmemory policy is selected, idle time not tracked.");
    assertThat(redis(b).objectIdletime(onA)).as("b asks a, which is under allkeys-lru").isNotNull()
        .isGreaterThanOrEqualTo(0L);
    assertThat(viaA.objectIdletime("idle:missing")).isNull();
    assertThat(redis(b).objectFreq(onB)).isNotNull();
  }
}
