package io.distcache.server.cluster;

import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.Store;
import java.util.concurrent.atomic.AtomicReference;

/** A member's replica side in tests of one node's replication: its store, placement, guard and applier, as a node has them. */
class ReplicaSide {
  final Member member;
  final Store store;
  final AtomicReference<Placement> placement = new AtomicReference<>(Placement.empty());
  final SlotGuard guard = new SlotGuard(new ManualClock(), 1_000_000_000L);
  final ReplicaApplier applier;

  ReplicaSide(Member member, Store store) {
    this.member = member;
    this.store = store;
    this.applier = new ReplicaApplier(store, placement::get, () -> member, guard);
  }

  /** Installs {@code next} as the node does: the guard first (which copies survive), then the placement. */
  void install(Placement next) {
    guard.placementChanged(member, placement.get(), next, null);
    placement.set(next);
  }
}
