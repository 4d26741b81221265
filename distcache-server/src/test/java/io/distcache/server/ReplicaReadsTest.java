package io.distcache.server;

import static io.distcache.server.ClusterFixture.address;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisMovedDataException;

/**
 * READONLY connections read a replica's copy (Redis Cluster's replica reads), but never a value
 * older than an acknowledged write: only under sync replication, only within the replica's lease.
 */
class ReplicaReadsTest {

  /** A key whose slot {@code owner} owns and {@code replica} replicates. */
  private static String keyOf(Placement p, DistCacheNode owner, DistCacheNode replica, String prefix) {
    for (int i = 0; ; i++) {
      String k = prefix + i;
      int s = KeySlot.of(k.getBytes(StandardCharsets.UTF_8));
      if (p.owner(s).equals(owner.membership().self()) && p.isReplica(replica.membership().self(), s)) {
        return k;
      }
    }
  }

  /** A key whose slot {@code node} neither owns nor replicates. */
  private static String keyAwayFrom(Placement p, DistCacheNode node, String prefix) {
    Member me = node.membership().self();
    for (int i = 0; ; i++) {
      String k = prefix + i;
      int s = KeySlot.of(k.getBytes(StandardCharsets.UTF_8));
      if (!p.owns(me, s) && !p.isReplica(me, s)) {
        return k;
      }
    }
  }

  /** A READONLY read on a replica: its value, or null when it sent the client to {@code owner} (MOVED). */
  private static String readOnReplica(Jedis r, String key, DistCacheNode owner) {
    try {
      return r.get(key);
    } catch (JedisMovedDataException moved) {
      assertThat(moved.getTargetNode().getPort()).isEqualTo(owner.port());
      return null;
    }
  }

  @Test
  void sync_readonlyReadsOfAReplicatedSlot_areServedByTheReplica_andSeeEveryAcknowledgedWrite() {
    try (ClusterFixture f = new ClusterFixture(1, ReplicationMode.SYNC)) {
      f.cluster(3);
      Placement p = f.nodes.get(0).membership().placement();
      DistCacheNode owner = f.nodes.get(0);
      DistCacheNode replica = f.nodeOf(p.replicas(KeySlot.of(keyOf(p, owner, f.nodes.get(1), "a")
          .getBytes(StandardCharsets.UTF_8))).get(0));
      String key = keyOf(p, owner, replica, "r");
      String away = keyAwayFrom(p, replica, "x");

      try (Jedis w = new Jedis("127.0.0.1", owner.port()); Jedis r = new Jedis("127.0.0.1", replica.port())) {
        assertThat(r.readonly()).isEqualTo("OK");
        // The replica serves a READONLY read only while its copy of the slot is whole and its lease
        // runs; before its first copy ends, or when a loaded host delays a lease renewal, MOVED to
        // the owner is the right answer (a Redis client follows it). So count what it served, and
        // require every served read to be the last acknowledged value.
        int served = 0;
        for (int i = 0; served < 200 && i < 20_000; i++) {
          assertThat(w.set(key, "v" + i)).isEqualTo("OK");
          String seen = readOnReplica(r, key, owner);
          if (seen != null) {
            assertThat(seen).as("read %d on the replica after its write was acknowledged", i).isEqualTo("v" + i);
            served++;
          }
        }
        assertThat(served).isEqualTo(200);
        assertThat(replica.replicaReads()).isEqualTo(200);
        assertThat(r.info("stats")).contains("replica_reads:200");
        // A slot it neither owns nor replicates: MOVED to the owner, as a Redis replica answers.
        assertThatThrownBy(() -> r.get(away)).isInstanceOf(JedisMovedDataException.class)
            .hasMessageContaining(String.valueOf(f.nodeOf(p.owner(KeySlot.of(away.getBytes(StandardCharsets.UTF_8))))
                .port()));
        // READWRITE: reads of the replicated slot go to the owner again.
        assertThat(r.readwrite()).isEqualTo("OK");
        assertThatThrownBy(() -> r.get(key)).isInstanceOf(JedisMovedDataException.class)
            .hasMessageContaining(String.valueOf(owner.port()));
        assertThat(replica.replicaReads()).isEqualTo(200);
      }
    }
  }

  @Test
  void async_readonlyReadsGoToTheOwner_aLaggingCopyIsNeverRead() {
    try (ClusterFixture f = new ClusterFixture(1, ReplicationMode.ASYNC)) {
      f.cluster(2);
      Placement p = f.nodes.get(0).membership().placement();
      DistCacheNode owner = f.nodes.get(0);
      DistCacheNode replica = f.nodes.get(1);
      String key = keyOf(p, owner, replica, "a");
      try (Jedis w = new Jedis("127.0.0.1", owner.port()); Jedis r = new Jedis("127.0.0.1", replica.port())) {
        w.set(key, "v");
        r.readonly();
        assertThatThrownBy(() -> r.get(key)).isInstanceOf(JedisMovedDataException.class)
            .hasMessageContaining(String.valueOf(owner.port()));
        assertThat(replica.replicaReads()).isZero();
      }
    }
  }

  @Test
  void sync_aReplicaCutOffStopsAnsweringBeforeTheOwnerAcknowledgesWithoutIt() {
    try (ClusterFixture f = new ClusterFixture(1, ReplicationMode.SYNC)) {
      f.cluster(3);
      Placement p = f.nodes.get(0).membership().placement();
      DistCacheNode owner = f.nodes.get(0);
      DistCacheNode replica = f.nodes.get(2);
      String key = keyOf(p, owner, replica, "cut");
      try (Jedis w = new Jedis("127.0.0.1", owner.port()); Jedis r = new Jedis("127.0.0.1", replica.port())) {
        w.set(key, "before");
        r.readonly();
        assertThat(await().atMost(ClusterTest.DEADLINE).until(() -> readOnReplica(r, key, owner), Objects::nonNull))
            .isEqualTo("before");

        f.firewall.isolate(address(replica), List.of(address(owner), address(f.nodes.get(1))));
        // Acknowledged only once the replica is no longer a live replica (declared dead): by then
        // its lease has run out and it no longer answers from its copy.
        assertThat(w.set(key, "after")).isEqualTo("OK");
        assertThat(owner.membership().placement().contains(replica.membership().self())).isFalse();
        String seen;
        try {
          seen = r.get(key);
        } catch (redis.clients.jedis.exceptions.JedisDataException expected) {
          seen = null; // MOVED or TRYAGAIN: not served from the old copy
        }
        assertThat(seen).as("a read on the cut-off replica after the write was acknowledged").isNotEqualTo("before");
        f.firewall.clear();
        await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> assertThat(replica.membership().placement().members())
            .hasSize(3));
      }
    }
  }
}
