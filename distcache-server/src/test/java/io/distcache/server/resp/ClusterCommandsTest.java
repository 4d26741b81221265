package io.distcache.server.resp;

import static io.distcache.server.resp.FixedClusterView.A;
import static io.distcache.server.resp.FixedClusterView.B;
import static io.distcache.server.resp.FixedClusterView.C;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.cluster.Router;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Redis Cluster commands' exact replies in RESP2 and RESP3, against a fixed placement. */
class ClusterCommandsTest {
  private static final String ID_A = "a".repeat(40);

  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final FixedClusterView view = new FixedClusterView(A, Placement.of(5, List.of(A)));
  private final List<RespChannel> channels = new ArrayList<>();

  @AfterEach
  void tearDown() {
    channels.forEach(RespChannel::close);
    store.close();
  }

  private RespChannel channel(Router router) {
    RespChannel c = new RespChannel(RespContext.builder(router, store).clock(clock).version("test").cluster(view).build());
    channels.add(c);
    return c;
  }

  private RespChannel local() {
    return channel(new LocalRouter(new LocalExecutor(store)));
  }

  @Test
  void slots_oneMember_resp2AndResp3() {
    RespChannel c = local();
    String node = "*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n" + ID_A + "\r\n";

    assertThat(c.send("CLUSTER SLOTS")).isEqualTo("*1\r\n*3\r\n:0\r\n:16383\r\n" + node + "*0\r\n");
    c.send("HELLO 3");
    assertThat(c.send("CLUSTER SLOTS")).isEqualTo("*1\r\n*3\r\n:0\r\n:16383\r\n" + node + "%0\r\n");
  }

  @Test
  void shards_oneMember_resp2AndResp3() {
    RespChannel c = local();
    String fields = "$2\r\nid\r\n$40\r\n" + ID_A + "\r\n$4\r\nport\r\n:7001\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
        + "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n"
        + "$6\r\nhealth\r\n$6\r\nonline\r\n";
    String slots = "$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n";

    assertThat(c.send("CLUSTER SHARDS")).isEqualTo("*1\r\n*4\r\n" + slots + "*14\r\n" + fields);
    c.send("HELLO 3");
    assertThat(c.send("CLUSTER SHARDS")).isEqualTo("*1\r\n%2\r\n" + slots + "%7\r\n" + fields);
  }

  @Test
  void nodes_oneMember_myselfMasterLine_bulkThenVerbatim() {
    RespChannel c = local();
    String line = ID_A + " 127.0.0.1:7001@7001 myself,master - 0 0 5 connected 0-16383\n";

    assertThat(c.send("CLUSTER NODES")).isEqualTo("$" + line.length() + "\r\n" + line + "\r\n");
    c.send("HELLO 3");
    assertThat(c.send("CLUSTER NODES")).isEqualTo("=" + (line.length() + 4) + "\r\ntxt:" + line + "\r\n");
  }

