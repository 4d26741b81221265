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
 *
 * Kept copies. A replica that kept its copy through a change of owner this node did not make (the
 * old owner left or died, and this node took the slot over) is marked too, but it never asks for
 * a copy when the one it kept is whole, so no copy ever came to clear that mark: every leave and
 * failover left the new owner owing the kept slots for good (a tester: 862 and 639 owed on the
 * two stayers of a restart, unchanged a minute later, every key on both its copies), and a later
 * leave of its own sent them all again. Such marks are also noted as kept, and the replica is asked
 * whether its copy is whole (Replicator.confirmKeptCopies: REPLICA_LACKS, read-only, once their
 * placements agree); the slots it holds whole go (confirmedWhole), those it lacks stay owed until
 * a copy ends there (it asks the new owner at once: ReplicaSyncRequester.ownerChanged). A replica
 * that asks for a copy (requested) or drops its copy at a later change is owed for real, no longer
 * merely kept. The answer clears only marks at or below the number taken before asking, as a copy
 * does, so a mark made meanwhile (a newer change, a drop and REPLICA_SYNC) stays.
 */

/** Per replica, the slots whose full copy this node owes it, and a wait until none is owed. Thread-safe. */
final class OwedCopies {
  private static final int WORDS = KeySlot.SLOTS / 64;

