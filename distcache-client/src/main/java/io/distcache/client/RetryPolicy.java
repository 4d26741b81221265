package io.distcache.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: what to retry is decided by the client (DistCacheUnavailableException, and for a request
 * that may have been applied only when it is idempotent); how often and how long to wait is this
 * policy. Backoff doubles from the initial delay up to the maximum, and each wait is drawn between
 * half and all of that ("equal jitter") so that many clients hit by the same failure do not come
 * back in step. The defaults span a node's death until its slots are served again: the failure
 * detector takes it out of the ring (about 3.5-5 s with the nodes' default timeouts,
 * docs/OPERATIONS.md), then its replicas serve its slots once every survivor confirmed and a lease
 * passed (up to about 2.5 s more). 20 attempts wait 50 + 100 + 200 + 400 + 800 + 14 x 1000 ms at
 * most, 15.6 s, and at least half of that, 7.8 s, besides the attempts' own time. (The first
 * default, 10 attempts, waited 2.8-5.5 s: a call issued at the moment of a kill -9 could run out
 * of attempts just before the slots came back, seen in CI in ClientFaultIT.)
 */

/**
 * How the client retries requests that failed with a {@link DistCacheUnavailableException}:
 * bounded attempts with exponential backoff. Immutable.
 *
 * <p>Which requests are retried: any request that certainly did not take effect ({@link
 * DistCacheUnavailableException#notApplied()}), and idempotent requests (reads, unconditional
 * {@code set}/{@code setAll}, {@code ping}) whatever the failure. Other errors (a wrong type, a
 * value too large, a full cache) are never retried.
 */
public final class RetryPolicy {
  private static final RetryPolicy DEFAULTS = new RetryPolicy(20, Duration.ofMillis(50), Duration.ofSeconds(1));
  private static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO);

  /** At most this many attempts: a policy is for transient failures, not a queue. */
  public static final int MAX_ATTEMPTS_LIMIT = 100;

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;

  private RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
  }

  /**
   * The default: 20 attempts, backoff from 50 ms doubling up to 1 s (7.8-15.6 s of waits in all),
   * enough to ride out a node's death until its replicas serve its slots.
   *
   * @return the default policy
   */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * No retries: every failure reaches the caller at once.
   *
   * @return a policy of one attempt
   */
  public static RetryPolicy none() {
    return NONE;
  }

  /**
   * A policy of your own.
   *
   * @param maxAttempts attempts in all, the first included: 1 to {@value #MAX_ATTEMPTS_LIMIT}
   * @param initialBackoff the wait before the first retry; not negative
   * @param maxBackoff the longest wait between two attempts; at least {@code initialBackoff}
   * @return the policy
   * @throws IllegalArgumentException when a value is out of range
   */
  public static RetryPolicy of(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
      throw new IllegalArgumentException("maxAttempts must be 1 to " + MAX_ATTEMPTS_LIMIT + ", got: " + maxAttempts);
    }
    if (initialBackoff.isNegative()) {
      throw new IllegalArgumentException("initialBackoff cannot be negative: " + initialBackoff);
    }
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException(
          "maxBackoff must be at least initialBackoff (" + initialBackoff + "), got: " + maxBackoff);
    }
    return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff);
  }

  /**
   * Attempts in all, the first included.
   *
   * @return at least 1
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /**
   * The wait before the first retry.
   *
   * @return the initial backoff
   */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  /**
   * The longest wait between two attempts.
   *
   * @return the maximum backoff
   */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  /** The wait in nanoseconds before retry number {@code retry} (1 for the first retry). */
  long backoffNanos(int retry) {
    long initial = initialBackoff.toNanos();
    long max = maxBackoff.toNanos();
    long ceiling = retry >= 32 ? max : Math.min(max, initial << Math.min(retry - 1, 30));
    if (ceiling < initial) {
      ceiling = max; // the shift overflowed
    }
    long half = ceiling / 2;
    return half + (ceiling - half > 0 ? ThreadLocalRandom.current().nextLong(ceiling - half + 1) : 0);
  }

  @Override
  public String toString() {
    return "RetryPolicy[maxAttempts=" + maxAttempts + ", initialBackoff=" + initialBackoff + ", maxBackoff="
        + maxBackoff + "]";
  }
}
