package io.distcache.client;

import io.distcache.protocol.Status;

/**
 * The cluster could not serve the request just now, and may shortly: a node is unreachable
 * ({@link DistCacheConnectionException}), did not answer in time ({@link DistCacheTimeoutException}),
 * is overloaded or shutting down (status BUSY), or the key's slot is changing owner (TRY_AGAIN).
 *
 * <p>This is the retryable type. The client has already retried the request under its {@link
 * RetryPolicy} when it surfaces: always when {@link #notApplied()} is true, and otherwise only for
 * idempotent requests (reads and unconditional writes). A caller that retries a non-idempotent
 * request itself (an increment, an append, a conditional write) should do so only when {@link
 * #notApplied()} is true: otherwise the first attempt may have taken effect.
 */
public class DistCacheUnavailableException extends DistCacheException {
  private static final long serialVersionUID = 1L;

  /** True when the request certainly did not take effect. */
  private final boolean notApplied;

  /**
   * An unavailability whose effect on the cluster is unknown.
   *
   * @param status the node's status, or null when the failure happened on the client's side
   * @param message what failed and why
   */
  public DistCacheUnavailableException(Status status, String message) {
    this(status, message, null, false);
  }

  /**
   * An unavailability.
   *
   * @param status the node's status, or null when the failure happened on the client's side
   * @param message what failed and why
   * @param cause the underlying failure, or null
   * @param notApplied true only when the request certainly did not take effect
   */
  public DistCacheUnavailableException(Status status, String message, Throwable cause, boolean notApplied) {
    super(status, message, cause);
    this.notApplied = notApplied;
  }

  /**
   * True when the request certainly did not take effect (it was never sent, or the node answered
   * that it did nothing), so that any request, idempotent or not, may be sent again; false when it
   * may or may not have been applied (a timeout, a connection lost after sending).
   *
   * @return whether the request certainly did not take effect
   */
  public boolean notApplied() {
    return notApplied;
  }
}
