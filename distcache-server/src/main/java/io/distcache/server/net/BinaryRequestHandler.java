package io.distcache.server.net;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameTooLargeException;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.server.cluster.HeldReply;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.Router;
import io.distcache.server.cluster.ScriptHost;
import io.distcache.server.cluster.ScriptParking;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the syscall, not the lookup, is what a cache request costs. A client that pipelines N
 * requests has them decoded in one socket read; each reply is only written (queued) as it is
 * produced, and the flush waits for the end of the event loop's cycle (FlushBatch), so N replies
 * leave in one write(2) and the client is woken once, after every ready connection was served.
 *
 * Requests served locally complete inside route(), on this event loop, and take that path. A
 * forwarded request completes later on another thread; its reply is written from this channel's
 * event loop when it arrives (a burst of them, one flush), which may be after replies to later
 * requests. That is fine: every reply echoes its request id, and clients match on it.
 *
 * In flight: a forwarded request holds its future and the owner's reply until it completes, so a
 * client that pipelines without waiting could make the node hold any number of them. At
 * MAX_IN_FLIGHT unanswered requests the connection stops being read (autoRead off) and resumes as
 * soon as one completes; requests already in the socket buffer are still decoded, so the cap is
 * exceeded by at most one read's worth. Reading needs both this and writability (WritabilityGate),
 * so each recomputes from both when its own condition changes. The count alone bounds nothing
 * node-wide (a thousand connections of a thousand 1 MiB SETs each, held while their slots change
 * owner or their replicas lag, are a terabyte), so each request in flight also keeps its frame's
 * bytes in the node-wide input bound (InputBudget, as a Redis request waiting for its reply does)
 * until its reply is written: counted past the limit, since it already ran, and a client's
 * connection with requests in flight stops reading while the bound is full, reading again as its
 * replies go out (a peer's link reads on: it also carries the membership messages).
 *
 * Clients and peers: a connection is a client's unless PeerGate accepted a peer handshake on it
 * (becomePeer). On a client connection, membership messages (CLUSTER_GOSSIP) are answered
 * BAD_REQUEST and never reach the router, a PEER_HELLO after the first frame is BAD_REQUEST, and
 * the FORWARDED flag is cleared before routing, so a client cannot make a node serve a key it does
 * not own. Each is logged at most once per 10 s per node (the limiter is shared), not per frame.
 *
 * Behind a script: while a script holds the node (ScriptHost.holdsClients), a client's request, or
 * one a peer forwards, that would wait for it (LocalExecutor.waitsForScript: it takes key stripes or
 * the keyspace barrier) is not routed on the event loop, where it would wait up to the busy threshold
 * and stall every connection of the loop, SCRIPT KILL included. It takes its place in HeldOrder as
 * a request behind a held write does (what follows it on the connection, or for its slot on a
 * peer's, waits behind it, so replies keep their order) and is routed once the script's hold ended
 * or the script passed its busy threshold (SCRIPT_BUSY then, at once), woken by ScriptParking. A
 * request read in the microseconds before a script took the node may still wait on the loop.
 * A request that waits so counts in the node-wide input bound (InputBudget, via the connection's
 * InputMeter: the frame's encoded bytes plus FRAME_OVERHEAD) until it is routed or the connection
 * closes; one that would pass it is refused (refuseWaiting), so many connections each holding
 * frames of up to --max-frame behind a script cannot fill the heap between them.
 *
 * Errors: an oversize frame is answered TOO_LARGE with its own request id (the decoder knows it
 * from the header) and the connection closed; a malformed stream (bad magic, bad version) cannot
 * be answered meaningfully, so it is logged once and closed.
 */

/** Serves decoded binary {@link Frame}s through the {@link Router}. One instance per connection. */
final class BinaryRequestHandler extends ChannelInboundHandlerAdapter implements FlushBatch.Member {
  private static final Logger log = LoggerFactory.getLogger(BinaryRequestHandler.class);

  /** Requests routed but not yet answered on one connection before it stops being read. */
  static final int MAX_IN_FLIGHT = 1024;

  private final Router router;
  private final int maxInFlight;
  /** Shared by every connection of the node: how often a client's misuse is logged. */
  private final LogLimiter misuseLog;
  /** True once PeerGate accepted this connection as a peer's; touched only on the event loop. */
  private boolean peer;
  /** Replies written since the last flush; touched only on the event loop. */
  private boolean flushPending;
  /** Set once the connection is being closed for an error: later input is ignored. */
  private boolean closing;
  /** Routed requests whose reply has not been written yet; touched only on the event loop. */
  private int inFlight;
  /** What those requests hold in the node-wide input bound (heldBytes each); event loop only. */
  private long inFlightHeld;
  /** Reading stopped because the bound is full while this connection has requests in flight. */
  private boolean pausedForBudget;
  /** What this connection's next requests wait for while a write is held (see HeldOrder); set with the peer flag. */
  private HeldOrder order = new HeldOrder(false);
  /**
   * Most forwards a peer's connection may have waiting behind held writes: past it they are
   * answered TRY_AGAIN, unapplied (they are not counted as in flight, so membership traffic on the
   * link is read on).
   */
  static final int MAX_WAITING_BEHIND_HELD = 10_000;
  /** This handler waits in its event loop's FlushBatch. */
  private boolean flushQueued;
  /** The client shut down its sending side: close once every request it sent is answered. */
  private boolean inputClosed;
  private ChannelHandlerContext ctx;

  BinaryRequestHandler(Router router) {
    this(router, MAX_IN_FLIGHT, new LogLimiter());
  }

  BinaryRequestHandler(Router router, int maxInFlight) {
    this(router, maxInFlight, new LogLimiter());
  }

  /** Null: the server has no users (every client may do everything). */
  private BinaryAuth auth;
  private io.distcache.server.security.Users authUsers;
  private boolean protectedMode;
  private boolean protectedChecked;
  /** Null: NOT_OWNER names node ports to every client. */
  private io.distcache.server.cluster.TlsEndpoints tlsEndpoints;
  /** Whether this is a client's TLS connection; null until first asked. */
  private Boolean tlsClient;

  /** Checks every client request against the node's users; protected mode refuses remote clients. */
  /** Tells clients on TLS the members' TLS addresses (NOT_OWNER, CLUSTER_MEMBERS asking for them). */
  BinaryRequestHandler withTlsEndpoints(io.distcache.server.cluster.TlsEndpoints endpoints) {
    this.tlsEndpoints = endpoints;
    return this;
  }

  /** A client's connection over TLS (the TLS port), not a peer's on the bus's TLS. */
  private boolean tlsClient(ChannelHandlerContext ctx) {
    if (tlsClient == null) {
      tlsClient = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null
          && !BusTlsSniffer.isBusTls(ctx.channel());
    }
    return tlsClient;
  }

  private io.distcache.server.tracking.TrackingTable trackingTable;
  private io.distcache.server.tracking.ClusterTracking clusterTracking;
  /** This client connection's tracking, made on its first TRACKING request; event loop only. */
  private BinaryTracking tracking;

  /** Lets a client turn invalidation tracking on (TRACKING); null table: refused. */
  BinaryRequestHandler withTracking(io.distcache.server.tracking.TrackingTable table,
      io.distcache.server.tracking.ClusterTracking cluster) {
    this.trackingTable = table;
    this.clusterTracking = cluster;
    return this;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (tracking != null) {
      tracking.closed();
    }
    super.channelInactive(ctx);
  }

  BinaryRequestHandler withUsers(io.distcache.server.security.Users users, boolean protectedMode) {
    this.auth = users == null ? null : new BinaryAuth(users);
    this.authUsers = users;
    this.protectedMode = protectedMode;
    return this;
  }

  BinaryRequestHandler(Router router, int maxInFlight, LogLimiter misuseLog) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1: " + maxInFlight);
    }
    this.router = router;
    this.maxInFlight = maxInFlight;
    this.misuseLog = misuseLog;
  }

  /** Null: the node runs no scripts, so no request waits for one. */
  private ScriptHost scripts;
  /** Completes once no script holds the node; made when a request first waits for one. Event loop only. */
  private CompletableFuture<Void> scriptEnd;
  private ScriptParking scriptParking;

  /** Requests that would wait for a script holding the node wait off the event loop (see the design note). */
  BinaryRequestHandler withScripts(ScriptHost scripts) {
    this.scripts = scripts;
    return this;
  }

  /** Called by PeerGate once the handshake succeeded: membership messages and FORWARDED are allowed. */
  void becomePeer() {
    peer = true;
    order = new HeldOrder(true);
    if (meter != null) {
      meter.peerLink();
    }
  }

  /** True on a connection accepted as a peer's (for tests). */
  boolean isPeer() {
    return peer;
  }

  /** This connection's share of the node-wide input bound. */
  private InputMeter meter;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.meter = InputMeter.of(ctx.channel());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof Frame received)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (closing) {
      return;
    }
    Frame request = received;
    Frame immediate = validate(request);
    if (immediate == null && !peer) {
      immediate = refuseClientOnly(ctx, request);
      if (immediate == null && request.hasFlag(Flags.FORWARDED)) {
        misuse(ctx, "set the FORWARDED flag (cleared: the request is routed as any other)");
        request = withoutForwarded(request);
      }
      if (immediate == null && auth != null) {
        if (!protectedChecked) {
          protectedChecked = true;
          if (BinaryAuth.deniedByProtectedMode(authUsers, protectedMode, ctx.channel().remoteAddress())) {
            ClientLog.warn(log, "protected-mode", "refused {}: protected mode is on, the default user has no password"
                + " and the client is not on loopback", ctx.channel().remoteAddress());
            closing = true;
            LingeringClose.after(ctx.writeAndFlush(request.replyError(Status.AUTH_REQUIRED, BinaryAuth.DENIED)));
            return;
          }
        }
        String addr = String.valueOf(ctx.channel().remoteAddress());
        immediate = request.op() == Opcode.AUTH ? auth.auth(request, addr) : auth.refusal(request, addr);
      }
      if (immediate == null && request.op() == Opcode.TRANSACTION
          && TransactionCodec.holds(request.value(), Opcode.SCRIPT)) {
        // Only a node puts a SCRIPT in a batch (a Redis EXEC with EVAL inside, its ACL user the
        // connection's): a client's could name any user (docs/PROTOCOL.md, "Transactions").
        immediate = request.replyError(Status.BAD_REQUEST,
            "SCRIPT cannot be part of a TRANSACTION sent by a client: send the script alone, it runs atomically");
      }
      if (immediate == null && request.op() == Opcode.SCRIPT) {
        // A script's calls are checked against its ACL user: a client's is its connection's, not one it names.
        try {
          request = io.distcache.protocol.ScriptCodec.withUser(request,
              auth == null ? io.distcache.server.security.Users.DEFAULT : auth.user());
        } catch (IllegalArgumentException | io.distcache.protocol.ListCodec.MalformedListException e) {
          immediate = request.replyError(Status.BAD_REQUEST, e.getMessage());
        }
      }
    } else if (immediate == null && request.op() == Opcode.PEER_HELLO) {
      immediate = request.replyError(Status.BAD_REQUEST, "PEER_HELLO is only accepted as the first frame of a connection");
    }
    if (immediate == null && !peer && (request.op() == Opcode.TRACKING || request.op() == Opcode.INVALIDATE)) {
      if (request.op() == Opcode.INVALIDATE) {
        immediate = request.replyError(Status.BAD_REQUEST, "INVALIDATE is sent by nodes to clients, never to a node");
      } else if (trackingTable == null) {
        immediate = request.replyError(Status.BAD_REQUEST, "TRACKING: this node has no client tracking");
      } else {
        if (tracking == null) {
          tracking = new BinaryTracking(trackingTable, clusterTracking, ctx.channel());
        }
        immediate = tracking.command(request);
      }
    }
    if (immediate == null && tracking != null) {
      java.util.concurrent.CompletableFuture<Void> registered = tracking.before(request);
      if (registered != null) {
        // A tracked GET the node forwards waits for the owner's registration (BinaryTracking).
        Frame r = request;
        if (++inFlight == maxInFlight) {
          updateAutoRead(ctx);
        }
        registered.whenComplete((x, e) -> ctx.executor().execute(() -> {
          if (inFlight-- == maxInFlight) {
            updateAutoRead(ctx);
          }
          serve(ctx, r, null, false);
          flushAtCycleEnd(ctx);
        }));
        return;
      }
    }
    serve(ctx, request, immediate, true);
  }

  /**
   * Writes {@code immediate} when there is one, else routes the request and writes its reply.
   * {@code fromThisRead}: the request completed in the read being handled (see InputMeter.holdInFlight).
   */
  private void serve(ChannelHandlerContext ctx, Frame request, Frame immediate, boolean fromThisRead) {
    if (immediate != null) {
      write(ctx, immediate);
      return;
    }
    boolean ordered = !peer || request.hasFlag(Flags.FORWARDED); // a client's request, or one a peer forwards
    if (!ordered) {
      dispatch(ctx, request, fromThisRead);
      return;
    }
    int slot = peer && request.key() != null && request.key().length > 0
        ? io.distcache.protocol.cluster.KeySlot.of(request.key()) : HeldOrder.ANY_SLOT;
    CompletableFuture<?> before = order.before(slot);
    if (before == null) {
      before = scriptReleased(request);
    }
    if (before == null) {
      CompletableFuture<Frame> reply = dispatch(ctx, request, fromThisRead);
      if (HeldReply.holds(reply)) {
        order.occupy(slot, reply); // see HeldReply: what comes next (for its slot, from a peer) waits for it
      }
      return;
    }
    if (peer && order.waiting >= MAX_WAITING_BEHIND_HELD) {
      write(ctx, request.replyError(Status.TRY_AGAIN, order.waiting + " forwarded requests already wait behind"
          + " writes held while their slots change owner, or behind a running script (the limit); not applied,"
          + " try again"));
      return;
    }
    long heldBytes = heldBytes(request);
    if (!meter.holdWaiting(heldBytes)) {
      refuseWaiting(ctx, request);
      return;
    }
    // Behind a held write or a script: routed once it (and every request queued behind it before this one) has gone.
    CompletableFuture<Void> routedHere = new CompletableFuture<>();
    order.occupy(slot, routedHere);
    order.waiting++;
    if (!peer && ++inFlight == maxInFlight) {
      updateAutoRead(ctx); // a client's: counted as in flight, so its reading pauses at the usual bound
    }
    routeAfter(ctx, before, request, heldBytes, routedHere, router.deferred()); // a graceful stop waits for it (DrainingRouter)
  }

  /** Heap a decoded frame takes beyond its encoded bytes: the Frame and its three arrays' headers. */
  static final int FRAME_OVERHEAD = 96;

  /** What a frame waiting to be routed counts in the node-wide input bound (InputBudget). */
  static long heldBytes(Frame request) {
    return (long) request.encodedLength() + FRAME_OVERHEAD;
  }

  /**
   * The node-wide input bound has no room for {@code request} to wait. A peer's forward is answered
   * TRY_AGAIN, unapplied, as when too many wait behind held writes: the link stays up. A client is
   * answered BUSY with the request's id and closed, as when its incomplete frame would pass the bound.
   */
  private void refuseWaiting(ChannelHandlerContext ctx, Frame request) {
    if (peer) {
      write(ctx, request.replyError(Status.TRY_AGAIN, meter.refusal(false) + "; not applied, try again"));
      return;
    }
    closing = true;
    flushPending = false;
    Frame reply = request.replyError(Status.BUSY, meter.refusal(true));
    MeteredFrameDecoder decoder = ctx.pipeline().get(MeteredFrameDecoder.class);
    if (decoder != null) {
      decoder.refuse(reply); // drops the rest of the input; the close lingers so the client reads why
    } else {
      ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * Routes {@code request}, which holds its place in the order ({@code routedHere}), once {@code
   * before} completed and no script holds the node for it (a script may have started meanwhile: it
   * then waits for that one, keeping its place). {@code counted} ends the graceful stop's wait for it.
   */
  private void routeAfter(ChannelHandlerContext ctx, CompletableFuture<?> before, Frame request, long heldBytes,
      CompletableFuture<Void> routedHere, Runnable counted) {
    before.whenComplete((x, e) -> ctx.executor().execute(() -> {
      CompletableFuture<Void> script = scriptReleased(request);
      if (script != null) {
        routeAfter(ctx, script, request, heldBytes, routedHere, counted);
        return;
      }
      meter.releaseWaiting(heldBytes);
      order.waiting--;
      if (!peer && inFlight-- == maxInFlight) {
        updateAutoRead(ctx);
      }
      CompletableFuture<Frame> reply = null;
      try {
        reply = dispatch(ctx, request, false); // its waiting share was released just above
      } finally {
        counted.run(); // after dispatch, which counted the routed request itself if it is still in flight
        if (HeldReply.holds(reply)) {
          reply.whenComplete((r, f) -> routedHere.complete(null));
        } else {
          routedHere.complete(null);
        }
      }
      flushAtCycleEnd(ctx);
      closeIfAnswered(ctx);
    }));
  }

  /**
   * What {@code request} must wait for before it is routed because a script holds the node: a future
   * completed on this event loop once the hold ended or the script passed its busy threshold; null
   * when no script holds the node or the request would not wait for one.
   */
  private CompletableFuture<Void> scriptReleased(Frame request) {
    if (scripts == null || !scripts.holdsClients() || !LocalExecutor.waitsForScript(request)) {
      return null;
    }
    if (scriptEnd == null || scriptEnd.isDone()) {
      scriptEnd = new CompletableFuture<>();
    }
    if (scriptParking == null) {
      scriptParking = new ScriptParking(ctx.executor(), this::checkScript);
    }
    scriptParking.wakeAfter(scripts);
    return scriptEnd;
  }

  /** ScriptParking's wake: lets the parked requests go once no script holds the node, else waits on. */
  private void checkScript() {
    CompletableFuture<Void> released = scriptEnd;
    if (released == null || released.isDone()) {
      return;
    }
    if (scripts.holdsClients()) {
      scriptParking.wakeAfter(scripts);
    } else {
      released.complete(null);
    }
  }

  /** Routes the request and writes its reply, now or when it completes; the reply, or null when it failed here. */
  private CompletableFuture<Frame> dispatch(ChannelHandlerContext ctx, Frame request, boolean fromThisRead) {
    CompletableFuture<Frame> reply;
    CompletableFuture<Frame> routed;
    try {
      reply = routed = router.route(request);
      if (tlsEndpoints != null && request.op() == Opcode.CLUSTER_MEMBERS
          && io.distcache.server.cluster.TlsEndpoints.asksForTlsPorts(request)) {
        reply = reply.thenApply(tlsEndpoints::withTlsPorts);
      }
      if (tlsEndpoints != null && tlsClient(ctx)) {
        if (request.hasFlag(io.distcache.protocol.Flags.ROUTED)) {
          // NOT_OWNER names the owner's TLS address, or the request is forwarded when that is unknown.
          reply = tlsEndpoints.forTlsClient(request, reply, router::route);
        } else if (request.op() == Opcode.CLUSTER_OWNER) {
          reply = reply.thenApply(r -> tlsEndpoints.ownerForTlsClient(request, r));
        }
      }
    } catch (RuntimeException e) {
      log.warn("request {} failed inside the node", request, e);
      write(ctx, internalError(request, e));
      return null;
    }
    if (reply.isDone()) {
      write(ctx, resolve(request, reply));
    } else {
      long held = heldBytes(request);
      meter.holdInFlight(held, fromThisRead);
      inFlightHeld += held;
      if (++inFlight == maxInFlight || meter.full()) {
        updateAutoRead(ctx);
      }
      reply.whenComplete(
          (r, e) -> {
            Frame out = r != null ? r : internalError(request, e);
            if (ctx.executor().inEventLoop()) {
              replied(ctx, out, held);
            } else {
              ctx.executor().execute(() -> replied(ctx, out, held));
            }
          });
    }
    return routed;
  }

  /** Writes a reply that completed later, on the event loop, and frees its in-flight slot and bytes. */
  private void replied(ChannelHandlerContext ctx, Frame out, long held) {
    write(ctx, out);
    flushAtCycleEnd(ctx);
    meter.releaseWaiting(held);
    inFlightHeld -= held;
    if (inFlight-- == maxInFlight || pausedForBudget) {
      updateAutoRead(ctx);
    }
    closeIfAnswered(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      // The client sent its last request (half-close): answer everything, then close.
      inputClosed = true;
      closeIfAnswered(ctx);
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** After a half-close with nothing left in flight: flush the replies, then close. */
  private void closeIfAnswered(ChannelHandlerContext ctx) {
    if (inputClosed && inFlight == 0 && order.waiting == 0 && !closing) {
      closing = true;
      flushPending = false;
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    updateAutoRead(ctx);
    ctx.fireChannelWritabilityChanged();
  }

  /** Reads while the client reads its replies and fewer than maxInFlight requests are unanswered. */
  private void updateAutoRead(ChannelHandlerContext ctx) {
    // Its own requests in flight filled the node-wide bound: read again as their replies go out. Not
    // a peer's link, which carries the membership messages and lease renewals too: pausing it could
    // get a live member suspected; its sender bounds what it forwards (PeerBus.MAX_QUEUED_BYTES).
    pausedForBudget = !peer && inFlightHeld > 0 && meter.full();
    boolean read = ctx.channel().isWritable() && inFlight < maxInFlight && !pausedForBudget;
    if (ctx.channel().config().isAutoRead() != read) {
      ctx.channel().config().setAutoRead(read);
    }
  }

  /** Requests routed and not yet answered (for tests). */
  int inFlight() {
    return inFlight;
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flushAtCycleEnd(ctx);
    ctx.fireChannelReadComplete();
  }

  /** Flushes what was written once the event loop's cycle ends. */
  private void flushAtCycleEnd(ChannelHandlerContext ctx) {
    if (!flushPending || flushQueued) {
      return;
    }
    FlushBatch batch = FlushBatch.of(ctx.executor());
    flushQueued = true;
    batch.enqueue(this);
  }

  @Override
  public void flushQueued() {
    flushQueued = false;
    if (flushPending) {
      flushPending = false;
      ctx.flush();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing) {
      return;
    }
    closing = true;
    FrameTooLargeException tooLarge = find(cause, FrameTooLargeException.class);
    if (tooLarge != null) {
      Frame reply =
          new Frame(
              tooLarge.opcode(),
              Flags.RESPONSE,
              tooLarge.requestId(),
              Status.TOO_LARGE,
              Frame.NO_EXTRAS,
              Frame.EMPTY,
              String.valueOf(tooLarge.getMessage()).getBytes(StandardCharsets.UTF_8));
      flushPending = false;
      ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
      log.debug("closing {}: {}", ctx.channel().remoteAddress(), tooLarge.getMessage());
    } else if (DirectMemoryShortage.causedBy(cause)) {
      // Free what the decoder holds before answering, so the reply's few bytes can be found.
      ClientLog.warn(log, "direct-memory", "closing {}: out of memory while serving it ({})",
          ctx.channel().remoteAddress(), cause.toString());
      if (ctx.pipeline().get("frameDecoder") != null) {
        ctx.pipeline().remove("frameDecoder");
      }
      flushPending = false;
      ctx.channel().writeAndFlush(DirectMemoryShortage.frameReply()).addListener(ChannelFutureListener.CLOSE);
    } else if (cause instanceof DecoderException) {
      Throwable root = cause.getCause() != null ? cause.getCause() : cause;
      ClientLog.warn(log, "malformed-frame", "closing {}: malformed binary frame: {}",
          ctx.channel().remoteAddress(), root.getMessage());
      ctx.close();
    } else if (cause instanceof IOException) {
      log.debug("closing {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    } else {
      ClientLog.warn(log, "connection-error", "closing {} after an unexpected error", ctx.channel().remoteAddress(), cause);
      ctx.close();
    }
  }

  private void write(ChannelHandlerContext ctx, Frame reply) {
    ctx.write(reply, ctx.voidPromise());
    flushPending = true;
  }

  /** An answer for requests the router must not see, or null to route it. */
  private static Frame validate(Frame request) {
    if (request.isResponse()) {
      return request.replyError(Status.BAD_REQUEST, "a response frame was sent as a request");
    }
    if (request.op() == null) {
      return request.replyError(
          Status.UNKNOWN_OPCODE, "unknown opcode 0x" + Integer.toHexString(request.opcode() & 0xFF));
    }
    switch (request.op()) {
      case MULTI_GET, MULTI_SET, MULTI_SET_IF_ABSENT, MULTI_DELETE, MULTI_EXISTS -> {
        // Checked before the list is decoded: its count alone is enough to refuse it.
        int count = io.distcache.protocol.ListCodec.peekCount(request.value());
        long keys = Integer.toUnsignedLong(count);
        if (count != -1 && keys > io.distcache.protocol.ProtocolConstants.MAX_MULTI_KEYS) {
          return request.replyError(Status.BAD_REQUEST, request.op() + " names " + keys + " keys, over the limit of "
              + io.distcache.protocol.ProtocolConstants.MAX_MULTI_KEYS + " in one request");
        }
      }
      default -> { }
    }
    return null;
  }

  /** The answer to a peer-only opcode on a client connection, or null when the request is a client's. */
  private Frame refuseClientOnly(ChannelHandlerContext ctx, Frame request) {
    if (request.op() == Opcode.CLUSTER_GOSSIP) {
      misuse(ctx, "sent a membership message (CLUSTER_GOSSIP; refused)");
      return request.replyError(Status.BAD_REQUEST,
          "CLUSTER_GOSSIP is accepted only on a peer connection (one opened with PEER_HELLO); ignored");
    }
    if (request.op() == Opcode.PEER_HELLO) {
      return request.replyError(Status.BAD_REQUEST, "PEER_HELLO is only accepted as the first frame of a connection");
    }
    if (request.op() == Opcode.REPLICATE || request.op() == Opcode.REPLICA_SYNC || request.op() == Opcode.REPLICA_LACKS
        || request.op() == Opcode.MIGRATE_PREPARE
        || request.op() == Opcode.PUBSUB_PUBLISH || request.op() == Opcode.TRACK_REGISTER
        || request.op() == Opcode.TRACK_INVALIDATE || request.op() == Opcode.FUNCTION_SYNC) {
      misuse(ctx, "sent a replication frame (" + request.op() + "; refused)");
      return request.replyError(Status.BAD_REQUEST,
          request.op() + " is accepted only on a peer connection (one opened with PEER_HELLO); ignored");
    }
    return null;
  }

  private void misuse(ChannelHandlerContext ctx, String what) {
    if (misuseLog.allow()) {
      long more = misuseLog.takeSuppressed();
      log.warn("client {} {}{}", ctx.channel().remoteAddress(), what,
          more > 0 ? " (" + more + " more such frames from clients not logged)" : "");
    }
  }

  private static Frame withoutForwarded(Frame r) {
    return new Frame(r.opcode(), r.flags() & ~Flags.FORWARDED, r.requestId(), r.status(), r.extras(), r.key(), r.value());
  }

  private static Frame resolve(Frame request, CompletableFuture<Frame> done) {
    try {
      Frame r = done.getNow(null);
      return r != null ? r : internalError(request, null);
    } catch (RuntimeException e) {
      return internalError(request, e);
    }
  }

  private static Frame internalError(Frame request, Throwable e) {
    return request.replyError(
        Status.INTERNAL_ERROR, "internal error: " + (e == null ? "no reply" : String.valueOf(e.getMessage())));
  }

  private static <T extends Throwable> T find(Throwable t, Class<T> type) {
    for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
