package io.distcache.server.resp;

import io.distcache.server.store.Store;
import io.distcache.server.store.StoreStats;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/*
 * Design: INFO is read by exporters and dashboards, so the field names are Redis's wherever the
 * meaning is the same; distcache-only facts get distcache_ names. The numbers are this node's:
 * like Redis Cluster, INFO describes the node answering, not the cluster. A node with a cluster
 * layer (every DistCacheNode: a node nobody joined is a one-member cluster) says redis_mode:cluster
 * and cluster_enabled:1, as HELLO (mode cluster) and CONFIG GET cluster-enabled (yes) do; the
 * Cluster section adds CLUSTER INFO's lines.
 *
 * Sections as Redis 7 defines them: no argument or "default" gives the default sections (all but
 * commandstats and latencystats); "all" gives every section; "everything" is "all" plus module
 * sections, of which there are none; other names select sections, case-insensitively, and an
 * unknown name selects nothing. A field whose value distcache cannot know is left out rather
 * than invented; one that is truly zero here is given as 0; blocked_clients and
 * total_blocking_keys are the node's parked blocking pops (KeyWaits).
 */

/** Builds the text of INFO. */
final class InfoReport {
  private InfoReport() {}

  static final List<String> SECTIONS = List.of("server", "clients", "memory", "persistence", "stats", "replication",
      "cpu", "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace");
  /** What INFO and INFO default show. */
  static final Set<String> DEFAULT = Set.of("server", "clients", "memory", "persistence", "stats", "replication",
      "cpu", "modules", "errorstats", "cluster", "keyspace");
  /** Keys sampled for keyspace avg_ttl. */
  static final int TTL_SAMPLES = 32;

