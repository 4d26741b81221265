package io.distcache.server;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.server.cluster.Router;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/*
 * Design: a graceful stop must not cut a request that is halfway through (a forward waiting for
 * the owner's reply, a write held during the hand-off), and must not fail the requests that still
 * reach the node while it stops. Both protocols route through this one wrapper, so it is the single
 * place that knows what is in flight.
 *
 * While draining, requests are still routed, not refused: by then the node has left, so its own
 * placement sends each one to the slot's new owner (a forward for a plain connection or a peer's
 * late forward, NOT_OWNER / -MOVED for a cluster-aware client). Refusing them with BUSY, as this
 * class once did, showed clients an error for a SIGTERM (FailoverTest saw it under write load).
 *
 * The drain ends when nothing is in flight AND no peer has forwarded anything for a quiet period.
 * A member that confirmed our LEFT routes nothing new to us, but a request it routed just before
 * (flushed at the end of its read cycle, or read late here under load) can still arrive: closing
 * the connections the moment the last counted request finished cut such a request, and its sender
 * reported "owner ... unreachable: connection ... closed" to its client. The quiet period, applied
 * only to a node that was part of a cluster, gives those stragglers time to arrive and be
 * forwarded. Whatever arrives after the bound (DistCacheNode.DRAIN_MILLIS) is cut by the close,
 * as with any restart.
 *
 * Only requests that did not complete inside route() are counted: local requests are answered on
 * the event loop before route() returns and are written out before the connections are closed,
 * so counting them would put a shared lock on the hot path for nothing. The time of the last
 * forwarded request is written only while draining, so the hot path pays one volatile read.
 */

/** Counts asynchronous requests in flight so a graceful stop can wait for them. */
final class DrainingRouter implements Router {
  private final Router delegate;
  private final Object lock = new Object();
  /** Guarded by lock. */
  private int inFlight;
  private volatile boolean draining;
  /** System.nanoTime() of the last FORWARDED request seen while draining. */
  private volatile long lastForwardedNanos;

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
    if (draining && request.hasFlag(Flags.FORWARDED)) {
      lastForwardedNanos = System.nanoTime();
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
   * Waits, at most {@code timeoutMillis}, until no request is in flight and no peer has forwarded
   * one for {@code quietMillis} (0: no quiet period). Requests keep being routed meanwhile. Returns
   * the number still in flight (0 when all finished).
   */
  int drain(long timeoutMillis, long quietMillis) {
    long start = System.nanoTime();
    lastForwardedNanos = start;
    draining = true;
    long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    long quiet = TimeUnit.MILLISECONDS.toNanos(quietMillis);
    synchronized (lock) {
      while (true) {
        long now = System.nanoTime();
        long left = deadline - now;
        long quietLeft = quiet - (now - lastForwardedNanos);
        if (left <= 0 || (inFlight == 0 && quietLeft <= 0)) {
          return inFlight;
        }
        // inFlight changes notify; a forwarded request arriving only moves the end of the quiet
        // period, which the timed wait rechecks.
        long waitNanos = inFlight > 0 ? left : Math.min(left, quietLeft);
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, Math.max(waitNanos, 1));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return inFlight;
        }
      }
    }
  }

  int inFlight() {
    synchronized (lock) {
      return inFlight;
    }
  }

  /**
   * A request a connection holds back behind a held write (HeldReply) counts as in flight from
   * now until it is routed: the drain once ended while such requests waited, the connection was
   * closed, and a pipeline's last batch was executed without an answer (a tester, SIGTERM).
   */
  @Override
  public Runnable deferred() {
    synchronized (lock) {
      inFlight++;
    }
    java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
    return () -> {
      if (once.compareAndSet(false, true)) {
        finished();
      }
    };
  }

  private void finished() {
    synchronized (lock) {
      if (--inFlight == 0) {
        lock.notifyAll();
      }
    }
  }
}
