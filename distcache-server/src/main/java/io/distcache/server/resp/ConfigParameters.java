package io.distcache.server.resp;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/*
 * Design: the one table of CONFIG GET/SET parameters: every setting the node has, under Redis's
 * name where Redis has one with the same meaning (maxmemory, maxclients, timeout, bind, port)
 * and under the command-line flag's name otherwise. Settings fixed at startup come from the node
 * (RespContext.Builder.parameters); the few that are safe to change while serving (what is
 * recorded: the slow log and the latency monitor; the store's bound, eviction policy and LFU
 * tuning; the idle timeout) have a setter. CONFIG SET
 * checks every pair before applying any, as Redis does, and refuses a startup-only parameter
 * naming the flag to restart with.
 */

/** CONFIG GET and CONFIG SET's parameters. */
final class ConfigParameters {
  private ConfigParameters() {}

  private record Parameter(Function<RespContext, String> get, BiConsumer<RespContext, Long> set, long min,
      String restartWith, java.util.function.BiFunction<RespContext, byte[], Runnable> text) {
    Parameter(Function<RespContext, String> get, BiConsumer<RespContext, Long> set, long min, String restartWith) {
      this(get, set, min, restartWith, null);
    }
  }

  /**
   * A setting whose value is text: {@code check} parses it and returns what applies it, or throws
   * IllegalArgumentException with the reason (Redis's words) without changing anything.
   */
  private static void settableText(String name, Function<RespContext, String> get,
      java.util.function.BiFunction<RespContext, String, Runnable> check) {
    TABLE.put(name, new Parameter(get, null, 0, null,
        (c, v) -> check.apply(c, new String(v, java.nio.charset.StandardCharsets.UTF_8))));
  }

  /**
   * A write-only setting: CONFIG SET takes its value's bytes as sent, CONFIG GET never lists it
   * (its getter answers null).
   */
  private static void settableSecret(String name, java.util.function.BiFunction<RespContext, byte[], Runnable> check) {
    TABLE.put(name, new Parameter(c -> null, null, 0, null, check));
  }

  private static final Map<String, Parameter> TABLE = new LinkedHashMap<>();

  private static void fixed(String name, Function<RespContext, String> get, String restartWith) {
    TABLE.put(name, new Parameter(get, null, 0, restartWith));
  }

  private static void settable(String name, Function<RespContext, String> get, BiConsumer<RespContext, Long> set, long min) {
    TABLE.put(name, new Parameter(get, set, min, null));
  }