  /** The report for the requested sections. */
  static String build(RespSession s, byte[][] args) {
    Set<String> wanted = new LinkedHashSet<>();
    if (args.length == 1) {
      wanted.addAll(DEFAULT);
    }
    for (int i = 1; i < args.length; i++) {
      String name = Args.lower(args[i]);
      if (name.equals("default")) {
        wanted.addAll(DEFAULT);
      } else if (name.equals("all") || name.equals("everything")) {
        wanted.addAll(SECTIONS);
      } else {
        wanted.add(name);
      }
    }
    RespContext c = s.context();
    Store store = c.store();
    StoreStats st = store.stats();
    StringBuilder sb = new StringBuilder();
    for (String section : SECTIONS) {
      if (!wanted.contains(section)) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append("\r\n");
      }
      switch (section) {
        case "server" -> {
          header(sb, "Server");
          line(sb, "redis_version", RespContext.REDIS_VERSION);
          line(sb, "redis_git_sha1", "00000000");
          line(sb, "redis_git_dirty", 0);
          line(sb, "distcache_version", c.version());
          line(sb, "redis_mode", c.cluster() != null ? "cluster" : "standalone");
          line(sb, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
              + System.getProperty("os.arch"));
          line(sb, "arch_bits", System.getProperty("sun.arch.data.model", "64"));
          line(sb, "monotonic_clock", "System.nanoTime");
          line(sb, "process_id", ProcessHandle.current().pid());
          line(sb, "process_supervised", "no");
          line(sb, "run_id", c.runId());
          line(sb, "tcp_port", port(s.client().localAddress));
          line(sb, "server_time_usec", c.clock().micros());
          line(sb, "uptime_in_seconds", c.uptimeSeconds());
          line(sb, "uptime_in_days", c.uptimeSeconds() / 86400);
          line(sb, "executable", ProcessHandle.current().info().command().orElse(""));
          line(sb, "config_file", "");
          line(sb, "java_version", System.getProperty("java.version"));
        }
        case "clients" -> {
          header(sb, "Clients");
          line(sb, "connected_clients", c.stats().connectedClients());
          line(sb, "cluster_connections", c.nodeCounters().clusterConnections());
          line(sb, "maxclients", c.nodeCounters().maxClients());
          line(sb, "blocked_clients", c.keyWaits() == null ? 0 : c.keyWaits().parked());
          line(sb, "tracking_clients", c.trackingTable() == null ? 0 : c.trackingTable().clients());
          line(sb, "pubsub_clients", pubsubClients(c));
          line(sb, "watching_clients", c.stats().watchingClients());
          line(sb, "clients_in_timeout_table", c.keyWaits() == null ? 0 : c.keyWaits().timed());
          line(sb, "total_watched_keys", c.stats().watchedKeys());
          line(sb, "total_blocking_keys", c.keyWaits() == null ? 0 : c.keyWaits().keys());
        }
        case "memory" -> {
          header(sb, "Memory");
          long rss = ProcessInfo.rssBytes();
          line(sb, "used_memory", st.bytesUsed());
          line(sb, "used_memory_human", human(st.bytesUsed()));
          if (rss >= 0) {
            line(sb, "used_memory_rss", rss);
            line(sb, "used_memory_rss_human", human(rss));
          }
          line(sb, "maxmemory", st.bytesMax());
          line(sb, "maxmemory_human", human(st.bytesMax()));
          line(sb, "maxmemory_policy", store.config().policy().redisName());
          if (rss >= 0 && st.bytesUsed() > 0) {
            line(sb, "mem_fragmentation_ratio", String.format(Locale.ROOT, "%.2f", (double) rss / st.bytesUsed()));
          }
          line(sb, "mem_allocator", "distcache-offheap");
          Runtime rt = Runtime.getRuntime();
          // Part of used_memory: large values deleted or overwritten whose bytes a queued GET reply still sends.
          line(sb, "distcache_reply_held_bytes", store.replyHeldBytes());
          line(sb, "distcache_heap_used", rt.totalMemory() - rt.freeMemory());
          line(sb, "distcache_heap_max", rt.maxMemory());
          // What the node's heap budgets count together, and the limit on that sum (HeapBudgets).
          line(sb, "distcache_heap_budgets_used", c.heapBudgets().usedBytes());
          line(sb, "distcache_heap_budgets_limit", c.heapBudgets().limitBytes());
          line(sb, "distcache_heap_budgets_refusals", c.heapBudgets().refusals());
        }
        case "persistence" -> {
          header(sb, "Persistence");
          line(sb, "loading", 0);
          line(sb, "async_loading", 0);
          line(sb, "rdb_changes_since_last_save", 0);
          line(sb, "rdb_bgsave_in_progress", 0);
          line(sb, "aof_enabled", 0);
          line(sb, "aof_rewrite_in_progress", 0);
        }
        case "stats" -> {
          header(sb, "Stats");
          NodeCounters net = c.nodeCounters();
          RateSampler rates = c.rates();
          line(sb, "total_connections_received", c.stats().totalConnectionsReceived());
          line(sb, "total_commands_processed", c.stats().totalCommandsProcessed());
          line(sb, "instantaneous_ops_per_sec", rates.opsPerSec());
          line(sb, "total_net_input_bytes", net.netInputBytes());
          line(sb, "total_net_output_bytes", net.netOutputBytes());
          line(sb, "instantaneous_input_kbps", String.format(Locale.ROOT, "%.2f", rates.inputKbps()));
          line(sb, "instantaneous_output_kbps", String.format(Locale.ROOT, "%.2f", rates.outputKbps()));
          line(sb, "rejected_connections", net.rejectedConnections());
          if (store.fieldExpiryIndex() != null) {
            // Redis 7.4: hash fields removed because their time came (by a write on the hash or the sweep)
            line(sb, "expired_subkeys", store.fieldExpiryIndex().expiredFields());
          }
          line(sb, "expired_keys", st.expired());
          line(sb, "evicted_keys", st.evicted());
          line(sb, "evicted_clients", 0);
          line(sb, "keyspace_hits", st.hits());
          line(sb, "keyspace_misses", st.misses());
          line(sb, "pubsub_channels", c.pubSub().channelCount());
          line(sb, "pubsub_patterns", c.pubSub().numpat());
          line(sb, "pubsubshard_channels", c.pubSub().shardChannelCount());
          if (c.trackingTable() != null) {
            line(sb, "tracking_total_keys", c.trackingTable().size());
            line(sb, "tracking_total_items", c.trackingTable().items());
            line(sb, "tracking_total_prefixes", c.trackingTable().prefixes());
          }
          line(sb, "client_output_buffer_limit_disconnections", c.outputLimit().disconnections());
          line(sb, "pubsub_fanout_dropped", c.fanoutDropped());
          line(sb, "pubsub_pattern_matches_cut_short", c.pubSub().patternMatchesCutShort());
          line(sb, "total_error_replies", c.errorStats().total());
          if (c.cluster() != null) {
            line(sb, "forwarded_requests", c.cluster().forwardedRequests());
            long[] unsent = c.cluster().unsentForwards();
            line(sb, "unsent_forwards_held", unsent[0]);
            line(sb, "unsent_forwards_rerouted", unsent[1]);
            line(sb, "unsent_forwards_expired", unsent[2]);
            line(sb, "replica_reads", c.cluster().replicaReads());
          }
        }
        case "replication" -> {
          header(sb, "Replication");
          if (c.cluster() == null) {
            line(sb, "role", "master");
            line(sb, "connected_slaves", 0);
            line(sb, "master_failover_state", "no-failover");
            line(sb, "master_repl_offset", 0);
            line(sb, "repl_backlog_active", 0);
          } else {
            sb.append(c.cluster().replicationInfo()); // role, connected_slaves, offsets (cluster/Replicator)
          }
        }
        case "cpu" -> {
          header(sb, "CPU");
          double[] cpu = ProcessInfo.cpuSeconds();
          if (cpu[0] >= 0) {
            line(sb, "used_cpu_sys", String.format(Locale.ROOT, "%.6f", cpu[1]));
            line(sb, "used_cpu_user", String.format(Locale.ROOT, "%.6f", cpu[0]));
          }
          line(sb, "used_cpu_sys_children", "0.000000");
          line(sb, "used_cpu_user_children", "0.000000");
        }
        case "modules" -> header(sb, "Modules");
        case "commandstats" -> {
          header(sb, "Commandstats");
          for (CommandStats cs : c.commandStats()) {
            long calls = cs.calls();
            if (calls == 0 && cs.rejectedCalls() == 0) {
              continue;
            }
            long usec = cs.micros();
            sb.append("cmdstat_").append(cs.name()).append(":calls=").append(calls).append(",usec=").append(usec)
                .append(",usec_per_call=").append(String.format(Locale.ROOT, "%.2f", calls == 0 ? 0.0 : (double) usec / calls))
                .append(",rejected_calls=").append(cs.rejectedCalls()).append(",failed_calls=").append(cs.failedCalls())
                .append("\r\n");
          }
        }
        case "errorstats" -> {
          header(sb, "Errorstats");
          for (java.util.Map.Entry<String, Long> e : c.errorStats().byCode().entrySet()) {
            sb.append("errorstat_").append(e.getKey()).append(":count=").append(e.getValue()).append("\r\n");
          }
        }
        case "latencystats" -> {
          header(sb, "Latencystats");
          for (CommandStats cs : c.commandStats()) {
            if (cs.calls() == 0) {
              continue;
            }
            long[] counts = cs.latency().counts();
            sb.append("latency_percentiles_usec_").append(cs.name())
                .append(":p50=").append(String.format(Locale.ROOT, "%.3f", (double) LatencyHistogram.percentile(counts, 50)))
                .append(",p99=").append(String.format(Locale.ROOT, "%.3f", (double) LatencyHistogram.percentile(counts, 99)))
                .append(",p99.9=").append(String.format(Locale.ROOT, "%.3f", (double) LatencyHistogram.percentile(counts, 99.9)))
                .append("\r\n");
          }
        }
        case "cluster" -> {
          header(sb, "Cluster");
          if (c.cluster() == null) {
            line(sb, "cluster_enabled", 0);
          } else {
            line(sb, "cluster_enabled", 1);
            sb.append(ClusterCommands.infoLines(s, c.cluster()));
          }
        }
        case "keyspace" -> {
          header(sb, "Keyspace");
          long keys = store.size();
          if (keys > 0) {
            sb.append("db0:keys=").append(keys).append(",expires=").append(store.sizeWithExpiry())
                .append(",avg_ttl=").append(averageTtlMillis(store));
            if (store.fieldExpiryIndex() != null) {
              sb.append(",subexpiry=").append(store.fieldExpiryIndex().size()); // Redis 7.4: hashes with field times
            }
            sb.append("\r\n");
          }
        }
        default -> throw new IllegalStateException("unhandled INFO section " + section);
      }
    }
    return sb.toString();
  }

  /**
   * Redis's avg_ttl is an estimate from keys it samples; here the mean remaining TTL, in ms, of the
   * keys with one among TTL_SAMPLES random keys (0 when none of them has a TTL).
   */
  static long averageTtlMillis(Store store) {
    long sum = 0;
    int n = 0;
    for (int i = 0; i < TTL_SAMPLES; i++) {
      byte[] key = store.randomKey();
      if (key == null) {
        break;
      }
      long ttl = store.ttlMillis(key);
      if (ttl > 0) {
        sum += ttl;
        n++;
      }
    }
    return n == 0 ? 0 : sum / n;
  }

  private static void header(StringBuilder sb, String name) {
    sb.append("# ").append(name).append("\r\n");
  }

  /** Connections subscribed to a channel, pattern or shard channel. */
  private static long pubsubClients(RespContext c) {
    long n = 0;
    for (ClientState cs : c.stats().clients()) {
      if (cs.sub + cs.psub + cs.ssub > 0) {
        n++;
      }
    }
    return n;
  }

  private static void line(StringBuilder sb, String name, Object value) {
    sb.append(name).append(':').append(value).append("\r\n");
  }

  private static String port(String address) {
    int colon = address.lastIndexOf(':');
    return colon < 0 ? "0" : address.substring(colon + 1);
  }

  /** Redis's bytesToHuman: B, K, M, G with two decimals. */
  static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + "B";
    }
    String[] units = {"K", "M", "G", "T", "P"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.2f%s", v, units[u]);
  }
}
