package io.distcache.client;

import io.distcache.protocol.Flags;
import java.time.Duration;
import java.time.Instant;

/**
 * Options of {@link DistCacheClient#set(byte[], byte[], SetOptions)}: an expiry and a condition.
 * Immutable; each method returns a new instance, e.g. {@code SetOptions.ttl(Duration.ofMinutes(5)).ifAbsent()}.
 */
public final class SetOptions {
  private static final SetOptions NONE = new SetOptions(0, 0, false);

  private final int flags;
  /** Relative ttl in ms, or absolute Unix ms when EXPIRY_ABSOLUTE is set; 0 for none. */
  private final long expiry;
  private final boolean hasExpiry;

  private SetOptions(int flags, long expiry, boolean hasExpiry) {
    this.flags = flags;
    this.expiry = expiry;
    this.hasExpiry = hasExpiry;
  }

  /**
   * No expiry, no condition: a plain set (which clears any previous expiry).
   *
   * @return the options
   */
  public static SetOptions none() {
    return NONE;
  }

  /**
   * Expire {@code ttl} after the node receives the write (rounded up to whole milliseconds).
   *
   * @param ttl time to live, positive
   * @return the options
   */
  public static SetOptions ttl(Duration ttl) {
    return NONE.withTtl(ttl);
  }

  /**
   * Expire at an absolute time.
   *
   * @param when the expiry, after the epoch
   * @return the options
   */
  public static SetOptions expireAt(Instant when) {
    return NONE.withExpireAt(when);
  }

  /**
   * These options, expiring {@code ttl} after the write instead.
   *
   * @param ttl time to live, positive
   * @return new options
   */
  public SetOptions withTtl(Duration ttl) {
    return new SetOptions(flags & ~(Flags.EXPIRY_ABSOLUTE | Flags.KEEP_TTL), Durations.positiveMillis("ttl", ttl), true);
  }

  /**
   * These options, expiring at {@code when} instead.
   *
   * @param when the expiry, after the epoch
   * @return new options
   */
  public SetOptions withExpireAt(Instant when) {
    long millis = when.toEpochMilli();
    if (millis <= 0) {
      throw new IllegalArgumentException("expireAt must be after the epoch: " + when);
    }
    return new SetOptions((flags | Flags.EXPIRY_ABSOLUTE) & ~Flags.KEEP_TTL, millis, true);
  }

  /**
   * Write only when the key is absent (Redis NX).
   *
   * @return new options
   */
  public SetOptions ifAbsent() {
    return new SetOptions((flags | Flags.IF_ABSENT) & ~Flags.IF_PRESENT, expiry, hasExpiry);
  }

  /**
   * Write only when the key exists (Redis XX).
   *
   * @return new options
   */
  public SetOptions ifPresent() {
    return new SetOptions((flags | Flags.IF_PRESENT) & ~Flags.IF_ABSENT, expiry, hasExpiry);
  }

  /**
   * Keep the existing entry's expiry (Redis KEEPTTL); drops any ttl set on these options.
   *
   * @return new options
   */
  public SetOptions keepTtl() {
    return new SetOptions((flags | Flags.KEEP_TTL) & ~Flags.EXPIRY_ABSOLUTE, 0, false);
  }

  int flags() {
    return flags;
  }

  /** The SET request's extras. */
  long[] extras() {
    return hasExpiry ? new long[] {expiry} : new long[0];
  }

  @Override
  public String toString() {
    return "SetOptions{flags=0x" + Integer.toHexString(flags) + (hasExpiry ? ", expiry=" + expiry : "") + "}";
  }
}
