package io.distcache.server.resp;

import io.distcache.server.net.ClientLog;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the invalidation messages bound for one Redis connection (its own, or those of clients
 * that REDIRECT to it). They arrive from any thread that changed a key, often with a store lock
 * held, so offering only queues; one task per burst on the connection's event loop renders them
 * through RespSession.push, after every reply issued before them, as RespSubscriber does for
 * pub/sub. Rendered as Redis does (tracking.c sendTrackingMessage): in RESP3 a push
 * ["invalidate", keys] (keys null for a flush); in RESP2 only while the connection is subscribed
 * to something, as a message on __redis__:invalidate whose payload is the key array; otherwise
 * nothing, since RESP2 has no way to carry it.
 *
 * Bounded like a subscriber: bytes queued here plus those unsent in the channel are checked against
 * client-output-buffer-limit pubsub; over it the connection is closed (a client that does not read
 * must not grow the node's memory), and the disconnection counted.
 */

/** Invalidation messages waiting to be written to one Redis connection. */
final class InvalidationOutbox {
  private static final Logger log = LoggerFactory.getLogger(InvalidationOutbox.class);
  static final byte[] CHANNEL = "__redis__:invalidate".getBytes(StandardCharsets.US_ASCII);
  private static final int OVERHEAD_BYTES = 48;

  private final RespSession session;
  private final io.netty.channel.Channel channel;
  private final RespContext context;
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicBoolean disconnected = new AtomicBoolean();
  private final long[] overSoft = new long[1];

  /** A flush: every key. */
  private static final Object ALL = new Object();

  /** tracking-redir-broken, for the client whose redirect target is gone. */
  private record Broken(long redirect) {}

  InvalidationOutbox(RespSession session, io.netty.channel.Channel channel, RespContext context) {
    this.session = session;
    this.channel = channel;
    this.context = context;
  }

  boolean active() {
    return channel.isActive() && !disconnected.get();
  }

  /** Queues an invalidation of {@code keys} (null: every key). Any thread; never blocks. */
  void offer(List<byte[]> keys) {
    Object m = keys == null ? ALL : keys;
    int size = OVERHEAD_BYTES;
    if (keys != null) {
      for (byte[] k : keys) {
        size += k.length + 16;
      }
    }
    enqueue(m, size);
  }

  /** Queues tracking-redir-broken (RESP3 only, as Redis). */
  void offerBroken(long redirect) {
    enqueue(new Broken(redirect), OVERHEAD_BYTES);
  }

  private void enqueue(Object m, int size) {
    if (!active()) {
      return;
    }
    io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    long pending = queuedBytes.addAndGet(size) + (out == null ? 0 : out.totalPendingWriteBytes());
    if (context.outputLimit().exceeded(pending, context.clock().nanos(), overSoft)) {
      if (disconnected.compareAndSet(false, true)) {
        context.outputLimit().countDisconnection();
        ClientLog.warn(log, "tracking-output", "closing tracking client {}: {} bytes of invalidations unread, over {}",
            channel.remoteAddress(), pending, context.outputLimit().describe());
        queue.clear();
        queuedBytes.set(0);
        channel.close();
      }
      return;
    }
    queue.add(new Sized(m, size));
    if (!drainScheduled.getAndSet(true)) {
      try {
        channel.eventLoop().execute(this::drain);
      } catch (RejectedExecutionException closing) {
        queue.clear();
      }
    }
  }

  private record Sized(Object message, int size) {}

  private void drain() {
    drainScheduled.set(false);
    Object o;
    boolean wrote = false;
    while ((o = queue.poll()) != null) {
      Sized s = (Sized) o;
      queuedBytes.addAndGet(-s.size());
      if (render(s.message())) {
        wrote = true;
      }
    }
    if (wrote) {
      session.pushed();
    }
  }

  @SuppressWarnings("unchecked")
  private boolean render(Object m) {
    boolean resp3 = session.protocol() >= 3;
    if (m instanceof Broken b) {
      if (!resp3) {
        return false;
      }
      session.push(w -> {
        w.push(2);
        w.bulk("tracking-redir-broken");
        w.integer(b.redirect());
      });
      return true;
    }
    if (!resp3 && !session.inSubscribedMode()) {
      return false; // RESP2 without a subscription: nowhere to put it (Redis sends nothing either)
    }
    List<byte[]> keys = m == ALL ? null : (List<byte[]>) m;
    session.push(w -> {
      if (resp3) {
        w.push(2);
        w.bulk("invalidate");
      } else {
        w.array(3);
        w.bulk("message");
        w.bulk(CHANNEL);
      }
      if (keys == null) {
        w.nil();
      } else {
        w.array(keys.size());
        for (byte[] k : keys) {
          w.bulk(k);
        }
      }
    });
    return true;
  }
}
