package io.distcache.benchmarks;

import io.distcache.server.Clock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.StoreStats;
import io.distcache.server.store.Stores;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Loads N entries (16-byte keys, 100-byte values; 1,000,000 by default) and reports bytes per
 * entry as process RSS growth and as the store's own accounting. Redis 7 takes about 208 bytes of
 * RSS per entry for the same load.
 *
 * <p>Usage: {@code java -cp benchmarks.jar io.distcache.benchmarks.MemoryPerEntry [store|chm] [N] [policy]},
 * policy any of the eight maxmemory-policy names, allkeys-lru by default.
 */
public final class MemoryPerEntry {
  private MemoryPerEntry() {}

  public static void main(String[] args) throws IOException {
    String impl = args.length > 0 ? args[0] : "store";
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    EvictionPolicy policy = EvictionPolicy.fromName(args.length > 2 ? args[2] : "allkeys-lru");
    byte[] value = new byte[100];
    settle();
    long rssBefore = rssBytes();
    Object keepAlive;
    String accounting = "";
    if (impl.equals("store")) {
      Store store = Stores.create(new StoreConfig(Stores.defaultMaxMemoryBytes(), StoreConfig.DEFAULT_MAX_VALUE_BYTES,
          policy, Clock.system()));
      // one key buffer for the whole load: the store copies it, so heap garbage from the loader
      // does not grow the heap and pollute the RSS figure
      byte[] k = new byte[16];
      for (int i = 0; i < n; i++) {
        fillKey(k, i);
        store.put(k, value);
      }
      StoreStats stats = store.stats();
      accounting =
          String.format(
              "store accounting (%s): %d bytes used for %d entries = %.1f bytes/entry (bound %d)%n",
              policy.redisName(), stats.bytesUsed(), stats.entries(), (double) stats.bytesUsed() / stats.entries(),
              stats.bytesMax());
      keepAlive = store;
    } else if (impl.equals("chm")) {
      ConcurrentHashMap<ByteKey, byte[]> map = new ConcurrentHashMap<>();
      for (int i = 0; i < n; i++) {
        map.put(new ByteKey(key(i)), value.clone());
      }
      keepAlive = map;
    } else {
      throw new IllegalArgumentException("expected store or chm, got " + impl);
    }
    settle();
    long rssAfter = rssBytes();
    // this tool's output is its result, like a command line's
    System.out.printf(
        "%s: %d entries, RSS %d -> %d kB, growth %.1f bytes/entry%n%s",
        impl, n, rssBefore / 1024, rssAfter / 1024, (double) (rssAfter - rssBefore) / n, accounting);
    if (keepAlive.hashCode() == 42) {
      System.out.println();
    }
  }

  private static byte[] key(int i) {
    byte[] k = new byte[16];
    fillKey(k, i);
    return k;
  }

  private static void fillKey(byte[] k, int i) {
    for (int b = 0; b < 16; b++) {
      k[b] = (byte) ((i >>> ((b & 3) * 8)) + b);
    }
  }

  private static void settle() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
  }

  private static long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IOException("no VmRSS line in /proc/self/status");
  }
}
