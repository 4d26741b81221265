package io.distcache.client;

import io.distcache.protocol.Status;

/** The node is full and its eviction policy is noeviction: writes fail until memory frees up. Status {@link Status#OUT_OF_MEMORY}. */
public class CacheFullException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public CacheFullException(String message) {
    super(Status.OUT_OF_MEMORY, message);
  }
}
