package io.distcache.server;

/**
 * A node whose connections all share one event loop, for tests of what waits for a running script:
 * a request waiting for it on the loop would leave every other connection unanswered.
 */
public final class OneLoopNode {
  /** A busy-reply-threshold no test reaches: requests wait for the script instead of turning BUSY. */
  public static final String NEVER_BUSY_MILLIS = "600000";

  private OneLoopNode() {}

  /** Starts a node on a free loopback port with one I/O thread and a 64 MiB store. */
  public static DistCacheNode start() {
    return DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(64L * 1024 * 1024)
        .ioThreads(1)
        .start();
  }
}
