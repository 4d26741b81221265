package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CopyPacerTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final List<Long> sleeps = new ArrayList<>();

  private CopyPacer pacer(int share) {
    return new CopyPacer(share, now::get, nanos -> {
      sleeps.add(nanos);
      now.addAndGet(nanos);
    });
  }

  @Test
  void aPageIsFollowedByAPauseThatKeepsTheCopyWithinItsShare() throws Exception {
    CopyPacer half = pacer(50);
    long start = half.pageStart();
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(10));
    assertThat(half.pageDone(start)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(10));

    CopyPacer quarter = pacer(25);
    start = quarter.pageStart();
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(4));
    assertThat(quarter.pageDone(start)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(12));
    assertThat(sleeps).containsExactly(TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(12));
  }

  @Test
  void overManyPagesTheCopyIsBusyForItsShareOfTheTime() throws Exception {
    CopyPacer p = pacer(20);
    long first = now.get();
    long busy = 0;
    for (int i = 1; i <= 50; i++) {
      long start = p.pageStart();
      long work = TimeUnit.MICROSECONDS.toNanos(100 * i % 700 + 50);
      now.addAndGet(work);
      busy += work;
      p.pageDone(start);
    }
    double share = (double) busy / (now.get() - first);
    assertThat(share).isBetween(0.199, 0.201);
  }

  @Test
  void aFullShareNeverPauses_andOnePauseIsCapped() throws Exception {
    CopyPacer full = pacer(100);
    long start = full.pageStart();
    now.addAndGet(TimeUnit.SECONDS.toNanos(1));
    assertThat(full.pageDone(start)).isZero();
    assertThat(sleeps).isEmpty();

    CopyPacer slow = pacer(10);
    start = slow.pageStart();
    now.addAndGet(TimeUnit.SECONDS.toNanos(1)); // a page stretched by a GC pause
    assertThat(slow.pageDone(start)).isEqualTo(CopyPacer.MAX_PAUSE_NANOS);
  }

  @Test
  void sharesOutsideOneToAHundredAreRefused() {
    assertThatThrownBy(() -> pacer(0)).hasMessageContaining("1..100").hasMessageContaining("0");
    assertThatThrownBy(() -> pacer(101)).hasMessageContaining("101");
  }
}
