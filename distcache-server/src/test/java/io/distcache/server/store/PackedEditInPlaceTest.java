package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PackedEdit.applyInPlace, the edit the store makes where an indexed payload lies, leaves what
 * decoding, changing and encoding leaves (the same elements in the same order, but for a field
 * whose value changed length, which moves last; every one found through the table), on heap and
 * direct memory, with little or much spare room; a removal or a change of length leaves a dead
 * run and moves nothing after it, and a payload that would be more than a quarter dead is
 * compacted by build(); when it cannot (no room, a table resize, the drop to the plain layout,
 * the compaction) it writes nothing and build() does the edit instead.
 */
class PackedEditInPlaceTest {
  private static final int LIMIT = PackedIndex.INDEXED_ABOVE;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A payload in memory with {@code spare} bytes of room after it, as a large buffer holds it. */
  private static final class Room {
    private final boolean direct;
    private final int spare;
    private ByteBuffer memory;
    private int length;
    /** Whether a payload with dead runs was seen, and how many edits were rebuilt by build(). */
    boolean deadSeen;
    int rebuilt;

    Room(boolean direct, int spare) {
      this.direct = direct;
      this.spare = spare;
    }

    void fill(byte[] payload) {
      memory = direct ? ByteBuffer.allocateDirect(payload.length + spare) : ByteBuffer.allocate(payload.length + spare);
      memory.put(0, payload);
      for (int i = payload.length; i < memory.capacity(); i++) {
        memory.put(i, (byte) 0x5A); // the room's garbage must never be read
      }
      length = payload.length;
    }

    ByteBuffer view() {
      return memory == null ? null : memory.slice(0, length).asReadOnlyBuffer();
    }

    byte[] bytes() {
      byte[] out = new byte[length];
      memory.get(0, out);
      return out;
    }

    /**
     * One changed edit leaving {@code size} elements: none empties the room (the key goes), else
     * the edit applied; returns the payload (null when empty), an indexed one's table verified.
     */
    byte[] step(PackedEdit edit, int size, boolean pairs) {
      if (size == 0) {
        memory = null;
        length = 0;
        return null;
      }
      apply(edit);
      byte[] payload = bytes();
      if (size > LIMIT) {
        PackedIndex.verify(ByteBuffer.wrap(payload), pairs);
        ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(payload), pairs);
        int dead = PackedIndex.dead(opened);
        assertThat((long) dead * PackedEdit.COMPACT_ABOVE).as("dead bytes, at most a quarter of the elements'")
            .isLessThanOrEqualTo(payload.length - PackedIndex.elementsAt(opened));
        deadSeen |= dead > 0;
      }
      return payload;
    }

