package io.distcache.protocol;

/** Bits of the header's flags byte. */
public final class Flags {
  private Flags() {}

  /** Set on every response. */
  public static final int RESPONSE = 0x80;

  /**
   * Request: sent by a node that forwarded it to the owner. The receiver serves it locally, even
   * when its own ring names another owner (views may differ during a membership change); it never
   * forwards it again.
   */
  public static final int FORWARDED = 0x40;

  /**
   * Request: the sender (a smart client) chose this node as the owner of the key's slot from its
   * own copy of the placement. A receiver that does not own it answers {@link Status#NOT_OWNER}
   * (value: the owner's host:port as ASCII; extras: [placement epoch, slot]) instead of
   * forwarding, so the client learns its view is stale.
   */
  public static final int ROUTED = 0x10;

  /** Request: ttl extras are absolute Unix milliseconds instead of relative milliseconds. */
  public static final int EXPIRY_ABSOLUTE = 0x20;

  /** SET: write only when the key is absent (Redis NX). */
  public static final int IF_ABSENT = 0x01;
  /** SET: write only when the key exists (Redis XX). */
  public static final int IF_PRESENT = 0x02;
  /** SET: keep the existing expiry (Redis KEEPTTL). */
  public static final int KEEP_TTL = 0x04;
  /** SET: return the previous value (Redis SET ... GET). */
  public static final int RETURN_PREVIOUS = 0x08;

  /** GET: also return version and expiry in the extras. */
  public static final int WITH_META = 0x01;

  /** Response to SET with RETURN_PREVIOUS or GET_AND_SET: the value field holds the previous value. */
  public static final int PREVIOUS_PRESENT = 0x01;

  public static boolean has(int flags, int bit) {
    return (flags & bit) != 0;
  }
}
