package io.distcache.client;

/**
 * Hears about membership and connection changes; register with {@link
 * DistCacheClient.Builder#listener}. Every method has an empty default, so implement only what you
 * need.
 *
 * <p>Calls come from the client's I/O threads: return quickly and never block there (a blocking
 * client call from a listener fails with {@link IllegalStateException}; use the async methods). An
 * exception thrown by a listener is logged and otherwise ignored.
 */
public interface DistCacheListener {

  /**
   * A member joined the key-owning members of the cluster view (or was in the first view the client
   * received).
   *
   * @param member the member, as the node that reported the view sees it
   */
  default void memberAdded(ClusterMember member) {}

  /**
   * A member left the key-owning members of the cluster view: it left, or the cluster declared it
   * dead.
   *
   * @param member the member as it was last seen among the key-owning ones
   */
  default void memberRemoved(ClusterMember member) {}

  /**
   * The client has its first open connection to a node (after none).
   *
   * @param address the node's {@code host:port}
   */
  default void connected(String address) {}

  /**
   * The client's last open connection to a node closed. Requests for that node go elsewhere or
   * reconnect.
   *
   * @param address the node's {@code host:port}
   */
  default void disconnected(String address) {}
}
