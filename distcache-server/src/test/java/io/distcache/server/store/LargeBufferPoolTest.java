package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.internal.CleanableDirectBuffer;
import io.netty.util.internal.PlatformDependent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pool of dead large entries' buffers: which request a buffer fits, its byte bound, idle expiry. */
class LargeBufferPoolTest {
  private final LargeBufferPool pool = new LargeBufferPool();
  private final List<CleanableDirectBuffer> made = new ArrayList<>();
  private long released;

  private CleanableDirectBuffer buffer(int bytes) {
    CleanableDirectBuffer b = PlatformDependent.allocateDirect(bytes);
    made.add(b);
    return b;
  }

  @AfterEach
  void freeAll() {
    pool.drain(n -> released += n);
    made.forEach(CleanableDirectBuffer::clean);
  }

  @Test
  void take_fitsFromTheRequestToAnEighthMore_only() {
    CleanableDirectBuffer b = buffer(9_000);
    assertThat(pool.offer(b, 1 << 20, 0)).isTrue();

    assertThat(pool.take(9_001)).isNull(); // too small
    assertThat(pool.take(7_999)).isNull(); // 7,999 + 999 < 9,000: too much slack
    assertThat(pool.take(8_000)).isSameAs(b); // 8,000 + 1,000 = 9,000
    assertThat(pool.bytes()).isZero();
  }

  @Test
  void take_prefersTheSmallestFit_andTheNewestOfASize() {
    CleanableDirectBuffer older = buffer(10_000);
    CleanableDirectBuffer newer = buffer(10_000);
    CleanableDirectBuffer bigger = buffer(11_000);
    pool.offer(bigger, 1 << 20, 0);
    pool.offer(older, 1 << 20, 1);
    pool.offer(newer, 1 << 20, 2);

    assertThat(pool.take(9_900)).isSameAs(newer);
    assertThat(pool.take(9_900)).isSameAs(older);
    assertThat(pool.take(9_900)).isSameAs(bigger);
    assertThat(pool.take(9_900)).isNull();
  }

  @Test
  void offer_beyondTheLimit_isRefused_soTheCallerFreesIt() {
    assertThat(pool.offer(buffer(6_000), 10_000, 0)).isTrue();
    assertThat(pool.offer(buffer(5_000), 10_000, 0)).isFalse();
    assertThat(pool.offer(buffer(4_000), 10_000, 0)).isTrue();
    assertThat(pool.bytes()).isEqualTo(10_000);
  }

  @Test
  void drainIdle_takesOutOnlyWhatWaitedTheIdleTime_andReportsItsBytes() {
    long t0 = 1_000_000_000L;
    pool.offer(buffer(3_000), 1 << 20, t0);
    pool.offer(buffer(4_000), 1 << 20, t0 + 1_000);

    assertThat(pool.drainIdle(t0 + LargeBufferPool.IDLE_NANOS - 1, n -> released += n)).isEmpty();
    assertThat(pool.drainIdle(t0 + LargeBufferPool.IDLE_NANOS, n -> released += n)).hasSize(1);
    assertThat(released).isEqualTo(3_000);
    assertThat(pool.bytes()).isEqualTo(4_000);
    assertThat(pool.besidesPooled(() -> 10_000)).isEqualTo(6_000);
  }
}
