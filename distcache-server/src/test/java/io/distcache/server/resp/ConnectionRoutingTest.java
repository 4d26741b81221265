package io.distcache.server.resp;

import static io.distcache.server.resp.FixedClusterView.A;
import static io.distcache.server.resp.FixedClusterView.B;
import static io.distcache.server.resp.FixedClusterView.C;
import static io.distcache.server.resp.FixedClusterView.D;
import static io.distcache.server.resp.FixedClusterView.keyIn;
import static io.distcache.server.resp.FixedClusterView.slots;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.SlotHistory;
import io.distcache.server.resp.ConnectionRouting.State;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The redirect rule of one connection, in each mode, against a fixed placement. */
class ConnectionRoutingTest {
  private final Placement three = Placement.of(1, List.of(A, B, C));
  private final Placement four = Placement.of(2, List.of(A, B, C, D));
  private final FixedClusterView view = new FixedClusterView(A, three);
  private final SlotHistory history = new SlotHistory(() -> A);

  ConnectionRoutingTest() {
    history.placementChanged(Placement.empty(), three);
  }

  private ConnectionRouting auto() {
    return new ConnectionRouting(RedirectMode.AUTO, view, history);
  }

  /** Sends keys of {@code n} distinct slots A owns now; returns the flags of the last one. */
  private static int sendOwned(ConnectionRouting r, Placement p, int n) {
    int flags = 0;
    for (int slot : slots(p, A, true, n)) {
      flags = r.flagsFor(keyIn(slot));
    }
    return flags;
  }

  /** The 4th member joins: A loses some slots to D. */
  private void join() {
    view.placement = four;
    history.placementChanged(three, four);
  }

  /** A slot A owned with three members and lost to D. */
  private int lostSlot() {
    for (int s = 0; s < 16384; s++) {
      if (three.owns(A, s) && four.owns(D, s)) {
        return s;
      }
    }
    throw new AssertionError("A lost no slot to D");
  }

  @Test
  void auto_keysOfOurSlotsOnly_learningThenRoutedAtQualifySlots() {
    ConnectionRouting r = auto();

    assertThat(sendOwned(r, three, ConnectionRouting.QUALIFY_SLOTS - 1)).isZero();
    assertThat(r.state()).isEqualTo(State.LEARNING);
    assertThat(r.perNode()).isFalse();

    assertThat(r.flagsFor(keyIn(slots(three, A, true, ConnectionRouting.QUALIFY_SLOTS).get(31)))).isEqualTo(Flags.ROUTED);
    assertThat(r.state()).isEqualTo(State.ROUTED);
    assertThat(r.perNode()).isTrue();
  }

  @Test
  void auto_oneHotKeyManyTimes_staysLearning() {
    ConnectionRouting r = auto();
    byte[] hot = keyIn(slots(three, A, true, 1).get(0));

    for (int i = 0; i < 1000; i++) {
      assertThat(r.flagsFor(hot)).isZero();
    }

    assertThat(r.state()).isEqualTo(State.LEARNING);
  }

  @Test
  void auto_aKeyOfAnotherNodesSlot_plainForeverAndNeverRouted() {
    ConnectionRouting r = auto();
    sendOwned(r, three, 5);

    assertThat(r.flagsFor(keyIn(slots(three, A, false, 1).get(0)))).isZero();
    assertThat(r.state()).isEqualTo(State.PLAIN);

    assertThat(sendOwned(r, three, 100)).isZero();
    join();
    assertThat(r.flagsFor(keyIn(lostSlot()))).isZero();
    assertThat(r.state()).isEqualTo(State.PLAIN);
    assertThat(r.perNode()).isFalse();
  }

  @Test
  void auto_routedConnectionAfterAJoin_lostSlotRoutedSoTheRouterAnswersMoved() {
    ConnectionRouting r = auto();
    sendOwned(r, three, ConnectionRouting.QUALIFY_SLOTS);

    join();

    assertThat(r.flagsFor(keyIn(lostSlot()))).isEqualTo(Flags.ROUTED);
    assertThat(r.state()).isEqualTo(State.ROUTED);
  }

  @Test
  void auto_routedConnection_slotWeNeverOwned_plainAndForwarded() {
    ConnectionRouting r = auto();
    sendOwned(r, three, ConnectionRouting.QUALIFY_SLOTS);

    assertThat(r.flagsFor(keyIn(slots(three, A, false, 1).get(0)))).isZero();

    assertThat(r.state()).isEqualTo(State.PLAIN);
  }

