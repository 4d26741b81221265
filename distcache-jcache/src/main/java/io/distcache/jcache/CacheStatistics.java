package io.distcache.jcache;

import java.util.concurrent.atomic.LongAdder;
import javax.cache.management.CacheStatisticsMXBean;

/*
 * Design: the JSR-107 statistics of one cache as this JVM's cache manager sees it: the operations
 * made through it, not through other clients of the same cluster (each JVM has its own MXBean).
 * Counters are LongAdders, cheap under contention; averages are in microseconds, the unit the spec
 * names, from total nanoseconds over counts. Counting is skipped while statistics are disabled.
 */

/** The statistics of one cache, exposed as its CacheStatisticsMXBean. */
final class CacheStatistics implements CacheStatisticsMXBean {
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder removals = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder getNanos = new LongAdder();
  private final LongAdder putNanos = new LongAdder();
  private final LongAdder removeNanos = new LongAdder();
  private volatile boolean enabled;

  void enabled(boolean on) {
    this.enabled = on;
  }

  boolean enabled() {
    return enabled;
  }

  void hits(long n) {
    if (enabled && n > 0) {
      hits.add(n);
    }
  }

  void misses(long n) {
    if (enabled && n > 0) {
      misses.add(n);
    }
  }

  void puts(long n) {
    if (enabled && n > 0) {
      puts.add(n);
    }
  }

  void removals(long n) {
    if (enabled && n > 0) {
      removals.add(n);
    }
  }

  void getTime(long startNanos) {
    if (enabled) {
      getNanos.add(System.nanoTime() - startNanos);
    }
  }

  void putTime(long startNanos) {
    if (enabled) {
      putNanos.add(System.nanoTime() - startNanos);
    }
  }

  void removeTime(long startNanos) {
    if (enabled) {
      removeNanos.add(System.nanoTime() - startNanos);
    }
  }

  @Override
  public void clear() {
    hits.reset();
    misses.reset();
    puts.reset();
    removals.reset();
    evictions.reset();
    getNanos.reset();
    putNanos.reset();
    removeNanos.reset();
  }

  @Override
  public long getCacheHits() {
    return hits.sum();
  }

  @Override
  public float getCacheHitPercentage() {
    long h = hits.sum();
    long total = h + misses.sum();
    return total == 0 ? 0f : (float) h * 100f / total;
  }

  @Override
  public long getCacheMisses() {
    return misses.sum();
  }

  @Override
  public float getCacheMissPercentage() {
    long m = misses.sum();
    long total = m + hits.sum();
    return total == 0 ? 0f : (float) m * 100f / total;
  }

  @Override
  public long getCacheGets() {
    return hits.sum() + misses.sum();
  }

  @Override
  public long getCachePuts() {
    return puts.sum();
  }

  @Override
  public long getCacheRemovals() {
    return removals.sum();
  }

  /** Always 0: distcache evicts on the server, unseen by the client (its STATS count evictions). */
  @Override
  public long getCacheEvictions() {
    return evictions.sum();
  }

  @Override
  public float getAverageGetTime() {
    return averageMicros(getNanos.sum(), getCacheGets());
  }

  @Override
  public float getAveragePutTime() {
    return averageMicros(putNanos.sum(), puts.sum());
  }

  @Override
  public float getAverageRemoveTime() {
    return averageMicros(removeNanos.sum(), removals.sum());
  }

  private static float averageMicros(long nanos, long count) {
    return count == 0 ? 0f : (float) (nanos / 1000.0 / count);
  }
}
