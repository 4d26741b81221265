package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

/** PackedEdit builds, byte for byte, what decoding, changing and encoding the payload builds. */
class PackedEditTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** One step of an edit: a put (a value) or a removal (null) of the name at {@code name}. */
  record Step(int name, String value) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Step> step = Combinators.combine(Arbitraries.integers().between(0, 30),
        Arbitraries.strings().ofMaxLength(200).injectNull(0.4)).as(Step::new);
    return step.list().ofMaxSize(12);
  }

  /**
   * Removes (where {@code removes}) or adds each of {@code names} in the edit and in the model
   * {@code set}; whether the model changed.
   */
  static boolean applyToSet(PackedEdit edit, LinkedHashMap<Bytes, Boolean> set, List<byte[]> names,
      java.util.function.IntPredicate removes) {
    boolean changed = false;
    for (int i = 0; i < names.size(); i++) {
      Bytes name = new Bytes(names.get(i));
      if (removes.test(i)) {
        changed |= set.remove(name) != null;
        edit.remove(i);
      } else {
        changed |= set.putIfAbsent(name, Boolean.TRUE) == null;
        edit.add(i);
      }
    }
    return changed;
  }

  /** The payload as the store lends it: a read-only view, on or off the heap. */
  static ByteBuffer view(byte[] payload, boolean direct) {
    if (payload == null) {
      return null;
    }
    ByteBuffer b = direct ? ByteBuffer.allocateDirect(payload.length) : ByteBuffer.allocate(payload.length);
    b.put(payload).flip();
    return b.asReadOnlyBuffer();
  }

  /** Names to edit: some of the payload's own (by the steps' indices), some new. */
  private static List<byte[]> names(List<String> existing, List<Step> steps) {
    List<byte[]> names = new ArrayList<>();
    for (Step s : steps) {
      int i = s.name();
      names.add(b(i < existing.size() ? existing.get(i) : "new" + (i % 5)));
    }
    return names;
  }

  @Property(tries = 500)
  void hash_putsAndRemoves_buildWhatDecodingBuilds(
      @ForAll @Size(max = 40) List<@StringLength(max = 6) String> fields,
      @ForAll("steps") List<Step> steps,
      @ForAll boolean direct) {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    for (int i = 0; i < fields.size(); i++) {
      hash.put(new Bytes(b(fields.get(i))), b("v" + i + "x".repeat(i * 7 % 150))); // values past 127 bytes too
    }
    byte[] before = hash.isEmpty() ? null : CollectionCodec.encodeHash(hash);
    List<byte[]> names = names(fields, steps);

    PackedEdit edit = PackedEdit.hash(view(before, direct), names);
    assertThat(edit.hasTrailer()).isFalse();
    assertThat(edit.count()).isEqualTo(hash.size());
    for (int i = 0; i < names.size(); i++) {
      assertThat(edit.found(i)).isEqualTo(hash.containsKey(new Bytes(names.get(i))));
    }
    for (int i = 0; i < steps.size(); i++) {
      Bytes name = new Bytes(names.get(i));
      assertThat(edit.value(i)).as("value before step %s", i).isEqualTo(hash.get(name));
      String v = steps.get(i).value();
      if (v == null) {
        hash.remove(name);
        edit.remove(i);
      } else {
        hash.put(name, b(v));
        edit.put(i, b(v));
        assertThat(edit.changed()).as("a put always writes").isTrue();
      }
    }

    assertThat(edit.size()).isEqualTo(hash.size());
    byte[] want = hash.isEmpty() ? null : CollectionCodec.encodeHash(hash);
    assertBuilds(edit, before, want);
  }

  /** The edit builds {@code want} (null: nothing left, size 0); one that changed nothing leaves {@code before}. */
  private static void assertBuilds(PackedEdit edit, byte[] before, byte[] want) {
    if (!edit.changed()) {
      assertThat(want).as("an unchanged edit leaves the payload as it was").isEqualTo(before);
    }
    if (want == null) {
      assertThat(edit.size()).isZero();
    } else {
      assertThat(edit.length()).isEqualTo(want.length);
      assertThat(edit.build()).isEqualTo(want);
    }
  }

  @Property(tries = 500)
  void set_addsAndRemoves_buildWhatDecodingBuilds(
      @ForAll @Size(max = 40) List<@StringLength(max = 6) String> members,
      @ForAll("steps") List<Step> steps,
      @ForAll boolean direct) {
    LinkedHashMap<Bytes, Boolean> set = new LinkedHashMap<>();
    members.forEach(m -> set.put(new Bytes(b(m)), Boolean.TRUE));
    byte[] before = set.isEmpty() ? null : CollectionCodec.encodeSet(set.keySet(), set.size());
    List<byte[]> names = names(members, steps);

    PackedEdit edit = PackedEdit.set(view(before, direct), names);
    assertThat(edit.count()).isEqualTo(set.size());
    boolean changed = applyToSet(edit, set, names, i -> steps.get(i).value() == null);

    assertThat(edit.size()).isEqualTo(set.size());
    assertBuilds(edit, before, set.isEmpty() ? null : CollectionCodec.encodeSet(set.keySet(), set.size()));
    if (!changed) {
      assertThat(edit.changed()).as("SADD of members present, SREM of members absent write nothing").isFalse();
    }
  }

  @Test
  void hash_newFieldsAppendInFirstGivenOrder_updatedOnesStayInPlace_lastPutWins() {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    hash.put(new Bytes(b("a")), b("1"));
    hash.put(new Bytes(b("b")), b("2"));
    PackedEdit edit = PackedEdit.hash(view(CollectionCodec.encodeHash(hash), true),
        List.of(b("z"), b("a"), b("y"), b("z")));
    edit.put(0, b("first"));
    edit.put(1, b("10"));
    edit.put(2, b("y"));
    edit.put(3, b("last"));

    LinkedHashMap<Bytes, byte[]> got = CollectionCodec.decodeHash(edit.build());
    assertThat(got.keySet()).extracting(k -> new String(k.b(), StandardCharsets.UTF_8))
        .containsExactly("a", "b", "z", "y");
    assertThat(got.get(new Bytes(b("z")))).isEqualTo(b("last"));
    assertThat(got.get(new Bytes(b("a")))).isEqualTo(b("10"));
    assertThat(edit.size()).isEqualTo(4);
  }

  @Test
  void hash_removingEveryField_leavesSizeZero() {
    byte[] payload = CollectionCodec.encodeHash(new LinkedHashMap<>(Map.of(new Bytes(b("f")), b("v"))));
    PackedEdit edit = PackedEdit.hash(view(payload, false), List.of(b("f"), b("g")));
    edit.remove(0);
    edit.remove(1);
    assertThat(edit.changed()).isTrue();
    assertThat(edit.size()).isZero();
  }

  @Test
  void hash_withFieldExpiryTimes_isLeftToTheDecodingPath() {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    hash.put(new Bytes(b("a")), b("1"));
    hash.put(new Bytes(b("b")), b("2"));
    byte[] payload = CollectionCodec.encodeHash(hash, Map.of(new Bytes(b("a")), 5_000L));
    PackedEdit edit = PackedEdit.hash(view(payload, true), List.of(b("b")));
    assertThat(edit.hasTrailer()).isTrue();
    edit.remove(0);
    assertThatThrownBy(edit::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("decoding");
  }

  @Test
  void hash_ofALengthRunningPastTheEnd_isReportedNotTrusted() {
    byte[] payload = CollectionCodec.encodeHash(new LinkedHashMap<>(Map.of(new Bytes(b("f")), b("value"))));
    byte[] cut = java.util.Arrays.copyOf(payload, payload.length - 2);
    assertThatThrownBy(() -> PackedEdit.hash(view(cut, false), List.of(b("f"))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("exceeds");
  }

  @Test
  void set_ofACountPastItsBytes_isReportedNotTrusted() {
    byte[] forged = {(byte) 0xff, (byte) 0xff, 0x03, 1, 'a'}; // count 65535 with one member's bytes
    assertThatThrownBy(() -> PackedEdit.set(view(forged, true), List.of(b("a"))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("exceeds");
  }
}