  /** Per replica id, per slot: the number of the mark that is owed, 0 when none. Guarded by this. */
  private final Map<String, long[]> marks = new HashMap<>();
  /** The last mark number given; guarded by this. */
  private long counter;
  /**
   * Per replica id, a 16,384-bit map: the marked slots it kept a copy of through a change of owner
   * this node did not make, until it says whether that copy is whole (see the design note). Each
   * bit has a mark in {@link #marks}. Guarded by this.
   */
  private final Map<String, long[]> kept = new HashMap<>();

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
    pruneKept();
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
    long[][] keptByIndex = new long[nextMembers.size()][];
    for (int s = 0; meNext >= 0 && s < KeySlot.SLOTS; s++) {
      if (next.ownerIndex(s) != meNext) {
        continue;
      }
      int ob = previous.ownerIndex(s);
      for (long bits = next.replicaBits(s) & ~nextLearners; bits != 0; bits &= bits - 1) {
        int j = Long.numberOfTrailingZeros(bits);
        int copy = keepsItsCopy(nextToPrev[j], s, ob, mePrev, mePrevBit, previous);
        if (copy != KEEPS) {
          if (byIndex[j] == null) {
            byIndex[j] = marks.computeIfAbsent(nextMembers.get(j).id(), k -> new long[KeySlot.SLOTS]);
            keptByIndex[j] = kept.computeIfAbsent(nextMembers.get(j).id(), k -> new long[WORDS]);
          }
          byIndex[j][s] = mark;
          if (copy == KEPT) {
            keptByIndex[j][s >>> 6] |= 1L << s;
          } else {
            keptByIndex[j][s >>> 6] &= ~(1L << s); // it drops its copy: owed for real
          }
        }
      }
    }
    kept.values().removeIf(OwedCopies::isEmpty);
    notifyAll();
  }

  /** keepsItsCopy's answers: a whole copy kept, a copy owed, a copy kept that may be unfinished. */
  private static final int KEEPS = 0;
  private static final int OWED = 1;
  private static final int KEPT = 2;

  /**
   * Whether the replica of slot {@code s} at position {@code rPrev} of {@code previous} (-1: no
   * member there; {@code ownerBefore} and {@code mePrev} likewise) surely keeps through the change
   * a copy that was whole (its SlotGuard decides on its side), KEEPS: it held the slot before and
   * the owner stayed this node, or it owned the slot itself and handed it to this node, which
   * learned it. KEPT: it held the slot before under another owner, which left or died (a graceful
   * leave's copies and a failover's look alike here); it keeps its copy, which may have been
   * unfinished, so it is owed until it says the copy is whole (see the design note). Anything else
   * is OWED; where this errs, it errs towards owing (a copy sent at a leave that was not needed).
   */
  private static int keepsItsCopy(int rPrev, int s, int ownerBefore, int mePrev, long mePrevBit,
      Placement previous) {
    if (ownerBefore >= 0 && rPrev == ownerBefore) {
      return (previous.wouldOwnBits(s) & mePrevBit) != 0 ? KEEPS : OWED;
    }
    if (rPrev < 0 || (previous.replicaBits(s) & (1L << rPrev)) == 0 || ownerBefore < 0) {
      return OWED;
    }
    // After a failover the other replicas keep their copies, but one may have been unfinished (its
    // copy from the dead owner still running; it asks the new owner again at once, but a leave of
    // this node may come first, a reviewer): owed, so a leave sends it the slot, until it says the
    // copy is whole.
    return ownerBefore == mePrev ? KEEPS : KEPT;
  }

  /** {@code replicaId} asked for a full copy of {@code slots} (a 16,384-bit map): owed until one ends. */
  synchronized void requested(String replicaId, long[] slots) {
    long mark = ++counter;
    long[] m = marks.computeIfAbsent(replicaId, k -> new long[KeySlot.SLOTS]);
    io.distcache.server.placement.SlotGuard.forEach(slots, s -> m[s] = mark);
    long[] k = kept.get(replicaId);
    if (k != null) { // it asked: owed for real until the copy ends, whatever it says of its copy meanwhile
      for (int w = 0; w < WORDS; w++) {
        k[w] &= ~slots[w];
      }
    }
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
    pruneKept();
    for (long v : m) {
      if (v != 0) {
        notifyAll();
        return;
      }
    }
    marks.remove(replicaId);
    notifyAll();
  }

  /** The slots whose marks were kept copies, per replica id, and the number their answers settle up to. */
  record Kept(long asked, Map<String, long[]> slots) {}

  /**
   * What to ask the replicas that kept copies (see the design note): per replica id, the kept
   * slots (a copy), and the mark number their answers settle up to; null when none, or while the
   * placement with {@code installedFingerprint} (the one the question names) is not processed yet:
   * its marks are not made, and an answer under it would settle marks of the one before.
   */
  synchronized Kept keptToConfirm(long installedFingerprint) {
    if (kept.isEmpty() || processed != installedFingerprint) {
      return null;
    }
    Map<String, long[]> out = new HashMap<>();
    kept.forEach((id, k) -> out.put(id, k.clone()));
    return new Kept(counter, out);
  }

  /**
   * {@code replicaId} said it holds whole copies of {@code slots} (asked after {@link #keptToConfirm}
   * gave {@code asked}): the kept marks among them at or below it go. Marks that are not kept
   * copies stay: those the replica drops or asked for are cleared by the copy that ends there.
   */
  synchronized void confirmedWhole(String replicaId, long[] slots, long asked) {
    long[] k = kept.get(replicaId);
    if (k == null) {
      return;
    }
    long[] both = new long[WORDS];
    for (int w = 0; w < WORDS; w++) {
      both[w] = slots[w] & k[w];
    }
    settled(replicaId, both, asked);
  }

  /** Guarded by this: kept bits whose mark is gone go too. */
  private void pruneKept() {
    for (Iterator<Map.Entry<String, long[]>> it = kept.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, long[]> e = it.next();
      long[] m = marks.get(e.getKey());
      long[] k = e.getValue();
      boolean any = false;
      for (int w = 0; w < WORDS; w++) {
        for (long word = k[w]; word != 0; word &= word - 1) {
          int s = w * 64 + Long.numberOfTrailingZeros(word);
          if (m == null || m[s] == 0) {
            k[w] &= ~(1L << s);
          }
        }
        any |= k[w] != 0;
      }
      if (!any) {
        it.remove();
      }
    }
  }

  private static boolean isEmpty(long[] bits) {
    for (long w : bits) {
      if (w != 0) {
        return false;
      }
    }
    return true;
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
