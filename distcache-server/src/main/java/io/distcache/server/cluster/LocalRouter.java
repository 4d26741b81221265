package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import java.util.concurrent.CompletableFuture;

/*
 * Design: the single-node router. Every key is ours, so every request is served by the
 * LocalExecutor on the calling thread and handed back already completed (callers can skip
 * asynchronous bookkeeping when isDone()). The executor never throws, so neither does this, and
 * the future never completes exceptionally, as Router requires.
 *
 * A node uses ClusterRouter, which adds the owner check (a one-member ring takes the same local
 * path); this router stays for tests and tools that need a store behind the protocol handlers
 * without a cluster layer.
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
