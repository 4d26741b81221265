package io.distcache.server.net;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets one log line through per interval, for events a remote party can trigger at will, so a
 * flood of bad frames costs one line every ten seconds, not one per frame. Counts what it held back.
 */
final class LogLimiter {
  static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final AtomicLong last = new AtomicLong(System.nanoTime() - INTERVAL_NANOS);
  private final AtomicLong suppressed = new AtomicLong();

  /** True when this occurrence may be logged; otherwise it is counted in {@link #takeSuppressed()}. */
  boolean allow() {
    long now = System.nanoTime();
    long l = last.get();
    if (now - l >= INTERVAL_NANOS && last.compareAndSet(l, now)) {
      return true;
    }
    suppressed.incrementAndGet();
    return false;
  }

  /** Occurrences not logged since the last call. */
  long takeSuppressed() {
    return suppressed.getAndSet(0);
  }
}
