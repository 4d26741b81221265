package io.distcache.client;

/**
 * No reply within the request timeout. The request may still have been applied by the node; a
 * late reply is dropped.
 */
public class DistCacheTimeoutException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  public DistCacheTimeoutException(String message) {
    super(null, message);
  }
}
