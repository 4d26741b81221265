package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class InlineSplitterTest {

  private static List<String> split(String line) {
    List<byte[]> parts = InlineSplitter.split(line.getBytes(StandardCharsets.ISO_8859_1));
    return parts == null ? null : parts.stream().map(b -> new String(b, StandardCharsets.ISO_8859_1)).toList();
  }

  @Test
  void split_blanks_separateArguments() {
    assertThat(split("  SET  key\tvalue  ")).containsExactly("SET", "key", "value");
  }

  @Test
  void split_doubleQuotes_understandEscapes() {
    assertThat(split("SET k \"a b\\n\\x41\\\"\"")).containsExactly("SET", "k", "a b\nA\"");
  }

  @Test
  void split_singleQuotes_onlyEscapeQuote() {
    assertThat(split("SET k 'it\\'s \\n'")).containsExactly("SET", "k", "it's \\n");
  }

  @Test
  void split_emptyQuotes_giveEmptyArgument() {
    assertThat(split("SET k \"\"")).containsExactly("SET", "k", "");
  }

  @Test
  void split_unterminatedQuote_null() {
    assertThat(split("SET k \"abc")).isNull();
    assertThat(split("SET k 'abc")).isNull();
  }

  @Test
  void split_closingQuoteFollowedByText_null() {
    assertThat(split("SET k \"a\"b")).isNull();
  }

  @Test
  void split_blankLine_noArguments() {
    assertThat(split("   ")).isEmpty();
  }

  @Test
  void split_nulByte_endsTheLine() {
    assertThat(split("GET k\0ignored")).containsExactly("GET", "k");
  }
}
