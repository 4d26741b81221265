package io.distcache.benchmarks;

import io.distcache.client.DistCacheClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design: a closed-loop load generator on the Java client. "connections x pipeline" lanes each
 * keep exactly one request in flight and issue the next from the previous one's completion, so the
 * offered load adapts to the server instead of queueing without bound (an open loop would measure
 * the client's queue, not the node). Latency is measured from issue to completion, recorded only
 * after the warm-up, in a fixed-size histogram.
 *
 * Usage (all flags optional):
 *   java -cp distcache-benchmarks/target/benchmarks.jar io.distcache.benchmarks.LoadTool \
 *     --addr 127.0.0.1:7000 --connections 4 --pipeline 16 --value-size 100 --get-ratio 0.9 \
 *     --keys 100000 --duration 10 --warmup 3
 *   --plain: no smart routing (every request goes to --addr, which forwards what it does not own);
 *   --owned-by host:port: only the keys that member owns (with --plain, the cost of a hop).
 */
public final class LoadTool {

  /** The run's parameters (see the usage above). */
  public record Options(
      String addr, int connections, int pipeline, int valueSize, double getRatio, int keys,
      int durationSeconds, int warmupSeconds, boolean preload, boolean plain, String ownedBy) {}

  public static void main(String[] args) throws Exception {
    Options o = parse(args);
    byte[] value = new byte[o.valueSize];
    new SplittableRandom(42).nextBytes(value);
    byte[][] keys = new byte[o.keys][];
    for (int i = 0; i < o.keys; i++) {
      keys[i] = String.format(Locale.ROOT, "key:%012d", i).getBytes(StandardCharsets.US_ASCII);
    }
    if (o.ownedBy != null) {
      keys = ownedBy(o.addr, o.ownedBy, keys);
    }
    try (DistCacheClient client = DistCacheClient.builder()
        .addresses(o.addr)
        .connectionsPerNode(o.connections)
        .requestTimeout(Duration.ofSeconds(10))
        .smartRouting(!o.plain)
        .build()) {
      if (o.preload) {
        preload(client, keys, value);
      }
      Result r = run(client, o, keys, value);
      System.out.printf(Locale.ROOT,
          "addr=%s connections=%d pipeline=%d value=%dB get-ratio=%.2f keys=%d%s routing=%s duration=%ds%n"
              + "ops/s=%.0f p50=%.1fus p99=%.1fus p999=%.1fus errors=%d%n",
          o.addr, o.connections, o.pipeline, o.valueSize, o.getRatio, keys.length,
          o.ownedBy == null ? "" : " (owned by " + o.ownedBy + ")", o.plain ? "plain" : "smart",
          o.durationSeconds,
          r.opsPerSecond, r.p50Micros, r.p99Micros, r.p999Micros, r.errors);
    }
  }

  /**
   * The keys whose owner is {@code owner} (host:port), as the cluster reached through {@code addr}
   * sees it. With {@code --plain --addr A --owned-by B} every request takes one forwarding hop
   * (A to B); with {@code --owned-by A} none does: the two runs give the hop's cost.
   */
  private static byte[][] ownedBy(String addr, String owner, byte[][] keys) {
    try (DistCacheClient view = DistCacheClient.builder().addresses(addr).build()) {
      if (view.refreshMembers().isEmpty()) {
        throw new IllegalArgumentException("--owned-by: " + addr + " reports no cluster members");
      }
      byte[][] owned = java.util.Arrays.stream(keys)
          .filter(k -> view.ownerOf(k).map(m -> m.address().equals(owner)).orElse(false))
          .toArray(byte[][]::new);
      if (owned.length == 0) {
        throw new IllegalArgumentException("--owned-by: no key is owned by " + owner
            + "; members: " + view.members());
      }
      return owned;
    }
  }

  /** Summary of one measured run. */
  public record Result(double opsPerSecond, double p50Micros, double p99Micros, double p999Micros, long errors) {}

  private static void preload(DistCacheClient client, byte[][] keys, byte[] value) {
    int batch = 1000;
    CompletableFuture<?>[] inFlight = new CompletableFuture<?>[batch];
    for (int i = 0; i < keys.length; i += batch) {
      int n = Math.min(batch, keys.length - i);
      for (int j = 0; j < n; j++) {
        inFlight[j] = client.setAsync(keys[i + j], value);
      }
      CompletableFuture.allOf(java.util.Arrays.copyOf(inFlight, n)).join();
    }
  }

  /** What the lanes drive: the distcache client, or another client on the same node (LettuceLoad). */
  public interface Target {
    CompletableFuture<?> get(byte[] key);

    CompletableFuture<?> set(byte[] key, byte[] value);
  }

  /** Runs the configured load; usable from other tools (the cluster figures reuse it). */
  public static Result run(DistCacheClient client, Options o, byte[][] keys, byte[] value)
      throws InterruptedException {
    return run(new Target() {
      @Override
      public CompletableFuture<?> get(byte[] key) {
        return client.getAsync(key);
      }

      @Override
      public CompletableFuture<?> set(byte[] key, byte[] value) {
        return client.setAsync(key, value);
      }
    }, o, keys, value);
  }

  /** Runs the configured load against any {@link Target}. */
  public static Result run(Target client, Options o, byte[][] keys, byte[] value)
      throws InterruptedException {
    LatencyHistogram histogram = new LatencyHistogram();
    AtomicLong measuredOps = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long start = System.nanoTime();
    long measureFrom = start + TimeUnit.SECONDS.toNanos(o.warmupSeconds);
    long deadline = measureFrom + TimeUnit.SECONDS.toNanos(o.durationSeconds);
    int lanes = o.connections * o.pipeline;
    CountDownLatch done = new CountDownLatch(lanes);
    for (int lane = 0; lane < lanes; lane++) {
      new Lane(client, keys, value, o.getRatio, new SplittableRandom(lane), histogram, measuredOps,
          errors, measureFrom, deadline, done).next();
    }
    done.await();
    double seconds = (double) o.durationSeconds;
    return new Result(measuredOps.get() / seconds,
        histogram.percentileNanos(0.50) / 1000.0,
        histogram.percentileNanos(0.99) / 1000.0,
        histogram.percentileNanos(0.999) / 1000.0,
        errors.get());
  }

  /** One request in flight at a time; the next is issued when the previous completes. */
  private static final class Lane {
    private final Target client;
    private final byte[][] keys;
    private final byte[] value;
    private final double getRatio;
    private final SplittableRandom random;
    private final LatencyHistogram histogram;
    private final AtomicLong measuredOps;
    private final AtomicLong errors;
    private final long measureFrom;
    private final long deadline;
    private final CountDownLatch done;

    Lane(Target client, byte[][] keys, byte[] value, double getRatio, SplittableRandom random,
        LatencyHistogram histogram, AtomicLong measuredOps, AtomicLong errors, long measureFrom,
        long deadline, CountDownLatch done) {
      this.client = client;
      this.keys = keys;
      this.value = value;
      this.getRatio = getRatio;
      this.random = random;
      this.histogram = histogram;
      this.measuredOps = measuredOps;
      this.errors = errors;
      this.measureFrom = measureFrom;
      this.deadline = deadline;
      this.done = done;
    }

    void next() {
      long issued = System.nanoTime();
      if (issued >= deadline) {
        done.countDown();
        return;
      }
      byte[] key = keys[random.nextInt(keys.length)];
      CompletableFuture<?> f = random.nextDouble() < getRatio
          ? client.get(key)
          : client.set(key, value);
      f.whenComplete((v, err) -> {
        long now = System.nanoTime();
        if (issued >= measureFrom) {
          if (err != null) {
            errors.incrementAndGet();
          } else {
            measuredOps.incrementAndGet();
            histogram.record(now - issued);
          }
        }
        if (err != null) {
          // A failure may complete synchronously (node unreachable): hop threads instead of
          // recursing, so a dead node cannot overflow the stack.
          CompletableFuture.runAsync(this::next);
        } else {
          next();
        }
      });
    }
  }

  static Options parse(String[] args) {
    String addr = "127.0.0.1:7000";
    int connections = 4;
    int pipeline = 16;
    int valueSize = 100;
    double getRatio = 0.9;
    int keys = 100_000;
    int duration = 10;
    int warmup = 3;
    boolean preload = true;
    boolean plain = false;
    String ownedBy = null;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        System.out.println("LoadTool [--addr host:port] [--connections N] [--pipeline N] [--value-size BYTES]"
            + " [--get-ratio 0..1] [--keys N] [--duration SECONDS] [--warmup SECONDS] [--no-preload]"
            + " [--plain] [--owned-by host:port]");
        System.exit(0);
      }
      if (flag.equals("--no-preload")) {
        preload = false;
        continue;
      }
      if (flag.equals("--plain")) {
        plain = true;
        continue;
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("flag " + flag + " needs a value");
      }
      String v = args[++i];
      switch (flag) {
        case "--addr" -> addr = v;
        case "--connections" -> connections = positive(flag, v);
        case "--pipeline" -> pipeline = positive(flag, v);
        case "--value-size" -> valueSize = positive(flag, v);
        case "--get-ratio" -> getRatio = Double.parseDouble(v);
        case "--keys" -> keys = positive(flag, v);
        case "--duration" -> duration = positive(flag, v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--owned-by" -> ownedBy = v;
        default -> throw new IllegalArgumentException("unknown flag: " + flag);
      }
    }
    if (getRatio < 0 || getRatio > 1) {
      throw new IllegalArgumentException("--get-ratio: expected 0..1, got " + getRatio);
    }
    return new Options(addr, connections, pipeline, valueSize, getRatio, keys, duration, warmup, preload, plain, ownedBy);
  }

  private static int positive(String flag, String v) {
    int n = Integer.parseInt(v);
    if (n <= 0) {
      throw new IllegalArgumentException(flag + ": expected a positive number, got " + v);
    }
    return n;
  }

  private LoadTool() {}
}
