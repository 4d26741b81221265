package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.TypedEntry;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * The primary's active sweep of hash fields reaches the replica as effects: a replica never
 * removes a field itself, so a replica copy that lost its expired fields (and a key that went with
 * its last field) got there only through replication. Nothing reads the hashes in between.
 */
class HashFieldExpiryClusterTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  @Test
  void sweepDeletions_reachTheReplica_withoutAnyRead() {
    cluster.cluster(2);
    DistCacheNode entry = cluster.nodes.get(0);
    Placement p = entry.membership().placement();
    String h = "{fx}session";
    String gone = "{fx}gone";
    Member owner = p.owner(KeySlot.of(ClusterFixture.b(h)));
    Member replica = p.replicas(KeySlot.of(ClusterFixture.b(h))).get(0);
    DistCacheNode ownerNode = cluster.nodeOf(owner);
    DistCacheNode replicaNode = cluster.nodeOf(replica);
    long at;
    try (Jedis j = new Jedis("127.0.0.1", ownerNode.port())) {
      j.hset(h, Map.of("user", "ada", "token", "t"));
      j.hset(gone, Map.of("only", "o"));
      // Absolute times a little ahead of the primary's clock: the sweep, not a read, must remove them.
      at = System.currentTimeMillis() + 300;
      assertThat(j.hpexpireAt(h, at, "token")).containsExactly(1L);
      assertThat(j.hpexpireAt(gone, at, "only")).containsExactly(1L);
    }
    assertThat(replicaNode.store().fieldExpiryIndex().timeOf(ClusterFixture.b(h)))
        .as("the replica learned the hash from the effect (sync replication acknowledged it)").isEqualTo(at);

    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(replicaNode.store().peekEntry(ClusterFixture.b(gone))).as("the key went with its last field").isNull();
      TypedEntry e = replicaNode.store().peekEntry(ClusterFixture.b(h));
      assertThat(e).isNotNull();
      Map<Bytes, Long> ttl = new HashMap<>();
      assertThat(CollectionCodec.decodeHash(e.value(), ttl)).containsOnlyKeys(new Bytes(ClusterFixture.b("user")));
      assertThat(ttl).isEmpty();
    });
    assertThat(replicaNode.store().fieldExpiryIndex().size()).as("and it forgot them").isZero();
    try (Jedis j = new Jedis("127.0.0.1", ownerNode.port())) {
      assertThat(j.info("stats")).contains("expired_subkeys:2\r\n");
      assertThat(j.info("keyspace")).contains(",subexpiry=0\r\n");
    }
    try (Jedis j = new Jedis("127.0.0.1", replicaNode.port())) {
      assertThat(j.info("stats")).as("a replica counts nothing: it removed nothing itself").contains("expired_subkeys:0\r\n");
    }
  }
}
