package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The parent of the node's heap budgets on its own: take, refuse, force, release. */
class HeapBudgetsTest {
  private final HeapBudgets heap = new HeapBudgets(1_000);

  @Test
  void take_withinTheLimit_counts_andPastIt_isRefusedTakingNothing() {
    assertThat(heap.take(600)).isTrue();
    assertThat(heap.take(400)).as("exactly the limit fits").isTrue();
    assertThat(heap.full()).isTrue();
    assertThat(heap.take(1)).isFalse();
    assertThat(heap.usedBytes()).as("a refusal takes nothing").isEqualTo(1_000);
    assertThat(heap.refusals()).isEqualTo(1);
    heap.release(400);
    assertThat(heap.take(401)).isFalse();
    assertThat(heap.take(400)).isTrue();
    heap.release(1_000);
    assertThat(heap.usedBytes()).isZero();
  }

  @Test
  void force_passesTheLimit_andEveryTakeIsRefusedUntilReleasesBringItBack() {
    assertThat(heap.take(900)).isTrue();
    heap.force(300);
    assertThat(heap.usedBytes()).isEqualTo(1_200);
    assertThat(heap.over()).isTrue();
    assertThat(heap.take(1)).isFalse();
    assertThat(heap.fits(0)).isFalse();
    heap.release(300);
    assertThat(heap.over()).isFalse();
    assertThat(heap.take(100)).isTrue();
    heap.release(1_000);
    assertThat(heap.usedBytes()).isZero();
  }

  @Test
  void nothingOrLess_isNoChange() {
    assertThat(heap.take(0)).isTrue();
    assertThat(heap.take(-5)).isTrue();
    heap.force(-5);
    heap.release(-5);
    assertThat(heap.usedBytes()).isZero();
  }

  @Test
  void overLimit_namesTheLimitAndWhatIsHeld() {
    heap.take(700);
    assertThat(heap.overLimit())
        .isEqualTo("would pass 1000 bytes, the node's limit on what its heap budgets hold together (700 held)");
  }

  @Test
  void limit_mustBePositive() {
    assertThatThrownBy(() -> new HeapBudgets(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0");
  }

  /**
   * Threads taking and releasing at once never hold more than the limit together, whatever the
   * interleaving, and give back to exactly zero.
   */
  @Test
  void concurrentTakes_neverHoldMoreThanTheLimit_andReleasesLeaveNoDrift() throws Exception {
    HeapBudgets shared = new HeapBudgets(10_000);
    AtomicLong granted = new AtomicLong();
    AtomicLong mostGranted = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread w = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long[] held = new long[8];
        for (int i = 0; i < 200_000; i++) {
          int slot = random.nextInt(held.length);
          if (held[slot] > 0) {
            granted.addAndGet(-held[slot]); // before the release: granted never exceeds what is counted
            shared.release(held[slot]);
            held[slot] = 0;
          } else {
            long bytes = 1 + random.nextInt(2_000);
            if (shared.take(bytes)) {
              held[slot] = bytes;
              mostGranted.accumulateAndGet(granted.addAndGet(bytes), Math::max);
            } else {
              refused.incrementAndGet();
            }
          }
        }
        for (long h : held) {
          granted.addAndGet(-h);
          shared.release(h);
        }
      });
      workers.add(w);
      w.start();
    }
    start.countDown();
    for (Thread w : workers) {
      w.join();
    }
    assertThat(refused.get()).as("the limit was reached").isPositive();
    assertThat(mostGranted.get()).isLessThanOrEqualTo(10_000);
    assertThat(shared.usedBytes()).isZero();
    assertThat(shared.refusals()).isEqualTo(refused.get());
  }
}
