package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The field-expiry trailer of a hash payload: layout, round trip, and hostile payloads refused. */
class CollectionCodecFieldExpiryTest {
  private static Bytes f(String s) {
    return new Bytes(s.getBytes(StandardCharsets.UTF_8));
  }

  private static LinkedHashMap<Bytes, byte[]> hash() {
    LinkedHashMap<Bytes, byte[]> h = new LinkedHashMap<>();
    h.put(f("a"), new byte[] {'1'});
    h.put(f("b"), new byte[] {'2'});
    return h;
  }

  @Test
  void withoutTimes_thePayloadIsTheOldOne() {
    byte[] plain = CollectionCodec.encodeHash(hash());
    // count 2, "a" "1", "b" "2"
    assertThat(plain).containsExactly(2, 1, 'a', 1, '1', 1, 'b', 1, '2');
    assertThat(CollectionCodec.encodeHash(hash(), Map.of(f("zz"), 5L))).as("times of absent fields are ignored")
        .isEqualTo(plain);
    assertThat(CollectionCodec.earliestFieldExpiry(plain)).isZero();
  }

  @Test
  void trailer_layout_andRoundTrip() {
    byte[] p = CollectionCodec.encodeHash(hash(), Map.of(f("b"), 0x0102030405L));
    // the pairs, then: 1 timed field, index 1, 8-byte big-endian time
    assertThat(Arrays.copyOfRange(p, 9, p.length)).containsExactly(1, 1, 0, 0, 0, 1, 2, 3, 4, 5);
    Map<Bytes, Long> times = new HashMap<>();
    assertThat(CollectionCodec.decodeHash(p, times)).containsOnlyKeys(f("a"), f("b"));
    assertThat(times).containsExactly(Map.entry(f("b"), 0x0102030405L));
    assertThat(CollectionCodec.decodeHash(p)).as("a reader that ignores the trailer sees every field")
        .containsOnlyKeys(f("a"), f("b"));
    assertThat(CollectionCodec.earliestFieldExpiry(
        CollectionCodec.encodeHash(hash(), Map.of(f("a"), 900L, f("b"), 700L)))).isEqualTo(700L);
  }

  @Test
  void hostileTrailers_areReported_neverTrusted() {
    byte[] pairs = CollectionCodec.encodeHash(hash());
    assertThatThrownBy(() -> CollectionCodec.decodeHash(concat(pairs, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1), new HashMap<>()))
        .as("index 2 of 2 fields").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.decodeHash(concat(pairs, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1), new HashMap<>()))
        .as("3 times for 2 fields").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.decodeHash(concat(pairs, 1, 0, 0, 0, 1), new HashMap<>()))
        .as("truncated time").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.decodeHash(concat(pairs, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0), new HashMap<>()))
        .as("time 0").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.decodeHash(concat(pairs, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9), new HashMap<>()))
        .as("bytes after the trailer").isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> CollectionCodec.earliestFieldExpiry(concat(pairs, 1, 0, 0, 1)))
        .isInstanceOf(IllegalStateException.class);
  }

  private static byte[] concat(byte[] a, int... tail) {
    byte[] out = Arrays.copyOf(a, a.length + tail.length);
    for (int i = 0; i < tail.length; i++) {
      out[a.length + i] = (byte) tail[i];
    }
    return out;
  }
}
