package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RedisNumbersTest {

  private static byte[] b(String s) {
    return s.getBytes(US_ASCII);
  }

  @ParameterizedTest
  @CsvSource({"0,0", "-1,-1", "42,42", "9223372036854775807,9223372036854775807",
      "-9223372036854775808,-9223372036854775808"})
  void parseLong_canonical_parses(String text, long expected) {
    assertThat(RedisNumbers.parseLong(b(text))).isEqualTo(expected);
    assertThat(RedisNumbers.formatLong(expected)).isEqualTo(b(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-0", "01", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
      "123456789012345678901", "1-"})
  void parseLong_nonCanonical_notANumberWithRedisMessage(String text) {
    assertThatThrownBy(() -> RedisNumbers.parseLong(b(text)))
        .isInstanceOf(StoreException.class)
        .hasMessage("value is not an integer or out of range");
  }

  @ParameterizedTest
  @CsvSource({"1.5,1.5", "-.5,-0.5", "5.,5.0", "1e3,1000.0", "+2E-1,0.2", "0,0.0"})
  void parseDouble_decimal_parses(String text, double expected) {
    assertThat(RedisNumbers.parseDouble(b(text))).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"inf", "+Infinity", "INF"})
  void parseDouble_positiveInfinity_parses(String text) {
    assertThat(RedisNumbers.parseDouble(b(text))).isEqualTo(Double.POSITIVE_INFINITY);
  }

  @Test
  void parseDouble_negativeInfinity_parses() {
    assertThat(RedisNumbers.parseDouble(b("-inf"))).isEqualTo(Double.NEGATIVE_INFINITY);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "nan", " 1", "1 ", "1d", "1f", "0x10", "e5", "1e", "1e+", "--1", "1e400", "Infinityx"})
  void parseDouble_notAFloat_notANumberWithRedisMessage(String text) {
    assertThatThrownBy(() -> RedisNumbers.parseDouble(b(text)))
        .isInstanceOf(StoreException.class)
        .hasMessage("value is not a valid float");
  }

  @Test
  void addFloat_hostileExponents_answerQuickly() {
    assertThat(RedisNumbers.addFloat(b("1e-999999999"), 0)).isEqualTo(b("0"));
    assertThat(RedisNumbers.addFloat(b("1e-999999999"), 1)).isEqualTo(b("1"));
    assertThatThrownBy(() -> RedisNumbers.addFloat(b("1e999999999"), 0))
        .isInstanceOf(StoreException.class)
        .hasMessage("value is not a valid float");
    assertThatThrownBy(() -> RedisNumbers.addFloat(b("1e99999999999"), 0))
        .isInstanceOf(StoreException.class)
        .hasMessage("value is not a valid float");
  }

  @Test
  void addFloat_tooLongText_notANumber() {
    byte[] digits = new byte[5 * 1024];
    Arrays.fill(digits, (byte) '1');

    assertThatThrownBy(() -> RedisNumbers.addFloat(digits, 0)).isInstanceOf(StoreException.class);
  }
}
