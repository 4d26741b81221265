package io.distcache.client;

import io.distcache.protocol.Status;

/** An increment would leave the 64-bit range, or a float result would be NaN or infinite. Status {@link Status#OVERFLOW}. */
public class ValueOverflowException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public ValueOverflowException(String message) {
    super(Status.OVERFLOW, message);
  }
}
