package io.distcache.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.distcache.server.Clock;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.concurrent.ConcurrentHashMap;
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
 * Mixed get/set (90/10) over Zipf-distributed 16-byte keys and 100-byte values: the distcache
 * store against ConcurrentHashMap (no bound, no eviction: the ceiling) and Caffeine bounded by the
 * same number of bytes. Run with -t 1 and -t 2.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StoreBenchmark {
  private static final int SAMPLES = 1 << 20;
  private static final int MASK = SAMPLES - 1;

  @Param({"distcache", "chm", "caffeine"})
  public String impl;

  @Param({"1000000"})
  public int keys;

  /** Bound for the bounded implementations: about 80% of what all keys would take. */
  @Param({"134217728"})
  public long boundBytes;

  private byte[][] keyBytes;
  private ByteKey[] keyObjects;
  private int[] order;
  private byte[] value;
  private Store store;
  private ConcurrentHashMap<ByteKey, byte[]> map;
  private Cache<ByteKey, byte[]> caffeine;

  @State(Scope.Thread)
  public static class Cursor {
    int next = (int) (Thread.currentThread().getId() * 7919);
  }

  @Setup(Level.Trial)
  public void setUp() {
    value = new byte[100];
    keyBytes = new byte[keys][];
    keyObjects = new ByteKey[keys];
    for (int i = 0; i < keys; i++) {
      byte[] k = new byte[16];
      for (int b = 0; b < 16; b++) {
        k[b] = (byte) ((i >>> ((b & 3) * 8)) + b);
      }
      keyBytes[i] = k;
      keyObjects[i] = new ByteKey(k);
    }
    order = Zipf.sample(keys, 0.99, SAMPLES, 42);
    switch (impl) {
      case "distcache":
        store = Stores.create(StoreConfig.of(boundBytes, Clock.system()));
        break;
      case "chm":
        map = new ConcurrentHashMap<>();
        break;
      case "caffeine":
        caffeine =
            Caffeine.newBuilder()
                .maximumWeight(boundBytes)
                // key, value, and the node and table overhead Caffeine spends per entry
                .weigher((ByteKey k, byte[] v) -> k.bytes.length + v.length + 120)
                .build();
        break;
      default:
        throw new IllegalArgumentException("unknown impl: " + impl);
    }
    for (int i = 0; i < keys; i++) {
      set(i);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (store != null) {
      store.close();
    }
  }

  private void set(int i) {
    switch (impl) {
      case "distcache":
        store.put(keyBytes[i], value);
        break;
      case "chm":
        map.put(keyObjects[i], value);
        break;
      default:
        caffeine.put(keyObjects[i], value);
    }
  }

  private Object get(int i) {
    switch (impl) {
      case "distcache":
        return store.get(keyBytes[i]);
      case "chm":
        return map.get(keyObjects[i]);
      default:
        return caffeine.getIfPresent(keyObjects[i]);
    }
  }

  @Benchmark
  public Object mixed90Get10Set(Cursor c) {
    int n = c.next++;
    int i = order[n & MASK];
    if ((n % 10) == 0) {
      // an on-heap map hands out its stored array; the store copies: both are what a server does
      set(i);
      return null;
    }
    return get(i);
  }
}
