package io.distcache.server.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: one acceptor thread (accepting is cheap) and one event loop per core; each connection
 * lives on one loop for its life, so its handlers need no locks. Every child pipeline starts the
 * same way:
 *
 *   NetCounters   adds the bytes of every read and write to the node's totals (INFO, /metrics)
 *   InputMeter  the node-wide bound on bytes of incomplete requests, the request deadline and the
 *               idle timeout (counted from the last complete request)
 *   WritabilityGate  stops reading while the client is not reading its replies
 *   ProtocolDetector  replaced, on the first byte (HTTP: the first line), by the binary, HTTP
 *                     or the other protocol's handlers
 *
 * The connection count is taken in initChannel, before the first read: a connection over the
 * limit is not counted (it is refused and holds nothing but its socket), so refusals cannot crowd
 * out the clients that are served. Refused connections are counted apart: each waits up to
 * rejectWait (1 s) for the bytes it needs to be told why in its own protocol, and beyond
 * maxLingeringRefusals of those at once a new one is closed at once, without a message, so a
 * flood of connections that send nothing cannot hold an unbounded number of descriptors.
 *
 * Peers (other members of the cluster, after their PEER_HELLO handshake) are not clients: such a
 * connection moves out of the count it was taken in (ConnectionSlot) into PeerAccess's own, so
 * peers never use up --max-connections, and a refused connection that opens with PEER_HELLO is
 * still accepted (see ProtocolDetector). The node's own peer connections (PeerBus) are opened on
 * the same worker loops (workers()), so a forwarded request never changes threads on its way.
 *
 * Shutdown is two steps so the owner can drain in between: stopAccepting() closes the listening
 * socket (the port is free at once), close() then closes the connections and stops the loops with
 * no quiet period, so an idle node is down in milliseconds.
 */

