package io.distcache.server.placement;

import io.distcache.protocol.cluster.Placement;

/** Told of every new placement, on the thread that installed it, after it is current. */
@FunctionalInterface
public interface PlacementListener {
  void placementChanged(Placement previous, Placement current);
}
