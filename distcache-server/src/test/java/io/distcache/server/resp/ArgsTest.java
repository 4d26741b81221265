package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ArgsTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @ParameterizedTest
  @CsvSource({"0x10, 16", "0X1.8p3, 12", "-0x.8, -0.5", "+0x1p-2, 0.25", "0x1., 1", "0xff.8P+1, 511", "1.5, 1.5"})
  void parseDouble_hexAndDecimal_valueOfCStrtold(String text, double expected) {
    assertThat(Args.parseDouble(b(text))).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0x", "0x.", "0xp1", "0x1p", "0x1p+", "0x1.8p3!", "0x1g", "0x1.2.3", "--0x1", "0x1p1.5", ""})
  void parseDouble_malformedHex_notAValidFloat(String text) {
    assertThatThrownBy(() -> Args.parseDouble(b(text))).isInstanceOf(CommandException.class)
        .hasMessage(RespErrors.NOT_FLOAT);
  }

  @Test
  void parseDouble_hexLongerThanRedisFloatLimit_notAValidFloat() {
    // A valid hex float one character past Redis's MAX_LONG_DOUBLE_CHARS (5 KiB with the NUL).
    byte[] text = b("0x1." + "0".repeat(5 * 1024 - 1 - 4 + 1));
    assertThatThrownBy(() -> Args.parseDouble(text)).isInstanceOf(CommandException.class)
        .hasMessage(RespErrors.NOT_FLOAT);
  }

  @Test
  void parseDouble_hexAtRedisFloatLimit_parses() {
    byte[] text = b("0x1." + "0".repeat(5 * 1024 - 1 - 4));
    assertThat(Args.parseDouble(text)).isEqualTo(1.0);
  }

  @Test
  void parseDouble_manyHexDigitsThenJunk_notAValidFloat() {
    // Once made a backtracking regex try every split of the digits: quadratic in the argument.
    byte[] text = b("0x" + "1".repeat(16_000) + "!");
    assertThatThrownBy(() -> Args.parseDouble(text)).isInstanceOf(CommandException.class)
        .hasMessage(RespErrors.NOT_FLOAT);
  }
}