  @Test
  void auto_learningConnectionAfterAJoin_lostSlotsCountAndAreForwardedUntilQualified() {
    ConnectionRouting r = auto();
    sendOwned(r, three, 10);
    join();

    assertThat(r.flagsFor(keyIn(lostSlot()))).isZero();

    assertThat(r.state()).isEqualTo(State.LEARNING);
  }

  @Test
  void auto_multiKeyAcrossSlots_plain() {
    ConnectionRouting r = auto();
    List<Integer> owned = slots(three, A, true, 2);

    assertThat(r.flagsFor(List.of(keyIn(owned.get(0)), keyIn(owned.get(1))), 1)).isZero();

    assertThat(r.state()).isEqualTo(State.PLAIN);
  }

  @Test
  void auto_multiKeyInOneOwnedSlot_countsLikeOneKey() {
    ConnectionRouting r = auto();
    sendOwned(r, three, ConnectionRouting.QUALIFY_SLOTS);
    int slot = slots(three, A, true, 1).get(0);

    assertThat(r.flagsFor(List.of(keyIn(slot), "v".getBytes(), keyIn(slot), "w".getBytes()), 2)).isEqualTo(Flags.ROUTED);
  }

  @Test
  void auto_oneMemberPlacement_noEvidence() {
    view.placement = Placement.of(1, List.of(A));
    ConnectionRouting r = auto();

    sendOwned(r, view.placement, 200);

    assertThat(r.state()).isEqualTo(State.LEARNING);
  }

  @Test
  void auto_readonlyReadwriteAsking_clusterConnectionRoutedForEveryKey() {
    ConnectionRouting r = auto();
    r.clusterCommand();

    assertThat(r.flagsFor(keyIn(slots(three, A, false, 1).get(0)))).isEqualTo(Flags.ROUTED);
    assertThat(r.state()).isEqualTo(State.CLUSTER);
    assertThat(r.perNode()).isTrue();
  }

  @Test
  void auto_topologyCommand_perNodeKeyspaceButNoRedirect() {
    ConnectionRouting r = auto();
    r.topologyCommand();

    assertThat(r.perNode()).isTrue();
    assertThat(r.flagsFor(keyIn(slots(three, A, false, 1).get(0)))).isZero();
  }

  @Test
  void moved_everyRequestRoutedAndKeyspacePerNode() {
    ConnectionRouting r = new ConnectionRouting(RedirectMode.MOVED, view, history);

    assertThat(r.flagsFor(keyIn(slots(three, A, false, 1).get(0)))).isEqualTo(Flags.ROUTED);
    assertThat(r.flagsFor(List.of(keyIn(1), keyIn(2)), 1)).isEqualTo(Flags.ROUTED);
    assertThat(r.perNode()).isTrue();
  }

  @Test
  void forward_neverRoutedEvenForClusterConnections() {
    ConnectionRouting r = new ConnectionRouting(RedirectMode.FORWARD, view, history);
    sendOwned(r, three, 100);
    r.clusterCommand();

    assertThat(r.flagsFor(keyIn(slots(three, A, true, 1).get(0)))).isZero();
    assertThat(r.flagsFor(List.of(keyIn(1)), 1)).isZero();
  }

  @Test
  void forward_keyspaceClusterWideUnlessTheConnectionAskedForTheTopology() {
    ConnectionRouting r = new ConnectionRouting(RedirectMode.FORWARD, view, history);
    assertThat(r.perNode()).isFalse();

    r.topologyCommand();

    assertThat(r.perNode()).isTrue();
  }

  @Test
  void noClusterLayer_neverRoutedAndPerNode() {
    ConnectionRouting r = new ConnectionRouting(RedirectMode.MOVED, null, null);

    assertThat(r.flagsFor("k".getBytes())).isZero();
    assertThat(r.perNode()).isTrue();
  }

  @Test
  void slotHistory_keepsTheLastThreePlacementsWithTwoOrMoreOwners() {
    SlotHistory h = new SlotHistory(() -> A);
    Placement solo = Placement.of(1, List.of(A));
    h.placementChanged(Placement.empty(), solo);
    assertThat(h.recentlyOwned(slots(three, A, false, 1).get(0))).as("a one-owner placement is not kept").isFalse();

    h.placementChanged(solo, three);
    int lost = lostSlot();
    h.placementChanged(three, four);
    assertThat(h.recentlyOwned(lost)).isTrue();

    Placement ab = Placement.of(3, List.of(A, B));
    Placement ac = Placement.of(4, List.of(A, C));
    h.placementChanged(four, ab);
    h.placementChanged(ab, ac);
    assertThat(h.recentlyOwned(lost)).isEqualTo(ab.owns(A, lost) || ac.owns(A, lost) || four.owns(A, lost));
  }
}
