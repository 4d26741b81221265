package io.distcache.server.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.server.bus.UnreachableLog.Verdict;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UnreachableLogTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final UnreachableLog log = new UnreachableLog(now::get);
  private final Address dead = new Address("127.0.0.1", 7702);
  private final Address other = new Address("127.0.0.1", 7703);

  @Test
  void aDeadMember_isReportedOnce_thenAtMostOncePerInterval() {
    assertThat(log.failed(dead)).isEqualTo(Verdict.FIRST);
    // Membership dials it again every reconnect interval: quiet until the interval has passed.
    for (int i = 0; i < 59; i++) {
      now.addAndGet(10_000_000_000L);
      assertThat(log.failed(dead)).isEqualTo(Verdict.QUIET);
    }
    now.set(1_000 + UnreachableLog.REPEAT_NANOS);
    assertThat(log.failed(dead)).isEqualTo(Verdict.REPEAT);
    assertThat(log.takeHeldBack(dead)).isEqualTo(59);
    assertThat(log.takeHeldBack(dead)).isZero();
    assertThat(log.failed(dead)).isEqualTo(Verdict.QUIET);
    // Another address has its own first report.
    assertThat(log.failed(other)).isEqualTo(Verdict.FIRST);
  }

  @Test
  void anAnswer_endsTheEpisode_andTheNextFailureIsReportedAgain() {
    assertThat(log.answered(dead)).as("nothing was reported").isFalse();
    log.failed(dead);
    log.failed(dead);
    assertThat(log.answered(dead)).as("worth an INFO: it was reported unreachable").isTrue();
    assertThat(log.answered(dead)).isFalse();
    assertThat(log.failed(dead)).isEqualTo(Verdict.FIRST);
  }

  @Test
  void addressesNoLongerDialled_areForgotten() {
    log.failed(dead);
    log.failed(other);
    log.retain(Set.of(other));
    assertThat(log.failed(dead)).as("forgotten, so a new episode").isEqualTo(Verdict.FIRST);
    assertThat(log.failed(other)).isEqualTo(Verdict.QUIET);
  }
}
