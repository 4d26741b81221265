package io.distcache.server.cluster;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Test SlotCopies that keeps the owners whose streams a replica called lost, and ignores the rest. */
final class LostStreams implements ReplicaApplier.SlotCopies {
  final List<String> owners = new CopyOnWriteArrayList<>();

  @Override
  public void copied(int slot, long token) {}

  @Override
  public void drop(long[] slots) {}

  @Override
  public void streamLost(String ownerId) {
    owners.add(ownerId);
  }
}