    /** Applies the edit in place when it can, else builds it anew; true when in place. */
    boolean apply(PackedEdit edit) {
      byte[] before = memory == null ? null : bytes();
      long inPlace = edit.lengthInPlace();
      if (memory != null && edit.applyInPlace(memory)) {
        length = (int) inPlace;
        return true;
      }
      if (before != null) {
        assertThat(bytes()).as("an edit that is not made in place writes nothing").isEqualTo(before);
      }
      fill(edit.build());
      rebuilt++;
      return false;
    }
  }

  @Property(tries = 200)
  void hash_editsInPlace_leaveWhatDecodingLeaves(@ForAll @IntRange(min = 0, max = 3 * LIMIT) int size,
      @ForAll("commands") List<PackedIndexTest.Command> commands, @ForAll boolean direct,
      @ForAll @IntRange(min = 0, max = 600) int spare) {
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      model.put(new Bytes(b("f" + i)), b("v" + i % 10));
    }
    Room room = new Room(direct, spare);
    if (!model.isEmpty()) {
      room.fill(CollectionCodec.encodeHash(model));
    }
    for (PackedIndexTest.Command c : commands) {
      List<byte[]> names = new ArrayList<>();
      c.names().forEach(n -> names.add(b("f" + n)));
      PackedEdit edit = PackedEdit.hash(room.view(), names);
      c.applyTo(edit, model, names);
      if (edit.changed()) {
        PackedIndexTest.assertHashInOrder(room.step(edit, model.size(), true), model);
      }
    }
  }

  @Property(tries = 200)
  void set_editsInPlace_leaveWhatDecodingLeaves(@ForAll @IntRange(min = 0, max = 3 * LIMIT) int size,
      @ForAll("commands") List<PackedIndexTest.Command> commands, @ForAll boolean direct,
      @ForAll @IntRange(min = 0, max = 600) int spare) {
    LinkedHashMap<Bytes, Boolean> model = new LinkedHashMap<>();
    for (int i = 0; i < size; i++) {
      model.put(new Bytes(b("f" + i)), Boolean.TRUE);
    }
    Room room = new Room(direct, spare);
    if (!model.isEmpty()) {
      room.fill(CollectionCodec.encodeSet(model.keySet(), model.size()));
    }
    for (PackedIndexTest.Command c : commands) {
      List<byte[]> names = new ArrayList<>();
      c.names().forEach(n -> names.add(b("f" + n)));
      PackedEdit edit = PackedEdit.set(room.view(), names);
      PackedEditTest.applyToSet(edit, model, names, i -> c.values().get(i) == null);
      if (edit.changed()) {
        byte[] payload = room.step(edit, model.size(), false);
        assertThat(payload == null ? List.of() : CollectionCodec.decodeSet(payload).keySet())
            .containsExactlyElementsOf(model.keySet());
      }
    }
  }

  @net.jqwik.api.Provide
  net.jqwik.api.Arbitrary<List<PackedIndexTest.Command>> commands() {
    return new PackedIndexTest().commands();
  }

  @Test
  void applyInPlace_appendAndSameLengthReplacement_writeOnlyTheirElements() {
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 1000; i++) {
      model.put(new Bytes(b("f" + i)), b("value-" + (1000 + i)));
    }
    Room room = new Room(true, 64);
    room.fill(CollectionCodec.encodeHash(model));
    byte[] before = room.bytes();
    int elementsAt = PackedIndex.elementsAt(PackedIndex.capacity(PackedIndex.open(room.view(), true)));

    PackedEdit replace = PackedEdit.hash(room.view(), List.of(b("f500")));
    replace.put(0, b("value-9999"));
    assertThat(room.apply(replace)).isTrue();
    byte[] after = room.bytes();
    assertThat(after).hasSameSizeAs(before);
    assertThat(differingBytes(before, after)).as("only the value's differing digits change").isEqualTo(4);

    PackedEdit add = PackedEdit.hash(room.view(), List.of(b("new")));
    add.put(0, b("v"));
    assertThat(room.apply(add)).isTrue();
    byte[] grown = room.bytes();
    assertThat(grown.length).isEqualTo(after.length + 6); // 1 + "new" + 1 + "v"
    assertThat(Arrays.equals(grown, elementsAt, after.length, after, elementsAt, after.length))
        .as("every element before stays where it was").isTrue();
    assertThat(differingBytes(Arrays.copyOf(grown, elementsAt), Arrays.copyOf(after, elementsAt)))
        .as("the header's count and one slot of the table").isBetween(2, 5);
    PackedIndex.verify(ByteBuffer.wrap(grown), true);
  }

  @Test
  void applyInPlace_withoutRoomOrAcrossATableResize_writesNothing() {
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 300; i++) { // a table of 512 slots, which holds up to 384 elements
      model.put(new Bytes(b("f" + i)), b("v"));
    }
    Room full = new Room(false, 0);
    full.fill(CollectionCodec.encodeHash(model));
    PackedEdit noRoom = PackedEdit.hash(full.view(), List.of(b("f1")));
    noRoom.put(0, b("longer"));
    assertThat(full.apply(noRoom)).as("no room for a longer value").isFalse();

    Room spacious = new Room(false, 4096);
    spacious.fill(CollectionCodec.encodeHash(model));
    for (int i = 300; i < 384; i++) {
      PackedEdit add = PackedEdit.hash(spacious.view(), List.of(b("f" + i)));
      add.put(0, b("v"));
      assertThat(spacious.apply(add)).as("element %s fits the table", i + 1).isTrue();
    }
    PackedEdit resize = PackedEdit.hash(spacious.view(), List.of(b("one more")));
    resize.put(0, b("v"));
    assertThat(spacious.apply(resize)).as("the 385th element needs a larger table").isFalse();
    assertThat(PackedIndex.capacity(PackedIndex.open(spacious.view(), true))).isEqualTo(1024);
    assertThat(CollectionCodec.count(spacious.bytes())).isEqualTo(385);
  }

  @Test
  void applyInPlace_removalAndLengthChange_moveNothingAfterTheElement() {
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 10_000; i++) {
      model.put(new Bytes(b("f" + i)), b("value-" + (10_000 + i)));
    }
    Room room = new Room(true, 4096);
    room.fill(CollectionCodec.encodeHash(model));
    int element = 1 + 5 + 1 + 11; // "f5000", "value-15000"
    byte[] before = room.bytes();
    int at = elementAt(room, "f5000");

    PackedEdit remove = PackedEdit.hash(room.view(), List.of(b("f5000")));
    remove.remove(0);
    assertThat(room.apply(remove)).isTrue();
    model.remove(new Bytes(b("f5000")));
    byte[] after = room.bytes();
    assertThat(after).as("the removed element's bytes stay, dead").hasSameSizeAs(before);
    assertThat(Arrays.equals(after, at + element, after.length, before, at + element, before.length))
        .as("nothing after the removed element moved").isTrue();
    assertThat(Arrays.equals(after, PackedIndex.HEADER + 4 * 16_384, at, before, PackedIndex.HEADER + 4 * 16_384, at))
        .as("nor before it").isTrue();
    assertThat(remove.writtenInPlace()).as("the dead run's 2-byte header, of the element's " + element).isEqualTo(2);
    assertThat(PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(after), true))).isEqualTo(element);
    PackedIndexTest.assertHashInOrder(after, model);

    int at2 = elementAt(room, "f4000");
    PackedEdit grow = PackedEdit.hash(room.view(), List.of(b("f4000")));
    grow.put(0, b("a longer value"));
    assertThat(room.apply(grow)).isTrue();
    PackedIndexTest.put(model, new Bytes(b("f4000")), b("a longer value"), true);
    byte[] grown = room.bytes();
    int written = 1 + 5 + 1 + 14;
    assertThat(grown.length).as("the new element after the last one").isEqualTo(after.length + written);
    assertThat(Arrays.equals(grown, at2 + element, after.length, after, at2 + element, after.length))
        .as("nothing after the old element moved").isTrue();
    assertThat(grow.writtenInPlace()).isEqualTo(2 + written);
    assertThat(PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(grown), true))).isEqualTo(2 * element);
    PackedIndexTest.assertHashInOrder(grown, model); // f4000 last now
    PackedIndex.verify(ByteBuffer.wrap(grown), true);

    PackedEdit shrink = PackedEdit.hash(room.view(), List.of(b("f4000")));
    shrink.put(0, b("short"));
    assertThat(room.apply(shrink)).isTrue();
    PackedIndexTest.put(model, new Bytes(b("f4000")), b("short"), true);
    assertThat(room.bytes()).as("the last element is rewritten where it is, no dead run")
        .hasSize(grown.length - 14 + 5);
    assertThat(PackedIndex.dead(PackedIndex.open(room.view(), true))).isEqualTo(2 * element);
    PackedIndexTest.assertHashInOrder(room.bytes(), model);
  }

  @Test
  void randomPutsRemovalsAndLengthChanges_matchTheModel_throughCompactions() {
    Random random = new Random(13);
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 600; i++) {
      model.put(new Bytes(b("f" + i)), b("v" + i % 10));
    }
    Room room = new Room(true, 8192);
    room.fill(CollectionCodec.encodeHash(model));
    int compactions = 0;
    int inPlace = 0;
    for (int step = 0; step < 4000; step++) {
      List<byte[]> names = new ArrayList<>();
      for (int k = random.nextInt(3); k >= 0; k--) {
        names.add(b("f" + random.nextInt(900))); // about 540 held: 3 in 5 puts against 2 in 5 removals
      }
      PackedEdit edit = PackedEdit.hash(room.view(), names);
      boolean indexed = model.size() > LIMIT;
      for (int i = 0; i < names.size(); i++) {
        if (random.nextInt(5) < 2) {
          edit.remove(i);
          model.remove(new Bytes(names.get(i)));
        } else {
          byte[] value = b("x".repeat(random.nextInt(30)));
          edit.put(i, value);
          PackedIndexTest.put(model, new Bytes(names.get(i)), value, indexed);
        }
      }
      if (!edit.changed()) {
        continue;
      }
      int deadBefore = indexed ? PackedIndex.dead(PackedIndex.open(room.view(), true)) : 0;
      int rebuiltBefore = room.rebuilt;
      byte[] payload = room.step(edit, model.size(), true);
      PackedIndexTest.assertHashInOrder(payload, model);
      if (room.rebuilt == rebuiltBefore) {
        inPlace++;
      } else if (deadBefore > 0 && model.size() > LIMIT) {
        assertThat(PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(payload), true))).isZero();
        compactions++;
      }
    }
    assertThat(compactions).as("rebuilds that dropped dead runs").isGreaterThanOrEqualTo(3);
    assertThat(inPlace).as("writes made in place").isGreaterThan(3000);
  }

  /**
   * A hash with field times past INDEXED_ABOVE (PackedIndex.VERSION_TIMED), edited by puts that
   * drop a field's time (HSET), puts that keep it (HINCRBY), times set and removed (HEXPIRE,
   * HPERSIST) and removals, in place and rebuilt through compactions: each step leaves the fields
   * and times the model has, a table whose times sit in their fields' slots (verify, checkArrived:
   * an empty slot has none, the earliest bound is below every time), and replaying the step's
   * calls on the old payload (a replica's copy) leaves the same. Started without times, the first
   * time set turns the untimed table into a timed one (a rebuild that reads the old layout).
   */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void timedHash_putsTimesAndRemovals_matchTheModel_inPlaceRebuiltAndReplayed(boolean startTimed) {
    Random random = new Random(29);
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    java.util.Map<Bytes, Long> times = new HashMap<>();
    for (int i = 0; i < 600; i++) {
      model.put(new Bytes(b("f" + i)), b("v" + i % 10));
      if (startTimed && i % 7 == 0) {
        times.put(new Bytes(b("f" + i)), 1_000L + random.nextInt(100_000));
      }
    }
    Room room = new Room(random.nextBoolean(), 8192);
    room.fill(CollectionCodec.encodeHash(model, times));
    int inPlace = 0;
    int rebuilt = 0;
    for (int step = 0; step < 3000; step++) {
      List<byte[]> names = new ArrayList<>();
      for (int k = random.nextInt(3); k >= 0; k--) {
        names.add(b("f" + random.nextInt(900)));
      }
      byte[] old = room.bytes();
      PackedEdit edit = PackedEdit.hash(room.view(), names);
      for (int i = 0; i < names.size(); i++) {
        Bytes field = new Bytes(names.get(i));
        int op = random.nextInt(10);
        if (op < 2) {
          edit.remove(i);
          model.remove(field);
          times.remove(field);
        } else if (op < 5) {
          byte[] value = b("x".repeat(random.nextInt(30)));
          edit.put(i, value);
          PackedIndexTest.put(model, field, value, true);
          times.remove(field);
        } else if (op < 7) {
          byte[] value = b("y".repeat(random.nextInt(30)));
          boolean present = model.containsKey(field);
          edit.putKeepingTime(i, value);
          PackedIndexTest.put(model, field, value, true);
          if (!present) {
            times.remove(field);
          }
        } else if (edit.present(i)) {
          long at = op == 9 ? 0 : 1_000L + random.nextInt(100_000);
          assertThat(edit.time(i)).as("step %d: the time the edit sees", step).isEqualTo(times.getOrDefault(field, 0L));
          edit.expire(i, at);
          if (at == 0) {
            times.remove(field);
          } else {
            times.put(field, at);
          }
        }
      }
      assertThat(edit.needsDecode()).as("about 540 fields, all indexed").isFalse();
      if (!edit.changed()) {
        continue;
      }
      int rebuiltBefore = room.rebuilt;
      byte[] payload = room.step(edit, model.size(), true);
      if (room.rebuilt == rebuiltBefore) {
        inPlace++;
      } else {
        rebuilt++;
      }
      PackedIndexTest.assertHashInOrder(payload, model);
      java.util.Map<Bytes, Long> got = new HashMap<>();
      CollectionCodec.decodeHash(payload, got);
      assertThat(got).as("step %d: the times", step).isEqualTo(times);
      PackedIndex.checkArrived(ByteBuffer.wrap(payload), true);
      PackedEdit replayed = PackedEdit.replay(ByteBuffer.wrap(old).asReadOnlyBuffer(), true, edit.ops());
      assertThat(replayed).isNotNull();
      byte[] copy = replayed.build();
      PackedIndexTest.assertHashInOrder(copy, model);
      java.util.Map<Bytes, Long> copyTimes = new HashMap<>();
      CollectionCodec.decodeHash(copy, copyTimes);
      assertThat(copyTimes).as("step %d: the replayed times", step).isEqualTo(times);
    }
    assertThat(inPlace).as("writes made in place").isGreaterThan(2000);
    assertThat(rebuilt).as("rebuilds (compactions)").isGreaterThanOrEqualTo(3);
  }

  /**
   * Writes of 17 to 300 names (HSET, HDEL with many fields: PackedEdit finds a repeated name
   * through a hash map and moves the table's offsets by a binary search of the edits past 8 of
   * them) leave what the model says, whether built anew from a payload without dead runs (the
   * table edited, not rebuilt) or applied in place.
   */
  @Test
  void manyNames_builtOrInPlace_matchTheModel() {
    Random random = new Random(17);
    LinkedHashMap<Bytes, byte[]> model = new LinkedHashMap<>();
    for (int i = 0; i < 3000; i++) {
      model.put(new Bytes(b("f" + i)), b("v" + i % 10));
    }
    Room room = new Room(true, 1 << 16);
    room.fill(CollectionCodec.encodeHash(model));
    int tableEdits = 0;
    for (int step = 0; step < 60; step++) {
      List<byte[]> names = new ArrayList<>();
      for (int k = 17 + random.nextInt(284); k > 0; k--) {
        names.add(b("f" + random.nextInt(4000))); // repeats among them
      }
      PackedEdit edit = PackedEdit.hash(room.view(), names);
      LinkedHashMap<Bytes, byte[]> next = new LinkedHashMap<>(model);
      for (int i = 0; i < names.size(); i++) {
        if (random.nextInt(3) == 0) {
          edit.remove(i);
          next.remove(new Bytes(names.get(i)));
        } else {
          byte[] value = b("x".repeat(random.nextInt(4)));
          edit.put(i, value);
          PackedIndexTest.put(next, new Bytes(names.get(i)), value, true);
        }
      }
      boolean deadFree = PackedIndex.dead(PackedIndex.open(room.view(), true)) == 0;
      byte[] built = edit.build();
      PackedIndex.verify(ByteBuffer.wrap(built), true);
      PackedIndexTest.assertHashInOrder(built, next);
      if (deadFree && PackedIndex.capacity(PackedIndex.open(ByteBuffer.wrap(built), true))
          == PackedIndex.capacity(PackedIndex.open(room.view(), true))) {
        tableEdits++;
      }
      PackedIndexTest.assertHashInOrder(room.step(edit, next.size(), true), next);
      model = next;
      if (step % 3 == 0) {
        room.fill(built); // now and then from a payload without dead runs again
      }
    }
    assertThat(tableEdits).as("builds that edited the table (a shift over many edits)").isGreaterThan(10);
  }

  private static int elementAt(Room room, String name) {
    ByteBuffer opened = PackedIndex.open(room.view(), true);
    return PackedIndex.elementAt(opened, PackedIndex.find(opened, b(name)));
  }

  /**
   * The dead share is counted among the elements' bytes, which a walk (HGETALL, SMEMBERS) covers,
   * not among the whole payload's: with the offset table counted (16 KiB here, beside 26 KB of
   * members) 815 removals stayed in place, and a walk covered up to 1.45x the live bytes.
   */
  @Test
  void applyInPlace_removalsPastAQuarterOfTheElements_leaveTheCompactionToBuild() {
    LinkedHashSet<Bytes> model = new LinkedHashSet<>();
    for (int i = 0; i < 2000; i++) {
      model.add(new Bytes(b(String.format("member-%05d", i)))); // 13 bytes each
    }
    Room room = new Room(false, 0);
    room.fill(CollectionCodec.encodeSet(model, model.size()));
    int length = room.bytes().length;
    int elements = 2000 * 13;
    int inPlace = 0;
    for (int i = 0; ; i++) { // from the front: none is cut off the end
      Bytes m = new Bytes(b(String.format("member-%05d", i)));
      PackedEdit remove = PackedEdit.set(room.view(), List.of(m.b()));
      remove.remove(0);
      model.remove(m);
      if (!room.apply(remove)) {
        break;
      }
      inPlace++;
    }
    assertThat(inPlace).as("removals in place before a quarter of the elements' bytes is dead")
        .isEqualTo(elements / (13 * 4));
    byte[] compacted = room.bytes();
    assertThat(compacted).hasSize(length - 13 * (inPlace + 1));
    assertThat(PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(compacted), false))).isZero();
    PackedIndex.verify(ByteBuffer.wrap(compacted), false);
    assertThat(CollectionCodec.decodeSet(compacted).keySet()).containsExactlyElementsOf(model);
  }

  @Test
  void emptyName_removedInPlace_leavesADeadRunNoReaderTakesForIt() {
    LinkedHashSet<Bytes> set = new LinkedHashSet<>();
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < 200; i++) {
      Bytes name = new Bytes(b(i == 100 ? "" : "m" + i));
      set.add(name);
      hash.put(name, b(i == 100 ? "" : "v"));
    }
    Room setRoom = new Room(false, 64);
    setRoom.fill(CollectionCodec.encodeSet(set, set.size()));
    Room hashRoom = new Room(true, 64);
    hashRoom.fill(CollectionCodec.encodeHash(hash));
    Bytes empty = new Bytes(new byte[0]);
    for (int round = 0; round < 2; round++) { // removed from the middle, then from the end
      PackedEdit remove = PackedEdit.set(setRoom.view(), List.of(empty.b()));
      remove.remove(0);
      assertThat(setRoom.apply(remove)).isTrue();
      set.remove(empty);
      PackedEdit removeField = PackedEdit.hash(hashRoom.view(), List.of(empty.b()));
      removeField.remove(0);
      assertThat(hashRoom.apply(removeField)).isTrue();
      hash.remove(empty);
      assertThat(PackedIndex.dead(PackedIndex.open(setRoom.view(), false))).as("a 1-byte run").isEqualTo(1);
      assertThat(PackedIndex.dead(PackedIndex.open(hashRoom.view(), true))).as("a 2-byte run").isEqualTo(2);
      assertThat(CollectionCodec.decodeSet(setRoom.bytes()).keySet()).containsExactlyElementsOf(set);
      assertThat(PackedLookup.setContains(setRoom.view(), List.of(empty.b()))).containsExactly(false);
      PackedIndexTest.assertHashInOrder(hashRoom.bytes(), hash);

      PackedEdit add = PackedEdit.set(setRoom.view(), List.of(empty.b(), b("after")));
      add.add(round); // the empty member again, after the last one (round 1: "after" follows it)
      assertThat(setRoom.apply(add)).isTrue();
      set.add(round == 0 ? empty : new Bytes(b("after")));
      PackedEdit addField = PackedEdit.hash(hashRoom.view(), List.of(empty.b()));
      addField.put(0, new byte[0]);
      assertThat(hashRoom.apply(addField)).isTrue();
      hash.put(empty, new byte[0]);
      if (round == 0) {
        PackedIndex.verify(setRoom.view(), false);
        assertThat(CollectionCodec.decodeSet(setRoom.bytes()).keySet()).containsExactlyElementsOf(set);
        assertThat(PackedLookup.setContains(setRoom.view(), List.of(empty.b()))).containsExactly(true);
      }
    }
    PackedIndex.verify(setRoom.view(), false);
    PackedIndex.verify(hashRoom.view(), true);
    assertThat(CollectionCodec.decodeSet(setRoom.bytes()).keySet()).containsExactlyElementsOf(set);
    PackedIndexTest.assertHashInOrder(hashRoom.bytes(), hash);
  }

  @Property(tries = 300)
  void payloadWithDeadRuns_corruptAnywhere_isReportedAsTheCodecsError(@ForAll Random random, @ForAll boolean pairs) {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < 300; i++) {
      hash.put(new Bytes(b(i % 50 == 0 ? "" + "x".repeat(i / 50) : "f" + i)), b("v".repeat(i % 5)));
    }
    Room room = new Room(random.nextBoolean(), 1024);
    room.fill(pairs ? CollectionCodec.encodeHash(hash) : CollectionCodec.encodeSet(hash.keySet(), hash.size()));
    for (int i = 0; i < 40; i++) { // dead runs of 1 to 6 bytes, a few moved elements
      List<byte[]> names = List.of(b(i % 10 == 0 ? "x".repeat(i / 10) : "f" + (7 * i + 1)));
      PackedEdit e = pairs ? PackedEdit.hash(room.view(), names) : PackedEdit.set(room.view(), names);
      if (pairs && i % 3 == 0) {
        e.put(0, b("longer value " + i));
      } else {
        e.remove(0);
      }
      assertThat(room.apply(e)).isTrue();
    }
    byte[] payload = room.bytes();
    assertThat(PackedIndex.dead(PackedIndex.open(ByteBuffer.wrap(payload), pairs))).isPositive();
    for (int k = 1 + random.nextInt(4); k > 0; k--) { // anywhere but the marker
      payload[1 + random.nextInt(payload.length - 1)] = (byte) random.nextInt(256);
    }
    List<byte[]> names = List.of(b("f" + random.nextInt(300)), b(""), b("absent"));
    ByteBuffer view = PackedEditTest.view(payload, random.nextBoolean());
    List<Runnable> readers = new ArrayList<>(List.of(
        () -> CollectionCodec.count(payload),
        () -> PackedIndex.verify(ByteBuffer.wrap(payload), pairs),
        () -> {
          PackedEdit e = pairs ? PackedEdit.hash(view, names) : PackedEdit.set(view, names);
          e.remove(0);
          if (pairs) {
            e.put(1, b("a value of another length"));
          }
          e.remove(2);
          e.build();
          ByteBuffer memory = ByteBuffer.allocate(payload.length + 1024).put(payload).clear();
          e.applyInPlace(memory);
        }));
    if (pairs) {
      readers.add(() -> CollectionCodec.decodeHash(payload, new HashMap<>()));
      readers.add(() -> PackedLookup.hashValues(view, names, 0));
    } else {
      readers.add(() -> CollectionCodec.decodeSet(payload));
      readers.add(() -> PackedLookup.setContains(view, names));
    }
    for (Runnable r : readers) {
      try {
        r.run();
      } catch (IllegalStateException reported) {
        assertThat(reported.getMessage()).isNotBlank();
      }
    }
  }

  private static int differingBytes(byte[] a, byte[] b) {
    int n = 0;
    for (int i = 0; i < a.length; i++) {
      n += a[i] == b[i] ? 0 : 1;
    }
    return n;
  }
}
