package io.distcache.server.cluster;

import io.distcache.protocol.cluster.KeySlot;
import java.util.List;
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
 * docs/PROTOCOL.md (transactions).
 *
 * Cost for a plain request: the key's slot (CRC16) and one uncontended StampedLock read lock,
 * whose state is the stripe's own (64 stripes make two event loops rarely meet).
 */

/** Striped key locks that make a batch of requests atomic for the keys it names. */
final class TransactionGate {
  static final int STRIPES = 64;

  private final StampedLock[] stripes = new StampedLock[STRIPES];

  TransactionGate() {
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

  long lockShared(int stripe) {
    return stripes[stripe].readLock();
  }

  void unlockShared(int stripe, long stamp) {
    stripes[stripe].unlockRead(stamp);
  }

  /** Locks every stripe of {@code mask} shared (exclusive when asked), lowest first; the stamps by stripe. */
  long[] lockAll(long mask, boolean exclusive) {
    long[] stamps = new long[STRIPES];
    for (long m = mask; m != 0; m &= m - 1) {
      int s = Long.numberOfTrailingZeros(m);
      stamps[s] = exclusive ? stripes[s].writeLock() : stripes[s].readLock();
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
