package io.distcache.server.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What TrackingStore passes through to the store it sits in front of. */
class TrackingStoreTest {
  private final ManualClock clock = new ManualClock();

  @Test
  void readTyped_lendsTheStoresOwnView_notAHeapCopy_withTheKeysExpiry() {
    byte[] key = "h".getBytes(StandardCharsets.UTF_8);
    byte[] payload = {1, 1, 'f', 1, 'v'}; // one field f = v
    long expireAt = clock.millis() + 60_000;
    try (Store store = new TrackingStore(
        Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)),
        new TrackingTable())) {
      store.putTyped(key, ValueType.HASH, payload, expireAt);

      // The interface's default would copy the entry to the heap (getTyped); the node's store is
      // off-heap, so its own view is a direct buffer.
      boolean direct = store.readTyped(key, ValueType.HASH, (view, at) -> view.isDirect());
      long readExpiry = store.readTyped(key, ValueType.HASH, (view, at) -> at);
      int length = store.readTyped(key, ValueType.HASH, view -> view.remaining());
      boolean absent = store.readTyped("absent".getBytes(StandardCharsets.UTF_8), ValueType.HASH,
          (view, at) -> view == null && at == Store.NO_EXPIRY);
      assertThat(direct).isTrue();
      assertThat(readExpiry).isEqualTo(expireAt);
      assertThat(length).isEqualTo(payload.length);
      assertThat(absent).isTrue();
    }
  }
}
