package io.distcache.server.net;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.pubsub.OutputLimit;
import io.distcache.server.tracking.ClusterTracking;
import io.distcache.server.tracking.TrackingTable;
import io.netty.channel.Channel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: CLIENT TRACKING for one binary-protocol connection (the Java client's near cache). The
 * same node-wide TrackingTable as Redis connections, under ids of their own (negative, so they
 * never meet a Redis CLIENT ID). A tracking connection's GET registers its key before it is routed,
 * and, when the node will forward it (a request not flagged ROUTED, for a key another member
 * owns), waits for the owner's registration first (ClusterTracking): the same ordering argument as
 * for Redis connections. Only GET is tracked: it is the one read the near cache keeps.
 *
 * INVALIDATE frames are written on the connection's event loop (the table calls from any thread,
 * perhaps with a store lock held), one frame per change, with request id 0. Bounded: bytes queued
 * plus those unsent in the channel are checked against the Redis side's pubsub output hard limit
 * (32 MiB by default); over it the connection is closed, so the client drops its near cache, which
 * is what it must do when invalidations can no longer reach it.
 */

/** Invalidation tracking state of one binary client connection. */
final class BinaryTracking implements TrackingTable.Reader {
  private static final Logger log = LoggerFactory.getLogger(BinaryTracking.class);
  private static final AtomicLong IDS = new AtomicLong();
  private static final int OVERHEAD_BYTES = 64;

  private final TrackingTable table;
  private final ClusterTracking cluster;
  private final Channel channel;
  private final long id = IDS.decrementAndGet();
  private final AtomicLong queuedBytes = new AtomicLong();
  private volatile boolean on;
  private volatile boolean closed;

  BinaryTracking(TrackingTable table, ClusterTracking cluster, Channel channel) {
    this.table = table;
    this.cluster = cluster;
    this.channel = channel;
  }

  @Override
  public long id() {
    return id;
  }

  @Override
  public boolean noLoop() {
    return false;
  }

  @Override
  public List<byte[]> prefixes() {
    return null;
  }

  /** Answers a TRACKING request. */
  Frame command(Frame r) {
    long mode = r.extra(0, -1);
    if (mode == 1) {
      on = true;
      table.enable(this);
    } else if (mode == 0) {
      on = false;
      table.disable(this);
    } else {
      return r.replyError(Status.BAD_REQUEST, "TRACKING needs extras [1] (on) or [0] (off), got " + mode);
    }
    return r.replyOk(0);
  }

  /**
   * Before a request is routed: a tracked GET remembers its key; returns what to wait for before
   * routing it (the owner's registration of a forwarded read), or null.
   */
  CompletableFuture<Void> before(Frame r) {
    if (!on || r.op() != Opcode.GET || r.key() == null) {
      return null;
    }
    table.remember(id, r.key());
    if (cluster == null || r.hasFlag(Flags.ROUTED)) {
      return null; // served here, or answered NOT_OWNER: never forwarded
    }
    CompletableFuture<Void> f = cluster.registerRemote(List.of(r.key()));
    return f.isDone() ? null : f;
  }

  /** The connection closed: nothing more is remembered for it. */
  void closed() {
    closed = true;
    if (on) {
      table.disable(this);
    }
  }

  @Override
  public void invalidate(List<byte[]> keys) {
    if (closed || !channel.isActive()) {
      return;
    }
    Frame push = keys == null
        ? new Frame(Opcode.INVALIDATE.code(), Flags.RESPONSE, 0, Status.OK, new long[] {Opcode.INVALIDATE_ALL},
            Frame.EMPTY, Frame.EMPTY)
        : new Frame(Opcode.INVALIDATE.code(), Flags.RESPONSE, 0, Status.OK, new long[] {Opcode.INVALIDATE_KEYS},
            Frame.EMPTY, ListCodec.encodeKeys(keys));
    int size = OVERHEAD_BYTES + push.value().length;
    io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    long pending = queuedBytes.addAndGet(size) + (out == null ? 0 : out.totalPendingWriteBytes());
    if (pending > OutputLimit.DEFAULT_HARD_BYTES) {
      closed = true;
      ClientLog.warn(log, "tracking-output", "closing tracking connection {}: {} bytes of invalidations unread, over {}",
          channel.remoteAddress(), pending, OutputLimit.DEFAULT_HARD_BYTES);
      channel.close();
      return;
    }
    try {
      channel.eventLoop().execute(() -> {
        queuedBytes.addAndGet(-size);
        channel.writeAndFlush(push, channel.voidPromise());
      });
    } catch (RejectedExecutionException stopping) {
      channel.close();
    }
  }
}
