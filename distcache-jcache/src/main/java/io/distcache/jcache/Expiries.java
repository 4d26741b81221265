package io.distcache.jcache;

import io.distcache.client.SetOptions;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;

/*
 * Design: the spec's rule for a policy that throws: the operation goes on as if the policy had
 * said nothing, which for a creation means "never expires" (the default) and for an access or an
 * update "leave the expiry as it is". JCache durations become distcache times to live in whole
 * milliseconds, the node's resolution; a positive duration under a millisecond rounds up to one,
 * so it still expires rather than living forever. A duration over MAX_TTL_MILLIS (100 years) is
 * taken as eternal: the node refuses a time to live whose end does not fit in a long of Unix
 * milliseconds, and no cache entry is meant to outlive its cluster.
 */

/** Asks an ExpiryPolicy for durations and turns them into distcache set options. */
final class Expiries {
  /** Longer durations count as eternal. */
  static final long MAX_TTL_MILLIS = java.time.Duration.ofDays(36_500).toMillis();

  private final ExpiryPolicy policy;

  Expiries(ExpiryPolicy policy) {
    this.policy = policy;
  }

  ExpiryPolicy policy() {
    return policy;
  }

  /** The duration of a new entry, never null. */
  Duration forCreation() {
    try {
      Duration d = policy.getExpiryForCreation();
      return d == null ? Duration.ETERNAL : d;
    } catch (RuntimeException e) {
      return Duration.ETERNAL;
    }
  }

  /** The new duration of an accessed entry, null for "unchanged". */
  Duration forAccess() {
    try {
      return policy.getExpiryForAccess();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The new duration of an updated entry, null for "unchanged". */
  Duration forUpdate() {
    try {
      return policy.getExpiryForUpdate();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The time to live of a duration, null for eternal; never called for a zero duration. */
  static java.time.Duration ttl(Duration d) {
    if (d == null || d.isEternal()) {
      return null;
    }
    long millis = d.getTimeUnit().toMillis(d.getDurationAmount());
    if (millis > MAX_TTL_MILLIS) {
      return null;
    }
    return java.time.Duration.ofMillis(Math.max(1, millis));
  }

  /** Set options for an entry that lives for {@code d}: eternal, or a time to live. */
  static SetOptions options(Duration d) {
    java.time.Duration ttl = ttl(d);
    return ttl == null ? SetOptions.none() : SetOptions.ttl(ttl);
  }
}
