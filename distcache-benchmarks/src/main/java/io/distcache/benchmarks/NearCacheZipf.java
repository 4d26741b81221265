package io.distcache.benchmarks;

import io.distcache.client.DistCacheClient;
import io.distcache.client.NearCacheStats;
import io.distcache.server.DistCacheNode;
import java.nio.charset.StandardCharsets;

/*
 * Design: the share of reads the client's near cache answers on a skewed workload. One node in
 * this JVM, 100,000 keys of 100-byte values; a reader with a near cache of 10,000 entries draws key
 * ranks from Zipf(s) (fixed seed) and reads them one after the other; with --write-percent P a
 * second client (no near cache) writes a Zipf-drawn key on P% of the steps, so its invalidations
 * count. Prints the near cache's hits, misses, invalidations and hit ratio, and the mean time per
 * read.
 */

/** Near-cache hit ratio on a Zipf workload: {@code NearCacheZipf [keys] [s] [nearEntries] [reads] [writePercent]}. */
public final class NearCacheZipf {
  private NearCacheZipf() {}

  public static void main(String[] args) {
    int keys = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    double s = args.length > 1 ? Double.parseDouble(args[1]) : 0.99;
    int entries = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
    int reads = args.length > 3 ? Integer.parseInt(args[3]) : 1_000_000;
    int writePercent = args.length > 4 ? Integer.parseInt(args[4]) : 0;
    DistCacheNode node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(256L * 1024 * 1024).start();
    String address = "127.0.0.1:" + node.port();
    try (DistCacheClient near = DistCacheClient.builder().addresses(address).nearCache(entries).build();
        DistCacheClient writer = DistCacheClient.builder().addresses(address).build()) {
      byte[] value = new byte[100];
      byte[][] names = new byte[keys][];
      for (int i = 0; i < keys; i++) {
        names[i] = ("zipf:" + i).getBytes(StandardCharsets.UTF_8);
        writer.set(names[i], value);
      }
      int[] order = Zipf.sample(keys, s, reads, 42);
      int[] writes = Zipf.sample(keys, s, reads, 7);
      // Warm-up: one pass over a tenth of the draws, then the counters are read as a baseline.
      for (int i = 0; i < reads / 10; i++) {
        near.get(names[order[i]]);
      }
      NearCacheStats before = near.nearCacheStats();
      long t0 = System.nanoTime();
      for (int i = 0; i < reads; i++) {
        if (writePercent > 0 && Math.floorMod(i * 31 + 7, 100) < writePercent) {
          writer.set(names[writes[i]], value);
        }
        near.get(names[order[i]]);
      }
      long nanos = System.nanoTime() - t0;
      NearCacheStats after = near.nearCacheStats();
      long hits = after.hits() - before.hits();
      long misses = after.misses() - before.misses();
      System.out.printf("keys=%d s=%.2f nearCache=%d reads=%d writes=%d%%: hits=%d misses=%d hit ratio=%.3f"
          + " invalidations=%d mean per step=%.2f us%n", keys, s, entries, reads, writePercent, hits, misses,
          (double) hits / (hits + misses), after.invalidations() - before.invalidations(), nanos / 1000.0 / reads);
    } finally {
      node.close();
    }
  }
}
