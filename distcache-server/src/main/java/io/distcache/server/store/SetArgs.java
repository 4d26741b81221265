package io.distcache.server.store;

/**
 * Options of {@link Store#set}.
 *
 * @param condition when to write
 * @param expireAtMillis absolute expiry, or {@link Store#NO_EXPIRY}; ignored when keepTtl
 * @param keepTtl keep the existing entry's expiry (Redis KEEPTTL); a plain set clears it
 * @param returnPrevious return the previous value in {@link SetResult#previous()} (Redis SET ... GET)
 */
public record SetArgs(Condition condition, long expireAtMillis, boolean keepTtl, boolean returnPrevious) {

  public enum Condition {
    ALWAYS,
    /** Redis NX. */
    IF_ABSENT,
    /** Redis XX. */
    IF_PRESENT
  }

  public static final SetArgs ALWAYS = new SetArgs(Condition.ALWAYS, Store.NO_EXPIRY, false, false);

  public SetArgs {
    if (condition == null) {
      throw new IllegalArgumentException("condition cannot be null");
    }
    if (expireAtMillis < 0) {
      throw new IllegalArgumentException("expireAtMillis cannot be negative: " + expireAtMillis);
    }
  }

  public static SetArgs expiringAt(long expireAtMillis) {
    return new SetArgs(Condition.ALWAYS, expireAtMillis, false, false);
  }
}
