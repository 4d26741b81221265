package io.distcache.client;

import io.distcache.protocol.Status;

/**
 * A request failed. Errors from a node carry the node's {@link Status}; failures on the client's
 * side (a timeout, a lost connection) carry none. Subclasses name the common cases; {@link
 * StatusErrors} is the one table from status to exception.
 */
public class DistCacheException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Status status;

  /**
   * A failure.
   *
   * @param status the node's status, or null when the failure happened on the client's side
   * @param message what failed and why
   */
  public DistCacheException(Status status, String message) {
    super(message);
    this.status = status;
  }

  /**
   * A failure with a cause.
   *
   * @param status the node's status, or null when the failure happened on the client's side
   * @param message what failed and why
   * @param cause the underlying failure
   */
  public DistCacheException(Status status, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /**
   * The node's status.
   *
   * @return the status, or null when the failure happened on the client's side
   */
  public Status status() {
    return status;
  }
}
