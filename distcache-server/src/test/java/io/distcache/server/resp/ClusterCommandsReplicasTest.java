package io.distcache.server.resp;

import static io.distcache.server.resp.FixedClusterView.A;
import static io.distcache.server.resp.FixedClusterView.B;
import static io.distcache.server.resp.FixedClusterView.C;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** CLUSTER SLOTS, SHARDS and INFO with replicas. */
class ClusterCommandsReplicasTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final FixedClusterView view =
      new FixedClusterView(A, Placement.of(5, List.of(A, B), HashRing.DEFAULT_VIRTUAL_NODES, 1));
  private RespChannel channel;

  @AfterEach
  void tearDown() {
    if (channel != null) {
      channel.close();
    }
    store.close();
  }

  private RespChannel local() {
    channel = new RespChannel(RespContext.builder(new LocalRouter(new LocalExecutor(store)), store).clock(clock)
        .version("test").cluster(view).build());
    return channel;
  }

  private static int count(String text, String part) {
    int n = 0;
    for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void slots_twoMembersOneReplica_eachRangeListsOwnerThenTheOtherMember() {
    String reply = local().send("CLUSTER SLOTS");
    List<Placement.SlotRange> shown = ClusterCommands.ownersFirst(view.placement.ranges());
    Placement.SlotRange first = view.placement.ranges().get(0);
    Member replica = first.replicas().get(0);

    // The first range's replica owns slots too: one single-slot entry of its own leads, so a client
    // that takes a node's role from its first appearance (redis-py) sees it as a primary.
    assertThat(shown.get(0).owner()).isEqualTo(replica);
    // the owner in its replica's place: each slot's list has the same length (redis-py's replica reads)
    assertThat(shown.get(0).replicas()).containsExactly(replica);
    int lead = shown.get(0).first();
    String node = "*4\r\n$9\r\n127.0.0.1\r\n:" + replica.address().port() + "\r\n$40\r\n" + replica.id() + "\r\n*0\r\n";
    assertThat(reply).startsWith("*" + shown.size() + "\r\n*4\r\n:" + lead + "\r\n:" + lead + "\r\n" + node + node
        + "*4\r\n:0\r\n:" + first.last()
        + "\r\n*4\r\n$9\r\n127.0.0.1\r\n:" + first.owner().address().port() + "\r\n$40\r\n" + first.owner().id()
        + "\r\n*0\r\n*4\r\n$9\r\n127.0.0.1\r\n:" + replica.address().port() + "\r\n$40\r\n" + replica.id() + "\r\n*0\r\n");
    // every range: [first, last, owner, replica]
    assertThat(count(reply, "\r\n*4\r\n:")).isEqualTo(shown.size());
  }

  @Test
  void ownersFirst_threeMembers_everyOwnerAppearsFirstAsOwner_andEverySlotKeepsItsOwner() {
    Placement p = Placement.of(5, List.of(A, B, C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    List<Placement.SlotRange> shown = ClusterCommands.ownersFirst(p.ranges());

    java.util.Map<Member, String> firstRole = new java.util.HashMap<>();
    int[] owners = new int[io.distcache.protocol.cluster.KeySlot.SLOTS];
    java.util.Arrays.fill(owners, -1);
    List<Member> members = List.of(A, B, C);
    for (Placement.SlotRange r : shown) {
      assertThat(r.replicas()).as("every slot lists as many nodes").hasSize(1);
      firstRole.putIfAbsent(r.owner(), "owner");
      r.replicas().forEach(m -> firstRole.putIfAbsent(m, "replica"));
      for (int slot = r.first(); slot <= r.last(); slot++) {
        assertThat(owners[slot]).as("slot %d listed twice", slot).isEqualTo(-1);
        owners[slot] = members.indexOf(r.owner());
      }
    }
    assertThat(firstRole).containsOnly(java.util.Map.entry(A, "owner"), java.util.Map.entry(B, "owner"),
        java.util.Map.entry(C, "owner"));
    for (int slot = 0; slot < owners.length; slot++) {
      assertThat(members.get(owners[slot])).as("owner of slot %d", slot).isEqualTo(p.owner(slot));
    }
  }

  @Test
  void shards_threeMembersOneReplica_oneShardPerOwnerAndReplica_masterThenReplica() {
    view.placement = Placement.of(5, List.of(A, B, C), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    String reply = local().send("CLUSTER SHARDS");

    // each of 3 owners copies to each of the 2 others somewhere: 6 shards of a master and a replica
    assertThat(reply).startsWith("*6\r\n");
    assertThat(count(reply, "$6\r\nmaster\r\n")).isEqualTo(6);
    assertThat(count(reply, "$7\r\nreplica\r\n")).isEqualTo(6);
  }

  @Test
  void info_saysHowManyCopies_andWhenMembersAreTooFew() {
    assertThat(local().send("CLUSTER INFO"))
        .contains("cluster_replicas:1\r\ncluster_replicas_per_slot:1\r\ncluster_under_replicated:0\r\n");
    view.placement = Placement.of(6, List.of(A), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    assertThat(channel.send("CLUSTER INFO"))
        .contains("cluster_replicas:1\r\ncluster_replicas_per_slot:0\r\ncluster_under_replicated:1\r\n");
  }

  /**
   * A learner (D joining: in the placement, owning nothing yet) is no replica a client can read
   * from, so no command lists it as one. Before: CLUSTER SLOTS listed D as a replica of the slots it
   * learns, and redis-py (4.3.4), which never changes a known node's role on a refresh, kept D a
   * "replica" after it owned slots: scan_iter() skipped its keys for the client's whole life (a tester).
   */
  @Test
  void slotsShardsNodes_aLearner_neverAReplica_aMasterWithoutSlotsInNodesAndShards() {
    Member d = FixedClusterView.D;
    Placement p = Placement.of(5, List.of(A, B, C), List.of(d), HashRing.DEFAULT_VIRTUAL_NODES, 1);
    assertThat(p.isLearner(d)).isTrue();
    assertThat(p.ranges()).as("the placement sends D writes of the slots it learns")
        .anySatisfy(r -> assertThat(r.replicas()).contains(d));
    view.placement = p;
    RespChannel c = local();

    String slots = c.send("CLUSTER SLOTS");
    assertThat(slots).doesNotContain(d.id()).doesNotContain(":" + d.address().port() + "\r\n");
    // every entry still [first, last, owner, its ring replica], all slots covered by their owners
    int entries = Integer.parseInt(slots.substring(1, slots.indexOf('\r')));
    assertThat(count(slots, "\r\n*4\r\n:")).isEqualTo(entries);
    List<Placement.SlotRange> shown = ClusterCommands.ownersFirst(p.ranges());
    assertThat(entries).as("ranges that differed only by the learner are one entry").isLessThan(shown.size());

    String shards = c.send("CLUSTER SHARDS");
    // D heads its own shard without slots and is in no other shard
    assertThat(count(shards, d.id())).isEqualTo(1);
    assertThat(shards).contains("*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\n" + d.id());
    assertThat(count(shards, "$7\r\nreplica\r\n")).isEqualTo(6);

    String nodes = c.send("CLUSTER NODES");
    assertThat(nodes).contains(d.id() + " 127.0.0.1:7004@7004 master - 0 " + clock.millis() + " 5 connected\n");
    assertThat(c.send("CLUSTER INFO")).contains("cluster_known_nodes:4\r\n", "cluster_size:3\r\n",
        "cluster_learning_nodes:1\r\n");
  }

  @Test
  void nodes_withReplicas_everyMemberStillAMasterOfItsSlots() {
    String text = ClusterCommands.nodesText(view, 1234);
    assertThat(text.split("\n")).hasSize(2).allSatisfy(l -> assertThat(l.split(" ")[3]).isEqualTo("-"));
  }
}
