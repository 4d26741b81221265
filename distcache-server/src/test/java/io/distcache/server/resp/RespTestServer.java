package io.distcache.server.resp;

import io.distcache.server.DistCacheNode;
import io.distcache.server.NodeAccess;
import io.distcache.server.store.Store;

/**
 * A real node on a free loopback port, for the Redis client tests: the same detector, pipelines,
 * router and store that {@code bin/distcache} runs.
 */
final class RespTestServer implements AutoCloseable {
  static final int MAX_VALUE_BYTES = 4 * 1024 * 1024;

  final DistCacheNode node;
  final Store store;

  RespTestServer() {
    node = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(256L * 1024 * 1024)
        .maxValueBytes(MAX_VALUE_BYTES)
        .start();
    store = NodeAccess.store(node);
  }

  int port() {
    return node.port();
  }

  @Override
  public void close() {
    node.close();
  }
}
