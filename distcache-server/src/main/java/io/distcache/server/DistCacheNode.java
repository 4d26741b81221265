package io.distcache.server;

import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.bus.PeerBus;
import io.distcache.server.bus.Peers;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.server.cluster.ClusterMembership;
import io.distcache.server.cluster.ClusterRouter;
import io.distcache.server.cluster.ClusterWide;
import io.distcache.server.cluster.SlotHistory;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.net.BinaryProtocol;
import io.distcache.server.net.NetConfig;
import io.distcache.server.net.NetServer;
import io.distcache.server.net.PeerAccess;
import io.distcache.server.net.ProtocolInstaller;
import io.distcache.server.resp.RespContext;
import io.distcache.server.resp.RespLimits;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.resp.RedirectMode;
import io.distcache.server.resp.RespPipeline;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the node is the one object that owns everything with a lifecycle, created and stopped
 * in one order:
 *
 *   start:  store -> peer bus, membership, router -> network (bind last, so no client sees a
 *           half-built node) -> the bus starts on the network's event loops -> membership joins
 *           (the advertised port is known now)
 *   close:  stop accepting -> leave the cluster (LEFT to every live member, so they drop us at
 *           once) -> drain in-flight requests (bounded) -> close connections and event loops ->
 *           close peer connections (after the drain: forwarded requests use them) -> close the
 *           store (last, so no request can touch a closed store)
 *
 * The command line and the tests build nodes the same way, through the builder, so the CLI has no
 * behaviour of its own beyond parsing flags and handling signals.
 */

/**
 * A distcache node that can be embedded in any JVM program.
 *
 * <pre>{@code
 * try (DistCacheNode node = DistCacheNode.builder().address("127.0.0.1", 7000).build().start()) {
 *   ...
 * }
 * }</pre>
 */
