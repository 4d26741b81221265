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
 * PackedLookup.randomSetMembers, SPOP's draw: distinct members of the set, as many as asked or all
 * of them, each draw uniform (a chi-squared test over many draws, on both layouts and on an indexed
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
    double expected = (double) draws / n;
    double chi2 = 0;
    for (long h : hits) {
      chi2 += (h - expected) * (h - expected) / expected;
    }
    // n - 1 degrees of freedom; mean n - 1, sd sqrt(2(n - 1)): 5 sd is far out for a fair draw
    double bound = (n - 1) + 5 * Math.sqrt(2.0 * (n - 1));
    assertThat(chi2).as("chi-squared of %s draws over %s members", draws, n).isLessThan(bound);
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
