package io.distcache.server.resp;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: a bounded, log-linear histogram of durations in microseconds, cheap enough to record
 * every command. Values below 8 us have a bucket each; above, each power of two is split into 8
 * buckets, so a bucket is at most 12.5% wide (Redis's HDR histograms keep 2 significant digits;
 * 12.5% is enough for p50/p99/p99.9 and for Prometheus buckets at powers of two, which are exact
 * bucket bounds here). Everything from 2^31 us (about 36 minutes) up shares the last bucket, so
 * the size is fixed: 8 + 29 * 8 = 240 buckets.
 *
 * Recording is an index computation (a leading-zeros count) and one LongAdder increment, no
 * allocation, no lock: a bucket's adder is created the first time it is hit (one CAS), so an idle
 * command costs one array of references and a busy one the dozen buckets its latencies use.
 */

/** Counts durations in microsecond buckets; safe for concurrent recording and reading. */
public final class LatencyHistogram {
  private static final int LINEAR = 8;
  private static final int SUB_BITS = 3;
  private static final int MAX_EXPONENT = 31;
  static final int BUCKETS = LINEAR + (MAX_EXPONENT - SUB_BITS + 1) * LINEAR;

  private final AtomicReferenceArray<LongAdder> buckets = new AtomicReferenceArray<>(BUCKETS);

  /** Records one duration. Negative durations (a clock step) count as 0. */
  public void record(long micros) {
    int i = index(micros);
    LongAdder a = buckets.get(i);
    if (a == null) {
      buckets.compareAndSet(i, null, new LongAdder());
      a = buckets.get(i);
    }
    a.increment();
  }

  static int index(long micros) {
    if (micros < LINEAR) {
      return micros < 0 ? 0 : (int) micros;
    }
    int exponent = 63 - Long.numberOfLeadingZeros(micros);
    if (exponent > MAX_EXPONENT) {
      return BUCKETS - 1;
    }
    int sub = (int) (micros >>> (exponent - SUB_BITS)) & (LINEAR - 1);
    return LINEAR + (exponent - SUB_BITS) * LINEAR + sub;
  }

  /** The first value (in microseconds) above bucket {@code i}: every value in it is below this. */
  static long upperBound(int i) {
    if (i < LINEAR) {
      return i + 1;
    }
    int exponent = (i - LINEAR) / LINEAR + SUB_BITS;
    int sub = (i - LINEAR) % LINEAR;
    return (long) (LINEAR + sub + 1) << (exponent - SUB_BITS);
  }

  /** The recorded values, counted per bucket (a consistent-enough copy while others record). */
  public long[] counts() {
    long[] out = new long[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
      LongAdder a = buckets.get(i);
      out[i] = a == null ? 0 : a.sum();
    }
    return out;
  }

  /** How many values are below {@code micros}, which must be a power of two of at least 8. */
  public static long countBelow(long[] counts, long micros) {
    long n = 0;
    for (int i = 0; i < BUCKETS && upperBound(i) <= micros; i++) {
      n += counts[i];
    }
    return n;
  }

  /**
   * The value at percentile {@code p} ({@code 0 < p <= 100}) of {@code counts}, in microseconds: the upper
   * bound of the bucket holding it (so at most 12.5% above the true value), 0 when empty.
   */
  public static long percentile(long[] counts, double p) {
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(p / 100.0 * total);
    rank = Math.max(1, Math.min(total, rank));
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts[i];
      if (seen >= rank) {
        return upperBound(i);
      }
    }
    return upperBound(BUCKETS - 1);
  }

  /** Forgets every value (CONFIG RESETSTAT). Values recorded meanwhile may survive. */
  public void reset() {
    for (int i = 0; i < BUCKETS; i++) {
      buckets.set(i, null);
    }
  }
}
