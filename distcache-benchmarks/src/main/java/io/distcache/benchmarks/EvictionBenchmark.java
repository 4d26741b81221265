package io.distcache.benchmarks;

import io.distcache.server.Clock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of a write that must evict, by policy: SET of a 100-byte value with an expiry on
 * uniformly drawn 16-byte keys from a key space about twice what the bound holds, so nearly every
 * write lands on a full store. Every key has an expiry (an hour plus up to 1,000 s, so volatile-ttl
 * has ranks to tell apart), so the volatile-* policies find candidates everywhere, as allkeys-* do;
 * {@code ttlShare} below 100 leaves that share of writes without one. The store is filled before
 * measuring. Run with -t 1.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class EvictionBenchmark {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EvictionBenchmark.class);

  private static final int SAMPLES = 1 << 20;
  private static final int MASK = SAMPLES - 1;

  @Param({"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random",
      "volatile-ttl"})
  public String policy;

  @Param({"1000000"})
  public int keys;

  @Param({"67108864"})
  public long boundBytes;

  /** Percent of writes that carry an expiry. */
  @Param({"100"})
  public int ttlShare;

  private byte[][] keyBytes;
  private int[] order;
  private SetArgs[] args;
  private byte[] value;
  private Store store;
  private final java.util.concurrent.atomic.LongAdder refusals = new java.util.concurrent.atomic.LongAdder();

  @State(Scope.Thread)
  public static class Cursor {
    int next = (int) (Thread.currentThread().getId() * 7919);
  }

  @Setup(Level.Trial)
  public void setUp() {
    value = new byte[100];
    keyBytes = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      byte[] k = new byte[16];
      for (int b = 0; b < 16; b++) {
        k[b] = (byte) ((i >>> ((b & 3) * 8)) + b);
      }
      keyBytes[i] = k;
    }
    java.util.Random rnd = new java.util.Random(42);
    order = new int[SAMPLES];
    args = new SetArgs[SAMPLES];
    long now = System.currentTimeMillis();
    for (int i = 0; i < SAMPLES; i++) {
      order[i] = rnd.nextInt(keys);
      args[i] = rnd.nextInt(100) < ttlShare
          ? SetArgs.expiringAt(now + 3_600_000 + rnd.nextInt(1_000_000))
          : SetArgs.expiringAt(Store.NO_EXPIRY);
    }
    store = Stores.create(new StoreConfig(boundBytes, StoreConfig.DEFAULT_MAX_VALUE_BYTES,
        EvictionPolicy.fromName(policy), Clock.system()));
    for (int i = 0; i < keys; i++) {
      try {
        store.set(keyBytes[i], value, args[i & MASK]);
      } catch (io.distcache.server.store.StoreException refused) {
        // the fill, as the measured writes, may be refused under volatile-* with ttlShare < 100
      }
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    log.info("{} ttlShare={}: {} writes refused with OUT_OF_MEMORY, {} evicted", policy, ttlShare,
        refusals.sum(), store.stats().evicted());
    store.close();
  }

  @Benchmark
  public void setUnderEviction(Cursor c) {
    int i = c.next++ & MASK;
    try {
      store.set(keyBytes[order[i]], value, args[i]);
    } catch (io.distcache.server.store.StoreException refused) {
      refusals.increment(); // volatile-* with few keys with an expiry: reported at the end
    }
  }
}