  @Test
  void nodes_threeMembers_everySlotOnceAndOneMyselfLine() {
    view.placement = Placement.of(7, List.of(A, B, C));
    String text = ClusterCommands.nodesText(view, 1234);

    String[] lines = text.split("\n");
    assertThat(lines).hasSize(3);
    boolean[] covered = new boolean[KeySlot.SLOTS];
    int myself = 0;
    for (String l : lines) {
      String[] f = l.split(" ");
      assertThat(f[0]).hasSize(40);
      assertThat(f[2]).isIn("master", "myself,master");
      myself += f[2].startsWith("myself") ? 1 : 0;
      assertThat(f[3]).isEqualTo("-");
      assertThat(f[6]).isEqualTo("7");
      assertThat(f[7]).isEqualTo("connected");
      for (int i = 8; i < f.length; i++) {
        String[] range = f[i].split("-");
        int first = Integer.parseInt(range[0]);
        int last = range.length == 2 ? Integer.parseInt(range[1]) : first;
        for (int s = first; s <= last; s++) {
          assertThat(covered[s]).as("slot %d listed twice", s).isFalse();
          covered[s] = true;
        }
      }
    }
    assertThat(myself).isEqualTo(1);
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      assertThat(covered[s]).as("slot %d", s).isTrue();
    }
  }

  @Test
  void nodes_replicatedPlacement_mergesAnOwnersAdjacentRanges() {
    // With replicas the placement splits an owner's run where the replica changes; Redis prints
    // one range per run ("34-35", never "34 35").
    Placement p = Placement.of(7, List.of(A, B, C, FixedClusterView.D), io.distcache.protocol.cluster.HashRing.DEFAULT_VIRTUAL_NODES, 1);
    view.placement = p;
    boolean splitInPlacement = false;
    List<Placement.SlotRange> ranges = p.ranges();
    for (int i = 1; i < ranges.size(); i++) {
      splitInPlacement |= ranges.get(i).owner().equals(ranges.get(i - 1).owner());
    }
    assertThat(splitInPlacement).as("the placement has adjacent ranges of one owner").isTrue();

    for (String l : ClusterCommands.nodesText(view, 1234).split("\n")) {
      String[] f = l.split(" ");
      int previousLast = -2;
      for (int i = 8; i < f.length; i++) {
        String[] range = f[i].split("-");
        int first = Integer.parseInt(range[0]);
        assertThat(first).as("%s follows the range ending at %d in: %s", f[i], previousLast, f[0]).isNotEqualTo(previousLast + 1);
        previousLast = range.length == 2 ? Integer.parseInt(range[1]) : first;
      }
    }
  }

  @Test
  void info_redisFieldsThenOurs() {
    String info = local().send("CLUSTER INFO");

    assertThat(info).contains("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\n"
        + "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\n"
        + "cluster_current_epoch:5\r\ncluster_my_epoch:5\r\ncluster_stats_messages_sent:0\r\n"
        + "cluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"
        + "cluster_alive_nodes:1\r\n")
        .contains("cluster_redirects:auto\r\n", "forwarded_requests:0\r\n");
  }

  @Test
  void info_knownNodes_theNodesClusterNodesLists_deadAndLeftCountedApart() {
    view.placement = Placement.of(5, List.of(A, B));
    view.departed.add(new io.distcache.server.membership.MemberStatus(FixedClusterView.C,
        io.distcache.server.membership.MemberState.DEAD, 0));
    view.departed.add(new io.distcache.server.membership.MemberStatus(FixedClusterView.D,
        io.distcache.server.membership.MemberState.LEFT, 0));
    RespChannel c = local();

    // Before: 3 (dead ones counted) beside 2 lines of CLUSTER NODES; in Redis the two agree.
    String nodes = c.send("CLUSTER NODES");
    assertThat(nodes).contains(ID_A, B.id()).doesNotContain(C.id(), FixedClusterView.D.id());
    assertThat(c.send("CLUSTER INFO")).contains("cluster_known_nodes:2\r\n")
        .contains("cluster_alive_nodes:2\r\ncluster_suspect_nodes:0\r\ncluster_dead_nodes:1\r\ncluster_left_nodes:1\r\n");
  }

  /** redis-cli --cluster add-node ends with CLUSTER MEET: told how a node joins here, not "unknown subcommand". */
  @Test
  void meet_refused_sayingHowANodeJoins() {
    RespChannel c = local();

    assertThat(c.send("CLUSTER MEET 127.0.0.1 7002", "CLUSTER MEET 127.0.0.1 7002 17002"))
        .isEqualTo("-" + ClusterCommands.MEET_REFUSED + "\r\n-" + ClusterCommands.MEET_REFUSED + "\r\n");
    assertThat(ClusterCommands.MEET_REFUSED).startsWith("ERR CLUSTER MEET is not supported")
        .contains("-join host:port", "Membership changes");
    assertThat(view.placement.members()).containsExactly(A);
  }

  @Test
  void info_leaseLost_stateFail_noSlotOk_andMessageCountsAreTheNodes() {
    view.leaseHeld = false;
    view.sent = 12;
    view.received = 34;

    // Before: cluster_slots_ok:16384 beside cluster_state:fail on a node that served nothing (a tester).
    assertThat(local().send("CLUSTER INFO"))
        .contains("cluster_state:fail\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:0\r\n"
            + "cluster_slots_pfail:16384\r\ncluster_slots_fail:0\r\n")
        .contains("cluster_stats_messages_sent:12\r\ncluster_stats_messages_received:34\r\n");
  }

  @Test
  void info_emptyPlacement_stateFail() {
    view.placement = Placement.empty();

    assertThat(local().send("CLUSTER INFO")).contains("cluster_state:fail\r\ncluster_slots_assigned:0\r\n");
  }

  @Test
  void myid_keyslot() {
    RespChannel c = local();

    assertThat(c.send("CLUSTER MYID")).isEqualTo("$40\r\n" + ID_A + "\r\n");
    assertThat(c.send("CLUSTER KEYSLOT 123456789", "CLUSTER KEYSLOT {user1000}.following"))
        .isEqualTo(":12739\r\n:" + KeySlot.of("user1000".getBytes(StandardCharsets.US_ASCII)) + "\r\n");
  }

  @Test
  void countAndGetKeysInSlot_localKeysOfThatSlot() {
    RespChannel c = local();
    c.send("SET {x}1 a", "SET {x}2 b", "SET {y}1 c");
    int slot = KeySlot.of("x".getBytes(StandardCharsets.US_ASCII));

    assertThat(c.send("CLUSTER COUNTKEYSINSLOT " + slot)).isEqualTo(":2\r\n");
    assertThat(c.send("CLUSTER GETKEYSINSLOT " + slot + " 1")).startsWith("*1\r\n$4\r\n{x}");
    assertThat(c.send("CLUSTER GETKEYSINSLOT " + slot + " 10")).contains("{x}1", "{x}2").doesNotContain("{y}");
    assertThat(c.send("SET {x}1 again", "DEL {x}2", "CLUSTER COUNTKEYSINSLOT " + slot)).endsWith(":1\r\n");
    assertThat(c.send("CLUSTER COUNTKEYSINSLOT 16384", "CLUSTER GETKEYSINSLOT 1 -1", "CLUSTER COUNTKEYSINSLOT x"))
        .isEqualTo("-ERR Invalid slot\r\n-ERR Invalid slot or number of keys\r\n"
            + "-ERR value is not an integer or out of range\r\n");
  }

  /** GETKEYSINSLOT walks only as far as the slot's count needs: not at all for a slot with no key here. */
  @Test
  void getKeysInSlot_stopsOnceTheSlotsKeysAreFound() {
    java.util.concurrent.atomic.AtomicInteger walks = new java.util.concurrent.atomic.AtomicInteger();
    Store counting = (Store) java.lang.reflect.Proxy.newProxyInstance(Store.class.getClassLoader(),
        new Class<?>[] {Store.class}, (proxy, method, args) -> {
          if (method.getName().equals("scanSlots")) {
            walks.incrementAndGet();
          }
          try {
            return method.invoke(store, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
    RespChannel c = new RespChannel(RespContext.builder(new LocalRouter(new LocalExecutor(counting)), counting)
        .clock(clock).version("test").cluster(view).build());
    channels.add(c);
    c.send("SET {x}1 a", "SET {x}2 b", "SET {y}1 c", "SET {x}3 c PX 10");
    int x = KeySlot.of("x".getBytes(StandardCharsets.US_ASCII));
    int empty = KeySlot.of("z".getBytes(StandardCharsets.US_ASCII));

    assertThat(c.send("CLUSTER GETKEYSINSLOT " + empty + " 10")).isEqualTo("*0\r\n");
    assertThat(c.send("CLUSTER GETKEYSINSLOT " + x + " 0")).isEqualTo("*0\r\n");
    assertThat(walks).as("no walk for a slot with no key here, nor for a count of 0").hasValue(0);
    assertThat(c.send("CLUSTER GETKEYSINSLOT " + x + " 10")).contains("{x}1", "{x}2", "{x}3");

    clock.advance(java.time.Duration.ofMillis(20)); // {x}3 expired, still counted until it is removed
    String listed = c.send("CLUSTER GETKEYSINSLOT " + x + " 10");
    assertThat(listed).startsWith("*2\r\n").contains("{x}1", "{x}2").doesNotContain("{x}3");
  }

  @Test
  void readonlyReadwriteAsking_ok() {
    assertThat(local().send("READONLY", "READWRITE", "ASKING")).isEqualTo("+OK\r\n+OK\r\n+OK\r\n");
  }

  @Test
  void modeEverywhere_cluster() {
    RespChannel c = local();

    assertThat(c.send("INFO server")).contains("redis_mode:cluster\r\n");
    assertThat(c.send("INFO cluster")).contains("# Cluster\r\ncluster_enabled:1\r\ncluster_state:ok\r\n");
    assertThat(c.send("CONFIG GET cluster-enabled")).isEqualTo("*2\r\n$15\r\ncluster-enabled\r\n$3\r\nyes\r\n");
    assertThat(c.send("HELLO 2")).contains("$4\r\nmode\r\n$7\r\ncluster\r\n");
  }

  @Test
  void notOwner_renderedAsMoved() {
    ScriptedRouter router = new ScriptedRouter();
    router.answer(r -> r.reply(Status.NOT_OWNER, 0, "127.0.0.1:7002".getBytes(StandardCharsets.US_ASCII), 9, 3999));
    RespChannel c = channel(router);

    assertThat(c.send("GET k", "MGET a b", "SET k v")).isEqualTo(
        "-MOVED 3999 127.0.0.1:7002\r\n-MOVED 3999 127.0.0.1:7002\r\n-MOVED 3999 127.0.0.1:7002\r\n");
  }

  @Test
  void movedMode_everyKeyedRequestRouted() {
    ScriptedRouter router = new ScriptedRouter();
    view.placement = Placement.of(7, List.of(A, B, C));
    RespChannel c = new RespChannel(RespContext.builder(router, store).clock(clock).cluster(view)
        .redirects(RedirectMode.MOVED).build());
    channels.add(c);

    c.send("GET k", "MGET a b");

    assertThat(router.requests).allSatisfy(r -> assertThat(r.hasFlag(io.distcache.protocol.Flags.ROUTED)).isTrue());
  }

  @Test
  void forwardMode_noRequestRouted() {
    ScriptedRouter router = new ScriptedRouter();
    view.placement = Placement.of(7, List.of(A, B, C));
    RespChannel c = new RespChannel(RespContext.builder(router, store).clock(clock).cluster(view)
        .redirects(RedirectMode.FORWARD).build());
    channels.add(c);

    c.send("READONLY", "GET k", "MGET a b");

    assertThat(router.requests).hasSize(2)
        .allSatisfy(r -> assertThat(r.hasFlag(io.distcache.protocol.Flags.ROUTED)).isFalse());
  }
}
