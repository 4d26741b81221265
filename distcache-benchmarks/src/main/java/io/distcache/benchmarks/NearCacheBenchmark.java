package io.distcache.benchmarks;

import io.distcache.client.DistCacheClient;
import io.distcache.server.DistCacheNode;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/*
 * Design: what the client's near cache saves on a read. One node in this JVM on loopback, two
 * clients: one with a near cache, one without. nearCacheHit reads a key the near cache holds (a
 * Caffeine lookup and a copy of the 100-byte value); remoteGet reads the same key over the binary
 * protocol (a loopback round trip through the node). Loopback is the best case for remoteGet: on
 * a network the round trip is longer and the gap wider.
 */

/** A near-cache hit against a remote GET of the same 100-byte value. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NearCacheBenchmark {
  private static final byte[] KEY = "near:hot".getBytes(StandardCharsets.UTF_8);

  private DistCacheNode node;
  private DistCacheClient near;
  private DistCacheClient plain;

  @Setup(Level.Trial)
  public void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024).start();
    String address = "127.0.0.1:" + node.port();
    near = DistCacheClient.builder().addresses(address).nearCache(10_000).build();
    plain = DistCacheClient.builder().addresses(address).build();
    plain.set(KEY, new byte[100]);
    near.get(KEY);
  }

  @TearDown(Level.Trial)
  public void stop() {
    near.close();
    plain.close();
    node.close();
  }

  @Benchmark
  public byte[] nearCacheHit() {
    return near.get(KEY);
  }

  @Benchmark
  public byte[] remoteGet() {
    return plain.get(KEY);
  }
}
