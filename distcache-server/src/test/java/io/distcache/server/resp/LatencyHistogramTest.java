package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

  @Test
  void index_everyValueFallsBelowItsBucketsUpperBoundAndAtOrAboveThePrevious() {
    for (long v = 0; v < 100_000; v++) {
      int i = LatencyHistogram.index(v);
      assertThat(v).isLessThan(LatencyHistogram.upperBound(i));
      if (i > 0) {
        assertThat(v).isGreaterThanOrEqualTo(LatencyHistogram.upperBound(i - 1));
      }
    }
  }

  @Test
  void upperBound_isAtMostAnEighthAboveTheBucketsLowestValue() {
    for (int i = 8; i < LatencyHistogram.BUCKETS; i++) {
      long lower = LatencyHistogram.upperBound(i - 1);
      assertThat((double) LatencyHistogram.upperBound(i)).isLessThanOrEqualTo(lower * 1.125 + 1);
    }
  }

  @Test
  void index_hugeAndNegativeValues_stayInRange() {
    assertThat(LatencyHistogram.index(Long.MAX_VALUE)).isEqualTo(LatencyHistogram.BUCKETS - 1);
    assertThat(LatencyHistogram.index(-5)).isZero();
  }

  @Test
  void powersOfTwo_areExactBucketBounds() {
    for (long p = 8; p <= (1L << 31); p <<= 1) {
      assertThat(LatencyHistogram.upperBound(LatencyHistogram.index(p) - 1)).isEqualTo(p);
    }
  }

  @Test
  void percentile_ofKnownValues() {
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 0; i < 98; i++) {
      h.record(3);
    }
    h.record(1000);
    h.record(100_000);
    long[] c = h.counts();

    assertThat(LatencyHistogram.percentile(c, 50)).isEqualTo(4);
    assertThat(LatencyHistogram.percentile(c, 99)).isBetween(1000L, 1125L);
    assertThat(LatencyHistogram.percentile(c, 99.9)).isBetween(100_000L, 112_500L);
    assertThat(LatencyHistogram.countBelow(c, 1024)).isEqualTo(99);
  }

  @Test
  void percentile_ofNothing_isZero_andResetForgets() {
    LatencyHistogram h = new LatencyHistogram();
    assertThat(LatencyHistogram.percentile(h.counts(), 99)).isZero();
    h.record(10);
    h.reset();
    assertThat(LatencyHistogram.percentile(h.counts(), 50)).isZero();
  }
}
