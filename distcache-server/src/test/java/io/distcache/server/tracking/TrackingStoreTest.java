package io.distcache.server.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedChange;
import io.distcache.server.store.PackedEdit;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  void editPacked_editsInTheStoresOwnMemory_andInvalidatesOnlyWhenItWrote() {
    byte[] key = "big".getBytes(StandardCharsets.UTF_8);
    TrackingTable table = new TrackingTable();
    RecordingReader reader = new RecordingReader();
    List<List<byte[]>> told = reader.told;
    table.enable(reader);
    try (Store store = new TrackingStore(
        Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)), table)) {
      List<Boolean> direct = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        List<byte[]> field = List.of(("f" + i).getBytes(StandardCharsets.UTF_8));
        store.editPacked(key, ValueType.HASH, view -> {
          direct.add(view == null || view.isDirect());
          PackedEdit e = PackedEdit.hash(view, field);
          e.put(0, field.get(0));
          return new PackedChange<>(null, e);
        });
      }
      assertThat(direct).as("the store's own view, not the interface's heap copy").containsOnly(true);

      table.remember(7, key);
      store.editPacked(key, ValueType.HASH, view -> {
        PackedEdit e = PackedEdit.hash(view, List.of("absent".getBytes(StandardCharsets.UTF_8)));
        e.remove(0); // removes nothing: no write
        return new PackedChange<>(null, e);
      });
      assertThat(told).as("an edit that changed nothing").isEmpty();
      store.editPacked(key, ValueType.HASH, view -> {
        PackedEdit e = PackedEdit.hash(view, List.of("f1".getBytes(StandardCharsets.UTF_8)));
        e.remove(0);
        return new PackedChange<>(null, e);
      });
      assertThat(told).hasSize(1);
      assertThat(told.get(0)).containsExactly(key);
      assertThat(store.readTyped(key, ValueType.HASH, PackedLookup::count)).isEqualTo(199);
    }
  }

  /**
   * A replicated large string (BufferedValue in heap chunks) lands through the store's own copy
   * from the chunks, not the interface's default array, lends its bytes to peekEntry(key, reader),
   * and invalidates the key's tracked readers as any replicated write does.
   */
  @Test
  void applyReplicatedFromABuffer_storesFromIt_andInvalidates() {
    byte[] key = "big".getBytes(StandardCharsets.UTF_8);
    byte[] value = new byte[200_000];
    new java.util.Random(4).nextBytes(value);
    TrackingTable table = new TrackingTable();
    RecordingReader reader = new RecordingReader();
    table.enable(reader);
    try (Store store = new TrackingStore(
        Stores.create(new StoreConfig(8L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)), table)) {
      table.remember(7, key);
      io.distcache.protocol.BufferedValue held = io.distcache.protocol.BufferedValue.heapCopyOf(
          java.nio.ByteBuffer.wrap(value));

      store.applyReplicated(key, held, Store.NO_EXPIRY, 99);

      assertThat(held.copied()).as("stored from the chunks, not through an array of the value").isFalse();
      assertThat(store.get(key)).isEqualTo(value);
      assertThat(reader.told).hasSize(1);
      long version = store.peekEntry(key, (type, view, v, at) -> view.isDirect() && type == ValueType.STRING ? v : -1);
      assertThat(version).as("the store's own view, with the owner's version").isEqualTo(99);
    }
  }
}
