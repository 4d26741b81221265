package io.distcache.benchmarks;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: the load tool's lanes (LoadTool.run: closed loop, same keys, values and GET ratio) driven
 * through Lettuce over the node's Redis protocol, so the Java client and Lettuce are compared on
 * the same node with the same load. --connections Lettuce connections, used round-robin by the
 * lanes (Lettuce multiplexes any number of requests on a connection, as the distcache client does).
 *
 *   java -cp distcache-benchmarks/target/benchmarks.jar io.distcache.benchmarks.LettuceLoad \
 *     --addr 127.0.0.1:7000 --connections 2 --pipeline 16 --duration 8 --warmup 3
 */
public final class LettuceLoad {
  private LettuceLoad() {}

  public static void main(String[] args) throws Exception {
    LoadTool.Options o = LoadTool.parse(args);
    byte[] value = new byte[o.valueSize()];
    new SplittableRandom(42).nextBytes(value);
    byte[][] keys = new byte[o.keys()][];
    for (int i = 0; i < o.keys(); i++) {
      keys[i] = String.format(Locale.ROOT, "key:%012d", i).getBytes(StandardCharsets.US_ASCII);
    }
    int colon = o.addr().lastIndexOf(':');
    RedisClient redis = RedisClient.create(RedisURI.create(o.addr().substring(0, colon),
        Integer.parseInt(o.addr().substring(colon + 1))));
    List<StatefulRedisConnection<byte[], byte[]>> connections = new ArrayList<>();
    try {
      for (int i = 0; i < o.connections(); i++) {
        connections.add(redis.connect(ByteArrayCodec.INSTANCE));
      }
      List<RedisAsyncCommands<byte[], byte[]>> commands = connections.stream().map(StatefulRedisConnection::async).toList();
      if (o.preload()) {
        List<CompletableFuture<?>> sets = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) {
          sets.add(commands.get(i % commands.size()).set(keys[i], value).toCompletableFuture());
          if (sets.size() == 1000) {
            CompletableFuture.allOf(sets.toArray(new CompletableFuture<?>[0])).join();
            sets.clear();
          }
        }
        CompletableFuture.allOf(sets.toArray(new CompletableFuture<?>[0])).join();
      }
      AtomicInteger next = new AtomicInteger();
      LoadTool.Result r = LoadTool.run(new LoadTool.Target() {
        @Override
        public CompletableFuture<?> get(byte[] key) {
          return commands.get(Math.floorMod(next.getAndIncrement(), commands.size())).get(key).toCompletableFuture();
        }

        @Override
        public CompletableFuture<?> set(byte[] key, byte[] v) {
          return commands.get(Math.floorMod(next.getAndIncrement(), commands.size())).set(key, v).toCompletableFuture();
        }
      }, o, keys, value);
      System.out.printf(Locale.ROOT,
          "lettuce addr=%s connections=%d pipeline=%d value=%dB get-ratio=%.2f keys=%d duration=%ds%n"
              + "ops/s=%.0f p50=%.1fus p99=%.1fus p999=%.1fus errors=%d%n",
          o.addr(), o.connections(), o.pipeline(), o.valueSize(), o.getRatio(), keys.length, o.durationSeconds(),
          r.opsPerSecond(), r.p50Micros(), r.p99Micros(), r.p999Micros(), r.errors());
    } finally {
      connections.forEach(StatefulRedisConnection::close);
      redis.shutdown();
    }
  }
}
