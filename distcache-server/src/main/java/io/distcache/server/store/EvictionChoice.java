package io.distcache.server.store;

import java.nio.ByteBuffer;

/*
 * Design: which entries of the page an eviction walk holds may go, and which of those go now, for
 * each of Redis's policies. Redis answers both questions by sampling: it draws maxmemory-samples
 * keys from the whole keyspace (allkeys-*) or from the keys with an expiry (volatile-*) and evicts
 * the best of them by idle time, LFU counter or remaining TTL, or any of them (*-random). The page
 * log frees memory a page at a time, so here the sample is the oldest page (PageLog): the walk
 * looks at each of its entries once, which is what today's LRU and LFU walks already pay per byte
 * freed, and no write pays more than it did.
 *
 *  - candidate: every live entry under allkeys-*, only entries with an expiry under volatile-*,
 *    none under noeviction. A walk never evicts a non-candidate: it keeps it in place (compact) or
 *    moves it to the head (drain).
 *  - chosen among the candidates:
 *    LRU  those not read since the hand's last pass (the CLOCK bit, ACCESSED), as before;
 *    LFU  those whose decayed counter is at or below the cutoff;
 *    TTL  those whose remaining time ranks at or below the cutoff;
 *    random  all of them: the oldest page's candidates, whatever their use. Position in the log
 *         follows the last write (or move), never a read, so which keys go is blind to use as
 *         Redis's random pick is; it is not uniform over the keyspace (older writes go first).
 *  - the cutoff (LFU, TTL) is the least rank under which lie a quarter of the candidates' bytes in
 *    a decaying sample: this page at full weight plus the pages walked before at half weight per
 *    walk back. A page of hot (or long-lived) keys among colder pages frees nothing and the walk
 *    moves on, instead of losing a quarter of its keys while cold ones elsewhere stay. Ranks are
 *    0..255: the LFU counter itself, or for TTL a log scale of the milliseconds left (four steps per
 *    doubling, so keys expiring in 1 s and in 1.2 s rank apart while a year still fits).
 *
 * One per segment, used under its write lock. The sample is cleared when the policy changes, so
 * counters and TTL ranks never mix.
 */

/** An eviction walk's verdict on each entry of the page it walks (see the design note). */
final class EvictionChoice {
  /** The least share of the candidates' bytes a ranked walk frees (one in four). */
  private static final int EVICT_SHARE = 4;
  private static final int RANKS = 256;

  /** The decaying sample of ranks by bytes (see above); null until a ranked walk runs. */
  private long[] seen;
  private EvictionPolicy seenFor;

  // ---- set by begin, for one walk ----
  private EvictionPolicy policy = EvictionPolicy.NOEVICTION;
  private long now;
  private int nowMinutes;
  private int decayMinutes;
  private int cutoff = -1;

  /** Prepares the verdicts for a walk of one page (limit: its end) under the current configuration. */
  void begin(ByteBuffer pg, int limit, StoreConfig c, long now) {
    this.policy = c.policy();
    this.now = now;
    this.nowMinutes = LfuCounter.minutes(now);
    this.decayMinutes = c.lfuDecayMinutes();
    this.cutoff = ranked() ? cutoff(pg, limit) : -1;
  }

  /** True when the walk may evict this live, unexpired entry (flags: its flags byte). */
  boolean candidate(ByteBuffer pg, int off, int flags) {
    if (!policy.evicts()) {
      return false;
    }
    return !policy.volatileOnly() || EntryCodec.expireAt(pg, off) != Store.NO_EXPIRY;
  }

  /** True when the walk evicts this live, unexpired entry now. */
  boolean chosen(ByteBuffer pg, int off, int flags) {
    if (!candidate(pg, off, flags)) {
      return false;
    }
    if (policy.lru()) {
      return (flags & EntryCodec.FLAG_ACCESSED) == 0;
    }
    if (policy.random()) {
      return true;
    }
    return rank(pg, off) <= cutoff;
  }

  /** True when the policy lets every live entry go (the walks need not keep room for any). */
  boolean everyEntryCandidate() {
    return policy.evicts() && !policy.volatileOnly();
  }

  private boolean ranked() {
    return policy.lfu() || policy == EvictionPolicy.VOLATILE_TTL;
  }

  private int rank(ByteBuffer pg, int off) {
    if (policy.lfu()) {
      return EntryCodec.frequencyAt(pg, off, nowMinutes, decayMinutes);
    }
    return ttlRank(EntryCodec.expireAt(pg, off) - now);
  }

  /** 0..251: four steps per doubling of the milliseconds left (at least 1). */
  static int ttlRank(long remainingMillis) {
    long r = Math.max(1, remainingMillis);
    int log = 63 - Long.numberOfLeadingZeros(r);
    int frac = log >= 2 ? (int) ((r >>> (log - 2)) & 3) : (int) ((r << (2 - log)) & 3);
    return log * 4 + frac;
  }

  /** The least rank such that candidates at or below it hold a quarter of the sample's bytes; -1: empty. */
  private int cutoff(ByteBuffer pg, int limit) {
    if (seen == null || seenFor != policy) {
      seen = new long[RANKS];
      seenFor = policy;
    }
    long[] bytesAt = new long[RANKS];
    for (int r = 0; r < limit; ) {
      int flags = pg.get(r);
      int size = EntryCodec.entrySize(pg, r);
      if ((flags & EntryCodec.FLAG_DEAD) == 0 && !EntryCodec.expiredAt(pg, r, flags, now) && candidate(pg, r, flags)) {
        bytesAt[rank(pg, r)] += size;
      }
      r += size;
    }
    long total = 0;
    for (int i = 0; i < RANKS; i++) {
      seen[i] = seen[i] / 2 + bytesAt[i];
      total += seen[i];
    }
    if (total == 0) {
      return -1;
    }
    long sum = 0;
    for (int i = 0; i < RANKS; i++) {
      sum += seen[i];
      if (sum * EVICT_SHARE >= total) {
        return i;
      }
    }
    return RANKS - 1;
  }
}
