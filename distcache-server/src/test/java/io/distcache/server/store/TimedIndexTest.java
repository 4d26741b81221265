package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * A hash with field expiry times past INDEXED_ABOVE fields keeps its offset table, with the times
 * beside it (PackedIndex's VERSION_TIMED): every read through the table answers as the decoded
 * hash with its expired fields hidden, the times round-trip through encode and decode, and a
 * peer's payload whose times could make a read show an expired field is refused.
 */
class TimedIndexTest {
  private static final int LIMIT = PackedIndex.INDEXED_ABOVE;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A hash of {@code size} fields, and times in 1..100 for about {@code percent}% of them. */
  private static Map.Entry<LinkedHashMap<Bytes, byte[]>, Map<Bytes, Long>> hashWithTimes(int size, int percent,
      Random random) {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    Map<Bytes, Long> times = new HashMap<>();
    for (int i = 0; i < size; i++) {
      Bytes f = new Bytes(b("f" + i));
      hash.put(f, b("v" + "x".repeat(random.nextInt(150))));
      if (random.nextInt(100) < percent) {
        times.put(f, 1L + random.nextInt(100));
      }
    }
    return Map.entry(hash, times);
  }

  @Property(tries = 200)
  void timedHash_acrossTheThreshold_readsAsTheDecodedHashWithItsExpiredFieldsHidden(
      @ForAll @IntRange(min = 1, max = 400) int size, @ForAll @IntRange(min = 1, max = 100) int percent,
      @ForAll @IntRange(max = 101) int now, @ForAll boolean direct, @ForAll Random random) {
    var made = hashWithTimes(size, percent, random);
    LinkedHashMap<Bytes, byte[]> hash = made.getKey();
    Map<Bytes, Long> times = made.getValue();
    byte[] payload = CollectionCodec.encodeHash(hash, times);

    assertThat(PackedIndex.isIndexed(payload)).as("indexed at %s fields", size).isEqualTo(size > LIMIT);
    if (size > LIMIT) {
      PackedIndex.verify(ByteBuffer.wrap(payload), true);
      PackedIndex.checkArrived(ByteBuffer.wrap(payload), true);
      assertThat(PackedIndex.timed(PackedIndex.open(ByteBuffer.wrap(payload), true))).isEqualTo(!times.isEmpty());
    }
    Map<Bytes, Long> decodedTimes = new HashMap<>();
    assertThat(new ArrayList<>(CollectionCodec.decodeHash(payload, decodedTimes).keySet()))
        .isEqualTo(new ArrayList<>(hash.keySet()));
    assertThat(decodedTimes).isEqualTo(times);
    assertThat(CollectionCodec.earliestFieldExpiry(payload))
        .isEqualTo(times.values().stream().mapToLong(Long::longValue).min().orElse(0));
    assertThat(CollectionCodec.count(payload)).isEqualTo(size);

    ByteBuffer view = PackedEditTest.view(payload, direct);
    List<byte[]> names = new ArrayList<>();
    List<byte[]> expected = new ArrayList<>();
    Set<Bytes> live = new HashSet<>();
    for (Bytes f : hash.keySet()) {
      Long at = times.get(f);
      boolean alive = at == null || at > now;
      if (alive) {
        live.add(f);
      }
      if (random.nextInt(4) == 0) {
        names.add(f.b());
        expected.add(alive ? hash.get(f) : null);
      }
    }
    names.add(b("absent"));
    expected.add(null);
    assertThat(PackedLookup.hashValues(view, names, now)).isEqualTo(expected.toArray(new byte[0][]));
    assertThat(PackedLookup.hashSize(view, now)).isEqualTo(live.size());

    for (long count : new long[] {1, -7, size / 3, size, -size}) {
      List<byte[]> drawn = PackedLookup.randomElements(view, true, count, true, now, random);
      Set<Bytes> seen = new HashSet<>();
      for (int i = 0; i < drawn.size(); i += 2) {
        Bytes f = new Bytes(drawn.get(i));
        assertThat(live).as("a drawn field is live at %s", now).contains(f);
        assertThat(drawn.get(i + 1)).isEqualTo(hash.get(f));
        seen.add(f);
      }
      if (count > 0) {
        assertThat(drawn).hasSize(2 * (int) Math.min(count, live.size()));
        assertThat(seen).as("distinct").hasSize(drawn.size() / 2);
      } else {
        assertThat(drawn).hasSize(live.isEmpty() ? 0 : (int) (-2 * count));
      }
    }
  }

  @Test
  void timedIndexedHash_keepsEachTimeInItsFieldsSlot() {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < 2 * LIMIT; i++) {
      hash.put(new Bytes(b("f" + i)), b("v" + i));
    }
    byte[] payload = CollectionCodec.encodeHash(hash, Map.of(new Bytes(b("f7")), 5_000L, new Bytes(b("f9")), 9_000L));
    ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(payload), true);
    assertThat(PackedIndex.timed(opened)).isTrue();
    assertThat(PackedIndex.earliest(opened)).isEqualTo(5_000L);
    assertThat(PackedIndex.timeAt(opened, PackedIndex.find(opened, b("f7")))).isEqualTo(5_000L);
    assertThat(PackedIndex.timeAt(opened, PackedIndex.find(opened, b("f9")))).isEqualTo(9_000L);
    assertThat(PackedIndex.timeAt(opened, PackedIndex.find(opened, b("f8")))).isZero();
    assertThat(CollectionCodec.earliestFieldExpiry(payload)).isEqualTo(5_000L);
    assertThat(PackedIndex.isIndexed(CollectionCodec.encodeHash(hash, Map.of()))).isTrue();
    assertThat(PackedIndex.timed(PackedIndex.open(ByteBuffer.wrap(CollectionCodec.encodeHash(hash, Map.of())), true)))
        .as("no time: the untimed layout").isFalse();
    assertThat(PackedLookup.hashValues(ByteBuffer.wrap(payload), List.of(b("f7"), b("f9")), 5_000L))
        .isEqualTo(new byte[][] {null, b("v9")});
  }

  /**
   * The first time given to an untimed indexed hash, in the same write as a removal and a change
   * of length: the table is copied into the timed layout and edited there while the old names are
   * read where the old layout has them (the model test found them read at the new layout's
   * offsets, an "internal error" for HSETEX).
   */
  @Test
  void firstTime_withARemovalAndAChangeOfLength_turnsTheTableTimed() {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < 300; i++) {
      hash.put(new Bytes(b("f" + i)), b("v" + i));
    }
    byte[] untimed = CollectionCodec.encodeHash(hash);
    PackedEdit e = PackedEdit.hash(ByteBuffer.wrap(untimed).asReadOnlyBuffer(), List.of(b("f5"), b("f9"), b("f200")));
    e.put(0, b("a longer value"));
    e.remove(1);
    e.expire(2, 5_000L);
    assertThat(e.needsDecode()).isFalse();
    byte[] payload = e.build();

    PackedIndex.verify(ByteBuffer.wrap(payload), true);
    PackedIndex.checkArrived(ByteBuffer.wrap(payload), true);
    Map<Bytes, Long> times = new HashMap<>();
    LinkedHashMap<Bytes, byte[]> got = CollectionCodec.decodeHash(payload, times);
    assertThat(times).isEqualTo(Map.of(new Bytes(b("f200")), 5_000L));
    assertThat(got).hasSize(299).doesNotContainKey(new Bytes(b("f9")));
    assertThat(new ArrayList<>(got.keySet()).get(298)).as("a change of length moves last").isEqualTo(new Bytes(b("f5")));
    assertThat(got.get(new Bytes(b("f5")))).isEqualTo(b("a longer value"));
  }

  @Test
  void peersTimedPayload_whoseTimesCouldShowAnExpiredField_isRefused() {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < 2 * LIMIT; i++) {
      hash.put(new Bytes(b("f" + i)), b("v" + i));
    }
    byte[] good = CollectionCodec.encodeHash(hash, Map.of(new Bytes(b("f7")), 5_000L));
    ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(good), true);
    int capacity = PackedIndex.capacity(opened);
    int slot = PackedIndex.find(opened, b("f7"));
    int empty = 0;
    while (PackedIndex.used(opened, empty)) {
      empty++;
    }

    byte[] laterEarliest = good.clone(); // the header says nothing expires before 6,000, f7 does at 5,000
    PackedIndex.earliest(ByteBuffer.wrap(laterEarliest), capacity, 6_000L);
    byte[] timeOnAnEmptySlot = good.clone();
    PackedIndex.timeAt(ByteBuffer.wrap(timeOnAnEmptySlot), capacity, empty, 7_000L);
    byte[] negativeTime = good.clone();
    PackedIndex.timeAt(ByteBuffer.wrap(negativeTime), capacity, slot, -1L);
    for (byte[] bad : List.of(laterEarliest, timeOnAnEmptySlot, negativeTime)) {
      assertThatThrownBy(() -> PackedIndex.checkArrived(ByteBuffer.wrap(bad), true))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("field time");
    }
    PackedIndex.checkArrived(ByteBuffer.wrap(good), true);
    assertThatThrownBy(() -> PackedIndex.checkArrived(ByteBuffer.wrap(good), false)).as("a set has no times")
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("version 3");
  }
}
