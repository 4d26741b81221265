package io.distcache.client;

/** When {@link DistCacheClient#expire} applies (Redis EXPIRE's options). */
public enum ExpireCondition {
  /** Always. */
  ALWAYS(0),
  /** Only when the key has no expiry. */
  NX(1),
  /** Only when the key has an expiry. */
  XX(2),
  /** Only when the new expiry is later than the current one (no expiry counts as infinite). */
  GT(3),
  /** Only when the new expiry is earlier than the current one (no expiry counts as infinite). */
  LT(4);

  private final int wire;

  ExpireCondition(int wire) {
    this.wire = wire;
  }

  int wire() {
    return wire;
  }
}
