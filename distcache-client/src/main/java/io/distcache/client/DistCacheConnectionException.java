package io.distcache.client;

/**
 * The node could not be reached, or the connection dropped while the request was in flight (it
 * may or may not have been applied). The next request reconnects.
 */
public class DistCacheConnectionException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  public DistCacheConnectionException(String message) {
    super(null, message);
  }

  public DistCacheConnectionException(String message, Throwable cause) {
    super(null, message, cause);
  }
}
