package io.distcache.server.cli;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.server.DistCacheNode;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.net.NetConfig;
import io.distcache.server.resp.RedirectMode;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.StoreConfig;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/*
 * Design: the command line only turns flags into a DistCacheNode.Builder and handles the process
 * lifecycle; the node itself behaves the same embedded or run from here.
 *
 * Exit codes: 0 after a clean stop (SIGINT or SIGTERM), 1 when the node cannot start (port in use),
 * 2 for bad flags. A JVM stopped by SIGTERM through shutdown hooks alone exits 143, which service
 * managers report as a failure; so SIGINT and SIGTERM get handlers (sun.misc.Signal, the only
 * portable way on JDK 17) that stop the node and let main return 0. The shutdown hook stays as a
 * fallback for other ways the JVM is asked to exit.
 *
 * Output: stdout gets exactly one line, the startup line, so scripts can wait for it; everything
 * else is logged (logback, to stderr).
 */

/** {@code distcache}: runs one cache node until SIGINT or SIGTERM. */
@Command(
    name = "distcache",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = "Runs a distcache node: a key-value cache speaking its binary protocol and the Redis protocol on one port.",
    footer = {
      "",
      "Sizes take Redis units: k=1000, kb=1024, m=1000^2, mb=1024^2, g=1000^3, gb=1024^3, e.g. 512mb, 4gb.",
      "Stops cleanly on SIGINT or SIGTERM (exit code 0). Exit codes: 1 cannot start, 2 bad flags."
    })