public final class DistCacheNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DistCacheNode.class);

  /** How long close() lets requests already forwarded finish before it closes connections. */
  static final long DRAIN_MILLIS = 2_000;
  /** How long, after the last request a peer forwarded, a member that left waits for stragglers before it closes connections. */
  static final long DRAIN_QUIET_MILLIS = 250;
  /** How long close() waits for connections and event loops to stop. */
  static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);
  /** Replicas per slot unless the builder says otherwise. */
  public static final int DEFAULT_REPLICAS = 1;
  /** How long close() waits for the members to confirm our LEFT. */
  static final Duration LEAVE_TIMEOUT = Duration.ofSeconds(1);

  private final Builder config;
  private final Object lifecycle = new Object();
  /** Guarded by lifecycle. */
  private State state = State.NEW;
  /** Counted down when a stop has finished (or the node was closed before it started). */
  private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.atomic.AtomicBoolean shutdownBegun = new java.util.concurrent.atomic.AtomicBoolean();
  private Store store;
  private DrainingRouter router;
  private PeerBus bus;
  /** The bus, or a test's decorator around it (Builder.peersDecorator). */
  private Peers peers;
  private PeerAccess peerAccess;
  private volatile ClusterMembership membership;
  private volatile ClusterRouter clusterRouter;
  /** The store's executor, whose script host runs EVAL (the Redis side installs its Lua engine there). */
  private LocalExecutor executor;
  private NetServer server;
  /** The Redis layer's shared state (null with a custom other protocol); the metrics read it. */
  private RespContext respContext;
  private ClusterWide clusterWide;
  private io.distcache.server.http.NodeMetrics metrics;
  private io.distcache.server.http.HttpServer httpServer;
  /** Set when close() begins, read by /readyz without the lifecycle lock (close holds it). */
  private volatile boolean stopping;
  private volatile boolean running;
  /** Re-resolves --join names (null when every seed is an IP address). */
  private io.distcache.server.cluster.SeedResolver seedResolver;
  private io.distcache.server.security.Users users;
  /** Each member's TLS port (from the peer handshakes) and what TLS clients are told from it. */
  private io.distcache.server.bus.PeerTlsPorts tlsPorts;
  private io.distcache.server.cluster.TlsEndpoints tlsEndpoints;

  private enum State {
    NEW,
    RUNNING,
    CLOSED
  }

  private DistCacheNode(Builder config) {
    this.config = config;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Opens the store and starts listening. Returns this node.
   *
   * @throws java.io.UncheckedIOException when the address cannot be bound, e.g. "cannot listen on
   *     :7000: port 7000 is already in use"
   * @throws IllegalStateException when called twice or after close
   */
  public DistCacheNode start() {
    synchronized (lifecycle) {
      if (state != State.NEW) {
        throw new IllegalStateException("node already " + (state == State.RUNNING ? "started" : "closed"));
      }
      long t0 = System.nanoTime();
      // First: a bad aclfile stops the start before anything is opened.
      users = new io.distcache.server.security.Users(RespContext.standardCatalog(), config.aclFile, config.requirePass,
          config.clock::millis);
      store = Stores.create(new StoreConfig(config.maxMemoryBytes, config.maxValueBytes, config.evictionPolicy, config.clock));
      // Client tracking sees every change of the data in front of the store (TrackingStore).
      // One parent over every heap budget the node builds below (HeapBudgets).
      heapBudgets = new HeapBudgets(config.heapBudgetBytes > 0 ? config.heapBudgetBytes : HeapBudgets.defaultLimitBytes());
      trackingTable = new io.distcache.server.tracking.TrackingTable(heapBudgets);
      store = new io.distcache.server.tracking.TrackingStore(store, trackingTable);
      bus = new PeerBus(config.clusterSecret, this::selfId, config.maxFrameBytes, config.forwardTimeout,
          config.forwardTimeout, PeerBus.DEFAULT_MAX_IN_FLIGHT);
      peers = config.peersDecorator.apply(bus);
      peerAccess = PeerAccess.of(config.clusterSecret, this::selfId);
      if (config.tlsCluster != null) {
        peerAccess.requireTls(true);
        bus.useTls(config.tlsCluster::busClientContext);
      }
      membership = new ClusterMembership(config.membership, config.virtualNodes, config.replicas, config.clock, peers,
          store);
      // Members' TLS ports travel in the peer handshake; TLS clients are told them (TlsEndpoints).
      tlsPorts = new io.distcache.server.bus.PeerTlsPorts(
          id -> membership.snapshot().map(sn -> sn.state(id).isPresent()).orElse(false));
      peerAccess.tlsPorts(tlsPorts);
      bus.useTlsPorts(tlsPorts);
      tlsEndpoints = new io.distcache.server.cluster.TlsEndpoints(tlsPorts, membership::self, membership::placement);
      try {
        executor = new LocalExecutor(store, config.maxFrameBytes, config.maxCollectionElements);
        executor.heapBudgets(heapBudgets);
        clusterRouter = new ClusterRouter(executor, membership, peers, store, config.replication);
        clusterRouter.copyShare(config.copySharePercent);
        clusterRouter.unsentWait(config.forwardTimeout);
        wirePubSub(executor);
        clusterTracking = new io.distcache.server.tracking.ClusterTracking(trackingTable, peers, membership::self,
            membership::placement);
        executor.tracking(clusterTracking);
        membership.placements().addListener(trackingTable);
        router = new DrainingRouter(clusterRouter);
        fieldExpiry = fieldExpirySweeper(store, clusterRouter).start();
        ProtocolInstaller binary = new BinaryProtocol(router, config.maxFrameBytes, peerAccess)
            .withUsers(users, protectedModeApplies()).withTlsEndpoints(tlsEndpoints)
            .withTracking(trackingTable, clusterTracking).withScripts(executor.scripts());
        ProtocolInstaller other = config.otherProtocol != null ? config.otherProtocol.create(router, store) : redis();
        NetConfig net =
            NetConfig.of(config.bindAddress())
                .withMaxConnections(config.maxConnections)
                .withIdleTimeout(config.idleTimeout);
        if (config.ioThreads > 0) {
          net = net.withIoThreads(config.ioThreads);
        }
        ProtocolInstaller http = null;
        if (respContext != null) {
          metrics = new io.distcache.server.http.NodeMetrics(respContext, () -> server, this::notReady);
          io.distcache.server.http.HttpAuthenticator auth = config.httpAuthenticator != null ? config.httpAuthenticator
              : new io.distcache.server.security.HttpBasicAuth(users);
          http = new io.distcache.server.http.HttpProtocol(metrics, health(), auth,
              new io.distcache.server.http.AdminPage(respContext, clusterWide), () -> server.inputBudget(), heapBudgets);
          RespContext rc = respContext;
          clusterRouter.statsExtras(() -> "ops_per_sec:" + rc.opsPerSec() + "\n");
        }
        server = new NetServer(net, binary, other, http, new io.distcache.server.net.InputLimits(
            config.maxInputBufferBytes > 0 ? config.maxInputBufferBytes : io.distcache.server.net.InputBudget.defaultLimitBytes(),
            config.requestTimeout, heapBudgets));
        if (config.tlsCluster != null) {
          server.clusterBusTls(config.tlsCluster, peerAccess);
        }
        server.start();
        if (respContext != null) {
          // INFO's instantaneous_* rates (RateSampler): one tiny task every 100 ms on one loop.
          RespContext rc = respContext;
          server.workers().next().scheduleAtFixedRate(rc::sampleRates, 100, 100, TimeUnit.MILLISECONDS);
        }
        if (functionSync != null) {
          long every = io.distcache.server.resp.FunctionSync.TICK_MILLIS;
          server.workers().next().scheduleAtFixedRate(functionSync::tick, every, every, TimeUnit.MILLISECONDS);
        }
        if (config.tls != null) {
          InetSocketAddress b = config.bindAddress();
          InetSocketAddress tlsBound = server.startTls(b.getAddress() == null ? new InetSocketAddress(config.tlsPort)
              : new InetSocketAddress(b.getAddress(), config.tlsPort), config.tls);
          tlsPorts.self(tlsBound.getPort()); // before the bus and membership start: every handshake tells it
          log.info("TLS on {} ({} engine)", hostPort(tlsBound), config.tls.engine());
        }
        if (http != null && config.httpPort >= 0) {
          InetSocketAddress main = config.bindAddress();
          InetSocketAddress where = main.getAddress() == null || main.getAddress().isAnyLocalAddress()
              ? new InetSocketAddress(config.httpPort) : new InetSocketAddress(main.getAddress(), config.httpPort);
          httpServer = new io.distcache.server.http.HttpServer(where, server.workers(), server.transport().serverChannel(),
              http, server.counters());
        }
        if (config.tlsCluster != null) {
          log.info("the cluster bus runs on mutual TLS ({} engine); plain peers are refused", config.tlsCluster.engine());
        }
        bus.start(server.workers(), server.transport());
        warnIfOpen(server.localAddress());
        List<Address> given = seeds();
        List<Address> expanded = io.distcache.server.cluster.SeedResolver.expand(given, config.seedLookup);
        Address self = advertised(server.localAddress());
        List<Address> remembered = List.of();
        if (config.peersFile != null) {
          io.distcache.server.cluster.RememberedPeers peers = new io.distcache.server.cluster.RememberedPeers(config.peersFile);
          if (given.isEmpty()) {
            remembered = peers.load(self);
            if (!remembered.isEmpty()) {
              log.info("no -join given: joining the members remembered in {}: {} (a new cluster if none answers within {} ms)",
                  peers.file(), remembered, config.peersWait.toMillis());
              expanded = remembered;
            }
          }
          membership.rememberPeersIn(peers);
        }
        membership.start(self, expanded);
        if (!remembered.isEmpty()) {
          membership.foundAloneAfter(config.peersWait, remembered);
        }
        seedResolver = io.distcache.server.cluster.SeedResolver.start(given, expanded, config.seedLookup,
            io.distcache.server.cluster.SeedResolver.RESOLVE_INTERVAL, membership::addSeeds);
      } catch (RuntimeException e) {
        if (httpServer != null) {
          httpServer.close();
        }
        if (metrics != null) {
          metrics.close();
        }
        if (server != null) {
          server.close(CLOSE_TIMEOUT);
        }
        membership.close();
        if (fieldExpiry != null) {
          fieldExpiry.close();
        }
        if (clusterRouter != null) {
          clusterRouter.close();
        }
        peers.close();
        store.close();
        state = State.CLOSED;
        throw e;
      }
      state = State.RUNNING;
      running = true;
      log.info(
          "listening on {} ({}) as {}, max memory {} bytes, policy {}, started in {} ms",
          hostPort(server.localAddress()),
          server.transport().displayName(),
          membership.self(),
          config.maxMemoryBytes,
          config.evictionPolicy.redisName(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      return this;
    }
  }

  /** What /healthz and /readyz report. */
  private io.distcache.server.http.Health health() {
    return new io.distcache.server.http.Health() {
      @Override
      public boolean live() {
        return running && !stopping;
      }

      @Override
      public String notReady() {
        return DistCacheNode.this.notReady();
      }
    };
  }

  /**
   * Null when this node serves its slots; otherwise why not. Ready means: started, not stopping,
   * in its own placement and not learning there (a joiner owns slots only once it holds their
   * copies), within its lease with a majority (a joiner that has not joined yet has none), and,
   * until it first was, every slot it owns confirmed by the other owners and cleaned
   * (SlotGuard.settled).
   */
  String notReady() {
    if (stopping) {
      return "stopping";
    }
    if (!running) {
      return "starting";
    }
    ClusterMembership m = membership;
    if (m == null || m.self() == null) {
      return "starting";
    }
    io.distcache.protocol.cluster.Placement p = m.placement();
    if (p.size() > 0 && !p.contains(m.self())) {
      return "not in the slot placement yet";
    }
    if (p.isLearner(m.self())) {
      // Joining: the owners are still copying it its share. Reporting ready here let a rolling
      // restart (or a Kubernetes rolling update on /readyz) stop the next node while this one held
      // no copy yet, leaving every slot with one copy (a tester).
      return "learning its slots from their owners (joining)";
    }
    if (!m.guard().leaseHeld(p) && !(settledOnce && m.guard().leaseLapsedMoments(p))) {
      // A ready member whose lease ran out a moment ago stays ready: its requests wait for the
      // lease (SlotWaits), and a member that joined reported not ready until probed (found under
      // load: HttpEndpointsTest saw 30 ms of "not in contact" while another member joined).
      return p.size() <= 1 ? "joining the cluster" : "not in contact with a majority of the cluster";
    }
    if (!m.guard().settled()) {
      // Only until it first settled: afterwards a placement change (another member joining or
      // leaving) leaves slots unconfirmed for a second or two while their requests wait for them
      // (SlotWaits), and every member reporting not ready at once took the whole cluster out of a
      // Kubernetes service (a tester: all three 503 for 1.5-2.5 s at each join).
      if (!settledOnce) {
        return "slots not confirmed by their other owners yet";
      }
    } else {
      settledOnce = true;
    }
    return null;
  }

  /** The node has been ready once (see notReady). */
  private volatile boolean settledOnce;

  /** The --http-port listener's address, or null when there is none. */
  public InetSocketAddress httpAddress() {
    synchronized (lifecycle) {
      return httpServer == null ? null : httpServer.localAddress();
    }
  }

  /** This node's member id, null before membership started (the bus's handshake sends it). */
  private String selfId() {
    ClusterMembership m = membership;
    io.distcache.protocol.cluster.Member self = m == null ? null : m.self();
    return self == null ? null : self.id();
  }

  /** Protected mode is on and the node listens beyond loopback (Redis refuses remote clients then). */
  private boolean protectedModeApplies() {
    InetSocketAddress a = config.bindAddress();
    return config.protectedMode && (a.getAddress() == null || !a.getAddress().isLoopbackAddress());
  }

  /** The node's ACL users. */
  io.distcache.server.security.Users users() {
    return users;
  }

  /** Without a secret anyone who reaches the port can act as a peer: fine on loopback, not beyond. */
  private void warnIfOpen(InetSocketAddress bound) {
    InetAddress ip = bound.getAddress();
    if (config.clusterSecret == null && (ip == null || !ip.isLoopbackAddress())) {
      log.warn("listening on {} without a cluster secret: any process that reaches this port can join the cluster,"
          + " gossip and forward requests; set --cluster-secret-file or {} (docs/OPERATIONS.md)",
          hostPort(bound), ClusterSecret.ENV);
    }
  }

  /**
   * Pub/sub: PUBLISH and an owner's SPUBLISH reach the other members (PubSubFanout), the executor
   * delivers SHARD_PUBLISH and peers' messages and publishes write events, and the store reports
   * expirations and evictions only while notify-keyspace-events asks for them (so with
   * notifications off its removal paths call nothing). Events are published for keys of slots this
   * node owns, not for its replica copies, so each event comes from one node.
   */
  private void wirePubSub(LocalExecutor executor) {
    pubSub = new io.distcache.server.pubsub.PubSubHub(heapBudgets);
    fanout = new io.distcache.server.cluster.PubSubFanout(clusterRouter, peers);
    pubSub.broadcaster(fanout);
    keyspaceEvents = new io.distcache.server.pubsub.KeyspaceEvents(pubSub);
    executor.pubSub(pubSub, keyspaceEvents);
    io.distcache.server.pubsub.KeyspaceEvents events = keyspaceEvents;
    ClusterRouter cr = clusterRouter;
    Store s = store;
    events.onChange(() -> {
      boolean wanted = events.enabled(io.distcache.server.pubsub.KeyspaceEvents.EXPIRED)
          || events.enabled(io.distcache.server.pubsub.KeyspaceEvents.EVICTED);
      s.removalListener(!wanted ? null : (key, expired) -> {
        io.distcache.protocol.cluster.Placement p = cr.placement();
        if (p.size() > 1 && !p.owns(cr.self(), io.distcache.protocol.cluster.KeySlot.of(key))) {
          return; // a replica copy: its owner tells its own subscribers
        }
        if (expired) {
          events.notify(io.distcache.server.pubsub.KeyspaceEvents.EXPIRED, "expired", key);
        } else {
          events.notify(io.distcache.server.pubsub.KeyspaceEvents.EVICTED, "evicted", key);
        }
      });
    });
  }

  private io.distcache.server.pubsub.PubSubHub pubSub;
  /** The limit on what the node's heap budgets hold together; one per node, made at start. */
  private HeapBudgets heapBudgets;
  private io.distcache.server.cluster.FieldExpirySweeper fieldExpiry;

  /**
   * Hash field expiry's active sweep: reaps only the keys of slots this node owns (the replicas get
   * the result as effects), through the cluster router so that it is replicated like a write.
   */
  private static io.distcache.server.cluster.FieldExpirySweeper fieldExpirySweeper(Store store, ClusterRouter cr) {
    return new io.distcache.server.cluster.FieldExpirySweeper(store, cr, key -> {
      io.distcache.protocol.cluster.Placement p = cr.placement();
      return p.size() <= 1 || p.owns(cr.self(), io.distcache.protocol.cluster.KeySlot.of(key));
    });
  }
  private io.distcache.server.pubsub.KeyspaceEvents keyspaceEvents;
  private io.distcache.server.tracking.TrackingTable trackingTable;
  private io.distcache.server.tracking.ClusterTracking clusterTracking;
  private io.distcache.server.cluster.PubSubFanout fanout;
  /** Null when the node has no Redis protocol (no functions). */
  private io.distcache.server.resp.FunctionSync functionSync;

  /** The Redis protocol, with data commands through the router and CLUSTER/INFO from the cluster layer. */
  private ProtocolInstaller redis() {
    SlotHistory history = new SlotHistory(membership::self);
    membership.placements().addListener(history);
    RespContext context = RespContext.builder(router, store)
        .users(users)
        .protectedMode(protectedModeApplies())
        .cluster(clusterRouter)
        .redirects(config.redirects)
        .slotHistory(history)
        .tlsEndpoints(tlsEndpoints)
        .clusterWide(clusterWide = new ClusterWide(clusterRouter, peers))
        .limits(RespLimits.forNode(config.maxValueBytes, config.maxFrameBytes))
        .scriptMemoryBytes(config.scriptMemoryBytes)
        .heapBudgets(heapBudgets)
        .parameters(configParameters())
        .idleTimeoutSetter(this::idleTimeout)
        .shutdown(new io.distcache.server.resp.RespContext.Shutdown() {
          @Override
          public boolean begin(boolean now) {
            return shutdownRequested(now);
          }

          @Override
          public boolean underWay() {
            return stopping;
          }
        })
        .pubSub(pubSub, keyspaceEvents, fanout::dropped)
        .tracking(trackingTable, clusterTracking)
        .nodeCounters(new io.distcache.server.resp.NodeCounters() {
          @Override
          public long netInputBytes() {
            return server == null ? 0 : server.counters().bytesIn();
          }

          @Override
          public long netOutputBytes() {
            return server == null ? 0 : server.counters().bytesOut();
          }

          @Override
          public long rejectedConnections() {
            return server == null ? 0 : server.rejectedConnections();
          }

          @Override
          public long maxClients() {
            return config.maxConnections;
          }

          @Override
          public long clusterConnections() {
            return (bus == null ? 0 : bus.openConnections()) + (peerAccess == null ? 0 : peerAccess.peerConnections());
          }
        })
        .build();
    respContext = context;
    context.installScripts(executor.scripts());
    context.installKeyWaits(executor.keyWaits());
    // Function libraries propagate to every member (FUNCTION_SYNC); a joiner owns slots once it has them.
    functionSync = new io.distcache.server.resp.FunctionSync(context, clusterRouter, peers, config.maxFrameBytes);
    clusterRouter.functionSync(functionSync::handle, functionSync::ready);
    return pipeline -> RespPipeline.install(pipeline, context);
  }

  /** The idle timeout in force: the startup one until CONFIG SET timeout changes it. */
  private java.time.Duration idleTimeout() {
    NetServer s = server;
    return s == null ? config.idleTimeout : s.idleTimeout();
  }

  /** CONFIG SET timeout: applies to every connection, open ones included, as in Redis. */
  private void idleTimeout(java.time.Duration timeout) {
    NetServer s = server;
    if (s == null) {
      throw new IllegalStateException("the node is not serving");
    }
    s.idleTimeout(timeout);
  }

  /** The startup settings CONFIG GET shows (Redis's names where Redis has the setting). */
  private java.util.Map<String, java.util.function.Supplier<String>> configParameters() {
    java.util.Map<String, java.util.function.Supplier<String>> p = new java.util.HashMap<>();
    p.put("maxclients", () -> Integer.toString(config.maxConnections));
    p.put("timeout", () -> Long.toString(idleTimeout().toSeconds()));
    p.put("bind", () -> config.host == null ? "* -::*" : config.host);
    p.put("port", () -> server == null ? Integer.toString(config.port) : Integer.toString(server.localAddress().getPort()));
    p.put("cluster-node-timeout", () -> Long.toString(config.membership.suspicionTimeout().toMillis()));
    p.put("max-frame", () -> Integer.toString(config.maxFrameBytes));
    p.put("max-collection-elements", () -> Integer.toString(config.maxCollectionElements));
    p.put("vnodes", () -> Integer.toString(config.virtualNodes));
    p.put("advertise", () -> membership == null || membership.self() == null ? "" : membership.self().address().toString());
    p.put("join", () -> String.join(",", config.joinAddresses.stream().map(a -> a.getHostString() + ":" + a.getPort()).toList()));
    p.put("probe-interval", () -> Long.toString(config.membership.protocolPeriod().toMillis()));
    p.put("probe-timeout", () -> Long.toString(config.membership.probeTimeout().toMillis()));
    p.put("suspicion-timeout", () -> Long.toString(config.membership.suspicionTimeout().toMillis()));
    p.put("forward-timeout", () -> Long.toString(config.forwardTimeout.toMillis()));
    p.put("http-port", () -> httpServer == null ? "" : Integer.toString(httpServer.localAddress().getPort()));
    return p;
  }

  /**
   * The address peers and clients are told: the one given, or else the bound host and port, where
   * a wildcard or loopback bind is advertised as 127.0.0.1 (one-host clusters work with no flag;
   * several hosts need an explicit advertise address that the others can reach).
   */
  private Address advertised(InetSocketAddress bound) {
    if (config.advertiseHost != null) {
      return new Address(config.advertiseHost, config.advertisePort > 0 ? config.advertisePort : bound.getPort());
    }
    InetAddress ip = bound.getAddress();
    boolean local = ip == null || ip.isAnyLocalAddress() || ip.isLoopbackAddress();
    return new Address(local ? "127.0.0.1" : bound.getHostString(), bound.getPort());
  }

  private List<Address> seeds() {
    List<Address> out = new ArrayList<>();
    for (InetSocketAddress a : config.joinAddresses) {
      out.add(new Address(a.getHostString(), a.getPort()));
    }
    return out;
  }

  /** {@code host:port} without the resolver's "host/address" form; "*" for every interface. */
  static String hostPort(InetSocketAddress a) {
    String host = a.getAddress() != null && a.getAddress().isAnyLocalAddress() ? "*" : a.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  /** The port listened on (the real one when 0 was asked). */
  public int port() {
    return address().getPort();
  }

  /** The address listened on. */
  public InetSocketAddress address() {
    synchronized (lifecycle) {
      if (server == null) {
        throw new IllegalStateException("node not started");
      }
      return server.localAddress();
    }
  }

  /** The TLS port listened on (the real one when 0 was asked), or -1 without TLS. */
  public int tlsPort() {
    synchronized (lifecycle) {
      if (server == null) {
        throw new IllegalStateException("node not started");
      }
      return server.tlsAddress() == null ? -1 : server.tlsAddress().getPort();
    }
  }

  /** The address listened on as {@code host:port}, {@code *:port} for every interface. */
  public String displayAddress() {
    return hostPort(address());
  }

  /** "epoll" or "nio". */
  public String transport() {
    synchronized (lifecycle) {
      if (server == null) {
        throw new IllegalStateException("node not started");
      }
      return server.transport().displayName();
    }
  }

  public long maxMemoryBytes() {
    return config.maxMemoryBytes;
  }

  /** The join addresses this node was given. */
  public List<InetSocketAddress> joinAddresses() {
    return config.joinAddresses;
  }

  /** The address this node advertises to peers and smart clients, {@code host:port}. */
  public String advertisedAddress() {
    synchronized (lifecycle) {
      if (membership == null || membership.self() == null) {
        throw new IllegalStateException("node not started");
      }
      return membership.self().address().toString();
    }
  }

  /** Requests this node forwarded to another node since it started (0 when clients route by owner). */
  public long forwardedRequests() {
    ClusterRouter r = clusterRouter;
    return r == null ? 0 : r.forwardedRequests();
  }

  /** READONLY reads this node answered from its replica copies since it started. */
  public long replicaReads() {
    ClusterRouter r = clusterRouter;
    return r == null ? 0 : r.replicaReads();
  }

  /** The cluster bus's accepting side (peer and handshake counts), for tests. */
  PeerAccess peerAccess() {
    return peerAccess;
  }

  /** The node-wide bound on bytes of incomplete requests, for tests. */
  io.distcache.server.net.InputBudget inputBudget() {
    return server.inputBudget();
  }

  /** The limit on what the node's heap budgets hold together, for tests. */
  HeapBudgets heapBudgets() {
    return heapBudgets;
  }

  /** The cluster bus's dialing side, for tests. */
  /** What TLS clients are told about members' TLS ports (for tests). */
  io.distcache.server.cluster.TlsEndpoints tlsEndpoints() {
    return tlsEndpoints;
  }

  PeerBus bus() {
    return bus;
  }

  /** Membership and ring, for tests and tools inside the server module. */
  ClusterMembership membership() {
    return membership;
  }

  /** Bytes read from every connection since start (tests: has the node read what was sent?). */
  long netBytesIn() {
    return server == null ? 0 : server.counters().bytesIn();
  }

  /** The Redis protocol's shared state (tests), or null when the node serves another protocol. */
  RespContext respContext() {
    return respContext;
  }

  /** Where this node runs scripts and function loads (tests). */
  io.distcache.server.cluster.ScriptHost scripts() {
    return executor.scripts();
  }

  /** The local store, for tests and tools inside the server module. */
  Store store() {
    return store;
  }

  /** True between a successful start and close. */
  public boolean isRunning() {
    synchronized (lifecycle) {
      return state == State.RUNNING;
    }
  }

  /**
   * Stops gracefully: stops accepting connections, hands its slots to their replicas and leaves
   * the cluster, keeps routing the requests that still arrive (to the new owners) while the ones in
   * flight finish (at most 2 s; a member of a cluster also waits until peers forwarded nothing for
   * 250 ms), closes every connection, stops the event loops and closes the store. An idle
   * standalone node stops in milliseconds. Idempotent; must not be called from a request handler
   * thread.
   */
  @Override
  public void close() {
    close(config.shutdownTimeout);
  }

  /** close(), waiting at most {@code handOffTimeout} for the replicas (SHUTDOWN NOW: zero). */
  private void close(Duration handOffTimeout) {
    synchronized (lifecycle) {
      if (state != State.RUNNING) {
        state = State.CLOSED;
        closed.countDown();
        return;
      }
      if (server.inEventLoop()) {
        throw new IllegalStateException("close() called from the node's own event loop; it would wait for itself");
      }
      state = State.CLOSED;
      stopping = true;
      try {
        stopGracefully(handOffTimeout);
      } finally {
        closed.countDown();
      }
    }
  }

  /** Guarded by lifecycle. The graceful stop, in the order the Design block gives. */
  private void stopGracefully(Duration handOffTimeout) {
    long t0 = System.nanoTime();
    if (seedResolver != null) {
      seedResolver.close();
    }
    if (httpServer != null) {
      httpServer.close();
    }
    server.stopAccepting();
    // Peers may still forward to a member of a cluster for a moment after it left: see DrainingRouter.
    boolean clustered = membership.placement().size() > 1;
    // With replicas: hold writes, let the replicas catch up, then leave (cluster/ClusterRouter.handOff).
    clusterRouter.handOff(handOffTimeout, () -> membership.leave(LEAVE_TIMEOUT));
    membership.close();
    int unfinished = router.drain(DRAIN_MILLIS, clustered ? DRAIN_QUIET_MILLIS : 0);
    if (unfinished > 0) {
      log.warn("{} requests still in flight after {} ms; closing their connections", unfinished, DRAIN_MILLIS);
    }
    fieldExpiry.close();
    clusterRouter.close(); // requests still waiting for a slot get TRY_AGAIN
    server.close(CLOSE_TIMEOUT);
    if (metrics != null) {
      metrics.close();
    }
    running = false;
    peers.close();
    store.close();
    log.info("stopped in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
  }

  /**
   * Blocks until the node has stopped: by {@link #close()}, a signal through the command line, or
   * a client's SHUTDOWN. Returns at once for a node that was closed before it started.
   */
  public void awaitClosed() throws InterruptedException {
    closed.await();
  }

  /**
   * SHUTDOWN: a graceful stop, on a thread of its own because the caller is one of the event loops
   * the stop closes. False when a stop is already under way.
   */
  private boolean shutdownRequested(boolean now) {
    if (stopping || !shutdownBegun.compareAndSet(false, true)) {
      return false;
    }
    log.info("SHUTDOWN{} from a client: stopping gracefully", now ? " NOW" : "");
    Thread t = new Thread(() -> close(now ? Duration.ZERO : config.shutdownTimeout), "distcache-shutdown");
    t.start();
    return true;
  }

  /**
   * Test hook: stops like a killed process, without telling the cluster. The membership timer
   * stops, every socket closes at once, nothing is drained and no LEFT is sent, so the other
   * members find out only by failure detection.
   */
  void closeAbruptly() {
    synchronized (lifecycle) {
      if (state != State.RUNNING) {
        state = State.CLOSED;
        closed.countDown();
        return;
      }
      state = State.CLOSED;
      stopping = true;
      running = false;
      if (seedResolver != null) {
        seedResolver.close();
      }
      if (httpServer != null) {
        httpServer.close();
      }
      if (metrics != null) {
        metrics.close();
      }
      membership.close();
      fieldExpiry.close();
      clusterRouter.close();
      peers.close();
      server.close(CLOSE_TIMEOUT);
      store.close();
      log.info("stopped abruptly (no leave, no drain)");
      closed.countDown();
    }
  }

  /**
   * Builds the handlers for connections that do not speak the binary protocol (the Redis
   * protocol), given the node's router and store.
   */
  @FunctionalInterface
  public interface ProtocolFactory {
    ProtocolInstaller create(io.distcache.server.cluster.Router router, Store store);
  }

  /** Node settings; every one has a default. */
  public static final class Builder {
    /** Null: every interface, IPv4 and IPv6. */
    private String host;
    private int port = 7000;
    private long maxMemoryBytes = Stores.defaultMaxMemoryBytes();
    private int maxValueBytes = StoreConfig.DEFAULT_MAX_VALUE_BYTES;
    private long scriptMemoryBytes;
    private EvictionPolicy evictionPolicy = EvictionPolicy.ALLKEYS_LRU;
    private int maxConnections = NetConfig.DEFAULT_MAX_CONNECTIONS;
    /** 0: NetConfig's default (one event loop per core but one, or the distcache.ioThreads property). */
    private int ioThreads;
    private int maxFrameBytes = ProtocolConstants.DEFAULT_MAX_FRAME_BYTES;
    private int maxCollectionElements = ProtocolConstants.MAX_COLLECTION_ELEMENTS;
    private Duration idleTimeout = Duration.ZERO;
    private Duration requestTimeout = io.distcache.server.net.InputLimits.DEFAULT_REQUEST_TIMEOUT;
    /** 0: InputBudget.defaultLimitBytes(). */
    private long maxInputBufferBytes;
    private long heapBudgetBytes;
    private Clock clock = Clock.system();
    private List<InetSocketAddress> joinAddresses = List.of();
    private ProtocolFactory otherProtocol;
    /** Null: derived from the bound address, see advertised(). */
    private String advertiseHost;
    /** 0: the bound port. */
    private int advertisePort;
    private int virtualNodes = HashRing.DEFAULT_VIRTUAL_NODES;
    private int replicas = DEFAULT_REPLICAS;
    private ReplicationMode replication = ReplicationMode.SYNC;
    private Duration shutdownTimeout = Duration.ofSeconds(30);
    private int copySharePercent = io.distcache.server.cluster.Replicator.DEFAULT_COPY_SHARE_PERCENT;
    private MembershipConfig membership = MembershipConfig.defaults();
    private Duration forwardTimeout = Duration.ofSeconds(2);
    private RedirectMode redirects = RedirectMode.AUTO;
    /** Null: peers are not authenticated. */
    private ClusterSecret clusterSecret;
    private UnaryOperator<Peers> peersDecorator = UnaryOperator.identity();
    /** -1: no HTTP port of its own (HTTP is served on the node's port either way). */
    private int httpPort = -1;
    private io.distcache.server.cluster.SeedResolver.Lookup seedLookup = io.distcache.server.cluster.SeedResolver.DNS;
    /** Null: the other members' addresses are not remembered across restarts. */
    private java.nio.file.Path peersFile;
    private Duration peersWait = Duration.ofSeconds(10);
    /** Null: HTTP Basic credentials of an ACL user, once the node requires authentication. */
    private io.distcache.server.http.HttpAuthenticator httpAuthenticator;
    /** Null: the default user needs no password. */
    private String requirePass;
    private java.nio.file.Path aclFile;
    private boolean protectedMode = true;
    private io.distcache.server.net.TlsFiles tls;
    private int tlsPort;
    /** --tls-cluster yes: the bus's certificate, key and CA; null: the bus is plain. */
    private io.distcache.server.net.TlsFiles tlsCluster;

    private Builder() {}

    /**
     * Runs the cluster bus on mutual TLS (--tls-cluster yes) with the certificate, key and CA of
     * {@code files} (usually the same as {@link #tls}'s; a CA file is required): on the node's own
     * port, each side presents its certificate and checks the other's against the CA, then the
     * cluster secret is checked on top; plain peers are refused. See docs/OPERATIONS.md, "TLS on
     * the cluster bus". Null: a plain bus (the default).
     */
    public Builder tlsCluster(io.distcache.server.net.TlsFiles files) {
      if (files != null && !files.canSecureClusterBus()) {
        throw new IllegalArgumentException("--tls-cluster yes needs --tls-ca-cert-file (each member verifies the other's certificate)");
      }
      this.tlsCluster = files;
      return this;
    }

    /**
     * Also serve HTTP (/metrics, /healthz, /readyz) on this port of the listen host, so it can be
     * firewalled apart from the node's port; 0 picks a free one. Default: none.
     */
    public Builder httpPort(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("http port " + port + " is out of range 0..65535");
      }
      this.httpPort = port;
      return this;
    }

    /**
     * Keeps the other members' addresses in {@code file} (rewritten as they change) and, when the
     * node starts with no {@link #joinAddresses}, joins through the ones the file holds, so that a
     * node restarted with the same settings finds its cluster again. If none of them answers within
     * {@code wait}, it founds a new cluster. Null (the default): nothing is remembered. See
     * docs/OPERATIONS.md, "Restarting a node".
     */
    public Builder peersFile(java.nio.file.Path file, Duration wait) {
      if (wait.isNegative()) {
        throw new IllegalArgumentException("peers wait " + wait + " is negative");
      }
      this.peersFile = file;
      this.peersWait = wait;
      return this;
    }

    /** How --join host names are resolved (every address is a seed). Default: the system's DNS. For tests. */
    Builder seedLookup(io.distcache.server.cluster.SeedResolver.Lookup lookup) {
      this.seedLookup = lookup;
      return this;
    }

    /**
     * Also serves TLS on {@code port} (0: a free port; see {@link DistCacheNode#tlsPort()}), both
     * protocols, with the certificate, key and CA of {@code files} (reloaded when they change).
     */
    public Builder tls(int port, io.distcache.server.net.TlsFiles files) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("TLS port " + port + " is out of range 0..65535");
      }
      this.tlsPort = port;
      this.tls = files;
      return this;
    }

    /**
     * Who may see HTTP pages other than /metrics and the health checks (the security layer's Basic
     * authentication plugs in here). Default: HTTP Basic credentials of an ACL user once the node
     * requires authentication (--requirepass or an aclfile), everyone before.
     */
    public Builder httpAuthenticator(io.distcache.server.http.HttpAuthenticator auth) {
      if (auth == null) {
        throw new IllegalArgumentException("http authenticator cannot be null");
      }
      this.httpAuthenticator = auth;
      return this;
    }

    /**
     * The default user's password (Redis's requirepass): clients must AUTH before anything else.
     * Kept only as its SHA-256. Default none.
     */
    public Builder requirePass(String password) {
      if (password != null && password.isEmpty()) {
        throw new IllegalArgumentException("the password cannot be empty");
      }
      this.requirePass = password;
      return this;
    }

    /** ACL users in Redis's aclfile format, read at start and by ACL LOAD, written by ACL SAVE. Default none. */
    public Builder aclFile(java.nio.file.Path file) {
      this.aclFile = file;
      return this;
    }

    /**
     * Redis's protected mode (default on): while the default user has no password and the node
     * listens beyond loopback, clients from other hosts get -DENIED and are closed.
     */
    public Builder protectedMode(boolean on) {
      this.protectedMode = on;
      return this;
    }

    /**
     * Where to listen. A null or empty host listens on every interface (IPv4 and IPv6; "0.0.0.0"
     * only IPv4 ones); port 0 picks a free port (see {@link DistCacheNode#port()}). Default :7000.
     */
    public Builder address(String host, int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port " + port + " is out of range 0..65535");
      }
      this.host = host == null || host.isEmpty() ? null : host;
      this.port = port;
      return this;
    }

    /** The memory bound for keys, values and entry overhead. Default: {@link Stores#defaultMaxMemoryBytes()}. */
    public Builder maxMemoryBytes(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("max memory must be positive: " + bytes);
      }
      this.maxMemoryBytes = bytes;
      return this;
    }

    /**
     * The heap one Lua script may take before it is stopped with an error (docs/OPERATIONS.md,
     * "Script limits"). Default 0: a quarter of the JVM's maximum heap.
     */
    public Builder scriptMemoryBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("script memory cannot be negative: " + bytes);
      }
      this.scriptMemoryBytes = bytes;
      return this;
    }

    /** The largest value accepted. Default 16 MiB, at most 512 MiB. */
    public Builder maxValueBytes(int bytes) {
      if (bytes <= 0 || bytes > StoreConfig.MAX_VALUE_BYTES_LIMIT) {
        throw new IllegalArgumentException(
            "max value " + bytes + " is out of range 1.." + StoreConfig.MAX_VALUE_BYTES_LIMIT);
      }
      this.maxValueBytes = bytes;
      return this;
    }

    /** What happens when memory is full. Default allkeys-lru. */
    public Builder evictionPolicy(EvictionPolicy policy) {
      if (policy == null) {
        throw new IllegalArgumentException("eviction policy cannot be null");
      }
      this.evictionPolicy = policy;
      return this;
    }

    /**
     * Event loops serving connections. Default one per core but one (at least one), or the
     * {@code distcache.ioThreads} system property; tests set 1 to put several connections on one loop.
     */
    public Builder ioThreads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("io threads must be at least 1: " + n);
      }
      this.ioThreads = n;
      return this;
    }

    /** Clients served at once; one more is told so and closed. Default 10000. */
    public Builder maxConnections(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("max connections must be at least 1: " + n);
      }
      this.maxConnections = n;
      return this;
    }

    /** The largest binary frame accepted; larger ones are answered TOO_LARGE. Default 32 MiB. */
    public Builder maxFrameBytes(int bytes) {
      if (bytes < ProtocolConstants.HEADER_BYTES) {
        throw new IllegalArgumentException(
            "max frame " + bytes + " is below the frame header size " + ProtocolConstants.HEADER_BYTES);
      }
      this.maxFrameBytes = bytes;
      return this;
    }

    /** The most fields per hash and members per set; a write past it is refused. Default 16384. */
    public Builder maxCollectionElements(int n) {
      if (n < 1 || n > ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT) {
        throw new IllegalArgumentException("max collection elements: expected 1.."
            + ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT + ", got " + n);
      }
      this.maxCollectionElements = n;
      return this;
    }

    /** Close clients idle this long; zero (the default) never does, as Redis's {@code timeout 0}. */
    public Builder idleTimeout(Duration timeout) {
      if (timeout == null || timeout.isNegative()) {
        throw new IllegalArgumentException("idle timeout cannot be negative: " + timeout);
      }
      this.idleTimeout = timeout;
      return this;
    }

    /**
     * A request must arrive completely within this from its first byte, or the client is told so and
     * closed (a client trickling bytes holds nothing open). Zero disables it. Default 5 s.
     */
    public Builder requestTimeout(Duration timeout) {
      if (timeout == null || timeout.isNegative()) {
        throw new IllegalArgumentException("request timeout cannot be negative: " + timeout);
      }
      this.requestTimeout = timeout;
      return this;
    }

    /**
     * The node-wide bound on bytes held for requests not yet complete, over every connection; a
     * connection that would pass it is told so and closed. Default: a quarter of the heap or an
     * eighth of direct memory, whichever is smaller (at least 16 MiB).
     */
    public Builder maxInputBufferBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("max input buffer must be positive: " + bytes);
      }
      this.maxInputBufferBytes = bytes;
      return this;
    }

    /**
     * The limit on what the node's heap budgets (connections' state, requests not yet run,
     * subscriptions, the tracking table, set commands' sources, scripts waiting to compile, HTTP
     * responses) hold together
     * (HeapBudgets); 0, the default: half the JVM's heap cap.
     */
    public Builder heapBudgetBytes(long bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("the heap budgets' limit cannot be negative: " + bytes);
      }
      this.heapBudgetBytes = bytes;
      return this;
    }

    /** The time source for expiry. Default: the system clock. */
    public Builder clock(Clock clock) {
      if (clock == null) {
        throw new IllegalArgumentException("clock cannot be null");
      }
      this.clock = clock;
      return this;
    }

    /**
     * Nodes of the cluster to join (any one member is enough; unanswered ones are retried every
     * reconnect interval). None: this node starts a new cluster that others may join.
     */
    public Builder joinAddresses(List<InetSocketAddress> addresses) {
      this.joinAddresses = List.copyOf(addresses);
      return this;
    }

    /**
     * The address other nodes and smart clients use to reach this node. Default: the listen
     * address, with a wildcard or loopback host advertised as 127.0.0.1, which only suits nodes
     * on one host; nodes on several hosts must advertise an address the others can reach. Port 0
     * means the listen port.
     */
    public Builder advertise(String host, int port) {
      if (host == null || host.isEmpty()) {
        throw new IllegalArgumentException("advertise host cannot be empty");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("advertise port " + port + " is out of range 0..65535");
      }
      new Address(host, port == 0 ? 1 : port); // validates the host as the wire will
      this.advertiseHost = host;
      this.advertisePort = port;
      return this;
    }

    /** Points per member on the hash ring, 1..4096. Default 1024; every node of a cluster must agree. */
    public Builder virtualNodes(int n) {
      if (n < 1 || n > HashRing.MAX_VIRTUAL_NODES) {
        throw new IllegalArgumentException("virtual nodes " + n + " is out of range 1.." + HashRing.MAX_VIRTUAL_NODES);
      }
      this.virtualNodes = n;
      return this;
    }

    /**
     * Replicas per slot, 0..8: each slot has an owner and this many copies on the next members of
     * the ring. Default 1; 0 turns replication off. Every node of a cluster must agree.
     */
    public Builder replicas(int n) {
      if (n < 0 || n > io.distcache.protocol.cluster.Placement.MAX_REPLICAS) {
        throw new IllegalArgumentException("replicas " + n + " is out of range 0.."
            + io.distcache.protocol.cluster.Placement.MAX_REPLICAS);
      }
      this.replicas = n;
      return this;
    }

    /**
     * When a write to a slot with replicas is acknowledged: SYNC (default) once every live replica
     * applied it, ASYNC at once (replicas follow in order; INFO replication shows the lag).
     */
    public Builder replication(ReplicationMode mode) {
      if (mode == null) {
        throw new IllegalArgumentException("replication mode cannot be null");
      }
      this.replication = mode;
      return this;
    }

    /**
     * How long a graceful stop (close(), SIGTERM) waits for the replicas to catch up with every
     * write before it leaves the cluster anyway. Default 30 s.
     */
    public Builder shutdownTimeout(Duration timeout) {
      if (timeout == null || timeout.isNegative()) {
        throw new IllegalArgumentException("shutdown timeout must not be negative: " + timeout);
      }
      this.shutdownTimeout = timeout;
      return this;
    }

    /**
     * The share of time, in percent (1..100), a full copy of slots (to a new replica, or to a
     * member that joins) may use while the node serves: after each page of entries that took t,
     * the copy waits t * (100 - share) / share. 100 copies as fast as the receiver acknowledges.
     * Default {@value io.distcache.server.cluster.Replicator#DEFAULT_COPY_SHARE_PERCENT}.
     */
    public Builder copyShare(int percent) {
      if (percent < 1 || percent > 100) {
        throw new IllegalArgumentException("copy share must be 1..100 percent, got " + percent);
      }
      this.copySharePercent = percent;
      return this;
    }

    /** Membership timers (probe interval and timeouts, suspicion timeout, ...). Default {@link MembershipConfig#defaults()}. */
    public Builder membership(MembershipConfig config) {
      if (config == null) {
        throw new IllegalArgumentException("membership config cannot be null");
      }
      this.membership = config;
      return this;
    }

    /**
     * How long a forwarded request may wait for a connection to the owner, and then for the
     * owner's reply, before the client gets BUSY "owner ... unreachable". Default 2 s.
     */
    public Builder forwardTimeout(Duration timeout) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("forward timeout must be positive: " + timeout);
      }
      this.forwardTimeout = timeout;
      return this;
    }

    /**
     * How Redis connections learn that a key's slot is owned by another node: {@code MOVED} (every
     * connection gets -MOVED, as Redis Cluster), {@code FORWARD} (never a redirect: the node
     * forwards to the owner) or {@code AUTO} (cluster clients get MOVED after a topology change,
     * plain connections are forwarded; docs/PROTOCOL.md, "Redirects"). Default AUTO.
     */
    public Builder redirects(RedirectMode mode) {
      if (mode == null) {
        throw new IllegalArgumentException("redirect mode cannot be null");
      }
      this.redirects = mode;
      return this;
    }

    /**
     * The shared secret of the cluster bus: a peer connection is accepted only after the other node
     * proves it holds the same secret (an HMAC over fresh nonces; the secret never crosses the
     * wire). Every member must have the same one. Default none: any process that reaches the port
     * may act as a peer (a warning is logged when listening beyond loopback).
     */
    public Builder clusterSecret(ClusterSecret secret) {
      this.clusterSecret = secret;
      return this;
    }

    /** Test hook: wraps the node's peer transport (a firewall, a recorder) around the bus. */
    Builder peersDecorator(UnaryOperator<Peers> decorator) {
      if (decorator == null) {
        throw new IllegalArgumentException("peers decorator cannot be null");
      }
      this.peersDecorator = decorator;
      return this;
    }

    /** The protocol for connections that do not start with the binary magic byte. Default: the Redis protocol. */
    public Builder otherProtocol(ProtocolFactory factory) {
      this.otherProtocol = factory;
      return this;
    }

    /** Builds and starts a node: shorthand for {@code build().start()}. */
    public DistCacheNode start() {
      return build().start();
    }

    /** A node with these settings, not yet started. Later changes to this builder do not affect it. */
    public DistCacheNode build() {
      long overhead = ProtocolConstants.HEADER_BYTES + 8L * ProtocolConstants.MAX_EXTRAS + ProtocolConstants.MAX_KEY_BYTES;
      if (maxFrameBytes < maxValueBytes + overhead) {
        throw new IllegalArgumentException(
            "max frame " + maxFrameBytes + " bytes cannot carry a value of max value " + maxValueBytes
                + " bytes (needs at least " + (maxValueBytes + overhead) + " with header, extras and key);"
                + " raise max frame or lower max value");
      }
      return new DistCacheNode(copy());
    }

    private Builder copy() {
      Builder b = new Builder();
      b.host = host;
      b.port = port;
      b.maxMemoryBytes = maxMemoryBytes;
      b.maxValueBytes = maxValueBytes;
      b.scriptMemoryBytes = scriptMemoryBytes;
      b.evictionPolicy = evictionPolicy;
      b.maxConnections = maxConnections;
      b.ioThreads = ioThreads;
      b.maxFrameBytes = maxFrameBytes;
      b.maxCollectionElements = maxCollectionElements;
      b.idleTimeout = idleTimeout;
      b.requestTimeout = requestTimeout;
      b.maxInputBufferBytes = maxInputBufferBytes;
      b.heapBudgetBytes = heapBudgetBytes;
      b.clock = clock;
      b.joinAddresses = joinAddresses;
      b.otherProtocol = otherProtocol;
      b.advertiseHost = advertiseHost;
      b.advertisePort = advertisePort;
      b.virtualNodes = virtualNodes;
      b.replicas = replicas;
      b.replication = replication;
      b.shutdownTimeout = shutdownTimeout;
      b.copySharePercent = copySharePercent;
      b.membership = membership;
      b.forwardTimeout = forwardTimeout;
      b.redirects = redirects;
      b.clusterSecret = clusterSecret;
      b.peersDecorator = peersDecorator;
      b.httpPort = httpPort;
      b.httpAuthenticator = httpAuthenticator;
      b.seedLookup = seedLookup;
      b.peersFile = peersFile;
      b.peersWait = peersWait;
      b.requirePass = requirePass;
      b.aclFile = aclFile;
      b.protectedMode = protectedMode;
      b.tls = tls;
      b.tlsPort = tlsPort;
      b.tlsCluster = tlsCluster;
      return b;
    }

    InetSocketAddress bindAddress() {
      return host == null ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }
  }
}
