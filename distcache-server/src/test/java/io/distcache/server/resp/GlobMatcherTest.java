package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

  private static byte[] repeat(char c, int n) {
    return String.valueOf(c).repeat(n).getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] concat(String head, byte[] middle, String tail) {
    return (head + new String(middle, StandardCharsets.ISO_8859_1) + tail).getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void matches_longPieceAgainstLongSubject_refusedNamingSizesAndLimit() {
    // The finding: long patterns against a 64 KiB key walked billions of steps on the event loop.
    // A 32 KiB piece fits at 32 Ki places of the key, each walked 32 Ki bytes far: 1 G steps.
    byte[] subject = repeat('a', 65536);
    byte[] pattern = concat("*", repeat('a', 32767), "b");
    assertThatThrownBy(() -> GlobMatcher.matches(pattern, subject))
        .isInstanceOf(CommandException.class)
        .hasMessage("ERR pattern of 32769 bytes needs more than 4195328 steps to match 65536 bytes, the limit"
            + " (64 per byte matched + 1024); use fewer or shorter pieces between '*'s");
  }

  @Test
  void matches_budgetRunsOut_stopsWithinOneTokenOfIt() {
    byte[] subject = repeat('a', 65536);
    byte[] pattern = concat("*[", repeat('a', 4000), "]b");
    GlobMatcher.Budget budget = new GlobMatcher.Budget(GlobMatcher.stepsFor(subject.length));
    assertThat(GlobMatcher.matches(pattern, subject, budget)).isFalse();
    assertThat(budget.exhausted()).isTrue();
    assertThat(budget.steps()).isLessThanOrEqualTo(budget.limit() + pattern.length);
  }

  @Test
  void matches_classTried_chargedItsLength() {
    GlobMatcher.Budget budget = new GlobMatcher.Budget(1000);
    assertThat(GlobMatcher.matches(b("[abcdefghijklmnopqrstuvwxyz]"), b("z"), budget)).isTrue();
    assertThat(budget.steps()).isEqualTo(28);
  }

  @Test
  void matches_piecesShorterThanStepsPerByte_neverMeetTheBudget() {
    // The worst case for a piece of 63 bytes: every retry of the '*' gets to its last byte.
    byte[] subject = repeat('a', 65536);
    byte[] pattern = concat("user:*", repeat('a', 62), "b*c");
    byte[] keyed = concat("user:", repeat('a', 65531), "");
    GlobMatcher.Budget budget = new GlobMatcher.Budget(GlobMatcher.stepsFor(keyed.length));
    assertThat(GlobMatcher.matches(pattern, keyed, budget)).isFalse();
    assertThat(budget.exhausted()).isFalse();
    assertThat(GlobMatcher.matches(concat("*", repeat('a', 62), "b"), subject)).isFalse();
    // A long literal prefix is walked once: cheap, and allowed.
    assertThat(GlobMatcher.matches(concat("", repeat('a', 65535), "*"), subject)).isTrue();
  }

  @Test
  void matchesTrusted_operatorPattern_noBudget() {
    byte[] subject = repeat('a', 4096);
    byte[] pattern = concat("*", repeat('a', 4000), "a");
    assertThat(GlobMatcher.matchesTrusted(pattern, subject)).isTrue();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
