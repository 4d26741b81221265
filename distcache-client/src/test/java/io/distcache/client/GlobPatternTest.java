package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobPatternTest {

  @ParameterizedTest(name = "{0} ~ {1}: {2}")
  @CsvSource({
      "*, anything, true",
      "*, '', true",
      "user:*, user:1, true",
      "user:*, users:1, false",
      "*:1, user:1, true",
      "h?llo, hello, true",
      "h?llo, hllo, false",
      "h[ae]llo, hallo, true",
      "h[ae]llo, hillo, false",
      "h[^e]llo, hallo, true",
      "h[^e]llo, hello, false",
      "h[a-b]llo, hbllo, true",
      "h[a-b]llo, hcllo, false",
      "h\\*llo, h*llo, true",
      "h\\*llo, hello, false",
      "a*b*c, aXXbYYc, true",
      "a*b*c, aXXbYY, false",
      "*a*a*a*a*b, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, false",
      "k[, k[, false",
      "'', '', true",
      "'', x, false",
  })
  void matches_followsRedisGlobRules(String pattern, String key, boolean expected) {
    assertThat(GlobPattern.of(pattern).matches(key.getBytes(StandardCharsets.UTF_8))).isEqualTo(expected);
  }
}
