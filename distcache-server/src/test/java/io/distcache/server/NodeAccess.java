package io.distcache.server;

import io.distcache.server.store.Store;

/** Lets tests in other packages reach a node's internals that the public API keeps private. */
public final class NodeAccess {
  private NodeAccess() {}

  public static Store store(DistCacheNode node) {
    return node.store();
  }

  /** Bytes the node has read from every connection since it started. */
  public static long netBytesIn(DistCacheNode node) {
    return node.netBytesIn();
  }

  public static io.distcache.server.resp.RespContext resp(DistCacheNode node) {
    return node.respContext();
  }

  public static io.distcache.server.cluster.ScriptHost scripts(DistCacheNode node) {
    return node.scripts();
  }
}
