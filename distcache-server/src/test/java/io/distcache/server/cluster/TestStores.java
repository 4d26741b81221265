package io.distcache.server.cluster;

import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.util.List;

/** Stores for tests of one node's replication. */
final class TestStores {
  private TestStores() {}

  /** A 16 MiB reference store on a manual clock, added to {@code closing} (the test closes it). */
  static Store reference(List<AutoCloseable> closing) {
    Store s = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
    closing.add(s);
    return s;
  }
}
