package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The sorted-set payload and its in-memory order: layout, order of ties, ranges, hostile payloads refused. */
class ScoredMembersTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void encode_layout_isCountThenMemberAndScoreInOrder() {
    ScoredMembers z = ScoredMembers.decode(null);
    assertThat(z.put(b("b"), 1.0)).isTrue();
    assertThat(z.put(b("a"), 2.0)).isTrue();
    assertThat(z.put(b("b"), 3.0)).as("an update").isFalse();
    byte[] p = z.encode();
    ByteBuffer expected = ByteBuffer.allocate(1 + 2 * (2 + 8));
    expected.put((byte) 2).put((byte) 1).put((byte) 'a').putDouble(2.0).put((byte) 1).put((byte) 'b').putDouble(3.0);
    assertThat(p).isEqualTo(expected.array());
    ScoredMembers back = ScoredMembers.decode(p);
    assertThat(back.size()).isEqualTo(2);
    assertThat(back.score(b("b"))).isEqualTo(3.0);
    assertThat(back.rank(b("b"))).isEqualTo(1);
    assertThat(back.rank(b("x"))).isEqualTo(-1);
  }

  @Test
  void ties_areOrderedByUnsignedMemberBytes_andBothZerosAreOneScore() {
    ScoredMembers z = ScoredMembers.decode(null);
    z.put(new byte[] {(byte) 0xE9}, 0.0);
    z.put(b("z"), -0.0);
    z.put(b("a"), 0.0);
    assertThat(new String(z.get(0).member(), StandardCharsets.UTF_8)).isEqualTo("a");
    assertThat(new String(z.get(1).member(), StandardCharsets.UTF_8)).isEqualTo("z");
    assertThat(z.get(2).member()).containsExactly((byte) 0xE9);
    assertThat(z.remove(b("z"))).isTrue();
    assertThat(z.remove(b("z"))).isFalse();
    assertThat(z.size()).isEqualTo(2);
  }

  @Test
  void put_nan_isRefused() {
    ScoredMembers z = ScoredMembers.decode(null);
    assertThatThrownBy(() -> z.put(b("a"), Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    assertThat(z.size()).isZero();
  }

  @Test
  void decode_hostilePayloads_areReportedNotTrusted() {
    ByteBuffer outOfOrder = ByteBuffer.allocate(1 + 2 * 10);
    outOfOrder.put((byte) 2).put((byte) 1).put((byte) 'a').putDouble(2.0).put((byte) 1).put((byte) 'b').putDouble(1.0);
    assertThatThrownBy(() -> ScoredMembers.decode(outOfOrder.array())).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("out of order");
    ByteBuffer twice = ByteBuffer.allocate(1 + 2 * 10);
    twice.put((byte) 2).put((byte) 1).put((byte) 'a').putDouble(1.0).put((byte) 1).put((byte) 'a').putDouble(1.0);
    assertThatThrownBy(() -> ScoredMembers.decode(twice.array())).isInstanceOf(IllegalStateException.class);
    ByteBuffer nan = ByteBuffer.allocate(1 + 10);
    nan.put((byte) 1).put((byte) 1).put((byte) 'a').putDouble(Double.NaN);
    assertThatThrownBy(() -> ScoredMembers.decode(nan.array())).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> ScoredMembers.decode(new byte[] {(byte) 0x7F})).as("a count past the bytes left")
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> ScoredMembers.decode(new byte[] {1, 1, 'a', 0, 0, 0, 0, 0, 0, 0})).as("a score cut off")
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("truncated");
    assertThatThrownBy(() -> ScoredMembers.decode(new byte[] {0, 9})).as("trailing bytes")
        .isInstanceOf(IllegalStateException.class);
  }
}
