package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/*
 * Design: the full copies this node, as an owner, still owes its replicas. A replica that is new to
 * one of this node's slots (this node took the slot over, or the replica is new to it) holds none
 * of its entries until a full copy from here has ended there; a replica that dropped its copy for
 * another reason asks for one (REPLICA_SYNC). Until then a graceful leave must not go: the others
 * promote the slot's first replica, and what that replica lacks would be lost (a tester: SIGTERM of
 * a second member 0.3-4 s after the first change lost 4-10% of the keys, its new replicas' copies
 * not asked for yet or still queued). So the owner marks, per replica, the slots it owes, at each
 * of its placement changes and at each REPLICA_SYNC it accepts, and clears them once a full copy to
 * that replica has ended and the replica has applied everything sent up to that end.
 *
 * Each mark has a number from one counter; a copy takes the counter when it starts reading the
 * store and clears only marks at or below it, so a replica that asked again meanwhile (it dropped
 * the copy being sent) stays owed until the next copy ends. A change marks the replicas that drop
 * their copy of the slot (SlotGuard's rule, seen from the owner: keepsItsCopy); one that surely
 * keeps a whole one (the owner unchanged, or the old owner that handed the slot to this node when
 * it learned it) is not marked, since it never asks and a leave would otherwise send it the slot
 * again. Where the owner cannot tell, it marks (a copy not needed is harmless: entries are states):
 * after a failover the kept copies may be unfinished. What the owner cannot see: a replica that
 * installed a placement the owner skipped, and dropped its copy there, is owed only from its
 * REPLICA_SYNC on, which the owner refuses until their placements agree; a leave asks each
 * replica what it lacks (REPLICA_LACKS, Replicator.askWhatReplicasLack) and marks that too.
 * Learners are never marked: nothing promotes them, and they copy what they learn themselves.
 * Marks for slots this node no longer owns, or whose replica changed, go at the next change.
 */

/** Per replica, the slots whose full copy this node owes it, and a wait until none is owed. Thread-safe. */
final class OwedCopies {
  private static final int WORDS = KeySlot.SLOTS / 64;

  /** Per replica id, per slot: the number of the mark that is owed, 0 when none. Guarded by this. */
  private final Map<String, long[]> marks = new HashMap<>();
  /** The last mark number given; guarded by this. */
  private long counter;

