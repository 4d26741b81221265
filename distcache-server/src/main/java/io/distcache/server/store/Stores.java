package io.distcache.server.store;

/** Creates the node's store. The one place that chooses the Store implementation. */
public final class Stores {
  private Stores() {}

  /** A store enforcing {@code config}. */
  public static Store create(StoreConfig config) {
    return new ReferenceStore(config);
  }

  /**
   * The memory bound used when the operator sets none: half of the JVM's maximum heap.
   *
   * <p>The current store keeps entries on the heap, and its accounting (key + value + a fixed
   * overhead) undercounts what the JVM really spends per entry (object headers, map nodes,
   * padding). Half the heap leaves room for that gap, for the garbage collector to work without
   * thrashing, and for request buffers, so a full cache evicts instead of failing with
   * OutOfMemoryError.
   */
  public static long defaultMaxMemoryBytes() {
    return Math.max(1, Runtime.getRuntime().maxMemory() / 2);
  }
}
