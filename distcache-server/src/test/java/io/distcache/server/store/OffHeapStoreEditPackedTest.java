package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Store.editPacked on the off-heap store: a large hash or set edited where it lies, rebuilt with
 * room to grow, or put as before, holds what decoding, changing and encoding gives, with a new
 * version per write, its expiry kept, its room within the value limit and the memory bound, and
 * the store's bookkeeping (OffHeapStore.validate) whole after every step.
 */
class OffHeapStoreEditPackedTest {
  private static final int LIMIT = PackedIndex.INDEXED_ABOVE;
  private final ManualClock clock = new ManualClock();
  private final List<OffHeapStore> stores = new ArrayList<>();

  @AfterEach
  void close() {
    stores.forEach(OffHeapStore::close);
  }

  private OffHeapStore store(long maxMemory, int maxValue, EvictionPolicy policy) {
    OffHeapStore s = new OffHeapStore(new StoreConfig(maxMemory, maxValue, policy, clock));
    stores.add(s);
    return s;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** HSET (values) or HDEL (null values) of {@code names} through editPacked; whether it wrote. */
  private static boolean hset(Store store, byte[] key, List<byte[]> names, List<byte[]> values) {
    return store.editPacked(key, ValueType.HASH, payload -> {
      PackedEdit e = PackedEdit.hash(payload, names);
      for (int i = 0; i < names.size(); i++) {
        if (values.get(i) == null) {
          e.remove(i);
        } else {
          e.put(i, values.get(i));
        }
      }
      return new PackedChange<>(e.size(), e);
    }).wrote();
  }

  private static void hset(Store store, byte[] key, String field, String value) {
    hset(store, key, List.of(b(field)), java.util.Collections.singletonList(value == null ? null : b(value)));
  }

  /** The key holds the model's hash (absent when empty), and the store's bookkeeping is whole. */
  private static void assertHolds(OffHeapStore store, byte[] key, LinkedHashMap<Bytes, byte[]> model) {
    TypedEntry e = store.getTyped(key);
    if (model.isEmpty()) {
      assertThat(e).isNull();
      assertThat(store.validate()).isNull();
      return;
    }
    assertThat(e.type()).isEqualTo(ValueType.HASH);
    if (model.size() > LIMIT) {
      PackedIndex.verify(ByteBuffer.wrap(e.value()), true);
    }
    LinkedHashMap<Bytes, byte[]> got = CollectionCodec.decodeHash(e.value());
    assertThat(new ArrayList<>(got.keySet())).isEqualTo(new ArrayList<>(model.keySet()));
    got.forEach((k, v) -> assertThat(v).as("field %s", k).isEqualTo(model.get(k)));
    assertThat(store.validate()).as("the store's bookkeeping").isNull();
  }

  /** The payload's bytes in a large buffer: its key's length, the key, the payload. */
  private static long needed(OffHeapStore store, byte[] key) {
    return 4 + key.length + store.getTyped(key).value().length;
  }

  @Provide
  Arbitrary<List<PackedIndexTest.Command>> commands() {
    return new PackedIndexTest().commands();
  }

  @Property(tries = 40)
  void editPacked_randomWritesOnEitherLayout_matchTheModel_withANewVersionPerWrite(
      @ForAll @IntRange(min = 0, max = 3 * LIMIT) int size, @ForAll("commands") List<PackedIndexTest.Command> commands,
      @ForAll boolean smallPages, @ForAll boolean expires) {
    // 1 MiB: 1 KiB pages, every indexed hash is a large entry; 64 MiB: 64 KiB pages, a small one
    // starts inline and moves to a large buffer on its first write
    OffHeapStore store = store(smallPages ? 1L << 20 : 64L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES,
        EvictionPolicy.NOEVICTION);
    byte[] key = b("h");
    long at = expires ? clock.millis() + 3_600_000 : Store.NO_EXPIRY;
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      model.put(new Bytes(b("f" + i)), b("v" + i % 10));
    }
    if (!model.isEmpty()) {
      store.putTyped(key, ValueType.HASH, CollectionCodec.encodeHash(model), at);
    }
    for (PackedIndexTest.Command c : commands) {
      List<byte[]> names = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      boolean indexed = model.size() > LIMIT;
      for (int i = 0; i < c.names().size(); i++) {
        names.add(b("f" + c.names().get(i)));
        String v = c.values().get(i);
        values.add(v == null ? null : b(v));
        if (v == null) {
          model.remove(new Bytes(names.get(i)));
        } else {
          PackedIndexTest.put(model, new Bytes(names.get(i)), b(v), indexed);
        }
      }
      TypedEntry before = store.getTyped(key);
      boolean wrote = hset(store, key, names, values);
      assertHolds(store, key, model);
      TypedEntry after = store.getTyped(key);
      if (before != null && after != null) {
        assertThat(after.version()).as("a write gives a new version, WATCH sees it")
            .isEqualTo(wrote ? after.version() : before.version());
        if (wrote) {
          assertThat(after.version()).isNotEqualTo(before.version());
        }
        assertThat(after.expireAtMillis()).as("the expiry is kept").isEqualTo(before.expireAtMillis());
      }
    }
  }

