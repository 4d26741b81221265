package io.distcache.server.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutputLimitTest {
  private final OutputLimit limit = new OutputLimit();
  private final long[] overSoft = new long[1];

  @Test
  void hardLimit_disconnectsAtOnce() {
    limit.set(1000, 0, 0);
    assertThat(limit.exceeded(999, 5, overSoft)).isFalse();
    assertThat(limit.exceeded(1000, 5, overSoft)).isTrue();
  }

  @Test
  void softLimit_disconnectsOnlyAfterItsSecondsWithoutABreak() {
    limit.set(0, 100, 60);
    long t0 = TimeUnit.SECONDS.toNanos(1000);
    assertThat(limit.exceeded(150, t0, overSoft)).isFalse();
    assertThat(limit.exceeded(150, t0 + TimeUnit.SECONDS.toNanos(59), overSoft)).isFalse();
    assertThat(limit.exceeded(150, t0 + TimeUnit.SECONDS.toNanos(60), overSoft)).isTrue();
    // Dropping under the soft limit restarts the clock.
    assertThat(limit.exceeded(10, t0 + TimeUnit.SECONDS.toNanos(61), overSoft)).isFalse();
    assertThat(limit.exceeded(150, t0 + TimeUnit.SECONDS.toNanos(62), overSoft)).isFalse();
    assertThat(limit.exceeded(150, t0 + TimeUnit.SECONDS.toNanos(121), overSoft)).isFalse();
    assertThat(limit.exceeded(150, t0 + TimeUnit.SECONDS.toNanos(122), overSoft)).isTrue();
  }

  @Test
  void zero_disablesBoth() {
    limit.set(0, 0, 0);
    assertThat(limit.exceeded(Long.MAX_VALUE, 1, overSoft)).isFalse();
  }

  @Test
  void parse_redisSyntaxAndUnits() {
    assertThat(OutputLimit.parse("pubsub 32mb 8mb 60")).containsExactly(32L << 20, 8L << 20, 60);
    assertThat(OutputLimit.parse("normal 0 0 0 PUBSUB 1k 2KB 3")).containsExactly(1000, 2048, 3);
    assertThat(OutputLimit.parse("normal 0 0 0")).isNull();
    assertThat(OutputLimit.parse("pubsub 1g 1gb 0")).containsExactly(1_000_000_000L, 1L << 30, 0);
    assertThatThrownBy(() -> OutputLimit.parse("pubsub 1 1")).hasMessage("Wrong number of arguments in buffer limit configuration.");
    assertThatThrownBy(() -> OutputLimit.parse("nosuch 1 1 1")).hasMessage("Invalid client class specified in buffer limit configuration.");
    assertThatThrownBy(() -> OutputLimit.parse("pubsub -1 1 1")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OutputLimit.parse("pubsub 1 1 x")).hasMessage("Error in soft_seconds setting in buffer limit configuration.");
    assertThatThrownBy(() -> OutputLimit.parse("pubsub 99999999999gb 1 1")).isInstanceOf(IllegalArgumentException.class);
  }
}
