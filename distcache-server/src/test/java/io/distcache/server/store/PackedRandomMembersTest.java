package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PackedLookup.randomSetMembers, SPOP's draw, and randomElements, HRANDFIELD's and SRANDMEMBER's
 * (positive counts distinct, negative ones independent, a hash's values with its fields, due
 * fields never drawn): distinct members of the set, as many as asked or all of them, each draw uniform (a chi-squared test over many draws, on both layouts and on an indexed
 * set with dead runs), through the offset table without a walk for up to half the members, and a
 * table that holds fewer members than its count reported as the codec's error, not a loop.
 */
class PackedRandomMembersTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static LinkedHashSet<Bytes> members(int n) {
    LinkedHashSet<Bytes> set = new LinkedHashSet<>();
    for (int i = 0; i < n; i++) {
      set.add(new Bytes(b("m" + i)));
    }
    return set;
  }

  private static ByteBuffer payload(Set<Bytes> set) {
    return ByteBuffer.wrap(CollectionCodec.encodeSet(set, set.size())).asReadOnlyBuffer();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5, 100, 150, 299, 300, 301, 1000})
  void draws_areDistinctMembers_asManyAsAskedOrAll(int count) {
    LinkedHashSet<Bytes> set = members(300);
    List<byte[]> got = PackedLookup.randomSetMembers(payload(set), count, new Random(count));
    Set<Bytes> distinct = new HashSet<>();
    got.forEach(m -> distinct.add(new Bytes(m)));
    assertThat(got).hasSize(Math.min(count, set.size()));
    assertThat(distinct).hasSize(got.size());
    assertThat(set).containsAll(distinct);
  }

  @Test
  void absentOrZero_drawsNothing_andANegativeCountIsRefused() {
    assertThat(PackedLookup.randomSetMembers(null, 3, new Random(1))).isEmpty();
    assertThat(PackedLookup.randomSetMembers(payload(members(500)), 0, new Random(1))).isEmpty();
    assertThatThrownBy(() -> PackedLookup.randomSetMembers(payload(members(5)), -1, new Random(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
  }

  /**
   * Chi-squared over {@code order}'s members of {@code draws} single draws (or the first of draws
   * of {@code count}): a fair draw stays under the bound (5 standard deviations), and the seed is
   * fixed. A draw that took the next used slot from a random one (favouring the members after
   * runs of empty slots) is far over it.
   */
  private static void assertUniform(ByteBuffer payload, List<Bytes> order, int count, int draws, long seed) {
    int n = order.size();
    java.util.Map<Bytes, Integer> cell = new java.util.HashMap<>();
    for (int i = 0; i < n; i++) {
      cell.put(order.get(i), i);
    }
    long[] hits = new long[n];
    Random rnd = new Random(seed);
    for (int d = 0; d < draws; d++) {
      List<byte[]> got = PackedLookup.randomSetMembers(payload, count, rnd);
      hits[cell.get(new Bytes(got.get(0)))]++;
    }
    assertChiSquared(hits, draws + " draws over " + n + " members");
  }

  /** A fair draw's cell counts {@code hits} stay under the bound (5 standard deviations). */
  private static void assertChiSquared(long[] hits, String what) {
    int n = hits.length;
    double expected = (double) java.util.Arrays.stream(hits).sum() / n;
    double chi2 = 0;
    for (long h : hits) {
      chi2 += (h - expected) * (h - expected) / expected;
    }
    // n - 1 degrees of freedom; mean n - 1, sd sqrt(2(n - 1)): 5 sd is far out for a fair draw
    double bound = (n - 1) + 5 * Math.sqrt(2.0 * (n - 1));
    assertThat(chi2).as("chi-squared of %s", what).isLessThan(bound);
  }

  @Test
  void singleDraws_areUniform_onAnIndexedSet_andAPlainOne() {
    LinkedHashSet<Bytes> large = members(1000);
    assertUniform(payload(large), new ArrayList<>(large), 1, 200_000, 7);
    LinkedHashSet<Bytes> small = members(100);
    assertUniform(payload(small), new ArrayList<>(small), 1, 100_000, 8);
  }

  @Test
  void draws_areUniform_onAnIndexedSetWithDeadRunsAndASparseTable() {
    // 1,500 members in a table of 4,096 slots, 900 removed (in place until a quarter of the
    // elements' bytes is dead, then compacted): 600 left, the table under 1/6 full, dead runs among them
    LinkedHashSet<Bytes> set = members(1500);
    byte[] payload = CollectionCodec.encodeSet(set, set.size());
    ByteBuffer room = ByteBuffer.allocate(payload.length);
    room.put(0, payload);
    int length = payload.length;
    Random rnd = new Random(3);
    List<Bytes> all = new ArrayList<>(set);
    int inPlace = 0;
    while (set.size() > 600) {
      Bytes m = all.remove(rnd.nextInt(all.size()));
      PackedEdit e = PackedEdit.set(room.slice(0, length).asReadOnlyBuffer(), List.of(m.b()));
      e.remove(0);
      long after = e.lengthInPlace();
      if (e.applyInPlace(room)) {
        length = (int) after;
        inPlace++;
      } else {
        byte[] rebuilt = e.build();
        room = ByteBuffer.allocate(rebuilt.length);
        room.put(0, rebuilt);
        length = rebuilt.length;
      }
      set.remove(m);
    }
    ByteBuffer view = room.slice(0, length).asReadOnlyBuffer();
    assertThat(inPlace).isGreaterThan(100);
    assertThat(PackedIndex.dead(PackedIndex.open(view, false))).as("dead runs among the members").isPositive();
    assertThat(PackedIndex.count(PackedIndex.open(view, false))).isEqualTo(600);
    assertUniform(view, new ArrayList<>(set), 1, 200_000, 9);
    // the first of 300: every draw is uniform over what is left
    assertUniform(view, new ArrayList<>(set), 300, 30_000, 10);
  }

  // ---- HRANDFIELD and SRANDMEMBER: randomElements ----

  private static final long NOW = 1_000_000L;

  private static java.util.LinkedHashMap<Bytes, byte[]> fields(int n) {
    java.util.LinkedHashMap<Bytes, byte[]> hash = new java.util.LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      hash.put(new Bytes(b("f" + i)), b("value-" + i));
    }
    return hash;
  }

  private static ByteBuffer hashPayload(java.util.LinkedHashMap<Bytes, byte[]> hash, java.util.Map<Bytes, Long> ttl) {
    return ByteBuffer.wrap(CollectionCodec.encodeHash(hash, ttl)).asReadOnlyBuffer();
  }

  /** The drawn fields of a flat (field, value) list, each checked to come with its own value. */
  private static List<String> checkedPairs(List<byte[]> flat, java.util.Map<Bytes, byte[]> hash) {
    assertThat(flat.size() % 2).isZero();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < flat.size(); i += 2) {
      assertThat(flat.get(i + 1)).isEqualTo(hash.get(new Bytes(flat.get(i))));
      names.add(new String(flat.get(i), StandardCharsets.UTF_8));
    }
    return names;
  }

  @ParameterizedTest
  @ValueSource(ints = {100, 1000})
  void hashDraws_positiveDistinct_negativeRepeating_withTheirValues_asRedis(int n) {
    java.util.LinkedHashMap<Bytes, byte[]> hash = fields(n);
    ByteBuffer payload = hashPayload(hash, java.util.Map.of());
    assertThat(PackedIndex.isIndexed(payload)).isEqualTo(n > PackedIndex.INDEXED_ABOVE);
    Random rnd = new Random(n);

    for (int count : new int[] {1, 7, n / 2, n / 2 + 1, n, n + 10}) {
      List<String> got = checkedPairs(PackedLookup.randomElements(payload, true, count, true, NOW, rnd), hash);
      assertThat(got).as("count %s", count).hasSize(Math.min(count, n)).doesNotHaveDuplicates();
    }
    List<String> repeats = checkedPairs(PackedLookup.randomElements(payload, true, -3 * n, true, NOW, rnd), hash);
    assertThat(repeats).as("a negative count is honoured and repeats").hasSize(3 * n);
    assertThat(new HashSet<>(repeats)).hasSizeLessThan(3 * n);
    assertThat(PackedLookup.randomElements(payload, true, -5, false, NOW, rnd)).hasSize(5)
        .allMatch(f -> hash.containsKey(new Bytes(f)));
    assertThat(PackedLookup.randomElements(null, true, -5, true, NOW, rnd)).isEmpty();
    assertThat(PackedLookup.randomElements(payload, true, 0, true, NOW, rnd)).isEmpty();
    assertThat(PackedLookup.randomElements(payload, true, Long.MAX_VALUE, false, NOW, rnd)).as("all of them")
        .hasSize(n);
  }

  @Test
  void hashDraws_neverReturnAFieldWhoseTimeHasCome() {
    java.util.LinkedHashMap<Bytes, byte[]> hash = fields(300); // field times: the plain layout at any size
    java.util.Map<Bytes, Long> ttl = new java.util.HashMap<>();
    int i = 0;
    for (Bytes f : hash.keySet()) {
      if (i++ % 3 != 0) {
        ttl.put(f, i % 2 == 0 ? NOW : NOW + 1); // two in three timed, half of them due
      }
    }
    ByteBuffer payload = hashPayload(hash, ttl);
    Random rnd = new Random(5);
    List<String> drawn = new ArrayList<>();
    drawn.addAll(checkedPairs(PackedLookup.randomElements(payload, true, -5000, true, NOW, rnd), hash));
    drawn.addAll(checkedPairs(PackedLookup.randomElements(payload, true, 1000, true, NOW, rnd), hash));
    long live = hash.keySet().stream().filter(f -> !ttl.containsKey(f) || ttl.get(f) > NOW).count();
    assertThat(new HashSet<>(drawn)).as("every live field, no due one").hasSize((int) live)
        .allMatch(f -> !ttl.containsKey(new Bytes(b(f))) || ttl.get(new Bytes(b(f))) > NOW);
  }

  /** Every element drawn by {@code draws} calls of randomElements(count) over {@code order}: uniform. */
  private static void assertDrawsUniform(ByteBuffer payload, boolean pairs, List<Bytes> order, int count, int draws,
      long seed) {
    java.util.Map<Bytes, Integer> cell = new java.util.HashMap<>();
    for (int i = 0; i < order.size(); i++) {
      cell.put(order.get(i), i);
    }
    long[] hits = new long[order.size()];
    Random rnd = new Random(seed);
    for (int d = 0; d < draws; d++) {
      for (byte[] e : PackedLookup.randomElements(payload, pairs, count, false, NOW, rnd)) {
        hits[cell.get(new Bytes(e))]++;
      }
    }
    assertChiSquared(hits, draws + " draws of " + count + " over " + order.size() + (pairs ? " fields" : " members"));
  }

  @Test
  void hashDraws_areUniform_withAndWithoutRepeats_onAnIndexedHashAndAPlainOne() {
    java.util.LinkedHashMap<Bytes, byte[]> large = fields(1000);
    ByteBuffer indexed = hashPayload(large, java.util.Map.of());
    List<Bytes> order = new ArrayList<>(large.keySet());
    assertDrawsUniform(indexed, true, order, 1, 200_000, 11);
    assertDrawsUniform(indexed, true, order, -20, 10_000, 12); // independent draws: every one counts
    assertDrawsUniform(indexed, true, order, 300, 700, 13); // distinct: each field once per call at most
    java.util.LinkedHashMap<Bytes, byte[]> small = fields(100);
    ByteBuffer plain = hashPayload(small, java.util.Map.of());
    assertDrawsUniform(plain, true, new ArrayList<>(small.keySet()), -10, 10_000, 14);
    assertDrawsUniform(plain, true, new ArrayList<>(small.keySet()), 1, 100_000, 15);
  }

  @Test
  void setDraws_withRepeats_areUniform() {
    LinkedHashSet<Bytes> set = members(1000);
    assertDrawsUniform(payload(set), false, new ArrayList<>(set), -20, 10_000, 16);
  }

  @Test
  void indexedTable_holdingFewerMembersThanItsCount_isReported() {
    LinkedHashSet<Bytes> set = members(200);
    byte[] payload = CollectionCodec.encodeSet(set, set.size());
    ByteBuffer opened = PackedIndex.open(ByteBuffer.wrap(payload), false);
    int capacity = PackedIndex.capacity(opened);
    for (int s = 0; s < capacity; s++) {
      if (s % 4 != 0) {
        ByteBuffer.wrap(payload).putInt(PackedIndex.HEADER + 4 * s, 0); // about 150 of the 200 offsets gone
      }
    }
    assertThatThrownBy(() -> PackedLookup.randomSetMembers(ByteBuffer.wrap(payload), 100, new Random(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("fewer than its count 200");
  }
}
