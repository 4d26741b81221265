package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.placement.PlacementListener;
import java.util.function.Supplier;

/*
 * Design: the Redis protocol's redirect rule (docs/PROTOCOL.md, "Redirects") must tell a slot this
 * node recently lost (a cluster client may still have it in its map: it deserves MOVED) from a
 * slot no recent map gave this node (the sender is a plain client). So this keeps the slots this
 * node owned in each of its last KEPT placements: one 16,384-bit set per placement, newest first.
 *
 * Why only the last few: over many changes (a rolling restart moves slots back and forth) "ever
 * owned" would grow towards every slot, and then a plain connection's keys would look like a
 * cluster client's. Three placements cover the change that just happened and the one before it;
 * a cluster client whose map is older than that is forwarded (correct, one hop slower).
 *
 * Placements with fewer than two owners are not kept: with one owner every slot is ours, so a
 * one-node cluster that grows would make every key look routed by a map.
 *
 * Sets are built on the placement listener's thread (membership) and published as one immutable
 * array through a volatile field; readers (every event loop) do one volatile read and a bit test.
 * The first placement is installed while membership starts, before this node's member is known
 * here, so each change also records the previous placement when nothing is kept yet.
 */

/** The slots this node owned in its last few placements. Thread-safe. */
public final class SlotHistory implements PlacementListener {
  /** Placements remembered, the current one included. */
  static final int KEPT = 3;

  private final Supplier<Member> self;
  /** Newest first; immutable once published. */
  private volatile long[][] recent = new long[0][];
  /** Guarded by this: the fingerprint of recent[0], so an epoch-only change adds nothing. */
  private long newestFingerprint;

  /** {@code self} supplies this node's member, or null while it is not known yet. */
  public SlotHistory(Supplier<Member> self) {
    this.self = self;
  }

  @Override
  public void placementChanged(Placement previous, Placement current) {
    Member me = self.get();
    if (me == null) {
      return;
    }
    synchronized (this) {
      if (recent.length == 0) {
        record(previous, me);
      }
      record(current, me);
    }
  }

  /** Remembers the slots {@code member} owns in {@code placement} (kept only with two or more owners). */
  public synchronized void record(Placement placement, Member member) {
    if (placement.ownerCount() < 2 || !placement.contains(member)) {
      return;
    }
    if (recent.length > 0 && placement.fingerprint() == newestFingerprint) {
      return; // same owners, new epoch
    }
    long[] bits = new long[KeySlot.SLOTS / 64];
    int at = placement.indexOf(member); // contained: checked above
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (placement.ownerIndex(s) == at) {
        bits[s >>> 6] |= 1L << (s & 63);
      }
    }
    long[][] next = new long[Math.min(KEPT, recent.length + 1)][];
    next[0] = bits;
    System.arraycopy(recent, 0, next, 1, next.length - 1);
    newestFingerprint = placement.fingerprint();
    recent = next;
  }

  /** True when this node owned {@code slot} in one of its last {@value #KEPT} placements (with two or more owners). */
  public boolean recentlyOwned(int slot) {
    if (slot < 0 || slot >= KeySlot.SLOTS) {
      throw new IllegalArgumentException("slot " + slot + " is outside 0.." + (KeySlot.SLOTS - 1));
    }
    for (long[] bits : recent) {
      if ((bits[slot >>> 6] & (1L << (slot & 63))) != 0) {
        return true;
      }
    }
    return false;
  }
}
