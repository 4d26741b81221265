package io.distcache.client;

/**
 * The near cache's counters since the client was built ({@link DistCacheClient#nearCacheStats()}).
 *
 * @param hits reads answered from the near cache
 * @param misses reads that went to a node
 * @param invalidations keys dropped (by a node's invalidation, this client's own writes, or a lost
 *     connection, which counts once for the whole cache)
 * @param size values held now (an estimate)
 */
public record NearCacheStats(long hits, long misses, long invalidations, long size) {

  /**
   * The share of reads answered locally.
   *
   * @return hits over hits plus misses, 0 before any read
   */
  public double hitRatio() {
    long total = hits + misses;
    return total == 0 ? 0 : (double) hits / total;
  }
}
