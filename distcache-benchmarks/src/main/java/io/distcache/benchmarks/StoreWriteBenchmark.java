package io.distcache.benchmarks;

import io.distcache.server.Clock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ExpireCondition;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.concurrent.ThreadLocalRandom;
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
 * The store's write operations one by one, each on keys that exist (16-byte keys drawn uniformly
 * from {@code keys}, 100-byte values), under a bound large enough that nothing is evicted: set (an
 * overwrite), set with an expiry, incrementBy, expireAt (the expiry field rewritten in place) and
 * delete followed by set of the same key. Written to compare the store's write path before and
 * after a change to it (docs/BENCHMARKS.md, "Store write template"), side by side in one run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StoreWriteBenchmark {
  private static final int SAMPLES = 1 << 20;
  private static final int MASK = SAMPLES - 1;

  @Param({"100000"})
  public int keys;

  @Param({"allkeys-lru"})
  public String policy;

  private byte[][] keyBytes;
  private byte[][] counterKeys;
  private int[] order;
  private byte[] value;
  private long farFuture;
  private Store store;

  @State(Scope.Thread)
  public static class Cursor {
    int next = (int) (Thread.currentThread().getId() * 7919);
  }

  @Setup(Level.Trial)
  public void setUp() {
    value = new byte[100];
    keyBytes = new byte[keys][];
    counterKeys = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      byte[] k = new byte[16];
      for (int b = 0; b < 16; b++) {
        k[b] = (byte) ((i >>> ((b & 3) * 8)) + b);
      }
      keyBytes[i] = k;
      byte[] c = k.clone();
      c[0] ^= (byte) 0x80;
      counterKeys[i] = c;
    }
    order = new int[SAMPLES];
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    for (int i = 0; i < SAMPLES; i++) {
      order[i] = rnd.nextInt(keys);
    }
    store = Stores.create(new StoreConfig(512L << 20, StoreConfig.DEFAULT_MAX_VALUE_BYTES,
        EvictionPolicy.fromName(policy), Clock.system()));
    farFuture = System.currentTimeMillis() + TimeUnit.DAYS.toMillis(365);
    for (int i = 0; i < keys; i++) {
      store.put(keyBytes[i], value);
      store.put(counterKeys[i], new byte[] {'0'});
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    store.close();
  }

  private int next(Cursor c) {
    return order[c.next++ & MASK];
  }

  @Benchmark
  public void set(Cursor c) {
    store.put(keyBytes[next(c)], value);
  }

  @Benchmark
  public Object setWithExpiry(Cursor c) {
    return store.set(keyBytes[next(c)], value, SetArgs.expiringAt(farFuture));
  }

  @Benchmark
  public long increment(Cursor c) {
    return store.incrementBy(counterKeys[next(c)], 1);
  }

  @Benchmark
  public boolean expire(Cursor c) {
    int n = c.next;
    return store.expireAt(keyBytes[next(c)], farFuture + (n & 1023), ExpireCondition.ALWAYS);
  }

  @Benchmark
  public void deleteThenSet(Cursor c) {
    byte[] k = keyBytes[next(c)];
    store.delete(k);
    store.put(k, value);
  }
}
