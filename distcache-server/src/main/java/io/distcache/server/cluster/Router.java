package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import java.util.concurrent.CompletableFuture;

/**
 * The one place that decides, for every data request, whether this node serves it or forwards it
 * to the owner. Both protocol handlers (binary and RESP) hand their requests here as binary
 * {@link Frame}s, so forwarding, splitting multi-key requests by owner, and the "forward at most
 * once" rule exist once.
 *
 * <p>A request served locally completes before {@link #route} returns (callers may test
 * {@link CompletableFuture#isDone()} to skip asynchronous bookkeeping); a forwarded one completes
 * later on a network thread. The future never completes exceptionally: failures become error
 * frames (INTERNAL_ERROR, BUSY, ...) so callers have one path.
 */
public interface Router {

  CompletableFuture<Frame> route(Frame request);

  /**
   * Like {@link #route}, for a connection that sent READONLY: a read of a slot this node
   * replicates may be answered from its copy where that copy is known to be current (the cluster
   * router's rule; elsewhere it is the same as {@link #route}).
   */
  default CompletableFuture<Frame> routeReadOnly(Frame request) {
    return route(request);
  }

  /**
   * A request a connection will route later (it waits behind a held write, see HeldReply): counted
   * as in flight by a graceful stop until the returned action runs, once it has been routed.
   */
  default Runnable deferred() {
    return () -> { };
  }
}
