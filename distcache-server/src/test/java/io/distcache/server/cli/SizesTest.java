package io.distcache.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class SizesTest {

  @ParameterizedTest
  @CsvSource({
    "0, 0",
    "1024, 1024",
    "100b, 100",
    "1k, 1000",
    "100kb, 102400",
    "512mb, 536870912",
    "512MB, 536870912",
    "1m, 1000000",
    "1g, 1000000000",
    "4gb, 4294967296",
    "2tb, 2199023255552",
    "' 8mb ', 8388608"
  })
  void parse_validSize_returnsBytes(String text, long expected) {
    assertThat(Sizes.parse(text)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "mb", "12xb", "-1", "1.5gb", "gb1", "1 gb x"})
  void parse_malformed_namesTheValue(String text) {
    assertThatThrownBy(() -> Sizes.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("size");
  }

  @Test
  void parse_malformed_messageQuotesTheText() {
    assertThatThrownBy(() -> Sizes.parse("12xb")).hasMessageContaining("'12xb'").hasMessageContaining("512mb");
  }

  @Test
  void parse_overflow_saysTooLarge() {
    assertThatThrownBy(() -> Sizes.parse("99999999999tb")).hasMessageContaining("too large");
  }

  @Test
  void parseInt_overIntRange_namesTheLimit() {
    assertThatThrownBy(() -> Sizes.parseInt("4gb"))
        .hasMessageContaining("4gb")
        .hasMessageContaining(String.valueOf(Integer.MAX_VALUE));
  }

  @ParameterizedTest
  @CsvSource({"0, 0 B", "1023, 1023 B", "1024, 1 KiB", "1536, 1.5 KiB", "1073741824, 1 GiB"})
  void format_bytes_usesBinaryUnits(long bytes, String expected) {
    assertThat(Sizes.format(bytes)).isEqualTo(expected);
  }
}
