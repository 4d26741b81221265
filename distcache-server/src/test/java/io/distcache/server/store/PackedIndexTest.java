package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The indexed layout (PackedIndex) answers every lookup as a decode would, and edits through its
 * table leave what decoding, changing and encoding leaves (the same elements in the same order,
 * but for a field whose value changed length, which moves last),
 * at sizes that cross INDEXED_ABOVE both ways; a corrupt payload gets the codec's error.
 */
class PackedIndexTest {
  private static final int LIMIT = PackedIndex.INDEXED_ABOVE;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static ByteBuffer view(byte[] payload, boolean direct) {
    return PackedEditTest.view(payload, direct);
  }

  private static LinkedHashMap<Bytes, byte[]> hashOf(int size, int valueSeed) {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      hash.put(new Bytes(b("f" + i)), b("v" + "x".repeat((i * 7 + valueSeed) % 150))); // values past 127 bytes too
    }
    return hash;
  }

  /** Asserts the payload's layout matches its size, and an indexed one's table finds every element. */
  private static void assertLayout(byte[] payload, int size, boolean pairs) {
    assertThat(PackedIndex.isIndexed(payload)).as("indexed at %s elements", size).isEqualTo(size > LIMIT);
    if (size > LIMIT) {
      PackedIndex.verify(ByteBuffer.wrap(payload), pairs);
    }
  }

  @Property(tries = 60)
  void encode_acrossTheThreshold_decodesToTheSameMapInOrder(@ForAll @IntRange(min = 1, max = 400) int size,
      @ForAll @IntRange(max = 50) int valueSeed) {
    LinkedHashMap<Bytes, byte[]> hash = hashOf(size, valueSeed);
    byte[] payload = CollectionCodec.encodeHash(hash);
    assertLayout(payload, size, true);
    LinkedHashMap<Bytes, byte[]> got = CollectionCodec.decodeHash(payload);
    assertThat(new ArrayList<>(got.keySet())).isEqualTo(new ArrayList<>(hash.keySet()));
    got.forEach((k, v) -> assertThat(v).isEqualTo(hash.get(k)));
    Map<Bytes, Long> ttl = new HashMap<>();
    assertThat(CollectionCodec.decodeHash(payload, ttl).keySet()).containsExactlyElementsOf(hash.keySet());
    assertThat(ttl).isEmpty();
    assertThat(CollectionCodec.earliestFieldExpiry(payload)).isZero();
    assertThat(CollectionCodec.count(payload)).isEqualTo(size);

    byte[] set = CollectionCodec.encodeSet(hash.keySet(), size);
    assertLayout(set, size, false);
    assertThat(CollectionCodec.decodeSet(set).keySet()).containsExactlyElementsOf(hash.keySet());
    assertThat(CollectionCodec.count(set)).isEqualTo(size);
  }

  @Property(tries = 60)
  void lookups_onEitherLayout_answerAsTheDecodedMap(@ForAll @IntRange(min = 1, max = 400) int size,
      @ForAll boolean direct, @ForAll Random random) {
    LinkedHashMap<Bytes, byte[]> hash = hashOf(size, size);
    ByteBuffer payload = view(CollectionCodec.encodeHash(hash), direct);
    ByteBuffer set = view(CollectionCodec.encodeSet(hash.keySet(), size), direct);
    List<byte[]> names = new ArrayList<>();
    for (int i = 0; i < PackedLookup.MAX_NAMES; i++) {
      names.add(b("f" + random.nextInt(size * 2))); // about half absent
    }
    byte[][] values = PackedLookup.hashValues(payload, names, 0);
    boolean[] members = PackedLookup.setContains(set, names);
    for (int i = 0; i < names.size(); i++) {
      assertThat(values[i]).isEqualTo(hash.get(new Bytes(names.get(i))));
      assertThat(members[i]).isEqualTo(hash.containsKey(new Bytes(names.get(i))));
    }
    assertThat(PackedLookup.hashSize(payload, 0)).isEqualTo(size);
    assertThat(PackedLookup.count(set)).isEqualTo(size);
  }

  /** One command: puts (a value) or removals (null) of names by number; numbers past the hash are new. */
  record Command(List<Integer> names, List<String> values) {
    /** Puts or removes each of {@code names} in the edit and the model, checking each value first. */
    void applyTo(PackedEdit edit, LinkedHashMap<Bytes, byte[]> model, List<byte[]> names) {
      boolean indexed = model.size() > LIMIT; // the layout of the payload the edit was made from
      for (int i = 0; i < names.size(); i++) {
        Bytes name = new Bytes(names.get(i));
        assertThat(edit.value(i)).isEqualTo(model.get(name));
        String v = values.get(i);
        if (v == null) {
          model.remove(name);
          edit.remove(i);
        } else {
          put(model, name, b(v), indexed);
          edit.put(i, b(v));
        }
      }
    }
  }

  /**
   * Puts {@code value} in the model as PackedEdit puts it: where the field was, except in the
   * indexed layout ({@code indexed}: the payload the edit was made from) when the value's length
   * changes, which moves the field last.
   */
  static void put(LinkedHashMap<Bytes, byte[]> model, Bytes field, byte[] value, boolean indexed) {
    byte[] old = model.get(field);
    if (indexed && old != null && old.length != value.length) {
      model.remove(field);
    }
    model.put(field, value);
  }

  @Provide
  Arbitrary<List<Command>> commands() {
    Arbitrary<Integer> name = Arbitraries.integers().between(0, 2 * LIMIT + 60);
    Arbitrary<String> value = Arbitraries.strings().ofMaxLength(40).injectNull(0.45);
    Arbitrary<Command> command = Combinators.combine(name.list().ofMinSize(1).ofMaxSize(PackedLookup.MAX_NAMES),
        value.list().ofSize(PackedLookup.MAX_NAMES)).as(Command::new);
    return command.list().ofMinSize(1).ofMaxSize(40);
  }

  @Property(tries = 150)
  void hash_editsAcrossTheThreshold_leaveWhatDecodingLeaves(@ForAll @IntRange(min = 0, max = 2 * LIMIT) int size,
      @ForAll("commands") List<Command> commands, @ForAll boolean direct) {
    LinkedHashMap<Bytes, byte[]> model = hashOf(size, 3);
    byte[] payload = model.isEmpty() ? null : CollectionCodec.encodeHash(model);
    for (Command c : commands) {
      List<byte[]> names = new ArrayList<>();
      c.names().forEach(n -> names.add(b("f" + n)));
      PackedEdit edit = PackedEdit.hash(view(payload, direct), names);
      c.applyTo(edit, model, names);
      assertThat(edit.size()).isEqualTo(model.size());
      if (!edit.changed()) {
        continue;
      }
      if (model.isEmpty()) {
        payload = null;
        continue;
      }
      assertThat(edit.length()).isLessThanOrEqualTo(Integer.MAX_VALUE);
      payload = edit.build();
      assertThat(payload).hasSize((int) edit.length());
      assertLayout(payload, model.size(), true);
      assertHashInOrder(payload, model);
    }
  }

  /** The payload decodes to the model's fields, in the order decode-change-encode keeps, and values. */
  static void assertHashInOrder(byte[] payload, LinkedHashMap<Bytes, byte[]> model) {
    LinkedHashMap<Bytes, byte[]> got = CollectionCodec.decodeHash(payload);
    assertThat(new ArrayList<>(got.keySet())).as("the order decode-change-encode keeps")
        .isEqualTo(new ArrayList<>(model.keySet()));
    got.forEach((k, v) -> assertThat(v).isEqualTo(model.get(k)));
  }

  @Property(tries = 150)
  void set_editsAcrossTheThreshold_leaveWhatDecodingLeaves(@ForAll @IntRange(min = 0, max = 2 * LIMIT) int size,
      @ForAll("commands") List<Command> commands, @ForAll boolean direct) {
    LinkedHashMap<Bytes, Boolean> model = new LinkedHashMap<>();
    hashOf(size, 0).keySet().forEach(k -> model.put(k, Boolean.TRUE));
    byte[] payload = model.isEmpty() ? null : CollectionCodec.encodeSet(model.keySet(), model.size());
    for (Command c : commands) {
      List<byte[]> names = new ArrayList<>();
      c.names().forEach(n -> names.add(b("f" + n)));
      PackedEdit edit = PackedEdit.set(view(payload, direct), names);
      for (int i = 0; i < names.size(); i++) {
        assertThat(edit.found(i)).as("found before the edit").isEqualTo(model.containsKey(new Bytes(names.get(i))));
      }
      boolean changed = PackedEditTest.applyToSet(edit, model, names, i -> c.values().get(i) == null);
      assertThat(edit.size()).isEqualTo(model.size());
      if (!changed) {
        assertThat(edit.changed()).as("SADD of members present, SREM of members absent write nothing").isFalse();
      }
      if (!edit.changed()) { // an add then a removal of one absent member changes nothing either way
        continue;
      }
      payload = model.isEmpty() ? null : edit.build();
      if (payload != null) {
        assertLayout(payload, model.size(), false);
        assertThat(CollectionCodec.decodeSet(payload).keySet()).containsExactlyElementsOf(model.keySet());
      }
    }
  }

  @Test
  void hash_growingPastItsTableAndShrinkingBelowTheThreshold_keepsEveryFieldFindable() {
    LinkedHashMap<Bytes, byte[]> model = hashOf(LIMIT + 1, 0);
    byte[] payload = CollectionCodec.encodeHash(model);
    int capacity = PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(payload), true));
    for (int i = LIMIT + 1; i < 4 * capacity; i++) { // past two doublings of the table
      List<byte[]> one = List.of(b("f" + i));
      PackedEdit edit = PackedEdit.hash(view(payload, false), one);
      edit.put(0, b("v" + i));
      model.put(new Bytes(one.get(0)), b("v" + i));
      payload = edit.build();
    }
    PackedIndex.verify(ByteBuffer.wrap(payload), true);
    assertThat(PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(payload), true))).isGreaterThan(2 * capacity);
    for (int i = 0; model.size() > LIMIT - 5; i++) { // then down below the threshold, the table dropped
      List<byte[]> one = List.of(b("f" + i));
      PackedEdit edit = PackedEdit.hash(view(payload, true), one);
      edit.remove(0);
      model.remove(new Bytes(one.get(0)));
      payload = edit.build();
      assertLayout(payload, model.size(), true);
    }
    assertThat(CollectionCodec.decodeHash(payload).keySet()).containsExactlyElementsOf(model.keySet());
  }

  @Test
  void hash_withFieldExpiryTimes_staysIndexed_withItsTimes() {
    LinkedHashMap<Bytes, byte[]> hash = hashOf(LIMIT * 2, 0);
    byte[] payload = CollectionCodec.encodeHash(hash, Map.of(new Bytes(b("f7")), 5_000L));
    assertThat(PackedIndex.isIndexed(payload)).isTrue();
    PackedIndex.verify(ByteBuffer.wrap(payload), true);
    assertThat(CollectionCodec.earliestFieldExpiry(payload)).isEqualTo(5_000L);
    assertThat(PackedIndex.isIndexed(CollectionCodec.encodeHash(hash, Map.of()))).isTrue();
  }

  @Property(tries = 300)
  void corruptHeaderOrTable_isReportedAsTheCodecsError(@ForAll @IntRange(min = LIMIT + 1, max = 300) int size,
      @ForAll Random random, @ForAll boolean pairs) {
    LinkedHashMap<Bytes, byte[]> hash = hashOf(size, 1);
    byte[] payload = pairs ? CollectionCodec.encodeHash(hash) : CollectionCodec.encodeSet(hash.keySet(), size);
    int tableEnd = PackedIndex.elementsAt(PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(payload), pairs)));
    for (int k = 1 + random.nextInt(4); k > 0; k--) { // a few bytes of the header or table (never the marker)
      payload[1 + random.nextInt(tableEnd - 1)] = (byte) random.nextInt(256);
    }
    List<byte[]> names = List.of(b("f" + random.nextInt(size)), b("f" + random.nextInt(size)), b("absent"));
    ByteBuffer view = view(payload, random.nextBoolean());
    List<Runnable> readers = new ArrayList<>(List.of(
        () -> CollectionCodec.count(payload),
        () -> PackedIndex.verify(ByteBuffer.wrap(payload), pairs)));
    if (pairs) {
      readers.add(() -> CollectionCodec.decodeHash(payload, new HashMap<>()));
      readers.add(() -> CollectionCodec.earliestFieldExpiry(payload));
      readers.add(() -> PackedLookup.hashValues(view, names, 0));
      readers.add(() -> {
        PackedEdit e = PackedEdit.hash(view, names);
        e.remove(0);
        e.put(1, b("a value of another length"));
        e.put(2, b("new"));
        e.build();
      });
    } else {
      readers.add(() -> CollectionCodec.decodeSet(payload));
      readers.add(() -> PackedLookup.setContains(view, names));
      readers.add(() -> {
        PackedEdit e = PackedEdit.set(view, names);
        e.remove(0);
        e.add(2);
        e.build();
      });
    }
    for (Runnable r : readers) {
      try {
        r.run();
      } catch (IllegalStateException reported) {
        assertThat(reported.getMessage()).isNotBlank();
      }
    }
  }

  @Test
  void slotPointingPastTheElements_isReported() {
    byte[] payload = CollectionCodec.encodeSet(hashOf(LIMIT + 1, 0).keySet(), LIMIT + 1);
    ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(payload), false);
    int slot = PackedIndex.find(opened, b("f3"));
    ByteBuffer.wrap(payload).putInt(PackedIndex.HEADER + slot * 4, payload.length);
    assertThatThrownBy(() -> PackedLookup.setContains(ByteBuffer.wrap(payload), List.of(b("f3"))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("outside");
  }

  @Test
  void tableWithNoEmptySlot_isReportedNotLoopedOn() {
    byte[] payload = CollectionCodec.encodeSet(hashOf(LIMIT + 1, 0).keySet(), LIMIT + 1);
    int capacity = PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(payload), false));
    ByteBuffer w = ByteBuffer.wrap(payload);
    int first = w.getInt(PackedIndex.HEADER + 4 * java.util.stream.IntStream.range(0, capacity)
        .filter(s -> w.getInt(PackedIndex.HEADER + 4 * s) != 0).findFirst().orElseThrow());
    for (int s = 0; s < capacity; s++) {
      if (w.getInt(PackedIndex.HEADER + 4 * s) == 0) {
        w.putInt(PackedIndex.HEADER + 4 * s, first);
      }
    }
    assertThatThrownBy(() -> PackedLookup.setContains(w, List.of(b("absent"))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no empty slot");
  }

  /*
   * A table this code writes is at least 1/8 full (PackedIndex.fits), so a random draw finds a used
   * slot in about 8 tries at worst. 129 members in 16,384 slots (crafted: a peer's bytes are
   * hostile) would miss about 127 times in 128 per draw; open() refuses it before any read.
   */
  @Test
  void sparseTable_countBelowAnEighthOfItsSlots_isRefusedByEveryReader() {
    int count = LIMIT + 1;
    byte[] dense = CollectionCodec.encodeSet(hashOf(count, 0).keySet(), count);
    int denseCapacity = PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(dense), false));
    byte[] elements = java.util.Arrays.copyOfRange(dense, PackedIndex.elementsAt(denseCapacity), dense.length);
    int capacity = 1 << 14;
    ByteBuffer sparse = ByteBuffer.allocate(PackedIndex.elementsAt(capacity) + elements.length);
    PackedIndex.writeHeader(sparse, count, capacity, 0);
    sparse.put(PackedIndex.elementsAt(capacity), elements);
    PackedIndex.build(sparse, count, false); // every element at its slot: well formed but for its load

    assertThatThrownBy(() -> PackedIndex.open(sparse, false)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("count 129 does not fit its capacity 16384 (from 1/8 to 3/4 of it)");
    assertThatThrownBy(() -> PackedIndex.checkArrived(sparse, false)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("from 1/8 to 3/4");
    assertThatThrownBy(() -> PackedLookup.randomSetMembers(sparse, 5, new Random(1)))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.decodeSet(sparse.array())).isInstanceOf(IllegalStateException.class);
    PackedIndex.checkArrived(ByteBuffer.wrap(dense), false); // what this code writes passes
  }

  @Test
  void checkArrived_fewerOrMoreUsedSlotsThanTheCount_orAnOffsetPastTheElements_isRefused() {
    int count = 200;
    byte[] payload = CollectionCodec.encodeHash(hashOf(count, 3));
    PackedIndex.checkArrived(ByteBuffer.wrap(payload), true);
    int capacity = PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(payload), true));
    int firstUsed = java.util.stream.IntStream.range(0, capacity)
        .filter(s -> ByteBuffer.wrap(payload).getInt(PackedIndex.HEADER + 4 * s) != 0).findFirst().orElseThrow();
    int firstEmpty = java.util.stream.IntStream.range(0, capacity)
        .filter(s -> ByteBuffer.wrap(payload).getInt(PackedIndex.HEADER + 4 * s) == 0).findFirst().orElseThrow();

    byte[] fewer = payload.clone();
    ByteBuffer.wrap(fewer).putInt(PackedIndex.HEADER + 4 * firstUsed, 0);
    assertThatThrownBy(() -> PackedIndex.checkArrived(ByteBuffer.wrap(fewer), true))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("holds 199 offsets for its count 200");
    byte[] more = payload.clone();
    ByteBuffer.wrap(more).putInt(PackedIndex.HEADER + 4 * firstEmpty, 1);
    assertThatThrownBy(() -> PackedIndex.checkArrived(ByteBuffer.wrap(more), true))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("holds 201 offsets for its count 200");
    byte[] past = payload.clone();
    ByteBuffer.wrap(past).putInt(PackedIndex.HEADER + 4 * firstUsed, payload.length);
    assertThatThrownBy(() -> PackedIndex.checkArrived(ByteBuffer.wrap(past), true))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("outside");
  }

  @Test
  void headerOfAnotherVersionOrACapacityPastThePayload_isReported() {
    byte[] payload = CollectionCodec.encodeSet(hashOf(LIMIT + 1, 0).keySet(), LIMIT + 1);
    byte[] version = payload.clone();
    version[1] = 9;
    assertThatThrownBy(() -> CollectionCodec.decodeSet(version)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("version 9");
    byte[] capacity = payload.clone();
    ByteBuffer.wrap(capacity).putInt(6, 1 << 30);
    assertThatThrownBy(() -> CollectionCodec.decodeSet(capacity)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("capacity " + (1 << 30));
  }
  @Test
  void capacityFor_sizesTheTableAtMostTwoThirdsFull_andRefusesPastItsLimit() {
    assertThat(PackedIndex.capacityFor(LIMIT + 1)).isEqualTo(256);
    assertThat(PackedIndex.capacityFor(10_000)).isEqualTo(16_384);
    assertThat(PackedIndex.capacityFor(10_923)).isEqualTo(32_768); // 16,384 would be just over 2/3 full
    assertThatThrownBy(() -> PackedIndex.capacityFor(200_000_000)).isInstanceOf(StoreException.class)
        .hasMessageContaining("200000000 elements");
  }

  /** {@code n} distinct names whose hash falls in one slot of a table of {@code capacity}. */
  private static List<Bytes> colliding(int n, int capacity) {
    List<Bytes> out = new ArrayList<>();
    for (long i = 0; out.size() < n; i++) {
      byte[] name = b("m" + i);
      if ((PackedIndex.hash(ByteBuffer.wrap(name), 0, name.length) & (capacity - 1)) == 0) {
        out.add(new Bytes(name));
      }
    }
    return out;
  }

  @Test
  void build_namesChosenToCollide_refusedBeforeItTurnsQuadratic_randomNamesBuildAsUsual() {
    int n = 600;
    int capacity = PackedIndex.capacityFor(n);
    List<Bytes> hostile = colliding(n, capacity);
    assertThatThrownBy(() -> CollectionCodec.encodeSet(hostile, n))
        .isInstanceOf(StoreException.class).hasMessageContaining("collide in its index");
    List<Bytes> plain = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      plain.add(new Bytes(b("m" + i)));
    }
    byte[] set = CollectionCodec.encodeSet(plain, n);
    assertThat(CollectionCodec.decodeSet(set)).hasSize(n);
  }
}
