package io.distcache.client;

import io.distcache.protocol.Status;

/** A key, value or frame is over a limit, as reported by the node or found before sending. Status {@link Status#TOO_LARGE}. */
public class TooLargeException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public TooLargeException(String message) {
    super(Status.TOO_LARGE, message);
  }
}
