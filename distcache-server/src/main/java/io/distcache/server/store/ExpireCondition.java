package io.distcache.server.store;

/** Redis EXPIRE's options. A key without expiry counts as an infinite TTL for GT and LT. */
public enum ExpireCondition {
  ALWAYS,
  /** Only when the key has no expiry. */
  NX,
  /** Only when the key has an expiry. */
  XX,
  /** Only when the new expiry is later than the current one. */
  GT,
  /** Only when the new expiry is earlier than the current one. */
  LT
}