  @Property(tries = 20)
  void editPacked_onTheReferenceStore_leavesWhatTheOffHeapStoreLeaves(
      @ForAll("commands") List<PackedIndexTest.Command> commands) {
    OffHeapStore offHeap = store(1L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    try (ReferenceStore reference = new ReferenceStore(offHeap.config())) {
      byte[] key = b("h");
      for (int i = 0; i < 2 * LIMIT; i++) {
        hset(offHeap, key, "f" + i, "v");
        hset(reference, key, "f" + i, "v");
      }
      for (PackedIndexTest.Command c : commands) {
        List<byte[]> names = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < c.names().size(); i++) {
          names.add(b("f" + c.names().get(i)));
          values.add(c.values().get(i) == null ? null : b(c.values().get(i)));
        }
        assertThat(hset(reference, key, names, values)).isEqualTo(hset(offHeap, key, names, values));
        TypedEntry mine = offHeap.getTyped(key);
        TypedEntry theirs = reference.getTyped(key);
        if (theirs == null) {
          assertThat(mine).isNull();
        } else {
          assertThat(CollectionCodec.decodeHash(mine.value())).containsExactlyEntriesOf(
              CollectionCodec.decodeHash(theirs.value()));
        }
      }
    }
  }

  @Test
  void editPacked_appendsAndSameLengthReplacements_stayInTheirBuffer() {
    OffHeapStore store = store(64L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    byte[] key = b("big");
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 2000; i++) {
      hset(store, key, "f" + i, "v" + (1000 + i));
      model.put(new Bytes(b("f" + i)), b("v" + (1000 + i)));
    }
    long room = store.largeRoom(key);
    assertThat(room).as("a large buffer with room to spare").isGreaterThan(needed(store, key));
    long version = store.getTyped(key).version();
    for (int i = 0; i < 20; i++) {
      hset(store, key, "f" + i, "v" + (2000 + i)); // same length
      model.put(new Bytes(b("f" + i)), b("v" + (2000 + i)));
      hset(store, key, "extra" + i, "x");
      model.put(new Bytes(b("extra" + i)), b("x"));
      assertThat(store.largeRoom(key)).as("write %s edited the buffer where it lies", i).isEqualTo(room);
      long next = store.getTyped(key).version();
      assertThat(next).isNotEqualTo(version);
      version = next;
    }
    assertHolds(store, key, model);
  }

