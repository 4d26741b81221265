package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.store.ScoredMembers.Scored;
import java.nio.ByteBuffer;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * PackedLookup's walks of a sorted set (ZRANK's zsetRank, ZRANGE by rank's zsetRange) against the
 * decoded set: the same rank, score and members for every member and every range.
 */
class ZsetWalksTest {
  @Property(tries = 300)
  void rankAndRangeAgreeWithTheDecodedSet(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll long seed,
      @ForAll @IntRange(min = 0, max = 400) int from, @ForAll @IntRange(min = 0, max = 400) int length) {
    java.util.Random rnd = new java.util.Random(seed);
    ScoredMembers z = ScoredMembers.decode(null);
    while (z.size() < n) {
      byte[] member = new byte[rnd.nextInt(12)];
      rnd.nextBytes(member);
      z.put(member, rnd.nextInt(20) - 10); // equal scores ordered by member bytes
    }
    ByteBuffer payload = ByteBuffer.allocateDirect(z.encode().length).put(z.encode()).flip().asReadOnlyBuffer();
    for (int i = 0; i < z.size(); i++) {
      PackedLookup.Ranked r = PackedLookup.zsetRank(payload, z.get(i).member());
      assertThat(r.rank()).isEqualTo(i);
      assertThat(r.size()).isEqualTo(n);
      assertThat(r.score()).isEqualTo(z.get(i).score());
    }
    assertThat(PackedLookup.zsetRank(payload, "not a member, 12+ bytes long".getBytes())).isNull();
    int lo = Math.min(from, n);
    int hi = Math.min(n, lo + length);
    List<Scored> range = PackedLookup.zsetRange(payload, lo, hi);
    assertThat(range).hasSize(hi - lo);
    for (int i = lo; i < hi; i++) {
      assertThat(range.get(i - lo).member()).isEqualTo(z.get(i).member());
      assertThat(range.get(i - lo).score()).isEqualTo(z.get(i).score());
    }
  }
}