  static {
    fixed("save", c -> "", null);
    fixed("appendonly", c -> "no", null);
    settableText("maxmemory", c -> Long.toString(c.store().config().maxMemoryBytes()), ConfigParameters::maxMemory);
    settableText("maxmemory-policy", c -> c.store().config().policy().redisName(), (c, v) -> {
      io.distcache.server.store.EvictionPolicy policy;
      try {
        policy = io.distcache.server.store.EvictionPolicy.fromName(v);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(e.getMessage().startsWith("unknown")
            ? "argument(s) must be one of the following: " + io.distcache.server.store.EvictionPolicy.names()
            : e.getMessage());
      }
      return () -> c.store().reconfigure(c.store().config().withPolicy(policy));
    });
    settableText("lfu-log-factor", c -> Integer.toString(c.store().config().lfuLogFactor()), (c, v) -> {
      int factor = intArgument(v);
      return () -> c.store().reconfigure(c.store().config().withLfu(factor, c.store().config().lfuDecayMinutes()));
    });
    settableText("lfu-decay-time", c -> Integer.toString(c.store().config().lfuDecayMinutes()), (c, v) -> {
      int minutes = intArgument(v);
      return () -> c.store().reconfigure(c.store().config().withLfu(c.store().config().lfuLogFactor(), minutes));
    });
    fixed("databases", c -> "1", null);
    fixed("proto-max-bulk-len", c -> Integer.toString(c.limits().maxBulkBytes()), "--max-value");
    fixed("cluster-enabled", c -> c.cluster() != null ? "yes" : "no", null);
    settableText("notify-keyspace-events", c -> io.distcache.server.pubsub.KeyspaceEvents.format(c.keyspaceEvents().flags()),
        (c, v) -> {
          int flags = io.distcache.server.pubsub.KeyspaceEvents.parse(v);
          if (flags < 0) {
            throw new IllegalArgumentException("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
          }
          return () -> c.keyspaceEvents().flags(flags);
        });
    settableText("client-output-buffer-limit", c -> c.outputLimit().describe(), (c, v) -> {
      long[] pubsub = io.distcache.server.pubsub.OutputLimit.parse(v);
      return pubsub == null ? () -> {} : () -> c.outputLimit().set(pubsub[0], pubsub[1], pubsub[2]);
    });
    settable("slowlog-log-slower-than", c -> Long.toString(c.slowLog().slowerThanMicros()),
        (c, v) -> c.slowLog().slowerThanMicros(v), Long.MIN_VALUE);
    settable("slowlog-max-len", c -> Integer.toString(c.slowLog().maxLen()),
        (c, v) -> c.slowLog().maxLen((int) Math.min(v, Integer.MAX_VALUE)), 0);
    settable("latency-monitor-threshold", c -> Long.toString(c.latencyMonitor().thresholdMillis()),
        (c, v) -> c.latencyMonitor().thresholdMillis(v), 0);
    // Scripts: how long one may run before other clients get -BUSY (Redis's name and its older alias).
    settable("busy-reply-threshold", ConfigParameters::busyMillis, ConfigParameters::busyMillis, 0);
    settable("lua-time-limit", ConfigParameters::busyMillis, ConfigParameters::busyMillis, 0);
    fixed("maxclients", c -> c.parameter("maxclients"), "--max-connections");
    settableText("timeout", c -> c.parameter("timeout").isEmpty() ? "0" : c.parameter("timeout"), (c, v) -> {
      int seconds = intArgument(v);
      return () -> {
        if (!c.idleTimeout(java.time.Duration.ofSeconds(seconds))) {
          throw new CommandException("ERR CONFIG SET failed (possibly related to argument 'timeout') - "
              + "this node has no connections to time out");
        }
      };
    });
    fixed("bind", c -> c.parameter("bind"), "--addr");
    fixed("port", c -> c.parameter("port"), "--addr");
    fixed("cluster-node-timeout", c -> c.parameter("cluster-node-timeout"), "--suspicion-timeout");
    fixed("max-value", c -> Integer.toString(c.store().config().maxValueBytes()), "--max-value");
    fixed("script-memory", c -> Long.toString(c.scriptMemoryBytes()), "--script-memory");
    fixed("max-frame", c -> c.parameter("max-frame"), "--max-frame");
    fixed("max-collection-elements", c -> c.parameter("max-collection-elements"), "--max-collection-elements");
    fixed("redirects", c -> c.redirects().name().toLowerCase(java.util.Locale.ROOT), "--redirects");
    fixed("vnodes", c -> c.parameter("vnodes"), "--vnodes");
    fixed("advertise", c -> c.parameter("advertise"), "--advertise");
    fixed("join", c -> c.parameter("join"), "--join");
    fixed("probe-interval", c -> c.parameter("probe-interval"), "--probe-interval");
    fixed("probe-timeout", c -> c.parameter("probe-timeout"), "--probe-timeout");
    fixed("suspicion-timeout", c -> c.parameter("suspicion-timeout"), "--suspicion-timeout");
    fixed("forward-timeout", c -> c.parameter("forward-timeout"), "--forward-timeout");
    fixed("http-port", c -> c.parameter("http-port"), "--http-port");
    // Redis's requirepass: the default user's password, on this node, until it restarts (see
    // docs/OPERATIONS.md, Security). Only its hash is kept, so CONFIG GET cannot show it, and does
    // not list it: an empty value there would read as "no password", and a CONFIG SET of what GET
    // showed would then remove the password.
    settableSecret("requirepass", (c, v) -> () -> c.users().setDefaultPassword(v));
    // Client tracking's bound (Redis's name and default; 0: no bound). Lowering it invalidates keys at once.
    settable("tracking-table-max-keys", c -> Integer.toString(c.trackingTable() == null
        ? io.distcache.server.tracking.TrackingTable.DEFAULT_MAX_KEYS : c.trackingTable().maxKeys()),
        (c, v) -> {
          if (c.trackingTable() != null) {
            c.trackingTable().maxKeys((int) Math.min(v, Integer.MAX_VALUE));
          }
        }, 0);
  }

  /** Redis's integer settings (timeout, lfu-*): 0..INT_MAX, refused in Redis's words. */
  private static int intArgument(String v) {
    long n;
    try {
      n = Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("argument couldn't be parsed into an integer");
    }
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("argument must be between 0 and " + Integer.MAX_VALUE + " inclusive");
    }
    return (int) n;
  }

