package io.distcache.client;

/**
 * No reply within the request timeout. The request may still have been applied by the node; a
 * late reply is dropped. Retryable for idempotent requests: see {@link
 * DistCacheUnavailableException}.
 */
public class DistCacheTimeoutException extends DistCacheUnavailableException {
  private static final long serialVersionUID = 1L;

  /**
   * A timeout.
   *
   * @param message what timed out, and after how long
   */
  public DistCacheTimeoutException(String message) {
    super(null, message, null, false);
  }
}
