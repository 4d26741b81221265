package io.distcache.server.resp;

import io.distcache.server.Clock;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.cluster.ClusterWide;
import io.distcache.server.cluster.SlotHistory;
import io.distcache.server.cluster.Router;
import io.distcache.server.store.Store;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What every Redis connection of a node shares: where data commands go (the router), the local
 * store for node-local commands (INFO, and DBSIZE, SCAN, KEYS, RANDOMKEY, FLUSHDB on cluster
 * connections), the cluster view, the redirect mode and what its rule needs, counters, limits.
 */
public final class RespContext {
  /** The Redis version announced to clients (HELLO, INFO): the command set is a 7.x one. */
  static final String REDIS_VERSION = "7.2.4";

  private final Router router;
  private final Store store;
  private final Clock clock;
  private final RespStats stats;
  private final RespLimits limits;
  private final String version;
  private final String runId;
  private final long startNanos;
  private final CommandTable commands = CommandTable.standard();
  private final ClusterView cluster;
  private final RedirectMode redirects;
  private final SlotHistory slotHistory;
  /** Null: clients on TLS are told node ports (no TLS port, or no cluster). */
  private final io.distcache.server.cluster.TlsEndpoints tlsEndpoints;
  private final ClusterWide clusterWide;
  private final ErrorStats errorStats = new ErrorStats();
  private final SlowLog slowLog = new SlowLog();
  private final LatencyMonitor latencyMonitor = new LatencyMonitor();
  private final Monitors monitors = new Monitors();
  private final RateSampler rates = new RateSampler();
  private final NodeCounters nodeCounters;
  /** Startup settings for CONFIG GET, by parameter name. */
  private final java.util.Map<String, java.util.function.Supplier<String>> parameters;
  private final io.distcache.server.security.Users users;
  private final boolean protectedMode;
  private final io.distcache.server.pubsub.PubSubHub pubSub;
  private final io.distcache.server.pubsub.KeyspaceEvents keyspaceEvents;
  private final io.distcache.server.pubsub.OutputLimit outputLimit = new io.distcache.server.pubsub.OutputLimit();
  private final java.util.function.LongSupplier fanoutDropped;
  /** Changes the node's idle timeout (CONFIG SET timeout); null: this node cannot. */
  private final java.util.function.Consumer<java.time.Duration> idleTimeoutSetter;
  private final Shutdown shutdown;
  private final io.distcache.server.tracking.TrackingTable trackingTable;
  private final io.distcache.server.tracking.ClusterTracking clusterTracking;
  private final ClientMemory clientMemory;
  private final io.distcache.server.HeapBudgets heapBudgets;

  private RespContext(Builder b) {
    this.heapBudgets = b.heapBudgets != null ? b.heapBudgets : io.distcache.server.HeapBudgets.unbounded();
    this.clientMemory = new ClientMemory(b.clientMemoryBytes > 0 ? b.clientMemoryBytes : ClientMemory.DEFAULT_MAX_BYTES,
        heapBudgets);
    this.scriptCompiler = new ScriptCompiler(ScriptCompiler.MAX_WAITING_BYTES, ScriptCompiler.MAX_WAITING, b.compileExecutor,
        heapBudgets);
    this.router = b.router;
    this.store = b.store;
    this.clock = b.clock != null ? b.clock : b.store.config().clock();
    this.stats = b.stats != null ? b.stats : new RespStats();
    this.limits = b.limits != null ? b.limits : RespLimits.forMaxValueBytes(b.store.config().maxValueBytes());
    this.version = b.version != null ? b.version : defaultVersion();
    this.runId = randomHex(40);
    this.startNanos = clock.nanos();
    this.cluster = b.cluster;
    this.redirects = b.redirects;
    this.slotHistory = b.slotHistory;
    this.tlsEndpoints = b.tlsEndpoints;
    this.clusterWide = b.clusterWide;
    this.parameters = java.util.Map.copyOf(b.parameters);
    this.idleTimeoutSetter = b.idleTimeoutSetter;
    this.shutdown = b.shutdown;
    this.nodeCounters = b.nodeCounters;
    this.users = b.users != null ? b.users
        : new io.distcache.server.security.Users(new TableCatalog(commands), null, null, clock::millis);
    this.protectedMode = b.protectedMode;
    this.pubSub = b.pubSub != null ? b.pubSub : new io.distcache.server.pubsub.PubSubHub(heapBudgets);
    this.keyspaceEvents = b.keyspaceEvents != null ? b.keyspaceEvents : new io.distcache.server.pubsub.KeyspaceEvents(pubSub);
    this.fanoutDropped = b.fanoutDropped;
    this.trackingTable = b.trackingTable;
    this.clusterTracking = b.clusterTracking;
    this.scriptMemoryBytes = b.scriptMemoryBytes > 0 ? b.scriptMemoryBytes : ScriptMemory.defaultLimit();
  }

