package io.distcache.client;

/**
 * The node could not be reached, or the connection dropped while the request was in flight (it
 * may or may not have been applied; {@link #notApplied()} says). The next request reconnects.
 * Retryable: see {@link DistCacheUnavailableException}.
 */
public class DistCacheConnectionException extends DistCacheUnavailableException {
  private static final long serialVersionUID = 1L;

  /**
   * A connection failure after which the request may or may not have been applied.
   *
   * @param message what failed and why
   */
  public DistCacheConnectionException(String message) {
    super(null, message, null, false);
  }

  /**
   * A connection failure after which the request may or may not have been applied.
   *
   * @param message what failed and why
   * @param cause the underlying failure
   */
  public DistCacheConnectionException(String message, Throwable cause) {
    super(null, message, cause, false);
  }

  /**
   * A connection failure.
   *
   * @param message what failed and why
   * @param cause the underlying failure, or null
   * @param notApplied true when the request was certainly never sent (no connection, a failed write)
   */
  public DistCacheConnectionException(String message, Throwable cause, boolean notApplied) {
    super(null, message, cause, notApplied);
  }
}