/** The Netty server: listens, detects each connection's protocol, enforces connection limits. */
public final class NetServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NetServer.class);
  private static final long REJECT_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final NetConfig config;
  private final ProtocolInstaller binary;
  private final ProtocolInstaller other;
  /** Null: HTTP is not served on this port. */
  private final ProtocolInstaller http;
  private final NetCounters counters = new NetCounters();
  private final Transport transport = Transport.best();
  private final ChannelGroup channels = new DefaultChannelGroup("distcache-clients", GlobalEventExecutor.INSTANCE);
  private final AtomicInteger connections = new AtomicInteger();
  /** Refused connections still open, waiting to be told why or to time out. */
  private final AtomicInteger lingering = new AtomicInteger();
  private final Duration rejectWait;
  private final InputBudget inputBudget;
  private final InputMeter.Factory meters;
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong lastRejectLogNanos = new AtomicLong(System.nanoTime() - REJECT_LOG_INTERVAL_NANOS);

  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel serverChannel;
  private Channel tlsChannel;
  private InetSocketAddress tlsAddress;
  private InetSocketAddress localAddress;
  /** --tls-cluster: the files and peer limits of the bus's TLS on the plain port (null: no TLS bus). */
  private TlsFiles busTls;
  private PeerAccess busAccess;

  /**
   * @param binary installed on connections whose first byte is the binary magic byte
   * @param other installed on every other connection (the Redis protocol)
   */
  public NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other) {
    this(config, binary, other, InputLimits.defaults());
  }

  /** As above, with the bounds on requests that have not completely arrived. */
  public NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other, InputLimits input) {
    this(config, binary, other, ProtocolDetector.REJECT_WAIT, input);
  }

  NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other, Duration rejectWait) {
    this(config, binary, other, rejectWait, InputLimits.defaults());
  }

  /** As the public constructor, with how long a refused connection may wait to be answered (for tests). */
  NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other, Duration rejectWait,
      InputLimits input) {
    this(config, binary, other, null, rejectWait, input);
  }

  /**
   * As the public constructor, with HTTP on the same port: a connection whose first line is an
   * HTTP/1.x request line gets {@code http}'s handlers (null: none).
   */
  public NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other, ProtocolInstaller http,
      InputLimits input) {
    this(config, binary, other, http, ProtocolDetector.REJECT_WAIT, input);
  }

  NetServer(NetConfig config, ProtocolInstaller binary, ProtocolInstaller other, ProtocolInstaller http,
      Duration rejectWait, InputLimits input) {
    if (config == null || binary == null || other == null || input == null) {
      throw new IllegalArgumentException("config and both protocol installers are required");
    }
    this.config = config;
    this.binary = binary;
    this.other = other;
    this.http = http;
    this.rejectWait = rejectWait;
    this.inputBudget = new InputBudget(input.maxBufferedBytes(), input.heap());
    this.meters = new InputMeter.Factory(inputBudget, input.requestTimeout(), config.idleTimeout());
  }

  /** The idle timeout in force (Redis's {@code timeout}); zero: none. */
  public Duration idleTimeout() {
    return meters.idleTimeout();
  }

  /**
   * Changes the idle timeout while serving (CONFIG SET timeout): every open connection's timer is
   * re-armed on its event loop, so one already idle longer than the new timeout is closed at once.
   */
  public void idleTimeout(Duration timeout) {
    if (timeout == null || timeout.isNegative()) {
      throw new IllegalArgumentException("idle timeout cannot be negative: " + timeout);
    }
    meters.idleTimeout(timeout);
    for (io.netty.channel.Channel ch : channels) {
      ch.eventLoop().execute(() -> InputMeter.of(ch).rearm());
    }
  }

  /** The node-wide bound on bytes held for incomplete requests. */
  public InputBudget inputBudget() {
    return inputBudget;
  }

  /** Refused connections allowed to wait for their refusal at once; later ones are closed at once. */
  static int maxLingeringRefusals(int maxConnections) {
    return maxConnections / 10 + 16;
  }

  /** The largest buffer one read of a client connection may be given (see readSizes). */
  static final int MAX_READ_BYTES = 1 << 20;

  /**
   * How large each read's buffer is: Netty's adaptive guess (from 2 KiB, shrinking after small
   * reads), allowed to grow to MAX_READ_BYTES instead of Netty's 64 KiB, so a large value already
   * queued on the socket comes in one read and reaches RespDecoder whole (a slice, no copy into its
   * chunks) rather than in 64 KiB reads, each a system call and each copied again (issue 16).
   */
  static io.netty.channel.AdaptiveRecvByteBufAllocator readSizes() {
    return new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ_BYTES);
  }

  /**
   * Binds and starts serving.
   *
   * @throws UncheckedIOException when the address cannot be bound, saying why (port in use, ...)
   */
  public synchronized void start() {
    if (boss != null) {
      throw new IllegalStateException("already started");
    }
    boss = transport.newGroup(1, "distcache-accept");
    workers = transport.newGroup(config.ioThreads(), "distcache-io");
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.SO_KEEPALIVE, true)
            // A client may send its requests and then shut down its sending side (`nc -N`, health
            // checks). Replies are flushed when the event loop's cycle ends (FlushBatch), after the
            // read that met the FIN, so the channel must stay open for writing until the protocol
            // handler has answered; each handler then closes it (ChannelInputShutdownEvent).
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.RECVBUF_ALLOCATOR, readSizes())
            .childOption(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(config.writeBufferLowBytes(), config.writeBufferHighBytes()))
            .childHandler(new Initializer());
    try {
      serverChannel = b.bind(config.bindAddress()).syncUninterruptibly().channel();
    } catch (Exception e) {
      shutdownLoops(Duration.ofSeconds(1));
      throw bindFailure(e);
    }
    localAddress = (InetSocketAddress) serverChannel.localAddress();
  }

  /**
   * Also listens on {@code address} for TLS connections (both protocols, after the handshake), on
   * the same event loops and with the same limits; {@code tls} gives each new connection its
   * context (reloaded when the files change).
   */
  public synchronized InetSocketAddress startTls(InetSocketAddress address, TlsFiles tls) {
    if (boss == null) {
      throw new IllegalStateException("start() first");
    }
    ServerBootstrap b =
        new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.SO_KEEPALIVE, true)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.RECVBUF_ALLOCATOR, readSizes())
            .childOption(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(config.writeBufferLowBytes(), config.writeBufferHighBytes()))
            .childHandler(new Initializer(tls));
    try {
      tlsChannel = b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      throw new UncheckedIOException(new BindException("cannot listen for TLS on " + address + ": " + e.getMessage()));
    }
    tlsAddress = (InetSocketAddress) tlsChannel.localAddress();
    return tlsAddress;
  }

  /**
   * Runs the cluster bus on mutual TLS on the plain port (--tls-cluster yes): a connection whose
   * first byte starts a TLS handshake is a peer's (BusTlsSniffer). Call before {@link #start()}.
   */
  public synchronized void clusterBusTls(TlsFiles files, PeerAccess access) {
    if (boss != null) {
      throw new IllegalStateException("clusterBusTls must be set before start()");
    }
    if (!files.canSecureClusterBus()) {
      throw new IllegalArgumentException("--tls-cluster yes needs --tls-ca-cert-file (each member verifies the other's certificate)");
    }
    this.busTls = files;
    this.busAccess = access;
  }

  /** The TLS address bound, or null without TLS. */
  public InetSocketAddress tlsAddress() {
    return tlsAddress;
  }

  /** The address actually bound (with the real port when 0 was asked). */
  public InetSocketAddress localAddress() {
    if (localAddress == null) {
      throw new IllegalStateException("not started");
    }
    return localAddress;
  }

  public Transport transport() {
    return transport;
  }

  /**
   * The event loops that serve connections; the cluster bus opens its outgoing peer connections
   * on them too (no thread pool of its own).
   */
  public EventLoopGroup workers() {
    if (workers == null) {
      throw new IllegalStateException("not started");
    }
    return workers;
  }

  /** Connections being served now (refused ones not counted). */
  public int connections() {
    return connections.get();
  }

  /** Bytes in and out and connections accepted, since start. */
  public NetCounters counters() {
    return counters;
  }

  /** Connections refused because the limit was reached, since start. */
  public long rejectedConnections() {
    return rejected.get();
  }

  /** True when the calling thread is one of this server's event loops (blocking there would deadlock). */
  public boolean inEventLoop() {
    return inLoop(workers) || inLoop(boss);
  }

  /** Closes the listening socket: no new connections, existing ones go on. Idempotent. */
  public synchronized void stopAccepting() {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly();
    }
    if (tlsChannel != null) {
      tlsChannel.close().awaitUninterruptibly();
    }
  }

  /** Stops accepting, closes every connection and stops the event loops, waiting at most {@code timeout}. */
  public synchronized void close(Duration timeout) {
    stopAccepting();
    if (boss == null) {
      return;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    channels.close().awaitUninterruptibly(Math.max(1, remainingMillis(deadline)));
    shutdownLoops(Duration.ofMillis(Math.max(1, remainingMillis(deadline))));
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(2));
  }

  private void shutdownLoops(Duration timeout) {
    long ms = timeout.toMillis();
    Future<?> b = boss.shutdownGracefully(0, ms, TimeUnit.MILLISECONDS);
    Future<?> w = workers.shutdownGracefully(0, ms, TimeUnit.MILLISECONDS);
    long deadline = System.nanoTime() + timeout.toNanos();
    b.awaitUninterruptibly(Math.max(1, remainingMillis(deadline)));
    w.awaitUninterruptibly(Math.max(1, remainingMillis(deadline)));
    if (!b.isDone() || !w.isDone()) {
      log.warn("event loops did not stop within {} ms", ms);
    }
  }

  private static long remainingMillis(long deadlineNanos) {
    return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
  }

  private static boolean inLoop(EventLoopGroup group) {
    if (group == null) {
      return false;
    }
    for (EventExecutor e : group) {
      if (e.inEventLoop()) {
        return true;
      }
    }
    return false;
  }

  private UncheckedIOException bindFailure(Exception e) {
    InetSocketAddress a = config.bindAddress();
    String where = (a.getAddress() != null && a.getAddress().isAnyLocalAddress() ? "" : a.getHostString()) + ":" + a.getPort();
    boolean inUse = false;
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (m.contains("Address already in use") || m.contains("address already in use")) {
        inUse = true;
      }
    }
    String reason = inUse ? "port " + a.getPort() + " is already in use" : String.valueOf(e.getMessage());
    BindException be = new BindException("cannot listen on " + where + ": " + reason);
    be.initCause(e);
    return new UncheckedIOException(be.getMessage(), be);
  }

  private void logRejection(Channel ch) {
    long n = rejected.incrementAndGet();
    long now = System.nanoTime();
    long last = lastRejectLogNanos.get();
    if (now - last >= REJECT_LOG_INTERVAL_NANOS && lastRejectLogNanos.compareAndSet(last, now)) {
      log.warn(
          "refused connection from {}: max connections {} reached ({} refused since start)",
          ch.remoteAddress(),
          config.maxConnections(),
          n);
    }
  }

  private final class Initializer extends ChannelInitializer<Channel> {
    /** Null on the plain port. */
    private final TlsFiles tls;

    Initializer() {
      this(null);
    }

    Initializer(TlsFiles tls) {
      this.tls = tls;
    }

    @Override
    protected void initChannel(Channel ch) {
      counters.connectionAccepted();
      String rejection = null;
      if (connections.incrementAndGet() > config.maxConnections()) {
        connections.decrementAndGet();
        logRejection(ch);
        if (lingering.incrementAndGet() > maxLingeringRefusals(config.maxConnections())) {
          lingering.decrementAndGet();
          ch.close(); // a flood: no answer, no descriptor held
          return;
        }
        ConnectionSlot.attach(ch, lingering);
        rejection = "max connections " + config.maxConnections() + " reached";
      } else {
        ConnectionSlot.attach(ch, connections);
      }
      channels.add(ch);
      ChannelPipeline p = ch.pipeline();
      p.addLast("counters", counters);
      if (tls != null) {
        // After the counters (they count the bytes on the wire), before everything else: what
        // follows sees plain bytes, so both protocols and every limit work as on the plain port.
        // The meter then also bounds a handshake that never completes (the request deadline does
        // not apply to it; the idle timeout, when set, does).
        p.addLast("tls", tls.context().newHandler(ch.alloc()));
        p.addLast("tlsWatch", TlsClientWatch.INSTANCE); // a failed handshake: one rate-limited line
      } else if (busTls != null) {
        // The plain port also carries the cluster bus's TLS (a peer's first byte is 0x16).
        p.addLast("busTlsSniffer", new BusTlsSniffer(busTls, busAccess));
      }
      p.addLast("meter", meters.create());
      p.addLast("writability", WritabilityGate.INSTANCE);
      p.addLast("detector", new ProtocolDetector(binary, other, http, rejection, rejectWait));
    }
  }
}
