package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.StampedLock;

/*
 * Design: what makes a TRANSACTION atomic. The store locks one segment per operation, so a batch
 * of operations needs a lock above it: 64 stripes, a key's stripe being its Redis slot modulo 64
 * (so every key of one slot, hash tags included, shares a stripe, and a cluster transaction, which
 * is one slot, takes one lock). Every request the executor runs takes its keys' stripes shared; a
 * transaction takes its keys' stripes exclusive, in ascending order (as do the multi-key requests,
 * shared), so no request touching a transaction's keys runs between its requests and no two
 * holders can deadlock.
 *
 * Requests on other keys run beside a transaction; they cannot observe it half done, since they
 * touch none of its keys. Node-wide requests (SCAN, SIZE, FLUSH, RANDOM_KEY), the expiry sweeper,
 * eviction and the slot cleaner do not take stripes; what that leaves visible is in
 * docs/PROTOCOL.md (transactions). The node-wide requests hold ScriptHost's keyspace barrier
 * instead, so they never run between a script's calls.
 *
 * A script (ScriptHost), and a TRANSACTION holding one, takes every stripe exclusive; a wait for a
 * stripe ends with ScriptBusyException (SCRIPT_BUSY) once a script has held it past its busy
 * threshold.
 *
 * Cost for a plain request: the key's slot (CRC16) and one uncontended StampedLock read lock,
 * whose state is the stripe's own (64 stripes make two event loops rarely meet).
 */

/** Striped key locks that make a batch of requests atomic for the keys it names. */
final class TransactionGate {
  static final int STRIPES = 64;

  private final StampedLock[] stripes = new StampedLock[STRIPES];
  /** The node's scripts, whose busy state ends a wait for a stripe (null: no scripts). */
  private final ScriptHost scripts;
  /** The longest a waiter sleeps before it looks at the busy state again. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  TransactionGate() {
    this(null);
  }

  TransactionGate(ScriptHost scripts) {
    this.scripts = scripts;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new StampedLock();
    }
  }

  static int stripe(byte[] key) {
    return KeySlot.of(key) & (STRIPES - 1);
  }

  /** A bit per stripe of {@code keys}. */
  static long mask(List<byte[]> keys) {
    long mask = 0;
    for (byte[] key : keys) {
      mask |= 1L << stripe(key);
    }
    return mask;
  }

  /** Locks a stripe shared; ScriptBusyException once a script holding it passed its busy threshold. */
  long lockShared(int stripe) {
    long stamp = stripes[stripe].tryReadLock();
    return stamp != 0 ? stamp : waitFor(stripes[stripe], false);
  }

  /*
   * The slow path: a transaction or a script holds the stripe. Waits in steps of at most
   * POLL_NANOS so that a script passing its busy threshold during the wait is noticed (the request
   * is then answered BUSY instead of waiting for the script's end, which may never come without
   * SCRIPT KILL).
   */
  private long waitFor(StampedLock lock, boolean exclusive) {
    while (true) {
      long left = scripts == null ? Long.MAX_VALUE : scripts.nanosUntilBusy();
      if (left == 0) {
        throw new ScriptBusyException();
      }
      long step = Math.min(left, POLL_NANOS);
      try {
        long stamp = exclusive ? lock.tryWriteLock(step, TimeUnit.NANOSECONDS)
            : lock.tryReadLock(step, TimeUnit.NANOSECONDS);
        if (stamp != 0) {
          return stamp;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ScriptBusyException();
      }
    }
  }

  void unlockShared(int stripe, long stamp) {
    stripes[stripe].unlockRead(stamp);
  }

  /** Locks every stripe of {@code mask} shared (exclusive when asked), lowest first; the stamps by stripe. */
  long[] lockAll(long mask, boolean exclusive) {
    long[] stamps = new long[STRIPES];
    long taken = 0;
    try {
      for (long m = mask; m != 0; m &= m - 1) {
        int s = Long.numberOfTrailingZeros(m);
        long stamp = exclusive ? stripes[s].tryWriteLock() : stripes[s].tryReadLock();
        stamps[s] = stamp != 0 ? stamp : waitFor(stripes[s], exclusive);
        taken |= 1L << s;
      }
    } catch (ScriptBusyException e) {
      unlockAll(taken, stamps);
      throw e;
    }
    return stamps;
  }

  void unlockAll(long mask, long[] stamps) {
    for (long m = mask; m != 0; m &= m - 1) {
      int s = Long.numberOfTrailingZeros(m);
      stripes[s].unlock(stamps[s]);
    }
  }
}