  @Test
  void editPacked_growingAndShrinking_rebuildsRarely_andGivesRoomBack() {
    OffHeapStore store = store(64L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    byte[] key = b("grows");
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    int rebuilds = 0;
    long room = -1;
    for (int i = 0; i < 3000; i++) {
      hset(store, key, "field-" + i, "value-" + i);
      model.put(new Bytes(b("field-" + i)), b("value-" + i));
      long now = store.largeRoom(key);
      if (i >= LIMIT) {
        long needed = needed(store, key);
        assertThat(now).as("room at %s fields", i + 1).isBetween(needed, 2 * needed);
      }
      if (now != room) {
        rebuilds++;
        room = now;
      }
    }
    // 1.5x growth from about 3 KiB to 100 KiB, and the table's doublings
    assertThat(rebuilds).as("buffers the hash had while growing one field a write").isLessThan(30);
    assertHolds(store, key, model);
    for (int i = 0; model.size() > LIMIT / 2; i++) {
      hset(store, key, "field-" + i, null);
      model.remove(new Bytes(b("field-" + i)));
      if (model.size() > LIMIT) {
        long needed = needed(store, key);
        assertThat(store.largeRoom(key)).as("room at %s fields", model.size()).isBetween(needed, 4 * needed);
      }
    }
    assertThat(store.largeRoom(key)).as("a plain hash of %s fields is inline again", model.size()).isEqualTo(-1);
    assertHolds(store, key, model);
  }

  @Test
  void editPacked_pastTheValueLimit_isRefusedNamingTheLengthAndTheLimit_andTheRoomStaysUnderIt() {
    int maxValue = 16 * 1024;
    OffHeapStore store = store(64L << 20, maxValue, EvictionPolicy.NOEVICTION);
    byte[] key = b("capped");
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    int i = 0;
    while (true) {
      try {
        hset(store, key, "field-" + i, "value-" + i);
      } catch (StoreException e) {
        assertThat(e.reason()).isEqualTo(StoreException.Reason.TOO_LARGE);
        assertThat(e.getMessage()).containsPattern("value length \\d+ exceeds the limit " + maxValue);
        break;
      }
      model.put(new Bytes(b("field-" + i)), b("value-" + i));
      assertThat(store.largeRoom(key)).isLessThanOrEqualTo(4 + key.length + maxValue);
      i++;
    }
    assertThat(model.size()).isGreaterThan(LIMIT);
    assertHolds(store, key, model);
  }

  @Test
  void editPacked_atTheBoundUnderNoeviction_isRefusedWithOutOfMemory_andLeavesTheHashWhole() {
    OffHeapStore store = store(2L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    byte[] key = b("fills");
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    String pad = "p".repeat(100);
    for (int i = 0; ; i++) {
      try {
        hset(store, key, "field-" + i, pad + i);
      } catch (StoreException e) {
        assertThat(e.reason()).isEqualTo(StoreException.Reason.OUT_OF_MEMORY);
        break;
      }
      model.put(new Bytes(b("field-" + i)), b(pad + i));
    }
    assertThat(model.size()).isGreaterThan(LIMIT);
    assertHolds(store, key, model);
    assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(2L << 20);
  }

  @Test
  void editPacked_keepsTheExpiry_andTheEntryExpiresWithItsRoom() {
    OffHeapStore store = store(64L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    byte[] key = b("session");
    for (int i = 0; i < 500; i++) {
      hset(store, key, "f" + i, "v");
    }
    long at = clock.millis() + 10_000;
    assertThat(store.expireAt(key, at, ExpireCondition.ALWAYS)).isTrue();
    for (int i = 0; i < 10; i++) {
      hset(store, key, "g" + i, "w");
      hset(store, key, "f" + i, "x");
    }
    assertThat(store.largeRoom(key)).isPositive();
    assertThat(store.expireTimeMillis(key)).isEqualTo(at);
    clock.advanceMillis(10_000);
    assertThat(store.getTyped(key)).isNull();
    assertThat(store.stats().expired()).isEqualTo(1);
    assertThat(store.validate()).isNull();
    hset(store, key, "again", "v");
    assertThat(CollectionCodec.decodeHash(store.getTyped(key).value())).containsOnlyKeys(new Bytes(b("again")));
    assertThat(store.expireTimeMillis(key)).isEqualTo(Store.NO_TTL);
  }

  @Test
  void editPacked_underEviction_evictsWholeHashes_andKeepsTheRestWhole() {
    OffHeapStore store = store(1L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.ALLKEYS_LRU);
    Map<String, LinkedHashMap<Bytes, byte[]>> models = new HashMap<>();
    for (int round = 0; round < 1000; round++) {
      for (int k = 0; k < 40; k++) {
        String name = "h" + k;
        byte[] key = b(name);
        LinkedHashMap<Bytes, byte[]> model = models.computeIfAbsent(name, n -> new LinkedHashMap<>());
        if (store.peekEntry(key) == null) {
          model.clear(); // evicted: a write starts it again
        }
        String value = "value-" + round;
        hset(store, key, "field-" + round, value);
        model.put(new Bytes(b("field-" + round)), b(value));
      }
    }
    assertThat(store.stats().evicted()).as("40 hashes of 1,000 fields do not fit 1 MiB").isPositive();
    int present = 0;
    for (Map.Entry<String, LinkedHashMap<Bytes, byte[]>> m : models.entrySet()) {
      byte[] key = b(m.getKey());
      if (store.peekEntry(key) != null) {
        present++;
        assertHolds(store, key, m.getValue());
      }
    }
    assertThat(present).isPositive();
    assertThat(store.validate()).isNull();
    assertThat(store.stats().bytesUsed()).isLessThanOrEqualTo(1L << 20);
  }

  @Test
  void editPacked_onAKeyOfAnotherType_isRefused_andChangesNothing() {
    OffHeapStore store = store(64L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.NOEVICTION);
    store.put(b("s"), b("string"));
    assertThatThrownBy(() -> hset(store, b("s"), "f", "v")).isInstanceOf(StoreException.class)
        .extracting(e -> ((StoreException) e).reason()).isEqualTo(StoreException.Reason.WRONG_TYPE);
    assertThat(store.get(b("s"))).isEqualTo(b("string"));
  }
}
