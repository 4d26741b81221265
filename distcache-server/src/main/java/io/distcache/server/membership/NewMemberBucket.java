package io.distcache.server.membership;

/**
 * A token bucket for admitting members never seen before: {@code perSecond} tokens a second, at
 * most {@code capacity} saved. Time is the engine's clock (nanoseconds), so tests drive it by hand.
 * Not thread-safe: the engine serializes access.
 */
final class NewMemberBucket {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final int perSecond;
  private final int capacity;
  private double tokens;
  private long lastNanos;

  NewMemberBucket(int perSecond, int capacity, long nowNanos) {
    if (perSecond < 1 || capacity < 1) {
      throw new IllegalArgumentException("rate " + perSecond + "/s and capacity " + capacity + " must be at least 1");
    }
    this.perSecond = perSecond;
    this.capacity = capacity;
    this.tokens = capacity;
    this.lastNanos = nowNanos;
  }

  /** Takes one token if there is one. */
  boolean tryTake(long nowNanos) {
    long elapsed = nowNanos - lastNanos;
    if (elapsed > 0) {
      tokens = Math.min(capacity, tokens + (double) elapsed * perSecond / NANOS_PER_SECOND);
      lastNanos = nowNanos;
    }
    if (tokens >= 1) {
      tokens -= 1;
      return true;
    }
    return false;
  }
}
