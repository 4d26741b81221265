package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeySlotTest {

  @Test
  void crc16_checkString_isTheXmodemCheckValue() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertThat(KeySlot.crc16(check, 0, check.length)).isEqualTo(0x31C3);
  }

  /** Slots as Redis Cluster's CLUSTER KEYSLOT reports them. */
  @ParameterizedTest
  @CsvSource({"foo,12182", "bar,5061", "hello,866", "'',0", "a,15495", "{user1000}.following,3443",
      "{user1000}.followers,3443", "user1000,3443", "foo{}{bar},8363", "foo{{bar}}zap,4015", "foo{bar}{zap},5061"})
  void of_redisExamples_matchRedisCluster(String key, int slot) {
    assertThat(KeySlot.of(key.getBytes(StandardCharsets.UTF_8))).isEqualTo(slot);
  }

  @Test
  void of_hashTag_onlyTheTagIsHashed() {
    assertThat(KeySlot.of(bytes("{tag}:1"))).isEqualTo(KeySlot.of(bytes("tag")));
    assertThat(KeySlot.of(bytes("x{tag}y"))).isEqualTo(KeySlot.of(bytes("tag")));
  }

  @Test
  void of_emptyOrUnclosedTag_hashesTheWholeKey() {
    byte[] empty = bytes("{}abc");
    byte[] unclosed = bytes("abc{def");
    assertThat(KeySlot.of(empty)).isEqualTo(KeySlot.crc16(empty, 0, empty.length) & 16383);
    assertThat(KeySlot.of(unclosed)).isEqualTo(KeySlot.crc16(unclosed, 0, unclosed.length) & 16383);
  }

  /** A key read where it lies in a buffer, between other bytes, has the slot of the key as an array. */
  @net.jqwik.api.Property
  void of_keyInABuffer_isTheSlotOfTheSameBytes(
      @net.jqwik.api.ForAll @net.jqwik.api.constraints.Size(max = 40) java.util.List<@net.jqwik.api.constraints.CharRange(from = 'x', to = '}') Character> chars,
      @net.jqwik.api.ForAll @net.jqwik.api.constraints.IntRange(max = 7) int before,
      @net.jqwik.api.ForAll boolean direct) {
    byte[] key = new byte[chars.size()];
    for (int i = 0; i < key.length; i++) {
      key[i] = (byte) (char) chars.get(i);
    }
    java.nio.ByteBuffer buf = direct ? java.nio.ByteBuffer.allocateDirect(before + key.length + 3)
        : java.nio.ByteBuffer.allocate(before + key.length + 3);
    for (int i = 0; i < buf.capacity(); i++) {
      buf.put(i, (byte) '{'); // a tag opened around the key must not count
    }
    buf.put(before, key);
    assertThat(KeySlot.of(buf, before, key.length)).isEqualTo(KeySlot.of(key));
    assertThat(buf.position()).isZero();
  }

  @Test
  void of_keyInABuffer_redisExamples() {
    for (String k : new String[] {"foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", ""}) {
      byte[] key = bytes(k);
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(key.length + 2);
      buf.put(1, key);
      assertThat(KeySlot.of(buf, 1, key.length)).as(k).isEqualTo(KeySlot.of(key));
    }
  }

  @Test
  void check_outOfRange_namesTheSlot() {
    assertThat(KeySlot.check(16383)).isEqualTo(16383);
    assertThatThrownBy(() -> KeySlot.check(16384)).hasMessage("slot 16384 is outside 0..16383");
    assertThatThrownBy(() -> KeySlot.check(-1)).hasMessage("slot -1 is outside 0..16383");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
