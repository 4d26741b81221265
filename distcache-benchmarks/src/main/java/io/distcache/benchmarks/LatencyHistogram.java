package io.distcache.benchmarks;

import java.util.concurrent.atomic.AtomicLongArray;

/*
 * Design: a log-linear histogram of nanosecond latencies, lock-free to record from many I/O
 * threads. Below 128 ns every value has its own bucket; above, each power of two is split into 64
 * buckets, so any reported percentile is within 1/64 (1.6%) of the true value. 64-bit values need
 * (64 - 7) * 64 + 128 buckets: a fixed 29 KiB, whatever the run length.
 */
final class LatencyHistogram {
  private static final int SUB_BUCKET_BITS = 6;
  private static final int SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
  private static final int LINEAR = 128;
  private static final int BUCKETS = LINEAR + (64 - 7) * SUB_BUCKETS;

  private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

  void record(long nanos) {
    counts.incrementAndGet(indexOf(Math.max(0, nanos)));
  }

  long count() {
    long n = 0;
    for (int i = 0; i < BUCKETS; i++) {
      n += counts.get(i);
    }
    return n;
  }

  /** The smallest recorded value's bucket upper bound with at least {@code q} of values at or below it. */
  long percentileNanos(double q) {
    long total = count();
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return upperBound(i);
      }
    }
    return upperBound(BUCKETS - 1);
  }

  static int indexOf(long v) {
    if (v < LINEAR) {
      return (int) v;
    }
    int exponent = 63 - Long.numberOfLeadingZeros(v); // >= 7
    int mantissa = (int) (v >>> (exponent - SUB_BUCKET_BITS)) & (SUB_BUCKETS - 1);
    return LINEAR + (exponent - 7) * SUB_BUCKETS + mantissa;
  }

  static long upperBound(int index) {
    if (index < LINEAR) {
      return index;
    }
    int exponent = (index - LINEAR) / SUB_BUCKETS + 7;
    int mantissa = (index - LINEAR) % SUB_BUCKETS;
    long base = 1L << exponent;
    long step = base >>> SUB_BUCKET_BITS;
    return base + (mantissa + 1) * step - 1;
  }
}