  /** CLIENT TRACKING's table; null when the store is not a TrackingStore (tracking unavailable). */
  public io.distcache.server.tracking.TrackingTable trackingTable() {
    return trackingTable;
  }

  /** Registration of forwarded tracked reads with their owners; null without a cluster. */
  io.distcache.server.tracking.ClusterTracking clusterTracking() {
    return clusterTracking;
  }

  /** The node's channels and subscribers (PUBLISH, SUBSCRIBE, PUBSUB). */
  public io.distcache.server.pubsub.PubSubHub pubSub() {
    return pubSub;
  }

  /** notify-keyspace-events. */
  public io.distcache.server.pubsub.KeyspaceEvents keyspaceEvents() {
    return keyspaceEvents;
  }

  /** client-output-buffer-limit pubsub, and its disconnections. */
  public io.distcache.server.pubsub.OutputLimit outputLimit() {
    return outputLimit;
  }

  /** Published messages not delivered to a peer (INFO pubsub_fanout_dropped). */
  long fanoutDropped() {
    return fanoutDropped.getAsLong();
  }

  private final ScriptCache scriptCache = new ScriptCache();
  /** script-memory: heap one script may take (ScriptMemory). */
  private final long scriptMemoryBytes;

  /** The heap one script may take before it is stopped (--script-memory). */
  public long scriptMemoryBytes() {
    return scriptMemoryBytes;
  }
  /** Where this node runs scripts; null for a context without an executor behind it (no scripting). */
  private volatile io.distcache.server.cluster.ScriptHost scriptHost;

  /**
   * Makes EVAL and friends work: installs this context's Lua engine (LuaScripts) in the node's
   * script host, whose lane runs the scripts this node owns.
   */
  public void installScripts(io.distcache.server.cluster.ScriptHost host) {
    LuaScripts lua = new LuaScripts(this, scriptCache);
    host.runner(lua);
    this.functionLoader = lua.functions();
    this.scriptHost = host;
  }

  /** The node's parked blocking pops; null for a context without an executor behind it (nothing blocks). */
  private volatile io.distcache.server.cluster.KeyWaits keyWaits;

  /** Makes BZPOPMIN, BZPOPMAX and BZMPOP wait: the executor's registry, which its writes wake. */
  public void installKeyWaits(io.distcache.server.cluster.KeyWaits waits) {
    this.keyWaits = waits;
  }

  io.distcache.server.cluster.KeyWaits keyWaits() {
    return keyWaits;
  }

  /** The node's function libraries (FUNCTION, FCALL). */
  private final FunctionRegistry functionRegistry = new FunctionRegistry();
  private volatile FunctionLoader functionLoader;

  FunctionRegistry functionRegistry() {
    return functionRegistry;
  }

  private volatile FunctionSync functionSync;

  /** Sends this node's function changes to the other members; null until the node installs it. */
  FunctionSync functionSync() {
    return functionSync;
  }

  void functionSync(FunctionSync sync) {
    this.functionSync = sync;
  }

  /** Loads libraries into the script lane's engine; null when scripting is not installed. */
  FunctionLoader functionLoader() {
    return functionLoader;
  }

  ScriptCache scriptCache() {
    return scriptCache;
  }

  private final ScriptCompiler scriptCompiler;

