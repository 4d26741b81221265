package io.distcache.client;

import io.distcache.protocol.Status;

/** The node found the request malformed; a client bug or a version mismatch. Status {@link Status#BAD_REQUEST}. */
public class BadRequestException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /**
   * The exception.
   *
   * @param message what failed, with the node's text
   */
  public BadRequestException(String message) {
    super(Status.BAD_REQUEST, message);
  }
}
