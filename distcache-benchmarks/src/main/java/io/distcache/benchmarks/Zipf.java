package io.distcache.benchmarks;

import java.util.Random;

/** Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1)^s, from a fixed seed. */
final class Zipf {
  private Zipf() {}

  static int[] sample(int n, double s, int count, long seed) {
    double[] cdf = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += 1 / Math.pow(i + 1, s);
      cdf[i] = sum;
    }
    Random rnd = new Random(seed);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      double u = rnd.nextDouble() * sum;
      int lo = 0;
      int hi = n - 1;
      while (lo < hi) {
        int mid = (lo + hi) >>> 1;
        if (cdf[mid] < u) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      // scatter ranks over the key space so hot keys do not share a segment by construction
      out[i] = (int) ((lo * 2654435761L) % n);
    }
    return out;
  }
}
