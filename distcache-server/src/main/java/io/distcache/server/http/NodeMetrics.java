package io.distcache.server.http;

import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.net.NetServer;
import io.distcache.server.resp.CommandStats;
import io.distcache.server.resp.LatencyHistogram;
import io.distcache.server.resp.RespContext;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreStats;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/*
 * Design: every metric is read when scraped, never pushed: the request path only bumps the
 * LongAdders it already had (CommandStats, StoreStats, NetCounters), so collecting costs a request
 * nothing extra, and a scrape reads each counter once. The registry is the node's own (several
 * nodes share a JVM in tests), built with the Prometheus Java client; commands are one
 * MultiCollector over the command table (only commands that were called, as INFO commandstats),
 * the rest callbacks. Names follow Prometheus conventions (base units, _total for counters);
 * the INFO field each mirrors is in docs/OPERATIONS.md.
 *
 * Scrapes run on one daemon thread of their own with a queue of 4: rendering (JVM metrics
 * included) takes around a millisecond, which an event loop should spend on requests; more
 * concurrent scrapes than that are refused (503) instead of queueing without bound.
 */

/** The node's Prometheus metrics and their text exposition. */
public final class NodeMetrics implements AutoCloseable {
  public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;
  static final int MAX_QUEUED_SCRAPES = 4;

