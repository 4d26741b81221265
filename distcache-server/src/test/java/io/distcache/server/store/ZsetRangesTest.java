package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.ScoredMembers.Scored;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * ZsetRanges' walks against the decoded set they replace (DecodedZsetRanges: ScoredMembers' binary
 * search by score, its listpack walk by lex, removal and encoding): on random payloads and bounds,
 * the same ranks, the same members for every pick inside the range, and the same bytes after a
 * removal; offsets that point at the range's elements. The payload is lent as the store lends it
 * (RandomZsets.lent).
 */
class ZsetRangesTest {
  private static byte[] payload(ScoredMembers z) {
    return z.size() == 0 ? null : z.encode();
  }

  @Property(tries = 3000)
  void everyRangeIsTheDecodedSetsRange(@ForAll long seed) {
    Random rnd = new Random(seed);
    ScoredMembers z = RandomZsets.randomSet(rnd);
    byte[] bytes = payload(z);
    ByteBuffer view = RandomZsets.lent(bytes);

    double lo = RandomZsets.randomScore(rnd);
    double hi = rnd.nextInt(5) == 0 ? lo : RandomZsets.randomScore(rnd);
    boolean exLo = rnd.nextBoolean();
    boolean exHi = rnd.nextBoolean();
    int from = DecodedZsetRanges.firstFrom(z, lo, exLo);
    int to = Math.max(from, DecodedZsetRanges.firstFrom(z, hi, !exHi));
    check(z, bytes, view, ZsetRanges.byScore(view, lo, exLo, hi, exHi), from, to, rnd);

    byte[] min = RandomZsets.randomLexBound(rnd, z);
    byte[] max = rnd.nextInt(6) == 0 ? min.clone() : RandomZsets.randomLexBound(rnd, z);
    for (boolean reverse : new boolean[] {false, true}) {
      int[] expected;
      try {
        expected = DecodedZsetRanges.lexRange(z, min, max, reverse);
      } catch (IllegalArgumentException refused) {
        assertThatThrownBy(() -> ZsetRanges.byLex(view, min, max, reverse)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage(refused.getMessage());
        continue;
      }
      check(z, bytes, view, ZsetRanges.byLex(view, min, max, reverse), expected[0], expected[1], rnd);
    }

    int a = z.size() == 0 ? 0 : rnd.nextInt(z.size() + 1);
    int b = a + (z.size() == a ? 0 : rnd.nextInt(z.size() - a + 1));
    check(z, bytes, view, ZsetRanges.byRank(view, a, b), a, b, rnd);
  }

  /** The span is ranks [from, to) of z; its members and its removal are the decoded set's. */
  private static void check(ScoredMembers z, byte[] bytes, ByteBuffer view, ZsetRanges.Span span, int from, int to,
      Random rnd) {
    assertThat(span.count()).isEqualTo(z.size());
    if (to > from) {
      assertThat(new int[] {span.from(), span.to()}).as("ranks").containsExactly(from, to);
    } else {
      assertThat(span.size()).as("an empty range").isLessThanOrEqualTo(0);
      return;
    }
    int elementsAt = bytes.length - (int) java.util.stream.IntStream.range(0, z.size())
        .mapToLong(i -> CollectionCodec.varintSize(z.get(i).member().length) + z.get(i).member().length + 8).sum();
    assertThat(span.fromAt()).as("offset of the first element").isEqualTo(elementsAt + bytesBefore(z, from));
    assertThat(span.toAt()).as("offset after the last element").isEqualTo(elementsAt + bytesBefore(z, to));
    // every pick LIMIT can make inside the range, and the whole range
    int a = from + rnd.nextInt(to - from + 1);
    int b = a + rnd.nextInt(to - a + 1);
    for (int[] pick : new int[][] {{a, b}, {from, to}}) {
      List<Scored> members = ZsetRanges.members(view, span, pick[0], pick[1]);
      List<Scored> expected = z.slice(pick[0], pick[1]);
      assertThat(members).hasSize(expected.size());
      for (int i = 0; i < expected.size(); i++) {
        assertThat(members.get(i).member()).isEqualTo(expected.get(i).member());
        assertThat(Double.doubleToRawLongBits(members.get(i).score()))
            .isEqualTo(Double.doubleToRawLongBits(expected.get(i).score()));
      }
    }
    assertThat(ZsetRanges.without(view, span)).as("the payload without the range")
        .isEqualTo(DecodedZsetRanges.without(z, from, to));
  }

  private static int bytesBefore(ScoredMembers z, int rank) {
    int n = 0;
    for (int i = 0; i < rank; i++) {
      n += CollectionCodec.varintSize(z.get(i).member().length) + z.get(i).member().length + 8;
    }
    return n;
  }

  @Test
  void byScore_inclusiveAndExclusive_andInfinities() {
    ScoredMembers z = ScoredMembers.decode(null);
    z.put("a".getBytes(), 1);
    z.put("b".getBytes(), 2);
    z.put("c".getBytes(), 2);
    z.put("d".getBytes(), Double.POSITIVE_INFINITY);
    ByteBuffer view = RandomZsets.lent(z.encode());
    assertThat(ranks(ZsetRanges.byScore(view, 2, false, 2, false))).containsExactly(1, 3);
    assertThat(ranks(ZsetRanges.byScore(view, 2, true, Double.POSITIVE_INFINITY, false))).containsExactly(3, 4);
    assertThat(ranks(ZsetRanges.byScore(view, 2, false, Double.POSITIVE_INFINITY, true))).containsExactly(1, 3);
    assertThat(ranks(ZsetRanges.byScore(view, Double.NEGATIVE_INFINITY, false, 1, true))).containsExactly(0, 0);
    assertThat(ranks(ZsetRanges.byScore(view, -0.0, false, 0.0, false))).containsExactly(0, 0);
    assertThat(ZsetRanges.byScore(view, 3, false, 1, false).size()).as("lo above hi").isZero();
  }

  @Test
  void byLex_reverse_startsFromTheLastMemberAtOrBelowMax_asRedisListpackWalk() {
    // Mixed scores: b(1) a(2) c(3) a2(4). Forward "[a" .. "[b": from the first member at or above
    // "a" (b), on while at or below "b" (b, a), stop at c: ranks 0..2. REV: from the last member at
    // or below "b" (a2), down while at or above "a" (a2, c, a, b): ranks 0..4, c with them. With
    // "(a" the walk down stops at a: ranks 2..4.
    ScoredMembers z = ScoredMembers.decode(null);
    z.put("b".getBytes(), 1);
    z.put("a".getBytes(), 2);
    z.put("c".getBytes(), 3);
    z.put("a2".getBytes(), 4);
    ByteBuffer view = RandomZsets.lent(z.encode());
    assertThat(ranks(ZsetRanges.byLex(view, "[a".getBytes(), "[b".getBytes(), false))).containsExactly(0, 2);
    assertThat(ranks(ZsetRanges.byLex(view, "[a".getBytes(), "[b".getBytes(), true))).containsExactly(0, 4);
    assertThat(ranks(ZsetRanges.byLex(view, "(a".getBytes(), "[b".getBytes(), true))).containsExactly(2, 4);
  }

  @Test
  void byLex_checksItsBoundsOnlyWhenTheSetHasMembers_asBefore() {
    assertThat(ZsetRanges.byLex(null, "x".getBytes(), "+".getBytes(), false).size()).isZero();
    ByteBuffer view = RandomZsets.lent(CollectionCodec.encodeZset(List.of(new Scored("a".getBytes(), 1))));
    assertThatThrownBy(() -> ZsetRanges.byLex(view, "x".getBytes(), "+".getBytes(), false))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("min or max not valid string range item");
  }

  @Test
  void aTruncatedPayload_isRefused_notReadPastItsEnd() {
    byte[] whole = CollectionCodec.encodeZset(List.of(new Scored("a".getBytes(), 1), new Scored("b".getBytes(), 2)));
    ByteBuffer cut = RandomZsets.lent(java.util.Arrays.copyOf(whole, whole.length - 3));
    assertThatThrownBy(() -> ZsetRanges.byScore(cut, 0, false, 5, false)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> ZsetRanges.byRank(cut, 0, 2)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("truncated");
  }

  private static int[] ranks(ZsetRanges.Span s) {
    return new int[] {s.from(), s.to()};
  }
}
