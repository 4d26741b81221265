package io.distcache.server;

/**
 * The node's only source of time. Expiry reads {@link #millis()} (wall clock, because TTLs given
 * as absolute Unix times must agree with other machines); failure detection and timeouts read
 * {@link #nanos()} (monotonic, immune to clock steps). Tests inject a manual clock and advance it
 * instead of sleeping.
 */
public interface Clock {

  /** Milliseconds since the Unix epoch. */
  long millis();

  /** A monotonic reading in nanoseconds, meaningful only as a difference. */
  long nanos();

  /**
   * Microseconds since the Unix epoch (TIME, MONITOR). The default has millisecond resolution;
   * the real clock's has the system clock's (microseconds on Linux).
   */
  default long micros() {
    return Math.multiplyExact(millis(), 1000L);
  }

  /** The real clock. */
  static Clock system() {
    return SystemClock.INSTANCE;
  }
}

enum SystemClock implements Clock {
  INSTANCE;

  @Override
  public long millis() {
    return System.currentTimeMillis();
  }

  @Override
  public long nanos() {
    return System.nanoTime();
  }

  @Override
  public long micros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
  }
}