  /** Prometheus histogram bounds, in microseconds: powers of two, which are exact bucket bounds of LatencyHistogram. */
  private static final long[] BOUNDS_MICROS = {
    16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, 262144, 1048576, 4194304
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final ThreadPoolExecutor scraper;

  /**
   * @param context the node's Redis layer (commands, errors, clients, the store, the cluster)
   * @param net the node's network (connections, bytes); read at each scrape, may be null before it starts
   * @param ready null when ready, else why not (as /readyz)
   */
  public NodeMetrics(RespContext context, java.util.function.Supplier<NetServer> net, java.util.function.Supplier<String> ready) {
    scraper = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(MAX_QUEUED_SCRAPES), r -> {
      Thread t = new Thread(r, "distcache-metrics");
      t.setDaemon(true);
      return t;
    });
    JvmMetrics.builder().register(registry);
    Store store = context.store();
    ClusterView cluster = context.cluster();

    registry.register(new CommandCollector(context));
    counter("distcache_keyspace_hits", "Reads that found their key (INFO keyspace_hits).", () -> store.stats().hits());
    counter("distcache_keyspace_misses", "Reads that did not find their key (INFO keyspace_misses).", () -> store.stats().misses());
    counter("distcache_expired_keys", "Keys removed because their TTL ran out (INFO expired_keys).", () -> store.stats().expired());
    counter("distcache_evicted_keys", "Keys evicted to stay within maxmemory (INFO evicted_keys).", () -> store.stats().evicted());
    if (store.fieldExpiryIndex() != null) {
      io.distcache.server.store.FieldExpiryIndex fields = store.fieldExpiryIndex();
      counter("distcache_expired_subkeys", "Hash fields removed because their time came (INFO expired_subkeys).",
          fields::expiredFields);
      gauge("distcache_keys_with_field_expiry", "Hashes with field expiry times (INFO keyspace subexpiry).",
          fields::size);
    }
    gauge("distcache_keys", "Keys in this node's store: its own slots' and its replica copies (INFO keyspace db0 keys).",
        () -> store.stats().entries());
    gauge("distcache_memory_used_bytes", "Bytes the store holds: entries, index and slack (INFO used_memory).",
        () -> store.stats().bytesUsed());
    gauge("distcache_memory_max_bytes", "The store's memory bound (INFO maxmemory).", () -> store.stats().bytesMax());
    gauge("distcache_memory_reply_held_bytes",
        "Part of used memory: deleted or overwritten large values whose GET replies are not written yet"
            + " (INFO distcache_reply_held_bytes).",
        store::replyHeldBytes);
    gauge("distcache_heap_budgets_used_bytes",
        "Heap the node's client budgets count together (INFO distcache_heap_budgets_used).",
        () -> context.heapBudgets().usedBytes());
    gauge("distcache_heap_budgets_limit_bytes",
        "The limit on what the node's client budgets count together (INFO distcache_heap_budgets_limit).",
        () -> context.heapBudgets().limitBytes());
    counter("distcache_heap_budgets_refusals",
        "Growths refused because the node's client budgets together were at their limit (INFO distcache_heap_budgets_refusals).",
        () -> context.heapBudgets().refusals());
    GaugeWithCallback.builder()
        .name("distcache_maxmemory_policy")
        .help("1, labelled with the eviction policy in force (INFO maxmemory_policy).")
        .labelNames("policy")
        .callback(cb -> cb.call(1, store.config().policy().redisName()))
        .register(registry);
    gauge("distcache_connected_clients", "Client connections open now, peers excluded (INFO connected_clients).",
        () -> net.get() == null ? 0 : net.get().connections());
    counter("distcache_connections_received", "Connections accepted since start (INFO total_connections_received).",
        () -> net.get() == null ? 0 : net.get().counters().accepted());
    counter("distcache_connections_rejected", "Connections refused at --max-connections (INFO rejected_connections).",
        () -> net.get() == null ? 0 : net.get().rejectedConnections());
    counter("distcache_net_input_bytes", "Bytes read from every connection (INFO total_net_input_bytes).",
        () -> net.get() == null ? 0 : net.get().counters().bytesIn());
    counter("distcache_net_output_bytes", "Bytes written to every connection (INFO total_net_output_bytes).",
        () -> net.get() == null ? 0 : net.get().counters().bytesOut());
    counter("distcache_error_replies", "Error replies sent to Redis clients (INFO total_error_replies).",
        () -> context.errorStats().total());
    counter("distcache_commands_processed", "Redis commands executed (INFO total_commands_processed).",
        () -> context.stats().totalCommandsProcessed());
    gauge("distcache_ready", "1 when the node serves its slots (as /readyz), else 0.", () -> ready.get() == null ? 1 : 0);
    if (cluster != null) {
      counter("distcache_forwarded_requests", "Requests forwarded to the owner of their key (INFO forwarded_requests).",
          cluster::forwardedRequests);
      counter("distcache_unsent_forwards_held", "Requests whose owner could not be connected to, held for the slot's"
          + " next owner (INFO unsent_forwards_held).", () -> cluster.unsentForwards()[0]);
      counter("distcache_unsent_forwards_rerouted", "Held requests routed to their slot's new owner"
          + " (INFO unsent_forwards_rerouted).", () -> cluster.unsentForwards()[1]);
      counter("distcache_unsent_forwards_expired", "Held requests answered BUSY when the forward timeout passed first"
          + " (INFO unsent_forwards_expired).", () -> cluster.unsentForwards()[2]);
      gauge("distcache_placement_epoch", "The epoch of the slot placement this node uses (CLUSTER INFO cluster_current_epoch).",
          () -> cluster.placement().epoch());
      gauge("distcache_slots_owned", "Slots this node owns in its placement.", () -> ownedSlots(cluster));
      gauge("distcache_keys_owned", "Keys of the slots this node owns (DBSIZE on a cluster connection,"
          + " CLUSTER INFO cluster_owned_keys).", cluster::ownedKeys);
      GaugeWithCallback.builder()
          .name("distcache_cluster_members")
          .help("Members this node knows, by state.")
          .labelNames("state")
          .callback(cb -> {
            for (Map.Entry<MemberState, Integer> e : membersByState(cluster).entrySet()) {
              cb.call(e.getValue(), e.getKey().name().toLowerCase(java.util.Locale.ROOT));
            }
          })
          .register(registry);
    }
  }

  private void counter(String name, String help, java.util.function.LongSupplier value) {
    CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
  }

  private void gauge(String name, String help, java.util.function.LongSupplier value) {
    GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
  }

