package io.distcache.benchmarks;

import io.distcache.client.DistCacheClient;
import io.distcache.jcache.DistCacheCachingProvider;
import java.net.URI;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntConsumer;
import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;

/*
 * Design: what the JCache layer costs over the client it runs on, one call at a time (closed
 * loop, one thread: latency decides throughput), on the same node and the same keys: the
 * client's get and set of a 100-byte value, then JCache's get, put (blind: the default policy
 * and no listener, one round trip), put with a listener (a versioned read, then a conditional
 * write) and replace(k, old, new). Each phase runs --warmup calls, then --ops measured calls.
 *
 *   java -cp distcache-benchmarks/target/benchmarks.jar io.distcache.benchmarks.JCacheCompare \
 *     --addr 127.0.0.1:7000 --ops 20000 --warmup 5000
 */
public final class JCacheCompare {
  private static final int KEYS = 1_000;

  private JCacheCompare() {}

  public static void main(String[] args) {
    String addr = "127.0.0.1:7000";
    int ops = 20_000;
    int warmup = 5_000;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--addr" -> addr = args[i + 1];
        case "--ops" -> ops = Integer.parseInt(args[i + 1]);
        case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--addr, --ops, --warmup)");
      }
    }
    byte[] value = new byte[100];
    Arrays.fill(value, (byte) 'v');
    DistCacheCachingProvider provider = new DistCacheCachingProvider();
    try (DistCacheClient client = DistCacheClient.builder().addresses(addr).build()) {
      CacheManager manager = provider.getCacheManager(URI.create("distcache://" + addr), JCacheCompare.class.getClassLoader());
      Cache<Integer, byte[]> plain = manager.createCache("bench-plain", new MutableConfiguration<Integer, byte[]>()
          .setTypes(Integer.class, byte[].class));
      Cache<Integer, byte[]> heard = manager.createCache("bench-heard", new MutableConfiguration<Integer, byte[]>()
          .setTypes(Integer.class, byte[].class)
          .addCacheEntryListenerConfiguration(new MutableCacheEntryListenerConfiguration<>(
              FactoryBuilder.factoryOf(Ignore.class), null, false, true)));
      Cache<Integer, String> strings = manager.createCache("bench-replace", new MutableConfiguration<Integer, String>()
          .setTypes(Integer.class, String.class));
      byte[][] keys = new byte[KEYS][];
      for (int i = 0; i < KEYS; i++) {
        keys[i] = String.format(Locale.ROOT, "bench:%06d", i).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        client.set(keys[i], value);
        plain.put(i, value);
        strings.put(i, "a");
      }
      System.out.printf(Locale.ROOT, "%-32s %10s %10s %10s%n", "operation", "ops/s", "p50 us", "p99 us");
      phase("client get", ops, warmup, i -> client.get(keys[i % KEYS]));
      phase("jcache get", ops, warmup, i -> plain.get(i % KEYS));
      phase("client set", ops, warmup, i -> client.set(keys[i % KEYS], value));
      phase("jcache put (blind)", ops, warmup, i -> plain.put(i % KEYS, value));
      phase("jcache put (with a listener)", ops, warmup, i -> heard.put(i % KEYS, value));
      phase("jcache replace(k, old, new)", ops, warmup, i -> strings.replace(i % KEYS, (i / KEYS) % 2 == 0 ? "a" : "b",
          (i / KEYS) % 2 == 0 ? "b" : "a"));
      manager.destroyCache("bench-plain");
      manager.destroyCache("bench-heard");
      manager.destroyCache("bench-replace");
    } finally {
      provider.close();
    }
  }

  private static void phase(String name, int ops, int warmup, IntConsumer call) {
    for (int i = 0; i < warmup; i++) {
      call.accept(i);
    }
    long[] nanos = new long[ops];
    long start = System.nanoTime();
    for (int i = 0; i < ops; i++) {
      long t = System.nanoTime();
      call.accept(i);
      nanos[i] = System.nanoTime() - t;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Arrays.sort(nanos);
    System.out.printf(Locale.ROOT, "%-32s %10.0f %10.1f %10.1f%n", name, ops / seconds,
        nanos[ops / 2] / 1e3, nanos[(int) (ops * 0.99)] / 1e3);
  }

  /** A created listener that does nothing: its presence alone makes puts read before writing. */
  public static final class Ignore implements CacheEntryCreatedListener<Integer, byte[]> {
    @Override
    public void onCreated(Iterable<CacheEntryEvent<? extends Integer, ? extends byte[]>> events) {
      // Nothing: the cost measured is the provider's.
    }
  }
}