  /**
   * maxmemory as Redis reads it (a number with an optional unit: b, k = 1000, kb = 1024, m, mb, g,
   * gb), between the store's least bound and the JVM's direct memory; Redis's 0 ("no limit") is
   * refused, since the store always has one.
   */
  private static Runnable maxMemory(RespContext c, String v) {
    long bytes = memoryValue(v);
    if (bytes < 0) {
      throw new IllegalArgumentException("argument must be a memory value");
    }
    long min = c.store().minMaxMemoryBytes();
    long max = io.distcache.server.store.Stores.directMemoryBytes();
    if (bytes == 0) {
      throw new IllegalArgumentException("distcache always has a memory bound (0, no limit, is not accepted); "
          + "expected " + min + ".." + max + " bytes");
    }
    if (bytes < min || bytes > max) {
      throw new IllegalArgumentException("maxmemory " + bytes + " is out of range: expected " + min + ".." + max
          + " bytes (at least two pages per store segment, at most the JVM's direct memory)");
    }
    return () -> c.store().reconfigure(c.store().config().withMaxMemoryBytes(bytes));
  }

  /** Bytes of a Redis memory value ("100mb", "1gb", "5000"), or -1 when it is not one. */
  static long memoryValue(String v) {
    String t = v.trim().toLowerCase(java.util.Locale.ROOT);
    int i = 0;
    while (i < t.length() && Character.isDigit(t.charAt(i))) {
      i++;
    }
    if (i == 0 || i > 18) {
      return -1;
    }
    long n = Long.parseLong(t.substring(0, i));
    long unit = switch (t.substring(i)) {
      case "", "b" -> 1;
      case "k" -> 1000L;
      case "kb" -> 1024L;
      case "m" -> 1000L * 1000;
      case "mb" -> 1024L * 1024;
      case "g" -> 1000L * 1000 * 1000;
      case "gb" -> 1024L * 1024 * 1024;
      default -> -1;
    };
    if (unit < 0 || n > Long.MAX_VALUE / unit) {
      return -1;
    }
    return n * unit;
  }

  private static String busyMillis(RespContext c) {
    io.distcache.server.cluster.ScriptHost h = c.scriptHost();
    return Long.toString(h == null ? io.distcache.server.cluster.ScriptHost.DEFAULT_BUSY_MILLIS : h.busyThresholdMillis());
  }

  private static void busyMillis(RespContext c, long millis) {
    io.distcache.server.cluster.ScriptHost h = c.scriptHost();
    if (h == null) {
      throw new CommandException("ERR CONFIG SET failed - this node has no scripting");
    }
    h.busyThresholdMillis(millis);
  }

  /** Names matching the glob patterns (lower-cased) with their values: pattern by pattern, each name once. */
  static Map<String, String> get(RespContext c, List<byte[]> patterns) {
    Map<String, String> found = new LinkedHashMap<>();
    for (byte[] p : patterns) {
      for (Map.Entry<String, Parameter> e : TABLE.entrySet()) {
        if (!found.containsKey(e.getKey()) && GlobMatcher.matches(p, Args.utf8(e.getKey()))) {
          String value = e.getValue().get().apply(c);
          if (value != null) { // null: a write-only setting (requirepass)
            found.put(e.getKey(), value);
          }
        }
      }
    }
    return found;
  }

  /** Checks every name=value pair, then applies them all; throws before applying any on a bad one. */
  static void set(RespContext c, byte[][] a) {
    Map<String, Long> values = new LinkedHashMap<>();
    Map<String, Runnable> texts = new LinkedHashMap<>();
    for (int i = 2; i + 1 < a.length; i += 2) {
      String name = Args.lower(a[i]);
      Parameter p = TABLE.get(name);
      if (p == null) {
        throw new CommandException("ERR Unknown option or number of arguments for CONFIG SET - '" + Args.latin1(a[i]) + "'");
      }
      if (values.containsKey(name) || texts.containsKey(name)) {
        throw new CommandException("ERR Duplicate parameter - " + name);
      }
      if (p.text() != null) {
        try {
          texts.put(name, p.text().apply(c, a[i + 1]));
        } catch (IllegalArgumentException e) {
          throw new CommandException("ERR CONFIG SET failed (possibly related to argument '" + name + "') - "
              + e.getMessage());
        }
        continue;
      }
      if (p.set() == null) {
        throw new CommandException("ERR CONFIG SET failed (possibly related to argument '" + name + "') - "
            + (p.restartWith() == null ? "distcache does not change it" : "set at startup only: restart with "
            + p.restartWith()));
      }
      long v;
      try {
        v = Long.parseLong(Args.latin1(a[i + 1]));
      } catch (NumberFormatException e) {
        throw new CommandException("ERR CONFIG SET failed (possibly related to argument '" + name
            + "') - argument couldn't be parsed into an integer");
      }
      if (v < p.min()) {
        throw new CommandException("ERR CONFIG SET failed (possibly related to argument '" + name
            + "') - argument must be between " + p.min() + " and " + Long.MAX_VALUE + " inclusive");
      }
      values.put(name, v);
    }
    values.forEach((name, v) -> TABLE.get(name).set().accept(c, v));
    texts.values().forEach(Runnable::run);
  }
}
