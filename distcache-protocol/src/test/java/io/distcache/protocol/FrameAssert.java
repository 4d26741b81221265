package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

/** Field-by-field comparison: Frame has no equals (its arrays are shared, not copied). */
final class FrameAssert {
  private FrameAssert() {}

  static void assertSameFrame(Frame actual, Frame expected) {
    assertThat(actual).as("frame").isNotNull();
    assertThat(actual.opcode()).as("opcode").isEqualTo(expected.opcode());
    assertThat(actual.flags()).as("flags").isEqualTo(expected.flags());
    assertThat(actual.requestId()).as("request id").isEqualTo(expected.requestId());
    assertThat(actual.status()).as("status").isEqualTo(expected.status());
    assertThat(actual.extras()).as("extras").containsExactly(expected.extras());
    assertThat(actual.key()).as("key").containsExactly(expected.key());
    assertThat(actual.value()).as("value").containsExactly(expected.value());
  }
}
