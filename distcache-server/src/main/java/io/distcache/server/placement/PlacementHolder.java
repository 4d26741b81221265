package io.distcache.server.placement;

import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.membership.MembershipListener;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/*
 * Design: the node's current placement, rebuilt from membership snapshots and read by every
 * request from one volatile field.
 *
 * Epochs. Nodes have no leader, so an epoch is a Lamport counter: when this node's set of owning
 * members changes, the new placement's epoch is one above the highest epoch it has seen anywhere
 * (its own, or any peer's in a membership message). Two nodes that apply the same change compute
 * the same owners; if they picked different epochs for it, the one that hears a higher epoch for
 * the fingerprint it already has adopts that epoch (observe), so a quiet cluster converges on one
 * (epoch, fingerprint) everywhere. A change that does not move owners (a suspicion, a refutation)
 * builds nothing and keeps the epoch.
 *
 * Order. install() runs under the membership engine's lock, observe() on event loops; listeners
 * are called under this holder's lock, so every listener sees the placements in the order they
 * became current (a SlotGuard told of them out of order kept an older placement; found in review).
 */

/** The current placement, rebuilt when the owning members change. Thread-safe. */
public final class PlacementHolder implements MembershipListener {
  private final int virtualNodes;
  private final int replicas;
  private final List<PlacementListener> listeners = new CopyOnWriteArrayList<>();
  private volatile Placement current = Placement.empty();
  /** Guarded by this: the highest epoch seen from any node, this one included. */
  private long highestSeen;
  /** Guarded by this: the version of the last membership snapshot applied (a late older one is ignored). */
  private long snapshotVersion = -1;

  public PlacementHolder() {
    this(HashRing.DEFAULT_VIRTUAL_NODES);
  }

  public PlacementHolder(int virtualNodes) {
    this(virtualNodes, 0);
  }

  /** @param replicas replicas per slot (Placement.of), 0..{@link Placement#MAX_REPLICAS} */
  public PlacementHolder(int virtualNodes, int replicas) {
    if (replicas < 0 || replicas > Placement.MAX_REPLICAS) {
      throw new IllegalArgumentException("replicas " + replicas + " is outside 0.." + Placement.MAX_REPLICAS);
    }
    this.replicas = replicas;
    if (virtualNodes < 1 || virtualNodes > HashRing.MAX_VIRTUAL_NODES) {
      throw new IllegalArgumentException("virtual nodes " + virtualNodes + " is outside 1.." + HashRing.MAX_VIRTUAL_NODES);
    }
    this.virtualNodes = virtualNodes;
  }

  /** The current placement; empty before the first snapshot. Never blocks. */
  public Placement current() {
    return current;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  /** Replicas per slot. */
  public int replicas() {
    return replicas;
  }

  public void addListener(PlacementListener listener) {
    listeners.add(listener);
  }

  @Override
  public void membershipChanged(MembershipSnapshot snapshot) {
    synchronized (this) {
      if (snapshot.version() <= snapshotVersion) {
        return; // an older snapshot delivered late
      }
      snapshotVersion = snapshot.version();
    }
    install(snapshot.ringMembers(), snapshot.learners(), snapshot.departing());
  }

  /** Installs the placement of these owning members when they differ from the current ones. */
  public void install(List<Member> owners) {
    install(owners, List.of());
  }

  /** Installs the placement of these owning members and learners when they differ from the current ones. */
  public void install(List<Member> owners, List<Member> learners) {
    install(owners, learners, List.of());
  }

  /**
   * Installs the placement of these owning members, learners and departing members (some of the
   * owners) when it differs from the current one.
   */
  public synchronized void install(List<Member> owners, List<Member> learners, List<Member> departing) {
    Placement previous = current;
    long fingerprint = Placement.fingerprint(owners, learners, departing, virtualNodes, replicas);
    if (previous.epoch() != 0 && previous.fingerprint() == fingerprint) {
      return;
    }
    highestSeen = Math.addExact(Math.max(highestSeen, previous.epoch()), 1);
    Placement next = Placement.of(highestSeen, owners, learners, departing, virtualNodes, replicas);
    current = next;
    for (PlacementListener l : listeners) {
      l.placementChanged(previous, next);
    }
  }

  /**
   * A peer said it is at ({@code epoch}, {@code fingerprint}). A higher epoch for the owners we
   * already have is adopted; any higher epoch is remembered so our next change goes above it.
   */
  public synchronized void observe(long epoch, long fingerprint) {
    highestSeen = Math.max(highestSeen, epoch);
    Placement previous = current;
    if (previous.epoch() == 0 || previous.fingerprint() != fingerprint || epoch <= previous.epoch()) {
      return;
    }
    Placement next = previous.withEpoch(epoch);
    current = next;
    for (PlacementListener l : listeners) {
      l.placementChanged(previous, next);
    }
  }

  /** The highest epoch this node has seen from anyone. */
  public synchronized long highestSeenEpoch() {
    return highestSeen;
  }
}
