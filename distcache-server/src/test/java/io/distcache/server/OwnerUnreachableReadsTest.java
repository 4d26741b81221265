package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.net.RawClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import redis.clients.jedis.Jedis;

/**
 * Reads of a killed owner's keys, before the cluster has declared it dead: a replica answers
 * (issue 11: no error at all for reads a replica can answer). Failure detection is made patient
 * here so the placement cannot change under the reads: what answers is the fallback, not a
 * failover.
 */
class OwnerUnreachableReadsTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.PATIENT);

  @AfterEach
  void tearDown() {
    // Stopped like killed processes: under PATIENT the killed owner stays suspected for minutes,
    // and a graceful leave waits for a suspected member's verdict up to its whole shutdown
    // timeout (30 s per node, what a real node with replicas must do; nothing here tests it).
    List.copyOf(cluster.live()).forEach(cluster::kill);
    cluster.close();
  }

  enum Entry { THE_REPLICA, ANOTHER_MEMBER }

  @ParameterizedTest
  @EnumSource(Entry.class)
  void ownerKilled_readsThroughAnyOtherMember_areAnsweredFromTheReplica_beforeItIsDeclaredDead(Entry via) {
    cluster.cluster(4);
    List<DistCacheNode> nodes = cluster.nodes;
    Map<String, String> acked = ClusterFixture.write(nodes.get(0), "k:", 2000);
    DistCacheNode doomed = nodes.get(3);
    Member dead = doomed.membership().self();
    Placement p = nodes.get(0).membership().placement();
    // The doomed node's keys, each with the member that is to read it (its replica, or a member
    // that is neither owner nor replica, which then asks the replica).
    List<String> keys = new ArrayList<>();
    for (String k : acked.keySet()) {
      int slot = KeySlot.of(ClusterFixture.b(k));
      if (p.owner(slot).equals(dead)) {
        keys.add(k);
      }
    }
    assertThat(keys).isNotEmpty();
    cluster.kill(doomed);

    for (String k : keys) {
      int slot = KeySlot.of(ClusterFixture.b(k));
      Member replica = p.replicas(slot).get(0);
      DistCacheNode entry = cluster.live().stream()
          .filter(n -> via == Entry.THE_REPLICA == n.membership().self().equals(replica))
          .findFirst().orElseThrow();
      try (RawClient c = new RawClient(entry.port())) {
        Frame r = ClusterFixture.call(c, Frame.request(Opcode.GET, ClusterFixture.b(k)));
        assertThat(r.status()).as("GET %s through %s (%s)", k, entry.port(), r.valueText()).isEqualTo(Status.OK);
        assertThat(r.valueText()).isEqualTo(acked.get(k));
      }
    }
    // Nobody was declared dead: the owner is still in every placement, so the replica answered.
    for (DistCacheNode n : cluster.live()) {
      assertThat(n.membership().placement().contains(dead)).isTrue();
    }
    // The same through the Redis protocol, from a plain client of every live member.
    for (DistCacheNode n : cluster.live()) {
      try (Jedis j = new Jedis("127.0.0.1", n.port())) {
        assertThat(j.get(keys.get(0))).isEqualTo(acked.get(keys.get(0)));
      }
    }
  }
}
