package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

/** The walks of PackedLookup answer exactly what decoding the payload answers. */
class PackedLookupTest {
  private static final long NOW = 1_000_000L;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /*
   * Up to 300 fields: the plain layout and (past 128, without field times) the indexed one; up to
   * 60 names asked, short ones so that they repeat: compared one by one (up to 16) and through
   * the table of names (more).
   */
  @Property(tries = 300)
  void hashValues_andHashSize_matchTheDecodedHash_withExpiredFieldsHidden(
      @ForAll @Size(max = 300) List<@StringLength(max = 3) String> fields,
      @ForAll @Size(max = 300) List<@IntRange(min = -2, max = 2) Integer> expiries,
      @ForAll @Size(max = 60) List<@StringLength(max = 2) String> asked) {
    LinkedHashMap<Bytes, byte[]> hash = new LinkedHashMap<>();
    Map<Bytes, Long> ttl = new HashMap<>();
    for (int i = 0; i < fields.size(); i++) {
      Bytes f = new Bytes(b(fields.get(i)));
      hash.put(f, b("v" + i));
      int e = i < expiries.size() ? expiries.get(i) : 0;
      if (e != 0) {
        ttl.put(f, NOW + e); // -2, -1: expired; 1, 2: not yet
      } else {
        ttl.remove(f);
      }
    }
    java.nio.ByteBuffer payload = hash.isEmpty() ? null : java.nio.ByteBuffer.wrap(CollectionCodec.encodeHash(hash, ttl));
    List<byte[]> names = new ArrayList<>();
    asked.forEach(a -> names.add(b(a)));
    fields.stream().limit(5).forEach(f -> names.add(b(f)));

    byte[][] got = PackedLookup.hashValues(payload, names, NOW);
    int live = 0;
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      Long at = ttl.get(e.getKey());
      if (at == null || at > NOW) {
        live++;
      }
    }
    for (int i = 0; i < names.size(); i++) {
      Bytes f = new Bytes(names.get(i));
      Long at = ttl.get(f);
      byte[] want = at != null && at <= NOW ? null : hash.get(f);
      assertThat(got[i]).as("field %s", new String(names.get(i), StandardCharsets.UTF_8)).isEqualTo(want);
    }
    assertThat(PackedLookup.hashSize(payload, NOW)).isEqualTo(live);
  }

  @Property(tries = 300)
  void setContains_andCount_matchTheDecodedSet(
      @ForAll @Size(max = 300) List<@StringLength(max = 3) String> members,
      @ForAll @Size(max = 60) List<@StringLength(max = 2) String> asked) {
    LinkedHashMap<Bytes, Boolean> set = new LinkedHashMap<>();
    members.forEach(m -> set.put(new Bytes(b(m)), Boolean.TRUE));
    java.nio.ByteBuffer payload = set.isEmpty() ? null
        : java.nio.ByteBuffer.wrap(CollectionCodec.encodeSet(set.keySet(), set.size()));
    List<byte[]> names = new ArrayList<>();
    asked.forEach(a -> names.add(b(a)));

    boolean[] got = PackedLookup.setContains(payload, names);
    for (int i = 0; i < names.size(); i++) {
      assertThat(got[i]).isEqualTo(set.containsKey(new Bytes(names.get(i))));
    }
    assertThat(PackedLookup.count(payload)).isEqualTo(set.size());
  }

  @Property(tries = 300)
  void zsetScores_andCount_matchTheDecodedSortedSet(
      @ForAll @Size(max = 40) List<@StringLength(max = 6) String> members,
      @ForAll @Size(max = 20) List<@StringLength(max = 6) String> asked) {
    ScoredMembers z = ScoredMembers.decode(null);
    for (int i = 0; i < members.size(); i++) {
      z.put(b(members.get(i)), i % 7 - 3.5);
    }
    java.nio.ByteBuffer payload = z.size() == 0 ? null : java.nio.ByteBuffer.wrap(z.encode());
    List<byte[]> names = new ArrayList<>();
    asked.forEach(a -> names.add(b(a)));
    members.stream().limit(5).forEach(m -> names.add(b(m)));

    Double[] got = PackedLookup.zsetScores(payload, names);
    for (int i = 0; i < names.size(); i++) {
      assertThat(got[i]).isEqualTo(z.score(names.get(i)));
    }
    assertThat(PackedLookup.count(payload)).isEqualTo(z.size());
  }

  @Test
  void hashValues_ofALengthRunningPastTheEnd_isReportedNotTrusted() {
    byte[] payload = CollectionCodec.encodeHash(new LinkedHashMap<>(Map.of(new Bytes(b("f")), b("value"))));
    byte[] cut = java.util.Arrays.copyOf(payload, payload.length - 2);
    assertThatThrownBy(() -> PackedLookup.hashValues(java.nio.ByteBuffer.wrap(cut), List.of(b("f")), NOW))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("exceeds");
  }
}
