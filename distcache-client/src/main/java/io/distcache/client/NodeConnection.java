package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameTooLargeException;
import io.distcache.protocol.Status;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: one TCP connection carries any number of requests at once. Each request gets a fresh id
 * and a slot in `pending`; the reply with that id completes it, in whatever order replies come.
 *
 * Who completes a pending request, exactly once: the reply (channelRead), its timeout (scheduled on
 * this channel's event loop and cancelled by the reply), a failed write, or the connection closing
 * (channelInactive fails everything still pending). Each of these first removes the id from the
 * map, and only the one that removed it completes the future, so a late reply after a timeout is
 * dropped instead of completing something twice.
 *
 * A request registered while the channel is closing is not lost: channelInactive may already have
 * run, but then the write fails and its listener fails the request.
 *
 * Back-pressure: a request finding the channel unwritable (its unsent bytes are over the pool's
 * high water mark, see NodePool) fails at once with a BUSY DistCacheException instead of joining
 * the queue, so a node that stops reading, or a link slower than the callers, costs a bounded
 * amount of memory here and a fast, retryable error there rather than a growing heap and
 * timeouts. The check sees the bytes already handed to the channel, not the outbox (below): requests
 * sent between two drains may all pass it, so the mark can be overshot by one batch.
 *
 * A reply over the max frame fails only its own request (TooLargeException): the decoder knows
 * the frame's end from its header, skips it and stays in sync, so the connection and every other
 * request on it go on. Closing instead would let one oversize reply fail a whole multiplexed
 * connection, which for a node's peer link means every request it forwards. Any other decoder
 * error leaves the stream unusable and closes it.
 *
 * Sending is batched. Callers are usually on another thread (a node forwarding from its own event
 * loop, an application thread); handing each request to this channel's loop on its own would cost a
 * task, a wake-up of that loop and a write syscall per request. Instead requests join `outbox`, and
 * only the first one since the last drain submits a drain task: the drain schedules the timeouts
 * (on the loop, where scheduling wakes nothing), writes every queued frame and flushes once. A node
 * forwarding a pipelined burst therefore sends it to the owner in one write.
 */
final class NodeConnection extends SimpleChannelInboundHandler<Frame> {
  private static final Logger log = LoggerFactory.getLogger(NodeConnection.class);

  private final Channel channel;
  /** host:port, for messages. */
  private final String address;
  private final long requestTimeoutMillis;
  private final ConcurrentHashMap<Integer, Pending<?>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger(1);
  /** Requests registered in `pending` and not yet written, oldest first. */
  private final ConcurrentLinkedQueue<Outgoing> outbox = new ConcurrentLinkedQueue<>();
  /** True from the moment a drain task is submitted until that drain starts taking from `outbox`. */
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final Runnable drain = this::drain;

  NodeConnection(Channel channel, String address, long requestTimeoutMillis) {
    super(Frame.class);
    this.channel = channel;
    this.address = address;
    this.requestTimeoutMillis = requestTimeoutMillis;
  }

  boolean isActive() {
    return channel.isActive();
  }

  int inFlight() {
    return pending.size();
  }

  /** Sends the call and completes {@code result} with its outcome. */
  <T> void send(Call<T> call, CompletableFuture<T> result) {
    send(call, result, false);
  }

  /**
   * Sends {@code request} as it is and completes {@code result} with the reply frame, whatever its
   * status (a node relaying replies must pass error statuses on, not turn them into exceptions).
   */
  void sendRaw(Frame request, CompletableFuture<Frame> result) {
    String op = request.op() != null ? request.op().name() : String.format("opcode 0x%02x", request.opcode() & 0xFF);
    send(new Call<>(op, request, reply -> reply), result, true);
  }

  private <T> void send(Call<T> call, CompletableFuture<T> result, boolean raw) {
    if (!channel.isWritable() && channel.isActive()) {
      result.completeExceptionally(new DistCacheUnavailableException(Status.BUSY, call.op() + " not sent: the connection to "
          + address + " is backed up (" + channel.bytesBeforeWritable() + " bytes to drain before it takes more)",
          null, true));
      return;
    }
    int id = nextId.getAndIncrement();
    Pending<T> p = new Pending<>(call, result, raw);
    pending.put(id, p);
    outbox.add(new Outgoing(id, call.request().withRequestId(id)));
    if (!drainScheduled.getAndSet(true)) {
      try {
        channel.eventLoop().execute(drain);
      } catch (RejectedExecutionException rejected) {
        drainScheduled.set(false);
        failOutbox(rejected);
      }
    }
  }

  /** On the channel's event loop: arm the timeouts, write what is queued, flush once. */
  private void drain() {
    drainScheduled.set(false);
    boolean wrote = false;
    for (Outgoing o; (o = outbox.poll()) != null; ) {
      int id = o.id();
      Pending<?> p = pending.get(id);
      if (p == null) {
        continue; // failed already (the connection closed)
      }
      p.timeout = channel.eventLoop().schedule(() -> timeOut(id), requestTimeoutMillis, TimeUnit.MILLISECONDS);
      channel.write(o.frame()).addListener(f -> {
        if (!f.isSuccess()) {
          fail(id, new DistCacheConnectionException(
              p.call.op() + " could not be sent to " + address + ": " + f.cause(), f.cause(), true));
        }
      });
      wrote = true;
    }
    if (wrote) {
      channel.flush();
    }
  }

  /** The event loop is gone (the client is closing): nothing queued will be written. */
  private void failOutbox(RejectedExecutionException cause) {
    for (Outgoing o; (o = outbox.poll()) != null; ) {
      Pending<?> p = pending.get(o.id());
      if (p != null) {
        fail(o.id(), new DistCacheConnectionException(p.call.op() + " failed: the client is closed", cause));
      }
    }
  }

  void close() {
    channel.close();
  }

  /** The client's near cache, told of invalidations and of this connection's loss; null without one. */
  private volatile NearCache nearCache;

  void nearCache(NearCache cache) {
    this.nearCache = cache;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, Frame reply) {
    if (reply.op() == io.distcache.protocol.Opcode.INVALIDATE && reply.requestId() == 0) {
      invalidated(reply);
      return;
    }
    Pending<?> p = pending.remove(reply.requestId());
    if (p == null) {
      log.debug("dropping a reply from {} to request id {}, which timed out or was never sent", address, reply.requestId());
      return;
    }
    p.cancelTimeout();
    p.complete(reply);
  }

  /** A node's INVALIDATE: keys this connection read changed. */
  private void invalidated(Frame push) {
    NearCache nc = nearCache;
    if (nc == null) {
      return;
    }
    if (push.extra(0, io.distcache.protocol.Opcode.INVALIDATE_ALL) == io.distcache.protocol.Opcode.INVALIDATE_KEYS) {
      try {
        nc.invalidate(io.distcache.protocol.ListCodec.decodeKeys(push.value()));
        return;
      } catch (io.distcache.protocol.ListCodec.MalformedListException e) {
        log.warn("malformed INVALIDATE from {} ({}); dropping the whole near cache", address, e.getMessage());
      }
    }
    nc.invalidateAll();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    NearCache nc = nearCache;
    if (nc != null) {
      nc.invalidateAll(); // invalidations sent on this connection may be lost
    }
    for (Integer id : pending.keySet()) {
      Pending<?> p = pending.get(id);
      if (p != null) {
        fail(id, new DistCacheConnectionException(
            p.call.op() + " failed: the connection to " + address + " closed before the reply"));
      }
    }
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    FrameTooLargeException tooLarge = tooLarge(cause);
    if (tooLarge != null) {
      log.debug("dropping an oversize reply from {}: {}", address, tooLarge.getMessage());
      fail(tooLarge.requestId(), new TooLargeException("the reply from " + address + " was refused: "
          + tooLarge.getMessage()));
      return;
    }
    // A corrupt reply stream cannot be resynchronised: drop the connection (its requests fail) and
    // let the pool reconnect on next use. A reset by the node (a restart) is routine, not a warning.
    if (cause instanceof IOException) {
      log.debug("closing the connection to {}: {}", address, cause.toString());
    } else {
      log.warn("closing the connection to {}: {}", address, cause.toString());
    }
    ctx.close();
  }

  private static FrameTooLargeException tooLarge(Throwable t) {
    for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
      if (t instanceof FrameTooLargeException e) {
        return e;
      }
    }
    return null;
  }

  private void timeOut(int id) {
    Pending<?> p = pending.get(id);
    if (p != null) {
      fail(id, new DistCacheTimeoutException(p.call.op() + " timed out after " + requestTimeoutMillis
          + " ms waiting for " + address + " (request id " + id + ")"));
    }
  }

  private void fail(int id, DistCacheException e) {
    Pending<?> p = pending.remove(id);
    if (p != null) {
      p.cancelTimeout();
      p.result.completeExceptionally(e);
    }
  }

  /** A request waiting in the outbox, with the connection's id already in its frame. */
  private record Outgoing(int id, Frame frame) {}

  private static final class Pending<T> {
    final Call<T> call;
    final CompletableFuture<T> result;
    /** Complete with the decoder's result even for an error status (see sendRaw). */
    final boolean raw;
    volatile ScheduledFuture<?> timeout;

    Pending(Call<T> call, CompletableFuture<T> result, boolean raw) {
      this.call = call;
      this.result = result;
      this.raw = raw;
    }

    void complete(Frame reply) {
      try {
        result.complete(raw ? call.decoder().apply(reply) : call.decode(reply));
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    }

    void cancelTimeout() {
      ScheduledFuture<?> t = timeout;
      if (t != null) {
        t.cancel(false);
      }
    }
  }
}