  /**
   * This node installed {@code next} after {@code previous}: marks every slot it owns in next for
   * each of its replicas that did not replicate it for this node in previous, and forgets the
   * marks next makes pointless. The first placement marks nothing (there was no replica before).
   */
  synchronized void placementChanged(Member me, Placement previous, Placement next) {
    processed = next.fingerprint();
    if (me == null) {
      notifyAll();
      return;
    }
    // Member positions and bit masks (Placement's index queries): this runs once per change, too
    // rarely to be compiled, and per slot and member lookups cost tens of milliseconds cold.
    int meNext = next.indexOf(me);
    long nextLearners = next.learnerMask();
    for (Iterator<Map.Entry<String, long[]>> it = marks.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, long[]> e = it.next();
      Member r = Replicator.memberOf(next, e.getKey());
      int ri = r == null ? -1 : next.indexOf(r);
      boolean gone = ri < 0 || (nextLearners & (1L << ri)) != 0 || meNext < 0;
      long[] m = e.getValue();
      boolean any = false;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if (m[s] != 0 && (gone || next.ownerIndex(s) != meNext || (next.replicaBits(s) & (1L << ri)) == 0)) {
          m[s] = 0;
        }
        any |= m[s] != 0;
      }
      if (!any) {
        it.remove();
      }
    }
    if (previous.isEmpty()) {
      notifyAll();
      return;
    }
    long mark = ++counter;
    int mePrev = previous.indexOf(me);
    long mePrevBit = mePrev < 0 ? 0 : 1L << mePrev;
    int[] nextToPrev = previous.indexesOf(next);
    List<Member> nextMembers = next.members();
    long[][] byIndex = new long[nextMembers.size()][];
    for (int s = 0; meNext >= 0 && s < KeySlot.SLOTS; s++) {
      if (next.ownerIndex(s) != meNext) {
        continue;
      }
      int ob = previous.ownerIndex(s);
      for (long bits = next.replicaBits(s) & ~nextLearners; bits != 0; bits &= bits - 1) {
        int j = Long.numberOfTrailingZeros(bits);
        if (!keepsItsCopy(nextToPrev[j], s, ob, mePrev, mePrevBit, previous)) {
          if (byIndex[j] == null) {
            byIndex[j] = marks.computeIfAbsent(nextMembers.get(j).id(), k -> new long[KeySlot.SLOTS]);
          }
          byIndex[j][s] = mark;
        }
      }
    }
    notifyAll();
  }

  /**
   * True when the replica of slot {@code s} at position {@code rPrev} of {@code previous} (-1: no
   * member there; {@code ownerBefore} and {@code mePrev} likewise) surely keeps through the change
   * a copy that was whole (its SlotGuard decides on its side): it held the slot before and the
   * owner stayed this node, or it owned the slot itself and handed it to this node, which learned
   * it. Anything else is owed, a failover's kept copies included; where this errs, it errs towards
   * owing (a copy sent at a leave that was not needed).
   */
  private static boolean keepsItsCopy(int rPrev, int s, int ownerBefore, int mePrev, long mePrevBit,
      Placement previous) {
    if (ownerBefore >= 0 && rPrev == ownerBefore) {
      return (previous.wouldOwnBits(s) & mePrevBit) != 0;
    }
    // After a failover the other replicas keep their copies, but one may have been unfinished (its
    // copy from the dead owner still running) and it asks again only when it sees it stuck, 10 s
    // later (a reviewer): owed, so a leave sends it the slot.
    return rPrev >= 0 && (previous.replicaBits(s) & (1L << rPrev)) != 0 && ownerBefore >= 0 && ownerBefore == mePrev;
  }

  /** {@code replicaId} asked for a full copy of {@code slots} (a 16,384-bit map): owed until one ends. */
  synchronized void requested(String replicaId, long[] slots) {
    long mark = ++counter;
    long[] m = marks.computeIfAbsent(replicaId, k -> new long[KeySlot.SLOTS]);
    io.distcache.server.placement.SlotGuard.forEach(slots, s -> m[s] = mark);
  }

  /** The number a copy starting now takes: it settles the marks at or below it. */
  synchronized long start() {
    return counter;
  }

  /**
   * A copy that took {@code started} from {@link #start} ended for {@code slots} at
   * {@code replicaId}, which applied everything sent up to its end: their marks at or below it go.
   */
  synchronized void settled(String replicaId, long[] slots, long started) {
    long[] m = marks.get(replicaId);
    if (m == null) {
      return;
    }
    io.distcache.server.placement.SlotGuard.forEach(slots, s -> {
      if (m[s] != 0 && m[s] <= started) {
        m[s] = 0;
      }
    });
    for (long v : m) {
      if (v != 0) {
        notifyAll();
        return;
      }
    }
    marks.remove(replicaId);
    notifyAll();
  }

  /** What is owed now: per replica id, a 16,384-bit map of slots (a copy). */
  synchronized Map<String, long[]> owed() {
    Map<String, long[]> out = new HashMap<>();
    marks.forEach((id, m) -> {
      long[] bits = new long[WORDS];
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if (m[s] != 0) {
          bits[s >>> 6] |= 1L << s;
        }
      }
      out.put(id, bits);
    });
    return out;
  }

  /** Slots owed over every replica (a slot owed to two counts twice). */
  synchronized int count() {
    int n = 0;
    for (long[] m : marks.values()) {
      for (long v : m) {
        n += v != 0 ? 1 : 0;
      }
    }
    return n;
  }

  /** The fingerprint of the last placement processed, 0 before any. Guarded by this. */
  private long processed;

  /**
   * Waits until the placement {@code installed} holds now was processed, or the deadline passes.
   * Read again at each wake-up: one installed right after the one read first moves processed past
   * it, and a wait for the first would sleep to the deadline (a reviewer).
   */
  synchronized void awaitProcessed(java.util.function.Supplier<Placement> installed, long deadlineNanos)
      throws InterruptedException {
    long left;
    while (processed != installed.get().fingerprint() && (left = deadlineNanos - System.nanoTime()) > 0) {
      wait(Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(left)));
    }
  }

  /** Waits until nothing is owed or {@code deadlineNanos} (System.nanoTime()) passes; what is owed then. */
  synchronized int awaitNone(long deadlineNanos) throws InterruptedException {
    long left;
    while (!marks.isEmpty() && (left = deadlineNanos - System.nanoTime()) > 0) {
      wait(Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(left)));
    }
    return count();
  }
}
