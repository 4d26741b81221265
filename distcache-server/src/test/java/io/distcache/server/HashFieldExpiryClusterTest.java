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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * Hash field expiry in a cluster. The primary's active sweep of hash fields reaches the replica as effects: a replica never
 * removes a field itself, so a replica copy that lost its expired fields (and a key that went with
 * its last field) got there only through replication. Nothing reads the hashes in between.
 */
class HashFieldExpiryClusterTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);

  private ClusterFixture unreplicated = new ClusterFixture(0, ReplicationMode.SYNC);

  @AfterEach
  void tearDown() {
    cluster.close();
    unreplicated.close();
  }

  /**
   * A slot that moves to a joining node carries its hashes' field times inside the values, and the
   * store indexes what the migration imports: the new owner knows the hashes without any rebuild
   * and its sweep removes the fields when their time comes.
   */
  @Test
  void aSlotsNewOwner_indexesTheHashesItReceives_andSweepsThem() {
    // The fields' time must come after the join settles, and the test then waits for it: 20 s
    // ahead (4 nodes once took over 15 s to form on a loaded machine) made it a 20 s test, while
    // 2 nodes settle in about a second. So 5 s first; only a join that settles later than 4 s
    // in (1 s left before the fields' time) runs again, on fresh nodes, 20 s ahead.
    if (!newOwnerIndexesAndSweeps(Duration.ofSeconds(5), Duration.ofSeconds(1))) {
      unreplicated.close();
      unreplicated = new ClusterFixture(0, ReplicationMode.SYNC);
      assertThat(newOwnerIndexesAndSweeps(Duration.ofSeconds(20), Duration.ZERO)).isTrue();
    }
  }

  /**
   * The fields' time {@code ahead} of now; false, having checked nothing more, if the join settled
   * with less than {@code headroom} left before it.
   */
  private boolean newOwnerIndexesAndSweeps(Duration ahead, Duration headroom) {
    DistCacheNode first = unreplicated.start();
    long at = System.currentTimeMillis() + ahead.toMillis();
    List<String> keys = new ArrayList<>();
    try (Jedis j = new Jedis("127.0.0.1", first.port())) {
      for (int i = 0; i < 64; i++) {
        String k = "h" + i;
        keys.add(k);
        j.hset(k, Map.of("user", "ada", "token", "t"));
        assertThat(j.hpexpireAt(k, at, "token")).containsExactly(1L);
      }
    }
    DistCacheNode second = unreplicated.start(first);
    unreplicated.awaitSettled();
    Placement p = second.membership().placement();
    List<String> moved = keys.stream()
        .filter(k -> p.owner(KeySlot.of(ClusterFixture.b(k))).equals(second.membership().self())).toList();
    assertThat(moved).as("some of 64 keys moved to the new member").isNotEmpty();
    if (!headroom.isZero() && System.currentTimeMillis() >= at - headroom.toMillis()) {
      return false;
    }
    assertThat(System.currentTimeMillis()).as("the join settled before the fields' time").isLessThan(at);
    for (String k : moved) {
      assertThat(second.store().fieldExpiryIndex().timeOf(ClusterFixture.b(k))).as(k).isEqualTo(at);
    }
    await().atMost(Duration.ofMillis(Math.max(0, at - System.currentTimeMillis())).plus(ClusterTest.DEADLINE))
        .untilAsserted(() -> {
          for (String k : moved) {
            TypedEntry e = second.store().peekEntry(ClusterFixture.b(k));
            Map<Bytes, Long> ttl = new HashMap<>();
            assertThat(CollectionCodec.decodeHash(e.value(), ttl)).as(k)
                .containsOnlyKeys(new Bytes(ClusterFixture.b("user")));
            assertThat(ttl).isEmpty();
          }
        });
    assertThat(second.store().fieldExpiryIndex().size()).isZero();
    return true;
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
