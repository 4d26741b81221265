package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * PackedEdit.applyInPlace, the edit the store makes where an indexed payload lies, leaves what
 * decoding, changing and encoding leaves (the same elements in the same order, every one found
 * through the table), on heap and direct memory, with little or much spare room; when it cannot
 * (no room, a table resize, the drop to the plain layout) it writes nothing and build() does the
 * edit instead.
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
      }
      return payload;
    }

    /** Applies the edit in place when it can, else builds it anew; true when in place. */
    boolean apply(PackedEdit edit) {
      byte[] before = memory == null ? null : bytes();
      if (memory != null && edit.applyInPlace(memory)) {
        length = (int) edit.length();
        return true;
      }
      if (before != null) {
        assertThat(bytes()).as("an edit that is not made in place writes nothing").isEqualTo(before);
      }
      fill(edit.build());
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

  private static int differingBytes(byte[] a, byte[] b) {
    int n = 0;
    for (int i = 0; i < a.length; i++) {
      n += a[i] == b[i] ? 0 : 1;
    }
    return n;
  }
}
