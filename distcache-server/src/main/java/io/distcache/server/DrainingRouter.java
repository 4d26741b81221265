package io.distcache.server;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.server.cluster.Router;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/*
 * Design: a graceful stop must not cut a request that is halfway through (a forward waiting for
 * the owner's reply), and must not take new work while it waits. Both protocols route through
 * this one wrapper, so it is the single place that knows what is in flight.
 *
 * Only requests that did not complete inside route() are counted: local requests are answered on
 * the event loop before route() returns and are written out before the connections are closed,
 * so counting them would put a shared lock on the hot path for nothing. A forwarded request that
 * passes the draining check in the very instant draining starts may be missed by drain() and cut
 * by the close that follows; its client sees the connection drop, as with any restart.
 */

/** Counts asynchronous requests in flight and refuses new ones with BUSY once draining. */
final class DrainingRouter implements Router {
  private final Router delegate;
  private final Object lock = new Object();
  /** Guarded by lock. */
  private int inFlight;
  private volatile boolean draining;

  DrainingRouter(Router delegate) {
    this.delegate = delegate;
  }

  @Override
  public CompletableFuture<Frame> route(Frame request) {
    return counted(request, false);
  }

  @Override
  public CompletableFuture<Frame> routeReadOnly(Frame request) {
    return counted(request, true);
  }

  private CompletableFuture<Frame> counted(Frame request, boolean readOnly) {
    if (draining) {
      return CompletableFuture.completedFuture(shuttingDown(request));
    }
    CompletableFuture<Frame> reply = readOnly ? delegate.routeReadOnly(request) : delegate.route(request);
    if (!reply.isDone()) {
      synchronized (lock) {
        inFlight++;
      }
      reply.whenComplete((r, e) -> finished());
    }
    return reply;
  }

  /**
   * Refuses new requests from now on and waits until the ones in flight complete, at most {@code
   * timeoutMillis}. Returns the number still in flight (0 when all finished).
   */
  int drain(long timeoutMillis) {
    draining = true;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (lock) {
      while (inFlight > 0) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          break;
        }
        try {
          lock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      return inFlight;
    }
  }

  int inFlight() {
    synchronized (lock) {
      return inFlight;
    }
  }

  private void finished() {
    synchronized (lock) {
      if (--inFlight == 0) {
        lock.notifyAll();
      }
    }
  }

  private static Frame shuttingDown(Frame request) {
    return request.replyError(Status.BUSY, "node is shutting down");
  }
}
