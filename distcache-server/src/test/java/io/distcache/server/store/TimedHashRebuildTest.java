package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An edit of a large hash with field times that the store rebuilds into a new buffer: the store
 * asks the edit for the new bound and length after the write, when the old buffer is already given
 * back (pooled, or freed when the pool has no room for it); the edit answers from what it read
 * before (a reviewer: reading the old buffer there crashed the JVM with SIGSEGV at 42 MB, or gave
 * the field-expiry index a garbage time).
 */
class TimedHashRebuildTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 2600})
  void rebuildOfATimedHash_keepsItsFieldExpiryIndexEntry(int valueBytes) {
    ManualClock clock = new ManualClock();
    // pool limit = max/16 = 16 MiB: a buffer larger than that is freed at once, not pooled
    OffHeapStore store = new OffHeapStore(new StoreConfig(256L << 20, 128 << 20, EvictionPolicy.NOEVICTION, clock));
    try {
      byte[] key = b("big");
      LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
      for (int i = 0; i < 16_000; i++) {
        hash.put(new Bytes(b("f" + i)), b(("v" + i + "x".repeat(valueBytes)).substring(0, valueBytes)));
      }
      long t = clock.millis() + 1_000_000;
      byte[] payload = CollectionCodec.encodeHash(hash, Map.of(new Bytes(b("f0")), t));
      store.putTyped(key, ValueType.HASH, payload, 0);
      hash = null;
      payload = null;
      assertThat(store.fieldExpiryIndex().timeOf(key)).isEqualTo(t);
      // one new field: the stored buffer has no room, so the store rebuilds into a new buffer
      PackedChange<Void> change = store.editPacked(key, ValueType.HASH, p -> {
        PackedEdit e = PackedEdit.hash(p, List.of(b("new")));
        e.put(0, b("v"));
        return new PackedChange<>(null, e);
      });
      assertThat(change.wrote()).isTrue();
      assertThat(store.fieldExpiryIndex().timeOf(key)).as("the sweep's due time for the hash").isEqualTo(t);
    } finally {
      store.close();
    }
  }
}