public final class Main implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(Main.class);
  /** How long a node restarted without -join waits for a remembered peer before it founds a cluster. */
  static final Duration PEERS_WAIT = Duration.ofSeconds(10);

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = {"-addr", "--addr"},
      paramLabel = "[HOST]:PORT",
      defaultValue = ":7000",
      converter = HostPortConverter.class,
      description = "Address to listen on. ':7000' listens on every interface, '127.0.0.1:7000' on loopback only. Default: ${DEFAULT-VALUE}.")
  HostPort addr;

  @Option(
      names = {"-join", "--join"},
      paramLabel = "HOST:PORT",
      split = ",",
      converter = HostPortConverter.class,
      description = "Members of a cluster to join, comma-separated (':7000' is this host); one live member is enough, unanswered ones are retried. None: start a new cluster.")
  List<HostPort> join = new ArrayList<>();

  @Option(
      names = "--advertise",
      paramLabel = "HOST:PORT",
      converter = HostPortConverter.class,
      description = "Address other nodes and smart clients use to reach this node. Default: the listen address, with a wildcard or loopback host advertised as 127.0.0.1 (one host only); set it when nodes run on several hosts.")
  HostPort advertise;

  @Option(
      names = "--vnodes",
      paramLabel = "N",
      defaultValue = "" + HashRing.DEFAULT_VIRTUAL_NODES,
      description = "Points per member on the hash ring (1..4096); every node of a cluster must use the same value. Default: ${DEFAULT-VALUE}.")
  int vnodes;

  @Option(
      names = "--probe-interval",
      paramLabel = "MILLIS",
      defaultValue = "500",
      description = "Failure detection: a probe of the next member starts this often. Default: ${DEFAULT-VALUE}.")
  long probeIntervalMillis;

  @Option(
      names = "--probe-timeout",
      paramLabel = "MILLIS",
      defaultValue = "500",
      description = "Failure detection: a member that has not answered a probe (directly, or through others asked after 40%% of this) within this is suspected. Default: ${DEFAULT-VALUE}.")
  long probeTimeoutMillis;

  @Option(
      names = "--suspicion-timeout",
      paramLabel = "MILLIS",
      defaultValue = "2500",
      description = "Failure detection: a suspected member that does not refute within this is declared dead and leaves the ring. Default: ${DEFAULT-VALUE}.")
  long suspicionTimeoutMillis;

  @Option(
      names = "--forward-timeout",
      paramLabel = "MILLIS",
      defaultValue = "2000",
      description = "How long a request forwarded to its owner may take before the client gets BUSY (owner unreachable). Default: ${DEFAULT-VALUE}.")
  long forwardTimeoutMillis;

  @Option(
      names = "--replicas",
      paramLabel = "N",
      defaultValue = "" + DistCacheNode.DEFAULT_REPLICAS,
      description = "Copies of each slot besides its owner, on the next members of the ring (0..8; 0 turns replication off). Every node must agree. Default: ${DEFAULT-VALUE}.")
  int replicas;

  @Option(
      names = "--replication",
      paramLabel = "MODE",
      defaultValue = "sync",
      description = "When a write to a slot with replicas is acknowledged: sync (after every live replica applied it) or async (at once; replicas follow in order, INFO replication shows the lag). Default: ${DEFAULT-VALUE}.")
  String replication;

  @Option(
      names = "--copy-share",
      paramLabel = "PERCENT",
      defaultValue = "" + io.distcache.server.cluster.Replicator.DEFAULT_COPY_SHARE_PERCENT,
      description = "The share of time (1..100 percent) a full copy of slots to a new replica or a joining member may use while the node serves; 100 copies as fast as the receiver acknowledges. Default: ${DEFAULT-VALUE}.")
  int copySharePercent;

  @Option(
      names = "--peers-file",
      paramLabel = "PATH",
      description = "Where this node keeps the addresses of the other members, so that restarted with the same"
          + " flags (even without -join) it joins its cluster again; 'none' keeps nothing. If none of them answers"
          + " within 10 s it starts a new cluster. Default: distcache-PORT.peers in the working directory.")
  String peersFile;

  @Option(
      names = "--shutdown-timeout",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description = "On SIGTERM, how long to wait for the replicas to catch up with every write before leaving the cluster anyway. Default: ${DEFAULT-VALUE}.")
  long shutdownTimeoutSeconds;

  @Option(
      names = "--redirects",
      paramLabel = "MODE",
      defaultValue = "auto",
      converter = RedirectsConverter.class,
      description = "Redis connections and keys owned by another node: auto (cluster clients get MOVED after a topology change, plain connections are forwarded), moved (every connection gets MOVED, as Redis Cluster) or forward (never a redirect). Default: ${DEFAULT-VALUE}.")
  RedirectMode redirects;

  @Option(
      names = "--max-memory",
      paramLabel = "SIZE",
      converter = SizeConverter.class,
      description = "Memory bound for keys, values and entry overhead; at the bound the eviction policy applies. Default: a share of the JVM's direct memory.")
  Long maxMemory;

  @Option(
      names = "--max-connections",
      paramLabel = "N",
      defaultValue = "" + NetConfig.DEFAULT_MAX_CONNECTIONS,
      description = "Clients served at once; one more gets an error and is closed. Default: ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(
      names = "--cluster-secret-file",
      paramLabel = "PATH",
      description = "File holding the cluster's shared secret (16 to 4096 bytes; a trailing newline is ignored):"
          + " peers must prove they hold it before they may join, gossip or forward. Default: the environment"
          + " variable " + ClusterSecret.ENV + " if set, else none.")
  Path clusterSecretFile;

  @Option(
      names = "--requirepass",
      paramLabel = "PASSWORD",
      description = "The default user's password (Redis's requirepass): clients must AUTH first. Visible to other users of the host in the process list; prefer --requirepass-file or the environment variable " + REQUIREPASS_ENV + ".")
  String requirePass;

  @Option(
      names = "--requirepass-file",
      paramLabel = "PATH",
      description = "File holding the default user's password (a trailing newline is ignored). Default: the environment variable " + REQUIREPASS_ENV + " if set, else none.")
  Path requirePassFile;

  @Option(
      names = "--aclfile",
      paramLabel = "PATH",
      description = "ACL users in Redis's aclfile format ('user alice on >secret ~cache:* +@read'), read at start and by ACL LOAD, written by ACL SAVE.")
  Path aclFile;

  @Option(
      names = "--protected-mode",
      paramLabel = "yes|no",
      defaultValue = "yes",
      description = "As Redis: while the default user has no password and the node listens beyond loopback, clients from other hosts are refused (-DENIED). Default: ${DEFAULT-VALUE}.")
  String protectedMode = "yes";

  @Option(names = "--tls-port", paramLabel = "PORT", description = "Also serve TLS (both protocols) on this port, with --tls-cert-file and --tls-key-file. Default: none.")
  Integer tlsPort;

  @Option(names = "--tls-cert-file", paramLabel = "PATH", description = "The TLS port's certificate chain (PEM); reloaded when the file changes.")
  Path tlsCertFile;

  @Option(names = "--tls-key-file", paramLabel = "PATH", description = "The certificate's private key (PEM, PKCS#8, unencrypted); reloaded when the file changes.")
  Path tlsKeyFile;

  @Option(names = "--tls-ca-cert-file", paramLabel = "PATH", description = "CA certificates (PEM) client certificates, and with --tls-cluster yes peers' certificates, must chain to.")
  Path tlsCaCertFile;

  @Option(names = "--tls-auth-clients", paramLabel = "yes|no|optional", defaultValue = "yes", description = "Whether TLS clients must present a certificate signed by --tls-ca-cert-file (Redis's default: yes). Default: ${DEFAULT-VALUE}.")
  String tlsAuthClients = "yes";

  @Option(names = "--tls-cluster", paramLabel = "yes|no", defaultValue = "no", description = "Run the cluster bus (peer connections, on the node's port) on mutual TLS with --tls-cert-file, --tls-key-file and --tls-ca-cert-file; plain peers are refused (Redis's name). Default: ${DEFAULT-VALUE}.")
  String tlsCluster = "no";

  @Option(names = "--tls-engine", paramLabel = "auto|jdk|openssl", defaultValue = "auto", description = "TLS engine: openssl (BoringSSL, netty-tcnative), jdk, or auto (the faster one measured, docs/BENCHMARKS.md; the JDK's when BoringSSL cannot load). Default: ${DEFAULT-VALUE}.")
  String tlsEngine = "auto";

  /** The environment variable holding the default user's password. */
  static final String REQUIREPASS_ENV = "DISTCACHE_REQUIREPASS";

  /** The environment, replaceable by tests. */
  java.util.function.Function<String, String> env = System::getenv;

  @Option(
      names = "--max-frame",
      paramLabel = "SIZE",
      defaultValue = "32mb",
      converter = IntSizeConverter.class,
      description = "Largest binary-protocol frame; larger ones are answered TOO_LARGE and the connection closed. Default: ${DEFAULT-VALUE}.")
  int maxFrame = ProtocolConstants.DEFAULT_MAX_FRAME_BYTES;

  @Option(
      names = "--max-collection-elements",
      paramLabel = "N",
      defaultValue = "16384",
      description = "Most fields per hash and members per set or sorted set (1.." + ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT
          + "); every write re-encodes the collection, so this bounds one command's cost. Default: ${DEFAULT-VALUE}.")
  int maxCollectionElements = ProtocolConstants.MAX_COLLECTION_ELEMENTS;

  @Option(
      names = "--max-value",
      paramLabel = "SIZE",
      defaultValue = "16mb",
      converter = IntSizeConverter.class,
      description = "Largest value stored (at most 512mb). Default: ${DEFAULT-VALUE}.")
  int maxValue = StoreConfig.DEFAULT_MAX_VALUE_BYTES;

  @Option(
      names = "--eviction-policy",
      paramLabel = "POLICY",
      defaultValue = "allkeys-lru",
      converter = PolicyConverter.class,
      description = "Redis's maxmemory-policy: allkeys-lru (evict least recently used keys), allkeys-lfu (least "
          + "frequently used), allkeys-random (any), volatile-lru, volatile-lfu, volatile-random (the same among keys "
          + "with an expiry), volatile-ttl (keys with an expiry, nearest expiry first) or noeviction (refuse writes "
          + "when full; volatile-* do too while no key has an expiry). Default: ${DEFAULT-VALUE}.")
  EvictionPolicy evictionPolicy;

  @Option(
      names = "--idle-timeout",
      paramLabel = "SECONDS",
      defaultValue = "0",
      description = "Close clients idle for this many seconds; 0 never does (as Redis's 'timeout 0'). Default: ${DEFAULT-VALUE}.")
  long idleTimeoutSeconds;

  @Option(
      names = "--http-port",
      paramLabel = "PORT",
      description = "Also serve HTTP (/metrics, /healthz, /readyz) on this port, so it can be firewalled apart; the node's own port serves them too. Default: none.")
  Integer httpPort;

  @Option(
      names = "--request-timeout",
      paramLabel = "SECONDS",
      defaultValue = "5",
      description = "A request must arrive completely within this many seconds of its first byte, or the client is told so and closed; 0 never does. Default: ${DEFAULT-VALUE}.")
  long requestTimeoutSeconds;

  @Option(
      names = "--max-input-buffer",
      paramLabel = "SIZE",
      converter = SizeConverter.class,
      description = "Bytes all clients together may hold in requests not yet complete; a client that would pass it is told so and closed. Default: a quarter of the heap or an eighth of direct memory, whichever is smaller.")
  Long maxInputBuffer;

  @Option(
      names = "--script-memory",
      paramLabel = "SIZE",
      converter = SizeConverter.class,
      description = "Heap one Lua script may take; a script that takes more is stopped with an error naming this limit. Default: a quarter of the heap.")
  Long scriptMemory;

  public static void main(String[] args) {
    // As bin/distcache does (see there): Netty must not take a small heap for a small-memory
    // machine, or it stops pooling buffers above 16.5 KiB. Set before Netty's allocator loads.
    if (System.getProperty("io.netty.allocator.lowMemory") == null) {
      System.setProperty("io.netty.allocator.lowMemory", "false");
    }
    FatalErrors.install();
    System.exit(run(args));
  }

  /** Runs the command and returns its exit code; separate from main so tests can call it. */
  static int run(String... args) {
    return commandLine().execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    // Flags that are each valid but clash (checked when the node is built) are bad input too:
    // usage and exit code 2, not a stack trace.
    cl.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof ParameterException pe) {
            return cmd.getParameterExceptionHandler().handleParseException(pe, new String[0]);
          }
          throw e;
        });
    return cl;
  }

  /** The builder these flags describe. */
  /** This JVM's heap limit (a field so tests can stand in for a smaller heap). */
  long heapBytes = Runtime.getRuntime().maxMemory();

  /** A value may be this many times on the heap at once while one command rewrites it (see valueBeyondHeap). */
  static final int VALUE_COPIES_ON_HEAP = 3;

  /**
   * Null when values of {@code maxValue} bytes fit the heap, else why not. A command that rewrites a
   * value (a script's SET of a built string; SETRANGE, APPEND, SETBIT and BITFIELD when the store has
   * no room for the result's buffer without evicting) holds it, its new form and the reply or replica
   * copy on the heap: a tester's node with --max-value 512mb and a 1 GiB heap died of OutOfMemoryError
   * at its first BITFIELD SET past the 4 GiB-th bit (when BITFIELD still rewrote the whole value); with
   * 1.5 GiB it served.
   */
  static String valueBeyondHeap(int maxValue, long maxHeapBytes) {
    long needed = (long) maxValue * VALUE_COPIES_ON_HEAP;
    if (needed <= maxHeapBytes) {
      return null;
    }
    return "--max-value " + maxValue + " bytes needs a heap of at least " + needed + " bytes (" + VALUE_COPIES_ON_HEAP
        + " times the value: a command that rewrites one holds it and its new form there), but the heap is "
        + maxHeapBytes + " bytes; lower --max-value or raise the heap (DISTCACHE_HEAP, or -Xmx in DISTCACHE_JAVA_OPTS)";
  }

  DistCacheNode.Builder toBuilder() {
    if (maxConnections < 1) {
      throw new ParameterException(spec.commandLine(), "--max-connections must be at least 1, got " + maxConnections);
    }
    if (idleTimeoutSeconds < 0) {
      throw new ParameterException(spec.commandLine(), "--idle-timeout cannot be negative, got " + idleTimeoutSeconds);
    }
    if (requestTimeoutSeconds < 0) {
      throw new ParameterException(spec.commandLine(), "--request-timeout cannot be negative, got " + requestTimeoutSeconds);
    }
    if (maxValue > StoreConfig.MAX_VALUE_BYTES_LIMIT) {
      throw new ParameterException(
          spec.commandLine(),
          "--max-value " + maxValue + " bytes exceeds the limit " + StoreConfig.MAX_VALUE_BYTES_LIMIT + " bytes (512mb)");
    }
    String heapShort = valueBeyondHeap(maxValue, heapBytes);
    if (heapShort != null) {
      throw new ParameterException(spec.commandLine(), heapShort);
    }
    try {
      DistCacheNode.Builder b =
          DistCacheNode.builder()
              .address(addr.host(), addr.port())
              .maxConnections(maxConnections)
              .maxFrameBytes(maxFrame)
              .maxCollectionElements(maxCollectionElements)
              .maxValueBytes(maxValue)
              .evictionPolicy(evictionPolicy)
              .idleTimeout(Duration.ofSeconds(idleTimeoutSeconds))
              .requestTimeout(Duration.ofSeconds(requestTimeoutSeconds));
      if (maxInputBuffer != null) {
        b.maxInputBufferBytes(maxInputBuffer);
      }
      if (maxMemory != null) {
        b.maxMemoryBytes(maxMemory);
      }
      if (scriptMemory != null) {
        if (scriptMemory <= 0) {
          throw new ParameterException(spec.commandLine(), "--script-memory must be positive, got " + scriptMemory);
        }
        b.scriptMemoryBytes(scriptMemory);
      }
      List<InetSocketAddress> seeds = new ArrayList<>();
      for (HostPort hp : join) {
        seeds.add(InetSocketAddress.createUnresolved(hp.hostOrLoopback(), hp.port()));
      }
      b.joinAddresses(seeds);
      Path peers = peersFile == null ? (addr.port() == 0 ? null : Path.of("distcache-" + addr.port() + ".peers"))
          : "none".equals(peersFile) ? null : Path.of(peersFile);
      if (peers != null) {
        b.peersFile(peers, PEERS_WAIT);
      }
      if (advertise != null) {
        if (advertise.port() == 0) {
          throw new ParameterException(spec.commandLine(), "--advertise needs a port, got " + advertise);
        }
        b.advertise(advertise.hostOrLoopback(), advertise.port());
      }
      b.virtualNodes(vnodes);
      b.replicas(replicas);
      b.replication(io.distcache.server.cluster.ReplicationMode.parse(replication));
      if (copySharePercent < 1 || copySharePercent > 100) {
        throw new ParameterException(spec.commandLine(), "--copy-share must be 1..100 percent, got " + copySharePercent);
      }
      b.copyShare(copySharePercent);
      if (shutdownTimeoutSeconds < 0) {
        throw new ParameterException(spec.commandLine(), "--shutdown-timeout cannot be negative, got " + shutdownTimeoutSeconds);
      }
      b.shutdownTimeout(Duration.ofSeconds(shutdownTimeoutSeconds));
      b.membership(membershipConfig());
      if (forwardTimeoutMillis < 1) {
        throw new ParameterException(spec.commandLine(), "--forward-timeout must be positive, got " + forwardTimeoutMillis);
      }
      b.forwardTimeout(Duration.ofMillis(forwardTimeoutMillis));
      b.redirects(redirects);
      b.clusterSecret(clusterSecret());
      if (httpPort != null) {
        b.httpPort(httpPort);
      }
      b.requirePass(requirePass());
      b.aclFile(aclFile);
      b.protectedMode(new YesNoConverter().parse(protectedMode));
      boolean busTls = new YesNoConverter().parse(tlsCluster);
      io.distcache.server.net.TlsEngine engine = io.distcache.server.net.TlsEngine.fromName(tlsEngine);
      io.distcache.server.net.TlsFiles files = null;
      if (tlsPort != null || busTls) {
        // One set of files (and one reload) for the TLS port and the cluster bus.
        files = new io.distcache.server.net.TlsFiles(tlsCertFile, tlsKeyFile, tlsCaCertFile,
            io.distcache.server.net.TlsFiles.AuthClients.fromName(tlsAuthClients), engine);
      }
      if (tlsPort != null) {
        b.tls(tlsPort, files);
      } else if ((tlsCertFile != null || tlsKeyFile != null) && !busTls) {
        throw new IllegalArgumentException("--tls-cert-file and --tls-key-file need --tls-port or --tls-cluster yes");
      }
      if (busTls) {
        b.tlsCluster(files);
      }
      if (aclFile != null) { // a bad file is bad input: exit 2 naming the file and line
        new io.distcache.server.security.Users(io.distcache.server.resp.RespContext.standardCatalog(), aclFile, null, () -> 0L);
      }
      b.build();
      return b;
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /**
   * The secret from --cluster-secret-file, else from the environment, else null. Errors name the
   * file or the variable, never the content.
   */
  ClusterSecret clusterSecret() {
    if (clusterSecretFile != null) {
      return ClusterSecret.fromFile(clusterSecretFile);
    }
    String fromEnv = env.apply(ClusterSecret.ENV);
    if (fromEnv == null || fromEnv.isEmpty()) {
      return null;
    }
    try {
      return ClusterSecret.ofText(fromEnv);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ClusterSecret.ENV + ": " + e.getMessage());
    }
  }

  /**
   * The default user's password: --requirepass, else --requirepass-file, else the environment, else
   * null. Errors name the flag, file or variable, never the content.
   */
  String requirePass() {
    if (requirePass != null && requirePassFile != null) {
      throw new IllegalArgumentException("give --requirepass or --requirepass-file, not both");
    }
    String p = requirePass;
    if (requirePassFile != null) {
      try {
        p = java.nio.file.Files.readString(requirePassFile, java.nio.charset.StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("--requirepass-file " + requirePassFile + ": cannot read it (" + e.getClass().getSimpleName() + ")");
      }
      p = p.endsWith("\r\n") ? p.substring(0, p.length() - 2) : p.endsWith("\n") ? p.substring(0, p.length() - 1) : p;
      if (p.isEmpty()) {
        throw new IllegalArgumentException("--requirepass-file " + requirePassFile + " is empty");
      }
    } else if (p == null) {
      p = env.apply(REQUIREPASS_ENV);
      if (p != null && p.isEmpty()) {
        p = null;
      }
    } else if (p.isEmpty()) {
      throw new IllegalArgumentException("--requirepass cannot be empty");
    }
    return p;
  }

  /** The membership timers these flags describe; the ping timeout is 40% of the probe timeout, as in the defaults. */
  MembershipConfig membershipConfig() {
    if (probeIntervalMillis < 1 || probeTimeoutMillis < 2 || suspicionTimeoutMillis < 1) {
      throw new ParameterException(spec.commandLine(), "--probe-interval " + probeIntervalMillis + ", --probe-timeout "
          + probeTimeoutMillis + " and --suspicion-timeout " + suspicionTimeoutMillis
          + " must be positive (probe timeout at least 2)");
    }
    long ping = Math.max(1, probeTimeoutMillis * 2 / 5);
    return MembershipConfig.defaults()
        .withProtocolPeriod(Duration.ofMillis(probeIntervalMillis))
        .withProbeTimeouts(Duration.ofMillis(ping), Duration.ofMillis(probeTimeoutMillis))
        .withSuspicionTimeout(Duration.ofMillis(suspicionTimeoutMillis));
  }

  @Override
  public Integer call() throws InterruptedException {
    DistCacheNode node = toBuilder().build();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      node.start();
    } catch (UncheckedIOException | IllegalStateException e) {
      err.println("distcache: " + e.getMessage());
      err.flush();
      return 1;
    }
    AtomicBoolean stopping = new AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong signalled = new java.util.concurrent.atomic.AtomicLong();
    installSignalHandlers(() -> {
      signalled.set(System.nanoTime());
      node.close();
    }, stopping);
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "distcache-shutdown-hook"));

    out.println(startupLine(node));
    out.flush();
    node.awaitClosed(); // a signal, or a client's SHUTDOWN
    // The last line before the JVM exits (what follows is the JVM's own teardown, tens of ms), so
    // an operator timing the stop from the signal sees where it ends, not only the node's part.
    long since = signalled.get();
    if (since != 0) {
      log.info("exiting {} ms after the signal", java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since));
    } else {
      log.info("exiting");
    }
    return 0;
  }

  static String startupLine(DistCacheNode node) {
    return "distcache " + version() + " listening on " + node.displayAddress()
        + " as " + node.advertisedAddress()
        + " (JDK " + Runtime.version() + ", transport " + node.transport()
        + ", max memory " + Sizes.format(node.maxMemoryBytes()) + ")";
  }

  private static void installSignalHandlers(Runnable stop, AtomicBoolean stopping) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(
            new Signal(name),
            sig -> {
              if (stopping.compareAndSet(false, true)) {
                log.info("SIG{} received: stopping", sig.getName());
                stop.run();
              } else {
                log.warn("SIG{} received again while stopping: exiting now", sig.getName());
                Runtime.getRuntime().halt(1);
              }
            });
      } catch (IllegalArgumentException e) {
        log.warn("cannot handle SIG{} ({}); relying on the shutdown hook", name, e.getMessage());
      }
    }
  }

  static String version() {
    try (InputStream in = Main.class.getResourceAsStream("/io/distcache/server/version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "unknown");
      }
    } catch (java.io.IOException e) {
      log.debug("cannot read the version resource", e);
    }
    return "unknown";
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"distcache " + version() + " (JDK " + Runtime.version() + ")"};
    }
  }

  /**
   * A converter over a parser that reports bad input with IllegalArgumentException: picocli shows
   * the parser's message, which names the bad value, above the usage.
   */
  abstract static class ParsingConverter<T> implements CommandLine.ITypeConverter<T> {
    abstract T parse(String value);

    @Override
    public final T convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }

  static final class HostPortConverter extends ParsingConverter<HostPort> {
    @Override
    HostPort parse(String value) {
      return HostPort.parse(value);
    }
  }

  static final class SizeConverter extends ParsingConverter<Long> {
    @Override
    Long parse(String value) {
      return Sizes.parse(value);
    }
  }

  static final class IntSizeConverter extends ParsingConverter<Integer> {
    @Override
    Integer parse(String value) {
      return Sizes.parseInt(value);
    }
  }

  static final class RedirectsConverter extends ParsingConverter<RedirectMode> {
    @Override
    RedirectMode parse(String value) {
      return RedirectMode.fromName(value);
    }
  }

  static final class YesNoConverter extends ParsingConverter<Boolean> {
    @Override
    Boolean parse(String value) {
      return switch (value.toLowerCase(java.util.Locale.ROOT)) {
        case "yes" -> true;
        case "no" -> false;
        default -> throw new IllegalArgumentException("expected yes or no, got '" + value + "'");
      };
    }
  }

  static final class PolicyConverter extends ParsingConverter<EvictionPolicy> {
    @Override
    EvictionPolicy parse(String value) {
      return EvictionPolicy.fromName(value);
    }
  }
}
