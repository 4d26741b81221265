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
 */

/** Builds the text of INFO. */
final class InfoReport {
  private InfoReport() {}

  static final List<String> SECTIONS =
      List.of("server", "clients", "memory", "persistence", "stats", "replication", "cluster", "keyspace");

  /** The report for the requested sections (none, "default", "all" or "everything" mean all of them). */
  static String build(RespSession s, byte[][] args) {
    Set<String> wanted = new LinkedHashSet<>();
    if (args.length == 1) {
      wanted.addAll(SECTIONS);
    }
    for (int i = 1; i < args.length; i++) {
      String name = Args.lower(args[i]);
      if (name.equals("default") || name.equals("all") || name.equals("everything")) {
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
          line(sb, "distcache_version", c.version());
          line(sb, "redis_mode", c.cluster() != null ? "cluster" : "standalone");
          line(sb, "os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
              + System.getProperty("os.arch"));
          line(sb, "arch_bits", System.getProperty("sun.arch.data.model", "64"));
          line(sb, "process_id", ProcessHandle.current().pid());
          line(sb, "run_id", c.runId());
          line(sb, "tcp_port", port(s.client().localAddress));
          line(sb, "server_time_usec", c.clock().millis() * 1000);
          line(sb, "uptime_in_seconds", c.uptimeSeconds());
          line(sb, "uptime_in_days", c.uptimeSeconds() / 86400);
          line(sb, "java_version", System.getProperty("java.version"));
        }
        case "clients" -> {
          header(sb, "Clients");
          line(sb, "connected_clients", c.stats().connectedClients());
          line(sb, "blocked_clients", 0);
        }
        case "memory" -> {
          header(sb, "Memory");
          line(sb, "used_memory", st.bytesUsed());
          line(sb, "used_memory_human", human(st.bytesUsed()));
          line(sb, "maxmemory", st.bytesMax());
          line(sb, "maxmemory_human", human(st.bytesMax()));
          line(sb, "maxmemory_policy", store.config().policy().redisName());
        }
        case "persistence" -> {
          header(sb, "Persistence");
          line(sb, "loading", 0);
          line(sb, "rdb_changes_since_last_save", 0);
          line(sb, "aof_enabled", 0);
        }
        case "stats" -> {
          header(sb, "Stats");
          line(sb, "total_connections_received", c.stats().totalConnectionsReceived());
          line(sb, "total_commands_processed", c.stats().totalCommandsProcessed());
          line(sb, "expired_keys", st.expired());
          line(sb, "evicted_keys", st.evicted());
          line(sb, "keyspace_hits", st.hits());
          line(sb, "keyspace_misses", st.misses());
        }
        case "replication" -> {
          header(sb, "Replication");
          if (c.cluster() == null) {
            line(sb, "role", "master");
            line(sb, "connected_slaves", 0);
          } else {
            sb.append(c.cluster().replicationInfo()); // role, connected_slaves, offsets (cluster/Replicator)
          }
        }
        case "cluster" -> {
          header(sb, "Cluster");
          if (c.cluster() == null) {
            line(sb, "cluster_enabled", 0);
          } else {
            line(sb, "cluster_enabled", 1);
            sb.append(ClusterCommands.infoLines(c.cluster(), c.redirects()));
          }
        }
        case "keyspace" -> {
          header(sb, "Keyspace");
          long keys = store.size();
          if (keys > 0) {
            sb.append("db0:keys=").append(keys).append(",expires=").append(store.sizeWithExpiry())
                .append(",avg_ttl=0\r\n");
          }
        }
        default -> throw new IllegalStateException("unhandled INFO section " + section);
      }
    }
    return sb.toString();
  }

  private static void header(StringBuilder sb, String name) {
    sb.append("# ").append(name).append("\r\n");
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
