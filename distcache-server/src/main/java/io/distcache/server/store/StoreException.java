package io.distcache.server.store;

/** A store operation refused for a reason the caller can report to its client. */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public enum Reason {
    /** The value is not a number of the kind the operation needs. */
    NOT_A_NUMBER,
    /** The result would not fit (64-bit overflow, NaN or infinity). */
    OVERFLOW,
    /** A key or value is over its limit. */
    TOO_LARGE,
    /** The memory bound is reached and the policy is noeviction (or nothing can be evicted). */
    OUT_OF_MEMORY,
    /** The key holds a value of another type (Redis's WRONGTYPE). */
    WRONG_TYPE
  }

  /** Redis's text, without its WRONGTYPE code. */
  public static final String WRONG_TYPE_TEXT = "Operation against a key holding the wrong kind of value";

  /** The refusal of a command on a key holding another type. */
  public static StoreException wrongType() {
    return new StoreException(Reason.WRONG_TYPE, WRONG_TYPE_TEXT);
  }

  private final Reason reason;

  public StoreException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
