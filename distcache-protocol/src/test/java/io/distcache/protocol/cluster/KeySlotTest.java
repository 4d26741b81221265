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
