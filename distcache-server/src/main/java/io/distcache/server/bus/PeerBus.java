package io.distcache.server.bus;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.FrameTooLargeException;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.net.FlushBatch;
import io.distcache.server.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the dialing end of the cluster bus. Outgoing peer connections live on the node's own
 * worker event loops (NetServer.workers()), one connection per (member address, event loop),
 * opened lazily by the first request that needs it:
 *
 *   a request sent from event loop i     goes on the link owned by loop i: no thread hop, no lock
 *                                        (a forwarded request is read, sent, answered and
 *                                        relayed on one thread)
 *   a request from any other thread      (the membership timer) goes on loop 0's link, handed over
 *                                        with one execute()
 *
 * Each Link is confined to its loop, so its state (connection, request ids, in-flight map) has no
 * locks. Requests get a fresh id per connection (the client's id is restored on the reply); a
 * request waits at most requestTimeout (plus one sweep interval, an eighth of it) for its reply,
 * connecting and handshaking included, unless the connection is answering: a request past its
 * timeout is failed only once no reply at all has come on its connection for requestTimeout, or
 * at PROGRESS_GRACE times requestTimeout. A peer that is slow but working (thousands of
 * forwarded writes queued behind each other during a bulk load, each waiting for its replicas)
 * then answers them instead of the client getting BUSY for writes that were applied anyway
 * (found with `redis-cli --pipe` through a non-owner); a peer that stopped answering is still
 * given up on after requestTimeout. Timeouts are checked by one sweep task per link while it
 * has requests waiting, not by a timer per request: a timer per request would re-arm the event
 * loop's wake-up deadline (a syscall) on nearly every request of the forwarding hot path.
 *
 * Bounds, per link: at most maxInFlight requests sent and unanswered. Past that, or while the
 * write buffer is over its high mark (8 MiB unsent; 4 MiB low mark), new requests queue, in
 * order, and are written as replies come and the peer reads: up to QUEUED_PER_IN_FLIGHT times
 * maxInFlight of them and MAX_QUEUED_BYTES (64 MiB, so a few values at the largest --max-value
 * fit); past either bound, or past their timeout, they fail. Queued requests of a peer that keeps
 * answering get the same grace as sent ones. So clients pipelining through a non-owner slow down
 * to what the owner answers instead of failing: each client connection already stops reading at
 * 4,096 replies waiting (RespSession.MAX_PARKED), but one such connection has 4,097 forwards out
 * and several share a link (before: BUSY "too many requests in flight" for a healthy owner, 1,848
 * of 9,000 INCRs from three pipelining clients, found by a tester). A peer that reads slowly
 * (large values forwarded back to back) slows its senders down the same way (before: BUSY "write
 * buffer full" for a second 16 MiB SET, found by a tester). A reply larger than the max frame
 * fails only its own request with TOO_LARGE (the decoder skips it and stays in sync).
 *
 * A link opens with the PEER_HELLO handshake (PeerHandshake); requests queue until it completes.
 * With a cluster secret the acceptor proves it first, so nothing is sent to a process that cannot.
 * A link that failed to connect or handshake fails requests at once for RETRY_AFTER, then the next
 * request tries again (lazy reconnect: no timer, no connection to a member nobody talks to).
 * Membership dials DEAD members on purpose (partition healing), so a dead member fails for as
 * long as its tombstone lives: UnreachableLog makes that one WARN per address, then one per 10 min.
 *
 * With --tls-cluster yes (useTls) each connection first runs a TLS handshake with our certificate,
 * checking the peer's chain against the CA (not its host name: see TlsFiles), then PEER_HELLO on
 * top of it as always; a failed TLS handshake fails the link like a failed PEER_HELLO.
 *
 * No SSRF: after the first retainOnly (which membership calls before it sends anything), only the
 * addresses it listed (admitted members and the configured seeds) may be dialled; a request to any
 * other address fails without a connection attempt.
 */

/** {@link Peers} over the node's own event loops: multiplexed, authenticated peer connections. */
public final class PeerBus implements Peers {
  private static final Logger log = LoggerFactory.getLogger(PeerBus.class);

  /** Most bytes of requests one link queues behind a full write buffer (see the design note). */
  static final long MAX_QUEUED_BYTES = 64L << 20;

  /** Requests sent on one connection and not answered yet. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 4096;
  /** Requests one link queues beyond those in flight, as a multiple of maxInFlight (see the design note). */
  static final int QUEUED_PER_IN_FLIGHT = 16;
  /** A request whose connection keeps answering others waits up to this many times the request timeout. */
  static final int PROGRESS_GRACE = 4;
  /** After a failed connect or handshake, requests fail at once for this long before a new try. */
  static final long RETRY_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final FrameEncoder ENCODER = new FrameEncoder();

  private final ClusterSecret secret;
  private final Supplier<String> selfId;
  private final int maxFrameBytes;
  private final Duration connectTimeout;
  private final Duration requestTimeout;
  private final int maxInFlight;
  /** Requests one link queues beyond those in flight: QUEUED_PER_IN_FLIGHT times maxInFlight. */
  private final long maxQueued;
  private final Map<Address, AtomicReferenceArray<Link>> links = new ConcurrentHashMap<>();
  /** Which connection failures are logged as WARN: the first per address, then rarely (UnreachableLog). */
  private final UnreachableLog unreachable = new UnreachableLog(System::nanoTime);
  private volatile List<EventLoop> loops;
  private volatile Transport transport;
  /** Null until the first retainOnly: then only these addresses may be dialled. */
  private volatile Set<Address> allowed;
  private volatile boolean closed;
  /** --tls-cluster yes: each new connection's client context (reloaded with the files); null: plain. */
  private volatile Supplier<io.netty.handler.ssl.SslContext> tls;
  /** Where each handshake's TLS port is recorded, and ours taken from (null: sent as 0, not recorded). */
  private volatile PeerTlsPorts tlsPorts;

  /**
   * @param secret null: peers are not authenticated (a warning is the node's business)
   * @param selfId this node's member id (40 hex), sent in the handshake; null until membership starts
   */
  public PeerBus(ClusterSecret secret, Supplier<String> selfId, int maxFrameBytes, Duration connectTimeout,
      Duration requestTimeout, int maxInFlight) {
    if (selfId == null || connectTimeout == null || requestTimeout == null) {
      throw new IllegalArgumentException("selfId, connectTimeout and requestTimeout are required");
    }
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1: " + maxInFlight);
    }
    this.secret = secret;
    this.selfId = selfId;
    this.maxFrameBytes = maxFrameBytes;
    this.connectTimeout = connectTimeout;
    this.requestTimeout = requestTimeout;
    this.maxInFlight = maxInFlight;
    this.maxQueued = (long) maxInFlight * QUEUED_PER_IN_FLIGHT;
  }

  /**
   * Dials every peer with mutual TLS (--tls-cluster yes): each new connection takes the context
   * {@code contexts} gives then (our certificate, the peer's chain checked against the CA), so a
   * reloaded certificate applies to new connections. Call before {@link #start}.
   */
  public void useTls(Supplier<io.netty.handler.ssl.SslContext> contexts) {
    this.tls = contexts;
  }

  /** Sends our TLS port in each handshake and records the peer's in {@code ports}. Call before {@link #start}. */
  public void useTlsPorts(PeerTlsPorts ports) {
    this.tlsPorts = ports;
  }

  /** Starts using these event loops (the node's workers) and their transport. Sends before this fail. */
  public void start(EventLoopGroup workers, Transport transport) {
    List<EventLoop> l = new ArrayList<>();
    for (EventExecutor e : workers) {
      l.add((EventLoop) e);
    }
    if (l.isEmpty()) {
      throw new IllegalArgumentException("the event loop group has no loops");
    }
    this.transport = transport;
    this.loops = List.copyOf(l);
  }

  @Override
  public CompletableFuture<Frame> send(Address to, Frame request) {
    List<EventLoop> ls = loops;
    if (closed || ls == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("the cluster bus is " + (closed ? "closed" : "not started")));
    }
    Set<Address> ok = allowed;
    if (ok != null && !ok.contains(to)) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(to + " is neither an admitted member nor a seed; not connecting"));
    }
    int index = 0;
    for (int i = 0; i < ls.size(); i++) {
      if (ls.get(i).inEventLoop()) {
        index = i;
        break;
      }
    }
    AtomicReferenceArray<Link> perLoop = links.computeIfAbsent(to, a -> new AtomicReferenceArray<>(ls.size()));
    Link link = perLoop.get(index);
    if (link == null) {
      perLoop.compareAndSet(index, null, new Link(to, ls.get(index)));
      link = perLoop.get(index);
    }
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    Link l = link;
    if (l.loop.inEventLoop()) {
      l.submit(request, reply);
    } else {
      try {
        l.loop.execute(() -> l.submit(request, reply));
      } catch (RejectedExecutionException e) {
        reply.completeExceptionally(new IllegalStateException("the cluster bus is closed"));
      }
    }
    return reply;
  }

  @Override
  public void retainOnly(Set<Address> keep) {
    allowed = Set.copyOf(keep);
    unreachable.retain(allowed);
    for (Address a : List.copyOf(links.keySet())) {
      if (!keep.contains(a)) {
        AtomicReferenceArray<Link> perLoop = links.remove(a);
        if (perLoop != null) {
          closeAll(perLoop, "no longer a member");
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    unreachable.clear();
    for (Address a : List.copyOf(links.keySet())) {
      AtomicReferenceArray<Link> perLoop = links.remove(a);
      if (perLoop != null) {
        closeAll(perLoop, "the cluster bus is closed");
      }
    }
  }

  /** Open peer connections (for tests and INFO). */
  public int openConnections() {
    int n = 0;
    for (AtomicReferenceArray<Link> perLoop : links.values()) {
      for (int i = 0; i < perLoop.length(); i++) {
        Link l = perLoop.get(i);
        if (l != null && l.channel != null && l.channel.isActive()) {
          n++;
        }
      }
    }
    return n;
  }

  private static void closeAll(AtomicReferenceArray<Link> perLoop, String why) {
    for (int i = 0; i < perLoop.length(); i++) {
      Link l = perLoop.get(i);
      if (l != null) {
        try {
          l.loop.execute(() -> l.shutdown(why));
        } catch (RejectedExecutionException e) {
          l.shutdown(why); // the loop is gone: nothing else touches the link any more
        }
      }
    }
  }

  private static boolean sslFailure(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException) {
        return true;
      }
    }
    return false;
  }

  /** The innermost message of a TLS failure ("PKIX path building failed ..."), with the outer one. */
  public static String tlsReason(Throwable t) {
    if (t == null) {
      return "unknown";
    }
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String top = String.valueOf(t.getMessage());
    String inner = String.valueOf(root.getMessage());
    return root == t || top.contains(inner) ? top : top + " (" + inner + ")";
  }

  private void logFailure(Address address, String message) {
    switch (unreachable.failed(address)) {
      case FIRST -> log.warn("{} (logged again at most every {} min while it fails)", message,
          TimeUnit.NANOSECONDS.toMinutes(UnreachableLog.REPEAT_NANOS));
      case REPEAT -> log.warn("{} ({} failures to reach it not logged since the last line)", message,
          unreachable.takeHeldBack(address));
      case QUIET -> log.debug(message);
    }
  }

  private enum State {
    IDLE,
    CONNECTING,
    HELLO_SENT,
    PROOF_SENT,
    READY,
    SHUT
  }

  private static final class Pending {
    final Frame request;
    final CompletableFuture<Frame> reply;
    final long deadlineNanos;
    int busId;

    Pending(Frame request, CompletableFuture<Frame> reply, long deadlineNanos) {
      this.request = request;
      this.reply = reply;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** One connection to one address, owned by one event loop; every method runs on that loop. */
  private final class Link extends ChannelInboundHandlerAdapter implements FlushBatch.Member {
    final Address address;
    final EventLoop loop;
    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    /** Encoded bytes of the requests in {@code waiting}. */
    private long waitingBytes;
    private final IntObjectHashMap<Pending> inFlight = new IntObjectHashMap<>();
    private State state = State.IDLE;
    private Channel channel;
    private int nextId = 1;
    private int handshakeId;
    private byte[] nonce;
    private String self;
    private long failedAtNanos;
    private String lastFailure;
    private boolean flushQueued;
    private ScheduledFuture<?> handshakeTimer;
    /** When the latest reply arrived on this connection (System.nanoTime()). */
    private long lastReplyNanos;
    /** Runs every sweep interval while requests wait; null when none do. */
    private ScheduledFuture<?> sweeper;
    /** From the handshake's reply: the acceptor's member id and TLS port, recorded when it succeeds. */
    private String peerId;
    private int peerTlsPort;
    /** The TLS port our HELLO told the peer: the proofs cover it. */
    private int sentTlsPort;

    Link(Address address, EventLoop loop) {
      this.address = address;
      this.loop = loop;
      this.lastReplyNanos = System.nanoTime() - (1L << 62); // no reply yet
    }

    void submit(Frame request, CompletableFuture<Frame> reply) {
      if (state == State.SHUT || closed) {
        reply.completeExceptionally(new IllegalStateException("connection to " + address + " is closed"));
        return;
      }
      if (waiting.size() >= maxQueued) {
        reply.completeExceptionally(new IllegalStateException("too many requests for " + address + ": "
            + inFlight.size() + " in flight and " + waiting.size() + " queued (limits " + maxInFlight + " and "
            + maxQueued + ")"));
        return;
      }
      long bytes = request.encodedLength();
      if (!waiting.isEmpty() && waitingBytes + bytes > MAX_QUEUED_BYTES) {
        reply.completeExceptionally(new IllegalStateException("peer " + address + " is not taking its requests ("
            + waitingBytes + " bytes queued for it; the limit is " + MAX_QUEUED_BYTES + ")"));
        return;
      }
      long now = System.nanoTime();
      if (state == State.IDLE && lastFailure != null && now - failedAtNanos < RETRY_AFTER_NANOS) {
        reply.completeExceptionally(new NotSentException(lastFailure));
        return;
      }
      Pending p = new Pending(request, reply, now + requestTimeout.toNanos());
      if (sweeper == null) {
        long every = Math.max(TimeUnit.MILLISECONDS.toNanos(10), requestTimeout.toNanos() / 8);
        sweeper = loop.scheduleAtFixedRate(this::sweep, every, every, TimeUnit.NANOSECONDS);
      }
      if (state == State.READY && channel.isWritable() && waiting.isEmpty() && inFlight.size() < maxInFlight) {
        write(p);
        return;
      }
      if (state == State.READY) {
        // Behind a full write buffer or maxInFlight: written, in order, as the peer reads
        // (channelWritabilityChanged) and answers (channelRead).
        queue(p);
        return;
      }
      if (state == State.IDLE) {
        connect();
        if (state == State.IDLE) { // could not even start (no member id yet)
          reply.completeExceptionally(new NotSentException(lastFailure));
          return;
        }
      }
      queue(p);
    }

    private void queue(Pending p) {
      waiting.add(p);
      waitingBytes += p.request.encodedLength();
    }

    private Pending unqueue() {
      Pending p = waiting.poll();
      if (p != null) {
        waitingBytes -= p.request.encodedLength();
      }
      return p;
    }

    /** Writes queued requests, in order, while the write buffer takes them and fewer than maxInFlight wait. */
    private void writeQueued() {
      while (state == State.READY && !waiting.isEmpty() && channel.isWritable() && inFlight.size() < maxInFlight) {
        write(unqueue());
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel() == channel) {
        writeQueued();
      }
      ctx.fireChannelWritabilityChanged();
    }

    /** Fails the requests past their deadline; stops itself when nothing waits any more. */
    private void sweep() {
      long now = System.nanoTime();
      long timeout = requestTimeout.toNanos();
      // Replies keep coming: the peer works through a queue; wait on, up to the grace.
      boolean answering = now - lastReplyNanos < timeout;
      // Queued in order of their deadlines; those queued behind answered ones get the same grace.
      long queuedGrace = answering && state == State.READY ? (PROGRESS_GRACE - 1) * timeout : 0;
      while (!waiting.isEmpty() && now - waiting.peek().deadlineNanos >= queuedGrace) {
        timedOut(unqueue());
      }
      if (!inFlight.isEmpty()) {
        List<Pending> late = null;
        for (Pending p : inFlight.values()) {
          if (now - p.deadlineNanos >= 0
              && (!answering || now - p.deadlineNanos >= (PROGRESS_GRACE - 1) * timeout)) {
            (late == null ? late = new ArrayList<>() : late).add(p);
          }
        }
        if (late != null) {
          for (Pending p : late) {
            inFlight.remove(p.busId);
            timedOut(p);
          }
        }
      }
      if (waiting.isEmpty() && inFlight.isEmpty() && sweeper != null) {
        sweeper.cancel(false);
        sweeper = null;
      }
    }

    private void timedOut(Pending p) {
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - p.deadlineNanos) + requestTimeout.toMillis();
      p.reply.completeExceptionally(new TimeoutException("no reply from " + address + " within "
          + requestTimeout.toMillis() + " ms" + (waited >= 2 * requestTimeout.toMillis()
              ? " (waited " + waited + " ms while it answered other requests)" : "")));
    }

    private void write(Pending p) {
      int id = nextId++;
      if (nextId == Integer.MAX_VALUE) {
        nextId = 1;
      }
      p.busId = id;
      inFlight.put(id, p);
      channel.write(p.request.withRequestId(id), channel.voidPromise());
      queueFlush();
    }

    private void queueFlush() {
      if (!flushQueued) {
        flushQueued = true;
        FlushBatch.of(loop).enqueue(this);
      }
    }

    @Override
    public void flushQueued() {
      flushQueued = false;
      if (channel != null) {
        channel.flush();
      }
    }

    private void connect() {
      self = selfId.get();
      if (self == null) {
        failedAtNanos = System.nanoTime();
        lastFailure = "this node has no member id yet";
        return;
      }
      state = State.CONNECTING;
      Bootstrap b = new Bootstrap()
          .group(loop)
          .channel(transport.socketChannel())
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.SO_KEEPALIVE, true)
          .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(4 << 20, 8 << 20))
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              Supplier<io.netty.handler.ssl.SslContext> t = tls;
              if (t != null) {
                io.netty.handler.ssl.SslHandler ssl = t.get().newHandler(ch.alloc(), address.host(), address.port());
                ssl.setHandshakeTimeoutMillis(connectTimeout.toMillis());
                ch.pipeline().addLast("tls", ssl); // the HELLO written on connect waits for the handshake
              }
              ch.pipeline().addLast("frameDecoder", new FrameDecoder(maxFrameBytes));
              ch.pipeline().addLast("frameEncoder", ENCODER);
              ch.pipeline().addLast("link", Link.this);
            }
          });
      b.connect(address.host(), address.port()).addListener((ChannelFutureListener) f -> {
        if (!f.isSuccess()) {
          failed("cannot connect to " + address + ": " + f.cause().getMessage());
        }
      });
      handshakeTimer = loop.schedule(() -> {
        if (state != State.READY && state != State.IDLE && state != State.SHUT) {
          failed("peer handshake with " + address + " not finished within " + connectTimeout.toMillis() + " ms");
        }
      }, connectTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public boolean isSharable() {
      return true; // one Link serves its successive connections, one at a time
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      if (state != State.CONNECTING) {
        ctx.close();
        return;
      }
      channel = ctx.channel();
      state = State.HELLO_SENT;
      nonce = PeerHandshake.newNonce();
      handshakeId = nextId++;
      PeerTlsPorts ports = tlsPorts;
      sentTlsPort = ports == null ? 0 : ports.self();
      Frame hello = Frame.request(Opcode.PEER_HELLO, 0, null,
          PeerHandshake.encodeHello(secret != null, self, nonce, sentTlsPort))
          .withRequestId(handshakeId);
      ctx.writeAndFlush(hello, ctx.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof Frame reply) || ctx.channel() != channel) {
        return;
      }
      if (state == State.READY) {
        lastReplyNanos = System.nanoTime();
        Pending p = inFlight.remove(reply.requestId());
        if (p != null) {
          p.reply.complete(reply.withRequestId(p.request.requestId()));
          if (!waiting.isEmpty()) {
            writeQueued(); // room under maxInFlight
          }
        }
        return;
      }
      if (reply.requestId() != handshakeId) {
        failed("peer " + address + " answered request " + reply.requestId() + " during the handshake");
        return;
      }
      try {
        handshake(reply);
      } catch (PeerHandshake.HandshakeException e) {
        failed("peer handshake with " + address + " failed: " + e.getMessage());
      }
    }

    private void handshake(Frame reply) throws PeerHandshake.HandshakeException {
      if (reply.status() != Status.OK) {
        throw new PeerHandshake.HandshakeException("refused with " + reply.status() + ": " + reply.valueText());
      }
      if (state == State.PROOF_SENT) {
        ready();
        return;
      }
      PeerHandshake.Reply r = PeerHandshake.decodeReply(reply.value());
      peerId = r.id();
      peerTlsPort = r.tlsPort();
      if (secret == null) {
        if (r.mode() == PeerHandshake.MODE_SECRET) {
          throw new PeerHandshake.HandshakeException("the peer requires the cluster secret and this node has none");
        }
        ready();
        return;
      }
      if (r.mode() != PeerHandshake.MODE_SECRET) {
        throw new PeerHandshake.HandshakeException("the peer runs without the cluster secret; not trusting it");
      }
      // Both proofs cover the TLS port we sent and the one we received (PeerHandshake).
      byte[] expected = PeerHandshake.acceptorProof(secret, nonce, r.nonce(), self, r.id(), sentTlsPort, r.tlsPort());
      if (!PeerHandshake.matches(expected, r.proof())) {
        throw new PeerHandshake.HandshakeException("the peer did not prove the cluster secret");
      }
      byte[] ours = PeerHandshake.dialerProof(secret, nonce, r.nonce(), self, r.id(), sentTlsPort, r.tlsPort());
      state = State.PROOF_SENT;
      handshakeId = nextId++;
      channel.writeAndFlush(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeProof(ours))
          .withRequestId(handshakeId), channel.voidPromise());
    }

    private void ready() {
      state = State.READY;
      lastFailure = null;
      if (unreachable.answered(address)) {
        log.info("cluster bus: {} answers again", address);
      }
      PeerTlsPorts ports = tlsPorts;
      if (ports != null && peerId != null) {
        ports.learned(peerId, peerTlsPort);
      }
      if (handshakeTimer != null) {
        handshakeTimer.cancel(false);
      }
      writeQueued();
    }

    /** A connect or handshake failure: fail what waits, close, and refuse for RETRY_AFTER. */
    private void failed(String why) {
      logFailure(address, why);
      failedAtNanos = System.nanoTime();
      lastFailure = why;
      Channel ch = channel;
      reset(why);
      if (ch != null) {
        ch.close();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof io.netty.handler.ssl.SslHandshakeCompletionEvent done && !done.isSuccess()
          && ctx.channel() == channel) {
        failed("cluster bus TLS handshake with " + address + " failed: " + tlsReason(done.cause()));
        return;
      }
      ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (ctx.channel() == channel) {
        reset("connection to " + address + " closed");
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof FrameTooLargeException tooLarge && state == State.READY && ctx.channel() == channel) {
        // The decoder skipped the frame and stays in sync: fail only the request it answered.
        Pending p = inFlight.remove(tooLarge.requestId());
        if (p != null) {
          p.reply.complete(p.request.replyError(Status.TOO_LARGE, "the reply from " + address
              + " is larger than the max frame: " + tooLarge.getMessage()));
          writeQueued();
        }
        return;
      }
      if (tls != null && state != State.READY && ctx.channel() == channel && sslFailure(cause)) {
        // With TLS 1.3 the server checks our certificate after our side of the handshake is done:
        // its refusal (an alert such as bad_certificate) arrives here, before PEER_HELLO's reply.
        failed("cluster bus TLS handshake with " + address + " failed: " + tlsReason(cause));
        return;
      }
      log.debug("peer connection to {} failed: {}", address, cause.toString());
      ctx.close();
    }

    /** Back to IDLE (unless shut): every waiting and in-flight request fails with {@code why}. */
    private void reset(String why) {
      if (state != State.SHUT) {
        state = State.IDLE;
      }
      channel = null;
      if (handshakeTimer != null) {
        handshakeTimer.cancel(false);
        handshakeTimer = null;
      }
      List<Pending> unsent = new ArrayList<>(waiting);
      waiting.clear();
      waitingBytes = 0;
      List<Pending> sent = new ArrayList<>(inFlight.values());
      inFlight.clear();
      if (sweeper != null) {
        sweeper.cancel(false);
        sweeper = null;
      }
      // Those never written cannot have been applied (NotSentException: the router may send them
      // elsewhere); those written may have been. Failed in the order they were queued.
      for (Pending p : unsent) {
        p.reply.completeExceptionally(new NotSentException(why));
      }
      for (Pending p : sent) {
        p.reply.completeExceptionally(new ConnectException(why));
      }
    }

    void shutdown(String why) {
      Channel ch = channel;
      state = State.SHUT;
      reset(why);
      if (ch != null) {
        ch.close();
      }
    }
  }
}