  /** Compiles scripts off the event loops, bounded (ScriptCompiler). */
  ScriptCompiler scriptCompiler() {
    return scriptCompiler;
  }

  /** The node's script host, or null when scripting is not installed. */
  io.distcache.server.cluster.ScriptHost scriptHost() {
    return scriptHost;
  }

  /** The node's network counters (INFO stats). */
  NodeCounters nodeCounters() {
    return nodeCounters;
  }

  RateSampler rates() {
    return rates;
  }

  /** INFO's instantaneous_ops_per_sec (the admin page shows it per node). */
  public long opsPerSec() {
    return rates.opsPerSec();
  }

  /**
   * Samples the running totals for INFO's instantaneous_* rates; the node calls it every 100 ms
   * (RateSampler).
   */
  public void sampleRates() {
    rates.sample(clock.nanos(), stats.totalCommandsProcessed(), nodeCounters.netInputBytes(),
        nodeCounters.netOutputBytes());
  }

  /** Sets the idle timeout of every connection (CONFIG SET timeout); false when this node cannot. */
  boolean idleTimeout(java.time.Duration timeout) {
    if (idleTimeoutSetter == null) {
      return false;
    }
    idleTimeoutSetter.accept(timeout);
    return true;
  }

  /** What SHUTDOWN asks of the node. */
  public interface Shutdown {
    /**
     * Begins a graceful stop on a thread of its own (the caller is an event loop, which the stop
     * closes); {@code now}: do not wait for replicas to catch up. False when a stop is under way.
     */
    boolean begin(boolean now);

    /** True once a stop has begun (SHUTDOWN, a signal, close()). */
    boolean underWay();
  }

  /** The node's stop for SHUTDOWN; null when this context has none (a test's). */
  Shutdown shutdown() {
    return shutdown;
  }

  /** A startup setting for CONFIG GET ("" when the node did not give it). */
  String parameter(String name) {
    java.util.function.Supplier<String> v = parameters.get(name);
    return v == null ? "" : v.get();
  }

  /** The catalog ACL rules are checked against: the standard command table. */
  public static io.distcache.server.security.AclCatalog standardCatalog() {
    return new TableCatalog(CommandTable.standard());
  }

  /** The node's ACL users (a default user with no password unless configured). */
  public io.distcache.server.security.Users users() {
    return users;
  }

  /** Protected mode applies: clients from other hosts are refused while default has no password. */
  boolean protectedMode() {
    return protectedMode;
  }

  public static Builder builder(Router router, Store store) {
    return new Builder(router, store);
  }

  public Router router() {
    return router;
  }

  public Store store() {
    return store;
  }

  public Clock clock() {
    return clock;
  }

  public RespStats stats() {
    return stats;
  }

  /** The node-wide budget for per-connection state (ClientMemory). */
  ClientMemory clientMemory() {
    return clientMemory;
  }

  /** The node's limit on what its heap budgets hold together (INFO, scripts' checks). */
  public io.distcache.server.HeapBudgets heapBudgets() {
    return heapBudgets;
  }

  public RespLimits limits() {
    return limits;
  }

  /** distcache's own version. */
  public String version() {
    return version;
  }

  /** The cluster this node is part of, or null for a node without a cluster layer. */
  public ClusterView cluster() {
    return cluster;
  }

  /** How connections learn of slots owned elsewhere: MOVED or forwarding. */
  public RedirectMode redirects() {
    return redirects;
  }

  /** Which slots this node has owned, for the redirect rule; null without a cluster. */
  /** Members' TLS addresses for clients on TLS, or null. */
  io.distcache.server.cluster.TlsEndpoints tlsEndpoints() {
    return tlsEndpoints;
  }

  SlotHistory slotHistory() {
    return slotHistory;
  }

  /** The cluster-wide keyspace commands of plain connections; null: keyspace commands stay on this node. */
  ClusterWide clusterWide() {
    return clusterWide;
  }

  CommandTable commands() {
    return commands;
  }

  /** Every command's calls, time, failures and latency on this node (INFO commandstats, /metrics). */
  public List<CommandStats> commandStats() {
    return commands.stats();
  }