  static Map<MemberState, Integer> membersByState(ClusterView cluster) {
    Map<MemberState, Integer> out = new EnumMap<>(MemberState.class);
    for (MemberState s : MemberState.values()) {
      out.put(s, 0);
    }
    List<MemberStatus> members = cluster.snapshot().map(MembershipSnapshot::members).orElse(List.of());
    for (MemberStatus m : members) {
      out.merge(m.state(), 1, Integer::sum);
    }
    return out;
  }

  static int ownedSlots(ClusterView cluster) {
    Placement p = cluster.placement();
    if (cluster.self() == null) {
      return 0;
    }
    return p.size() == 0 ? io.distcache.protocol.cluster.KeySlot.SLOTS : p.slotCount(cluster.self());
  }

  /** The text exposition, rendered on the metrics thread; fails (RejectedExecutionException) when too many wait. */
  public CompletableFuture<byte[]> scrape() {
    try {
      return CompletableFuture.supplyAsync(this::render, scraper);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new RejectedExecutionException("too many scrapes at once"));
    }
  }

  /** Renders the exposition on the calling thread. */
  public byte[] render() {
    MetricSnapshots snapshots = registry.scrape();
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      writer.write(out, snapshots);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  @Override
  public void close() {
    scraper.shutdownNow();
  }

  /** Commands by name: calls, failed and rejected calls, a latency histogram. */
  private static final class CommandCollector implements MultiCollector {
    private final RespContext context;

    CommandCollector(RespContext context) {
      this.context = context;
    }

    @Override
    public MetricSnapshots collect() {
      CounterSnapshot.Builder calls = CounterSnapshot.builder().name("distcache_commands")
          .help("Calls of each Redis command (INFO commandstats calls).");
      CounterSnapshot.Builder failed = CounterSnapshot.builder().name("distcache_command_failed_calls")
          .help("Calls of each Redis command that answered an error (INFO commandstats failed_calls).");
      CounterSnapshot.Builder rejected = CounterSnapshot.builder().name("distcache_command_rejected_calls")
          .help("Calls of each Redis command refused before running, e.g. wrong arity (INFO commandstats rejected_calls).");
      HistogramSnapshot.Builder latency = HistogramSnapshot.builder().name("distcache_command_duration_seconds")
          .unit(Unit.SECONDS)
          .help("Time from the start of each Redis command to its reply (a forwarded one includes the hop).");
      for (CommandStats s : context.commandStats()) {
        long n = s.calls();
        long r = s.rejectedCalls();
        if (n == 0 && r == 0) {
          continue;
        }
        Labels labels = Labels.of("command", s.name());
        calls.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(n).build());
        failed.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(s.failedCalls()).build());
        rejected.dataPoint(CounterDataPointSnapshot.builder().labels(labels).value(r).build());
        latency.dataPoint(HistogramDataPointSnapshot.builder().labels(labels)
            .classicHistogramBuckets(buckets(s.latency()))
            .sum(s.micros() / 1e6)
            .build());
      }
      List<io.prometheus.metrics.model.snapshots.MetricSnapshot> out = new ArrayList<>();
      out.add(calls.build());
      out.add(failed.build());
      out.add(rejected.build());
      out.add(latency.build());
      return new MetricSnapshots(out);
    }

    @Override
    public List<String> getPrometheusNames() {
      return List.of("distcache_commands", "distcache_command_failed_calls", "distcache_command_rejected_calls",
          "distcache_command_duration_seconds");
    }
  }

  /** Per-bucket (not cumulative) counts at BOUNDS_MICROS, then +Inf. */
  static ClassicHistogramBuckets buckets(LatencyHistogram h) {
    long[] counts = h.counts();
    ClassicHistogramBuckets.Builder b = ClassicHistogramBuckets.builder();
    long below = 0;
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    for (long bound : BOUNDS_MICROS) {
      long upTo = LatencyHistogram.countBelow(counts, bound);
      b.bucket(bound / 1e6, upTo - below);
      below = upTo;
    }
    b.bucket(Double.POSITIVE_INFINITY, total - below);
    return b.build();
  }
}
