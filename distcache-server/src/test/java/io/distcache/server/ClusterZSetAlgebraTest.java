package io.distcache.server;

import static io.distcache.server.ClusterFixture.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.ValueType;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.store.ScoredMembers;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.params.ZParams;
import redis.clients.jedis.resps.Tuple;

/**
 * The sorted-set commands over several keys in a two-node cluster with one replica per slot: one
 * slot for all their keys (CROSSSLOT otherwise, as Redis Cluster), run on the owner through any
 * node, and the STORE forms' and ZMPOP's results on the replica (sync replication: acknowledged
 * means applied there).
 */
class ClusterZSetAlgebraTest {
  private static final String CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);
  private DistCacheNode owner;
  private DistCacheNode replica;
  private Jedis j;

  @BeforeEach
  void start() {
    cluster.cluster(2);
    Placement p = cluster.nodes.get(0).membership().placement();
    int slot = KeySlot.of(b("{t}"));
    owner = cluster.nodeOf(p.owner(slot));
    replica = cluster.nodeOf(p.replicas(slot).get(0));
    j = new Jedis("127.0.0.1", replica.port()); // not the owner: forwarded there
  }

  @AfterEach
  void tearDown() {
    j.close();
    cluster.close();
  }

  private List<String> onReplica(String key) {
    TypedEntry e = replica.store().peekEntry(b(key));
    if (e == null) {
      return null;
    }
    assertThat(e.type()).isEqualTo(ValueType.ZSET);
    ScoredMembers z = ScoredMembers.decode(e.value());
    List<String> out = new ArrayList<>();
    for (int i = 0; i < z.size(); i++) {
      out.add(new String(z.get(i).member()) + "=" + z.get(i).score());
    }
    return out;
  }

  @Test
  void keysOfSeveralSlots_areRefusedCrossslot() {
    j.zadd("za", 1, "x");
    assertThatThrownBy(() -> j.zunion(new ZParams(), "za", "zb")).hasMessage(CROSSSLOT);
    assertThatThrownBy(() -> j.zunionstore("zc", "za")).hasMessage(CROSSSLOT);
    assertThatThrownBy(() -> j.zinterstore("{t}d", "za", "{t}a")).hasMessage(CROSSSLOT);
    assertThatThrownBy(() -> j.zrangestore("zc", "za", redis.clients.jedis.params.ZRangeParams.zrangeParams(0, -1)))
        .hasMessage(CROSSSLOT);
    assertThatThrownBy(() -> j.zmpop(redis.clients.jedis.args.SortedSetOption.MIN, "za", "zb")).hasMessage(CROSSSLOT);
    assertThat(j.zrange("za", 0, -1)).containsExactly("x");
  }

  @Test
  void blockingPop_parksOnTheOwner_wokenByAWriteThroughAnotherNode_refusedWhereItWouldWaitForAnotherOwner()
      throws Exception {
    // As Redis Cluster answers: MOVED to the owner, which redis-cli -c and cluster clients follow.
    assertThatThrownBy(() -> j.bzpopmin(0, "{t}q")).hasMessage("MOVED " + KeySlot.of(b("{t}q")) + " "
        + owner.membership().self().address());
    j.zadd("{t}q", 1, "first");
    assertThat(j.bzpopmin(0, "{t}q").getValue()).as("members: forwarded and answered at once")
        .isEqualTo(new Tuple("first", 1.0));
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
    try (Jedis onOwner = new Jedis("127.0.0.1", owner.port(), 0); Jedis ownerInfo = new Jedis("127.0.0.1", owner.port())) {
      var popped = java.util.concurrent.CompletableFuture.supplyAsync(() -> onOwner.bzpopmax(0, "{t}q"), pool);
      org.awaitility.Awaitility.await().atMost(ClusterTest.DEADLINE)
          .until(() -> ownerInfo.info("clients").contains("blocked_clients:1\r\n"));
      assertThat(j.zadd("{t}q", 7, "late")).as("written through the other node").isEqualTo(1);
      assertThat(popped.get(10, java.util.concurrent.TimeUnit.SECONDS).getValue()).isEqualTo(new Tuple("late", 7.0));
      assertThat(onReplica("{t}q")).as("the pop reached the replica").isNull();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void storeFormsAndZmpop_oneSlot_runOnTheOwner_andReachTheReplica() {
    j.zadd("{t}a", Map.of("x", 1.0, "y", 2.0, "z", 3.0));
    j.zadd("{t}b", Map.of("y", 10.0, "w", 20.0));
    assertThat(j.zunionstore("{t}u", "{t}a", "{t}b")).isEqualTo(4);
    assertThat(owner.store().typeOf(b("{t}u"))).isEqualTo(ValueType.ZSET);
    assertThat(onReplica("{t}u")).containsExactly("x=1.0", "z=3.0", "y=12.0", "w=20.0");
    assertThat(j.zinterstore("{t}i", new ZParams().weights(2, 1).aggregate(ZParams.Aggregate.MAX), "{t}a", "{t}b"))
        .isEqualTo(1);
    assertThat(onReplica("{t}i")).containsExactly("y=10.0");
    assertThat(j.zdiffstore("{t}d", "{t}a", "{t}b")).isEqualTo(2);
    assertThat(onReplica("{t}d")).containsExactly("x=1.0", "z=3.0");
    assertThat(j.zrangestore("{t}r", "{t}a", redis.clients.jedis.params.ZRangeParams.zrangeParams(1, 2)))
        .isEqualTo(2);
    assertThat(onReplica("{t}r")).containsExactly("y=2.0", "z=3.0");

    assertThat(j.zinterstore("{t}u", "{t}a", "{t}nothing")).as("an empty result deletes the destination").isZero();
    assertThat(owner.store().typeOf(b("{t}u"))).isNull();
    assertThat(onReplica("{t}u")).isNull();

    var popped = j.zmpop(redis.clients.jedis.args.SortedSetOption.MAX, 2, "{t}none", "{t}b");
    assertThat(popped.getKey()).isEqualTo("{t}b");
    assertThat(popped.getValue()).extracting(Tuple::getElement).containsExactly("w", "y");
    assertThat(onReplica("{t}b")).as("popped to empty: gone on the replica too").isNull();
    assertThat(j.zunion(new ZParams(), "{t}a", "{t}d")).containsExactly("x", "y", "z");
    assertThat(j.zintercard("{t}a", "{t}d")).isEqualTo(2);
  }
}