  /** Error replies by code (INFO errorstats, /metrics). */
  public ErrorStats errorStats() {
    return errorStats;
  }

  SlowLog slowLog() {
    return slowLog;
  }

  LatencyMonitor latencyMonitor() {
    return latencyMonitor;
  }

  Monitors monitors() {
    return monitors;
  }

  /** CONFIG RESETSTAT: the counters INFO stats, commandstats, errorstats and latencystats show. */
  void resetStats() {
    for (CommandStats s : commands.stats()) {
      s.reset();
    }
    errorStats.reset();
    stats.reset();
  }

  String runId() {
    return runId;
  }

  long uptimeSeconds() {
    return (clock.nanos() - startNanos) / 1_000_000_000L;
  }

  private static String defaultVersion() {
    String v = RespContext.class.getPackage().getImplementationVersion();
    return v != null ? v : "dev";
  }

  private static String randomHex(int n) {
    StringBuilder sb = new StringBuilder(n);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < n; i++) {
      sb.append(Character.forDigit(r.nextInt(16), 16));
    }
    return sb.toString();
  }

  /** Builds a context; router and store are required, the rest defaults from the store's config. */
  public static final class Builder {
    private final Router router;
    private final Store store;
    private Clock clock;
    private RespStats stats;
    private RespLimits limits;
    private String version;
    private ClusterView cluster;
    private RedirectMode redirects = RedirectMode.AUTO;
    private SlotHistory slotHistory;
    private io.distcache.server.cluster.TlsEndpoints tlsEndpoints;
    private ClusterWide clusterWide;
    private java.util.Map<String, java.util.function.Supplier<String>> parameters = java.util.Map.of();
    private NodeCounters nodeCounters = NodeCounters.NONE;
    private io.distcache.server.security.Users users;
    private boolean protectedMode;
    private io.distcache.server.pubsub.PubSubHub pubSub;
    private io.distcache.server.pubsub.KeyspaceEvents keyspaceEvents;
    private java.util.function.LongSupplier fanoutDropped = () -> 0;
    private java.util.function.Consumer<java.time.Duration> idleTimeoutSetter;
    private Shutdown shutdown;
    private long scriptMemoryBytes;
    private long clientMemoryBytes;
    private io.distcache.server.HeapBudgets heapBudgets;

    /** The node's parent of its heap budgets; default (null) an unbounded one of this context's own. */
    public Builder heapBudgets(io.distcache.server.HeapBudgets heap) {
      this.heapBudgets = heap;
      return this;
    }

    /**
     * The heap all connections together may hold in MULTI queues, WATCHed keys and BCAST prefixes;
     * 0 (the default): a quarter of the JVM's maximum heap.
     */
    public Builder clientMemoryBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("client memory cannot be negative: " + bytes);
      }
      this.clientMemoryBytes = bytes;
      return this;
    }

    private java.util.concurrent.Executor compileExecutor;

    /**
     * Where script bodies compile; default (null) a thread of their own, off the event loops
     * (ScriptCompiler). A test driving a session on an EmbeddedChannel passes Runnable::run.
     */
    public Builder compileExecutor(java.util.concurrent.Executor executor) {
      this.compileExecutor = executor;
      return this;
    }

    /** The heap one script may take; 0 (the default): a quarter of the JVM's maximum heap. */
    public Builder scriptMemoryBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("script memory cannot be negative: " + bytes);
      }
      this.scriptMemoryBytes = bytes;
      return this;
    }

    private Builder(Router router, Store store) {
      if (router == null || store == null) {
        throw new IllegalArgumentException("router and store are required");
      }
      this.router = router;
      this.store = store;
    }

    /** Default: the store's clock. */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    /** Default: a new instance. Pass the node's to share counters. */
    public Builder stats(RespStats stats) {
      this.stats = stats;
      return this;
    }

    /** Default: {@link RespLimits#forMaxValueBytes} of the store's value limit. */
    public Builder limits(RespLimits limits) {
      this.limits = limits;
      return this;
    }

    /** Default: the jar's Implementation-Version, else "dev". */
    public Builder version(String version) {
      this.version = version;
      return this;
    }

    /** Default: none (CLUSTER answers "cluster support disabled", INFO says cluster_enabled:0). */
    public Builder cluster(ClusterView cluster) {
      this.cluster = cluster;
      return this;
    }

    /** Default: {@link RedirectMode#AUTO}. */
    public Builder redirects(RedirectMode mode) {
      if (mode == null) {
        throw new IllegalArgumentException("redirect mode cannot be null");
      }
      this.redirects = mode;
      return this;
    }

    /**
     * Default: none, so a connection is never told that a slot it sends was this node's before
     * (auto mode then redirects explicit cluster connections only).
     */
    /** What clients connected over TLS are told about members' addresses (CLUSTER SLOTS, MOVED, ...). */
    public Builder tlsEndpoints(io.distcache.server.cluster.TlsEndpoints endpoints) {
      this.tlsEndpoints = endpoints;
      return this;
    }

    public Builder slotHistory(SlotHistory history) {
      this.slotHistory = history;
      return this;
    }

    /** Default: none (DBSIZE, KEYS, SCAN, FLUSHALL, FLUSHDB, RANDOMKEY answer for this node only). */
    public Builder clusterWide(ClusterWide wide) {
      this.clusterWide = wide;
      return this;
    }

    /**
     * Default: none. The node's startup settings CONFIG GET shows, by name (maxclients, timeout,
     * bind, port, cluster-node-timeout, max-frame, vnodes, advertise, join, probe-interval,
     * probe-timeout, suspicion-timeout, forward-timeout, http-port).
     */
    public Builder parameters(java.util.Map<String, java.util.function.Supplier<String>> parameters) {
      this.parameters = parameters;
      return this;
    }

    /**
     * Default: none (CONFIG SET timeout is refused). What changes the node's idle timeout while
     * serving; CONFIG GET timeout reads the "timeout" parameter, which should follow it.
     */
    public Builder idleTimeoutSetter(java.util.function.Consumer<java.time.Duration> setter) {
      this.idleTimeoutSetter = setter;
      return this;
    }

    /** Default: none (SHUTDOWN is refused). How SHUTDOWN stops the node. */
    public Builder shutdown(Shutdown shutdown) {
      this.shutdown = shutdown;
      return this;
    }

    /** Default: {@link NodeCounters#NONE}. The network's counters, for INFO. */
    public Builder nodeCounters(NodeCounters counters) {
      this.nodeCounters = counters;
      return this;
    }

    /** Default: one default user with no password (Redis's default). Pass the node's to share users. */
    public Builder users(io.distcache.server.security.Users users) {
      this.users = users;
      return this;
    }

    /**
     * True when protected mode applies (on, and the node listens beyond loopback): while the default
     * user has no password, clients from non-loopback addresses get Redis's -DENIED and are closed.
     * Default false.
     */
    public Builder protectedMode(boolean on) {
      this.protectedMode = on;
      return this;
    }

    /**
     * Default: a hub of this node's own (PUBLISH reaches only this node's subscribers) and keyspace
     * events on it. Pass the node's, whose hub broadcasts to the cluster and whose events the
     * executor and the store publish; {@code dropped} counts messages not delivered to a peer.
     */
    public Builder pubSub(io.distcache.server.pubsub.PubSubHub hub, io.distcache.server.pubsub.KeyspaceEvents events,
        java.util.function.LongSupplier dropped) {
      this.pubSub = hub;
      this.keyspaceEvents = events;
      this.fanoutDropped = dropped;
      return this;
    }

    private io.distcache.server.tracking.TrackingTable trackingTable;
    private io.distcache.server.tracking.ClusterTracking clusterTracking;

    /**
     * Default: none (CLIENT TRACKING ON is refused). The table the node's TrackingStore reports
     * changes to, and (null for a lone node) the cluster's registration of forwarded reads.
     */
    public Builder tracking(io.distcache.server.tracking.TrackingTable table,
        io.distcache.server.tracking.ClusterTracking cluster) {
      this.trackingTable = table;
      this.clusterTracking = cluster;
      return this;
    }

    public RespContext build() {
      return new RespContext(this);
    }
  }
}
