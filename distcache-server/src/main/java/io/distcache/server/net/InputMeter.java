package io.distcache.server.net;

import io.distcache.protocol.Status;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: one per connection, first in its pipeline, always on the connection's event loop. The
 * protocol decoder (RespDecoder, MeteredFrameDecoder) reports after each read how many bytes it
 * holds for the request not yet complete and how many requests it completed; from that the meter
 *
 *  - keeps the connection's share of the node-wide InputBudget, refusing the read that would pass it;
 *  - keeps, in the same budget, the requests that arrived whole but wait to run because the
 *    connection waits (holdWaiting/releaseWaiting, called by RespSession and BinaryRequestHandler
 *    only when a request is queued instead of run, so a connection that runs what it reads pays
 *    nothing per request). A request that completes while queued takes over what its incomplete
 *    part held (it is the same memory), so it is never counted twice. What waits is released as
 *    it runs, and all of it when the connection closes;
 *  - enforces --request-timeout: a request must arrive completely within it, counted from the read
 *    that brought its first byte. A client trickling a byte a second is closed at the deadline.
 *    While reading is paused (the client does not read its replies, or too many are in flight) the
 *    clock restarts: the missing bytes are then the node's doing, not the client's;
 *  - enforces --idle-timeout counted from the last complete request (Redis's `timeout`), so bytes
 *    that never make a request keep nobody open; a connection with replies still being written is
 *    not idle (a client slowly reading a long reply). The idle timeout is shared by the server's
 *    meters and may change while serving (CONFIG SET timeout): each meter reads it when it arms
 *    its timer, and NetServer re-arms every connection's timer when it changes.
 *
 * One timer per connection at most, armed for the earliest deadline and re-armed when it fires
 * early (deadlines only move forward), so the cost is one scheduled task per timeout period, not
 * one per read. Time is the event loop's Ticker. The decoder tells the meter how to refuse in its own protocol (Refuser).
 */

/** Per-connection accounting of incomplete requests: node-wide budget, request and idle timeouts. */
public final class InputMeter extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(InputMeter.class);
  private static final AttributeKey<InputMeter> KEY = AttributeKey.valueOf("distcache.inputMeter");

  /** How a protocol tells its client why the connection is being closed, and closes it. */
  @FunctionalInterface
  public interface Refuser {
    void refuse(Status status, String message);
  }

  /** For channels NetServer did not set up (tests' EmbeddedChannels): no budget, no timers. */
  private static final InputMeter UNMETERED = new InputMeter(null, 0, new java.util.concurrent.atomic.AtomicLong());

  private final InputBudget budget;
  private final long requestTimeoutNanos;
  /** The server's idle timeout in nanoseconds, 0 for none; shared and changeable. */
  private final java.util.concurrent.atomic.AtomicLong idleTimeout;

  private ChannelHandlerContext ctx;
  private Refuser refuser;
  /** Bytes this connection holds in the budget for its incomplete request. */
  private long held;
  /** Bytes this connection holds in the budget for complete requests waiting to run. */
  private long waitingHeld;
  /** Bytes this connection holds in the parked clients' share (a parked blocking pop). */
  private long parkedHeld;
  /** Why the last refusal was made (see refusal()); null until one. */
  private String refusal;
  /** A request has begun and not completely arrived; since when (the event loop's ticker). */
  private boolean pending;
  private long pendingSince;
  private long lastRequest;
  private ScheduledFuture<?> timer;
  private boolean refused;
  /** A peer's link (PeerGate accepted it): its frames count against this bound alone, see peerLink. */
  private boolean peerLink;

  /** One per connection; zero timeouts are disabled. */
  public InputMeter(InputBudget budget, Duration requestTimeout, Duration idleTimeout) {
    this(budget, requestTimeout.toNanos(), new java.util.concurrent.atomic.AtomicLong(idleTimeout.toNanos()));
  }

  private InputMeter(InputBudget budget, long requestTimeoutNanos, java.util.concurrent.atomic.AtomicLong idleTimeout) {
    this.budget = budget;
    this.requestTimeoutNanos = requestTimeoutNanos;
    this.idleTimeout = idleTimeout;
  }

  /**
   * The idle timeout changed: re-arms this connection's timer for its new earliest deadline (one
   * already past closes an idle connection now). Runs on the connection's event loop.
   */
  void rearm() {
    if (this == UNMETERED || refused || ctx == null) {
      return;
    }
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    armTimer(now());
  }

  /** The meter of {@code ch}, or one that accounts nothing when the channel has none. */
  public static InputMeter of(Channel ch) {
    InputMeter m = ch.attr(KEY).get();
    return m != null ? m : UNMETERED;
  }

  /**
   * This connection is a peer's link. What its frames hold still counts against --max-input-buffer
   * and is refused there as before, but only counted, never refused, in the node's shared heap
   * total: MULTI queues and subscriptions that clients fill there must not close the link that
   * carries forwarded replies and replication (a reviewer), nor turn a peer's forwarded request
   * that waits behind a held write or a script into TRY_AGAIN (holdWaiting). Event loop only.
   */
  public void peerLink() {
    peerLink = true;
  }

  /** Called by the protocol's decoder when it is installed. */
  public void refuser(Refuser r) {
    if (this != UNMETERED) {
      this.refuser = r;
    }
  }

  /**
   * After a read: the decoder now holds {@code heldBytes} for an incomplete request and completed
   * {@code completed} requests. Returns false when the connection must be refused (the budget is
   * full); the caller then refuses it in its protocol and discards what it holds.
   */
  public boolean afterRead(long heldBytes, int completed) {
    if (this == UNMETERED || refused) {
      return true;
    }
    long now = now();
    if (completed > 0) {
      lastRequest = now;
    }
    if (heldBytes <= 0) {
      pending = false;
    } else if (!pending || completed > 0) {
      pending = true;
      pendingSince = now;
    }
    if (!(peerLink ? budget.resizeOwn(held, heldBytes) : budget.resize(held, heldBytes))) {
      refused(heldBytes - held);
      return false;
    }
    held = heldBytes;
    armTimer(now);
    return true;
  }

  /**
   * A complete request of {@code bytes} (its heap and buffers) waits to run on this connection:
   * counted until {@link #releaseWaiting}, first out of what its incomplete part held. False (nothing
   * changed) when the rest would pass the node-wide limit: the caller refuses the connection in its
   * protocol, with {@link #refusal(boolean)}. Event loop only.
   */
  public boolean holdWaiting(long bytes) {
    if (this == UNMETERED) {
      return true;
    }
    long fromIncomplete = Math.min(held, bytes);
    long more = bytes - fromIncomplete;
    // A peer's forwarded request waiting behind a held write is its link's, as its frames are (peerLink).
    if (!(peerLink ? budget.resizeOwn(0, more) : budget.resize(0, more))) {
      refused(more);
      return false;
    }
    held -= fromIncomplete;
    waitingHeld += bytes;
    return true;
  }

  /**
   * A request that has run but holds {@code bytes} of heap while it waits inside the node for as
   * long as its client likes (a blocking pop's parked keys): counted in the parked clients' own
   * share of the node-wide bound (InputBudget.reserveParked) until {@link #releaseParked}. Null
   * when counted, else why not (for the client; logged like the other refusals). Event loop only.
   */
  public String holdParked(long bytes) {
    if (this == UNMETERED) {
      return null;
    }
    if (!budget.reserveParked(bytes)) {
      long limit = budget.limitBytes();
      if (bytes <= limit / InputBudget.PARKED_SHARES_PER_CLIENT && budget.parkedBytes() + bytes <= limit / 2
          && budget.usedBytes() + bytes <= limit) {
        String why = "a blocked client's keys (" + bytes + " bytes) " + budget.heap().overLimit();
        ClientLog.warn(log, "input-budget", "not parking a blocked client of {}: {}", ctx.channel().remoteAddress(), why);
        return why;
      }
      ClientLog.warn(log, "input-budget",
          "not parking a blocked client of {}: it needs {} bytes; parked clients hold {} of the {} they may"
              + " (half of --max-input-buffer {}, at most {} each), all requests {}",
          ctx.channel().remoteAddress(), bytes, budget.parkedBytes(), limit / 2, limit,
          limit / InputBudget.PARKED_SHARES_PER_CLIENT, budget.usedBytes());
      return "a blocked client's keys would take " + bytes + " bytes of the node's buffers for requests not yet"
          + " answered; parked clients hold " + budget.parkedBytes() + " of the " + limit / 2 + " they may (half of "
          + limit + ", --max-input-buffer, at most " + limit / InputBudget.PARKED_SHARES_PER_CLIENT
          + " each), all requests " + budget.usedBytes();
    }
    parkedHeld += bytes;
    return null;
  }

  /** A parked client counted by {@link #holdParked} answered or went. Event loop only. */
  public void releaseParked(long bytes) {
    if (this == UNMETERED) {
      return;
    }
    long b = Math.min(bytes, parkedHeld); // after the close, everything was released already
    budget.releaseParked(b);
    parkedHeld -= b;
  }

  /**
   * A request that ran holds {@code bytes} of heap until its reply comes (forwarded to its owner,
   * waiting for its replicas or a blocking pop): counted like a waiting request until
   * {@link #releaseWaiting}, first out of what its incomplete part held, and never refused (it
   * already ran); past the limit the other connections' growth is refused, and the caller stops
   * reading while {@link #full()}. {@code fromThisRead}: the request completed in the read being
   * handled (its incomplete part's share is its own). Event loop only.
   */
  public void holdInFlight(long bytes, boolean fromThisRead) {
    if (this == UNMETERED) {
      return;
    }
    // A request run from the connection's waiting queue released its own share as it ran; what the
    // incomplete part holds now belongs to a later request.
    long fromIncomplete = fromThisRead ? Math.min(held, bytes) : 0;
    budget.force(bytes - fromIncomplete);
    held -= fromIncomplete;
    waitingHeld += bytes;
  }

  /** The node-wide bound holds as much as it may: a connection holding requests in flight stops reading. */
  public boolean full() {
    return this != UNMETERED && budget.full();
  }

  /** A request counted by {@link #holdWaiting} runs now (or is dropped): it no longer counts. */
  public void releaseWaiting(long bytes) {
    if (this == UNMETERED) {
      return;
    }
    long b = Math.min(bytes, waitingHeld); // after the close, everything was released already
    budget.resize(b, 0);
    waitingHeld -= b;
  }

  /** Logs the refusal of {@code more} bytes and keeps its message for the client. */
  private void refused(long more) {
    refusal = budget.refusal(more);
    ClientLog.warn(log, "input-budget", "refusing {}: {}", ctx.channel().remoteAddress(), refusal);
  }

  /**
   * What the client is told when {@link #afterRead} or {@link #holdWaiting} refused it: the bytes
   * held, the limit and what it needed; {@code closing} adds that the connection closes.
   */
  public String refusal(boolean closing) {
    String why = refusal != null ? refusal : "the node's buffers for requests not yet run are full";
    return closing ? why + "; closing the connection" : why;
  }

  /**
   * The incomplete request is refused or failed: what it held no longer counts, no timer fires.
   * Requests waiting to run keep their share until they run or the connection closes.
   */
  public void release() {
    if (this == UNMETERED) {
      return;
    }
    refused = true;
    budget.resize(held, 0);
    held = 0;
    pending = false;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The node-wide budget, or null when unmetered. */
  InputBudget budget() {
    return budget;
  }

  long held() {
    return held;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.channel().attr(KEY).set(this);
    lastRequest = now();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    lastRequest = now();
    armTimer(lastRequest);
    super.channelActive(ctx);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    closed();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    closed();
  }

  /** The connection is gone: nothing it held counts any more, whoever still holds its requests. */
  private void closed() {
    release();
    releaseWaiting(waitingHeld);
    releaseParked(parkedHeld);
  }

  private long nextDeadline() {
    long next = Long.MAX_VALUE;
    long idleTimeoutNanos = idleTimeout.get();
    if (idleTimeoutNanos > 0) {
      next = lastRequest + idleTimeoutNanos;
    }
    if (requestTimeoutNanos > 0 && pending) {
      next = Math.min(next, pendingSince + requestTimeoutNanos);
    }
    return next;
  }

  private void armTimer(long now) {
    if (timer != null || refused || !ctx.channel().isActive()) {
      return;
    }
    long deadline = nextDeadline();
    if (deadline == Long.MAX_VALUE) {
      return;
    }
    timer = ctx.executor().schedule(this::check, Math.max(0, deadline - now), TimeUnit.NANOSECONDS);
  }

  private void check() {
    timer = null;
    if (refused || !ctx.channel().isActive()) {
      return;
    }
    long now = now();
    if (pending && requestTimeoutNanos > 0) {
      if (!ctx.channel().config().isAutoRead()) {
        pendingSince = now; // paused by the node: the client cannot be sending
      } else if (now - pendingSince >= requestTimeoutNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(requestTimeoutNanos);
        ClientLog.info(log, "request-timeout", "closing {}: a request did not arrive completely within {} ms",
            ctx.channel().remoteAddress(), ms);
        Refuser r = refuser;
        release();
        String message = "request not complete within " + ms + " ms (--request-timeout); closing the connection";
        if (r != null) {
          r.refuse(Status.BAD_REQUEST, message);
        } else {
          ctx.close();
        }
        return;
      }
    }
    long idleTimeoutNanos = idleTimeout.get();
    if (idleTimeoutNanos > 0 && now - lastRequest >= idleTimeoutNanos) {
      if (writing()) {
        lastRequest = now; // a client still reading a long reply is not idle
      } else {
        log.debug("closing idle connection {}", ctx.channel().remoteAddress());
        release();
        ctx.close();
        return;
      }
    }
    armTimer(now);
  }

  /** The event loop's clock (Netty's Ticker), which tests advance instead of sleeping. */
  private long now() {
    return ctx.executor().ticker().nanoTime();
  }

  private boolean writing() {
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    return out != null && out.totalPendingWriteBytes() > 0;
  }

  /** Builds the meters of one server. */
  static final class Factory {
    private final InputBudget budget;
    private final long requestTimeoutNanos;
    private final java.util.concurrent.atomic.AtomicLong idleTimeout;

    Factory(InputBudget budget, Duration requestTimeout, Duration idleTimeout) {
      this.budget = budget;
      this.requestTimeoutNanos = requestTimeout.toNanos();
      this.idleTimeout = new java.util.concurrent.atomic.AtomicLong(idleTimeout.toNanos());
    }

    InputMeter create() {
      return new InputMeter(budget, requestTimeoutNanos, idleTimeout);
    }

    Duration idleTimeout() {
      return Duration.ofNanos(idleTimeout.get());
    }

    void idleTimeout(Duration d) {
      idleTimeout.set(d.toNanos());
    }
  }
}
