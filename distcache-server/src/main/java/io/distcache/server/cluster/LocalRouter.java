package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the single-node router. Every key is ours, so every request is served by the
 * LocalExecutor on the calling thread and handed back already completed (callers can skip
 * asynchronous bookkeeping when isDone()). The executor never throws, so neither does this, and
 * the future never completes exceptionally, as Router requires.
 *
 * The cluster router adds the owner check here: a keyed request whose key another node owns is
 * forwarded (once) to that owner, and a FORWARDED request for a key we do not own is answered
 * NOT_OWNER instead of being served.
 */

/** A {@link Router} that serves every request locally. */
public final class LocalRouter implements Router {
  private final LocalExecutor executor;

  public LocalRouter(LocalExecutor executor) {
    if (executor == null) {
      throw new IllegalArgumentException("executor cannot be null");
    }
    this.executor = executor;
  }

  @Override
  public CompletableFuture<Frame> route(Frame request) {
    return CompletableFuture.completedFuture(executor.execute(request));
  }
}
