package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The heap's breaker: trips over 90% of the cap after a collection, clears under 80%; the JVM's is fed by its collections. */
class HeapGuardTest {
  @Test
  void tripsOverNinetyPercent_clearsOnlyUnderEighty() {
    HeapGuard guard = new HeapGuard(1000);
    assertThat(guard.tripped()).isFalse();
    assertThat(guard.afterGcBytes()).isEqualTo(-1);
    guard.observe(900);
    assertThat(guard.tripped()).as("at 90%, not over it").isFalse();
    guard.observe(901);
    assertThat(guard.tripped()).isTrue();
    assertThat(guard.describe()).isEqualTo("the node's heap held 901 bytes after its last collection, over 90% of"
        + " its 1000 bytes (-Xmx)");
    guard.observe(850);
    assertThat(guard.tripped()).as("between 80% and 90%: stays tripped").isTrue();
    guard.observe(799);
    assertThat(guard.tripped()).isFalse();
    guard.observe(850);
    assertThat(guard.tripped()).as("between 80% and 90%: stays clear").isFalse();
  }

  @Test
  void theJvmsGuard_hearsOfCollections() {
    HeapGuard jvm = HeapGuard.jvm();
    byte[][] garbage = new byte[64][];
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (int i = 0; i < garbage.length; i++) {
        garbage[i] = new byte[1 << 20]; // young collections come of allocation, whatever the collector
      }
      assertThat(jvm.afterGcBytes()).isPositive();
    });
    assertThat(jvm.afterGcBytes()).isLessThan(Runtime.getRuntime().maxMemory());
    assertThat(jvm.tripped()).isFalse();
  }
}
