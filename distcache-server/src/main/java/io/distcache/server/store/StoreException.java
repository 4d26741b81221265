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
    OUT_OF_MEMORY
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
