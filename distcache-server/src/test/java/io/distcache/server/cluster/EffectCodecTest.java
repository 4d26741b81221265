package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.cluster.EffectCodec.Effect;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class EffectCodecTest {

  @Test
  void encodeDecode_putsAndDeletes_roundTrip() {
    List<Effect> in = List.of(new Effect(new byte[] {'a'}, new byte[] {1, 2}, 1234, 99), Effect.delete(new byte[] {'b'}),
        new Effect(new byte[] {'c'}, new byte[0], 0, 7));

    List<Effect> out = EffectCodec.decode(EffectCodec.encode(in));

    assertThat(out).hasSize(3);
    assertThat(out.get(0).key()).isEqualTo(new byte[] {'a'});
    assertThat(out.get(0).value()).isEqualTo(new byte[] {1, 2});
    assertThat(out.get(0).expireAtMillis()).isEqualTo(1234);
    assertThat(out.get(0).version()).isEqualTo(99);
    assertThat(out.get(1).isDelete()).isTrue();
    assertThat(out.get(2).value()).isEmpty();
  }

  @Test
  void encodeDecode_keepsTheTypeOfHashesSetsAndSortedSets() {
    List<Effect> in = List.of(new Effect(new byte[] {'h'}, io.distcache.protocol.ValueType.HASH, new byte[] {3}, 0, 5),
        new Effect(new byte[] {'s'}, io.distcache.protocol.ValueType.SET, new byte[] {4}, 0, 6),
        new Effect(new byte[] {'t'}, new byte[] {5}, 0, 7),
        new Effect(new byte[] {'z'}, io.distcache.protocol.ValueType.ZSET, new byte[] {6}, 0, 8));

    byte[] encoded = EffectCodec.encode(in);
    List<Effect> out = EffectCodec.decode(encoded);

    assertThat(out).extracting(Effect::type).containsExactly(io.distcache.protocol.ValueType.HASH,
        io.distcache.protocol.ValueType.SET, io.distcache.protocol.ValueType.STRING, io.distcache.protocol.ValueType.ZSET);
    assertThat(out.get(1).value()).isEqualTo(new byte[] {4});
    assertThat(out.get(3).value()).isEqualTo(new byte[] {6});
    // count, then three effects of 1 + 3 + 1 + 20 + 1 bytes before the sorted set's kind byte
    assertThat(encoded[2 + 3 * 26]).as("a sorted set's kind").isEqualTo(EffectCodec.PUT_ZSET);
  }

  @Test
  void markers_copiedAndReleased_roundTrip_andAreNeitherPutsNorDeletes() {
    List<Effect> out = EffectCodec.decode(EffectCodec.encode(List.of(Effect.copied(16383, 42L), Effect.released(7))));

    assertThat(out.get(0).isCopied()).isTrue();
    assertThat(out.get(0).isReleased()).isFalse();
    assertThat(out.get(0).copiedSlot()).isEqualTo(16383);
    assertThat(out.get(0).copiedToken()).isEqualTo(42L);
    assertThat(out.get(1).isReleased()).isTrue();
    assertThat(out.get(1).isCopied()).isFalse();
    assertThat(out.get(1).copiedSlot()).isEqualTo(7);
    assertThat(out).allMatch(Effect::isMarker).noneMatch(Effect::isDelete);
    // count u16 1 | kind RELEASED | key length u24 2 | slot u16
    assertThat(EffectCodec.encode(List.of(Effect.released(7)))).isEqualTo(new byte[] {0, 1, 6, 0, 0, 2, 0, 7});
    // a RELEASED whose slot is past the last one, from a hostile or broken peer
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 6, 0, 0, 2, 0x40, 7}))
        .hasMessageContaining("a RELEASED key is a slot below 16384 (2 bytes), got 2 bytes");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 6, 0, 0, 3, 0, 7, 0}))
        .hasMessageContaining("got 3 bytes");
  }

  @Test
  void encode_exactBytes() {
    byte[] bytes = EffectCodec.encode(List.of(Effect.delete(new byte[] {'k'})));
    // count u16 1 | kind DELETE | key length u24 1 | 'k'
    assertThat(bytes).isEqualTo(new byte[] {0, 1, 2, 0, 0, 1, 'k'});
  }

  @Test
  void decode_malformed_namesTheProblem() {
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0}))
        .hasMessageContaining("effect count is cut off");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0x13, (byte) 0x88}))
        .hasMessageContaining("effect count 5000 is outside 0..4096");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 9}))
        .hasMessageContaining("unknown kind 9");
    // a key length past the key limit (and the bytes left): refused before allocating
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 2, 0x7f, 0, 0}))
        .hasMessageContaining("key length 8323072 is outside");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 2, 0, 0, 0}))
        .hasMessageContaining("empty key");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 0, 1}))
        .hasMessageContaining("1 trailing bytes after 0 effects");
    assertThatThrownBy(() -> EffectCodec.decode(new byte[] {0, 1, 1, 0, 0, 1, 'k', 0, 0}))
        .hasMessageContaining("cut off before its version");
  }
}
