package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobMatcherTest {

  private static boolean match(String pattern, String subject) {
    return GlobMatcher.matches(pattern.getBytes(StandardCharsets.ISO_8859_1), subject.getBytes(StandardCharsets.ISO_8859_1));
  }

  @ParameterizedTest(name = "''{0}'' matches ''{1}''")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "*|\"\"", "*|anything", "h?llo|hello", "h?llo|hallo", "h*llo|hllo", "h*llo|heeeello",
      "h[ae]llo|hello", "h[ae]llo|hallo", "h[^e]llo|hallo", "h[a-b]llo|hbllo", "h[b-a]llo|hallo",
      "\\*|*", "a\\?b|a?b", "h[\\]]llo|h]llo", "a*b*c|aXXbYYc", "**a**|a", "user:*|user:42",
      "[abc|c", "a\\|a\\", "*a*a*a*a*b|aaaaaaaaaaaaaaaaaaaab", "\"\"|\"\"", "?*|x"
  })
  void matches_matchingSubject_true(String pattern, String subject) {
    assertThat(match(pattern, subject)).isTrue();
  }

  @ParameterizedTest(name = "''{0}'' does not match ''{1}''")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "h?llo|hllo", "h[ae]llo|hillo", "h[^e]llo|hello", "h[a-b]llo|hcllo", "\\*|a", "abc|abcd",
      "abc|ab", "a*b|acbd", "?|\"\"", "[]a]|a", "*a*a*a*a*b|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "user:*|use",
      "\"\"|a", "H*|hello"
  })
  void matches_nonMatchingSubject_false(String pattern, String subject) {
    assertThat(match(pattern, subject)).isFalse();
  }

  @Test
  void matches_binaryBytes_comparedAsUnsignedRanges() {
    byte[] pattern = {'[', 0x01, '-', (byte) 0xF0, ']'};
    assertThat(GlobMatcher.matches(pattern, new byte[] {(byte) 0x80})).isTrue();
    assertThat(GlobMatcher.matches(pattern, new byte[] {(byte) 0xFF})).isFalse();
  }

  @Test
  void isLiteral_specialCharacters_false() {
    assertThat(GlobMatcher.isLiteral("plain:key".getBytes(StandardCharsets.UTF_8))).isTrue();
    assertThat(GlobMatcher.isLiteral("a*".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(GlobMatcher.isLiteral("a?".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(GlobMatcher.isLiteral("[a]".getBytes(StandardCharsets.UTF_8))).isFalse();
    assertThat(GlobMatcher.isLiteral("a\\b".getBytes(StandardCharsets.UTF_8))).isFalse();
  }
}
