package io.distcache.server.store;

/*
 * Design: Redis's LFU counter, as its docs describe it (redis.io, "Key eviction", "The new LFU
 * mode"), reimplemented here. A key has an 8-bit counter that grows logarithmically and a 16-bit
 * "last decrement time" in minutes (Unix minutes mod 65,536):
 *
 *  - a new key starts at INIT (5), so it is not the first thing evicted before it had a chance;
 *  - an access first applies the decay, then increments with probability
 *    1 / ((counter - INIT) * lfu-log-factor + 1) (counters below INIT always step up), and stamps
 *    the time; so with the default factor 10, about a million hits take the counter to 255;
 *  - the decay takes one step off per lfu-decay-time minutes since the stamp (0: never), and is
 *    applied lazily, when the key is accessed or looked at (OBJECT FREQ, the eviction walk);
 *    looking does not stamp, so a key nobody reads keeps cooling.
 *
 * The three bytes live in the entry itself (EntryCodec, FLAG_LFU); this class is only the arithmetic,
 * shared by the production store and the reference store so both follow the same rules.
 */

/** Redis's logarithmic access-frequency counter with time decay. */
final class LfuCounter {
  /** A new key's counter (Redis's LFU_INIT_VAL). */
  static final int INIT = 5;
  static final int MAX = 255;
  private static final long MILLIS_PER_MINUTE = 60_000;

  private LfuCounter() {}

  /** The 16-bit minute stamp of a time. */
  static int minutes(long millis) {
    return (int) ((millis / MILLIS_PER_MINUTE) & 0xFFFF);
  }

  /** Minutes from stamp {@code then} to stamp {@code now}, across the 16-bit wrap (about 45 days). */
  static int elapsed(int then, int now) {
    return (now - then) & 0xFFFF;
  }

  /** The counter after the decay owed since its stamp. */
  static int decayed(int counter, int stamp, int nowMinutes, int decayMinutes) {
    if (decayMinutes <= 0) {
      return counter;
    }
    int periods = elapsed(stamp, nowMinutes) / decayMinutes;
    return periods >= counter ? 0 : counter - periods;
  }

  /** One access: steps the counter up with the logarithmic probability; {@code random} is in [0, 1). */
  static int increment(int counter, int logFactor, double random) {
    if (counter >= MAX) {
      return MAX;
    }
    int base = Math.max(0, counter - INIT);
    double p = 1.0 / ((double) base * logFactor + 1);
    return random < p ? counter + 1 : counter;
  }
}
