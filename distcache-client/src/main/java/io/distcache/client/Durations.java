package io.distcache.client;

import java.time.Duration;

/** Duration checks shared by the options and the client. */
final class Durations {
  private Durations() {}

  /** Whole milliseconds, rounded up so that a tiny positive ttl does not become "no expiry". */
  static long positiveMillis(String what, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
    long millis = d.toMillis();
    return d.equals(Duration.ofMillis(millis)) ? millis : millis + 1;
  }
}
