package io.distcache.client;

import io.distcache.protocol.Status;

/** The value is not a number (INCREMENT, INCREMENT_FLOAT). Status {@link Status#NOT_A_NUMBER}. */
public class NotANumberException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public NotANumberException(String message) {
    super(Status.NOT_A_NUMBER, message);
  }
}
