package io.distcache.server.resp;

import io.distcache.server.net.ClientLog;
import io.distcache.server.pubsub.Name;
import io.distcache.server.pubsub.OutputLimit;
import io.distcache.server.pubsub.PubSubHub;
import io.distcache.server.pubsub.Subscriber;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the pub/sub side of one Redis connection. Its subscriptions (three ordered sets, as
 * Redis lists them on UNSUBSCRIBE without arguments) are touched only on the connection's event
 * loop, by its commands and by its close. Messages arrive from any publishing thread: each is put
 * on a lock-free queue and one task per burst, on the connection's loop, renders them through the
 * session, which writes them after every reply issued before them (RespSession.push), so a
 * SUBSCRIBE's confirmation always precedes the messages it lets in, and RESP3 pushes interleave
 * with replies as Redis interleaves them.
 *
 * Bounded: before queueing, the bytes not yet read by the client (queued here plus unsent in the
 * channel) are checked against client-output-buffer-limit pubsub (OutputLimit); over it the
 * connection is closed, its queue dropped, and the disconnection counted, as Redis does. A
 * connection that only subscribes and never reads therefore holds at most about the hard limit.
 */

/** One Redis connection's subscriptions, and the delivery of messages to it. */
final class RespSubscriber implements Subscriber {
  private static final Logger log = LoggerFactory.getLogger(RespSubscriber.class);
  private static final byte[] MESSAGE = ascii("message");
  private static final byte[] PMESSAGE = ascii("pmessage");
  private static final byte[] SMESSAGE = ascii("smessage");
  /** What a queued message costs beyond its bytes (the RESP framing and the queue node), roughly. */
  private static final int OVERHEAD_BYTES = 64;

  private final RespSession session;
  private final ClientState client;
  private final Channel channel;
  private final PubSubHub hub;
  private final OutputLimit limit;
  private final io.distcache.server.Clock clock;

  // On the event loop only.
  final Set<Name> channels = new LinkedHashSet<>();
  final Set<Name> patterns = new LinkedHashSet<>();
  final Set<Name> shardChannels = new LinkedHashSet<>();

  private final ConcurrentLinkedQueue<Delivery> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private final AtomicBoolean disconnected = new AtomicBoolean();
  /** When the unread output went over the soft limit (0: it is under it); see OutputLimit. */
  private final long[] overSoft = new long[1];
  private final Runnable drain = this::drain;

  private record Delivery(byte[] kind, byte[] pattern, byte[] channel, byte[] message) {
    int size() {
      return OVERHEAD_BYTES + channel.length + message.length + (pattern == null ? 0 : pattern.length);
    }
  }

  RespSubscriber(RespSession session, ClientState client, Channel channel, PubSubHub hub, OutputLimit limit,
      io.distcache.server.Clock clock) {
    this.session = session;
    this.client = client;
    this.channel = channel;
    this.hub = hub;
    this.limit = limit;
    this.clock = clock;
  }

  /** Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE confirmations carry. */
  int count() {
    return channels.size() + patterns.size();
  }

  /** Every subscription, of the three kinds: the connection is in subscribed mode while it is not 0. */
  int total() {
    return channels.size() + patterns.size() + shardChannels.size();
  }

  // ---- subscriptions (event loop) ----

  boolean subscribe(byte[] name, PubSubHub.Reservation room) {
    boolean added = channels.add(new Name(name));
    if (added) {
      hub.subscribe(this, name, room);
    }
    published();
    return added;
  }

  boolean unsubscribe(byte[] name) {
    boolean removed = channels.remove(new Name(name));
    if (removed) {
      hub.unsubscribe(this, name);
    }
    published();
    return removed;
  }

  boolean psubscribe(byte[] name, PubSubHub.Reservation room) {
    boolean added = patterns.add(new Name(name));
    if (added) {
      hub.psubscribe(this, name, room);
    }
    published();
    return added;
  }

  boolean punsubscribe(byte[] name) {
    boolean removed = patterns.remove(new Name(name));
    if (removed) {
      hub.punsubscribe(this, name);
    }
    published();
    return removed;
  }

  boolean ssubscribe(byte[] name, PubSubHub.Reservation room) {
    boolean added = shardChannels.add(new Name(name));
    if (added) {
      hub.ssubscribe(this, name, room);
    }
    published();
    return added;
  }

  boolean sunsubscribe(byte[] name) {
    boolean removed = shardChannels.remove(new Name(name));
    if (removed) {
      hub.sunsubscribe(this, name);
    }
    published();
    return removed;
  }

  /** The connection closed or was RESET: every subscription goes, and nothing more is delivered. */
  void clear() {
    for (Name n : channels) {
      hub.unsubscribe(this, n.bytes());
    }
    for (Name n : patterns) {
      hub.punsubscribe(this, n.bytes());
    }
    for (Name n : shardChannels) {
      hub.sunsubscribe(this, n.bytes());
    }
    channels.clear();
    patterns.clear();
    shardChannels.clear();
    published();
    queue.clear();
    queuedBytes.set(0);
  }

  /** CLIENT LIST's sub, psub and ssub. */
  private void published() {
    client.sub = channels.size();
    client.psub = patterns.size();
    client.ssub = shardChannels.size();
  }

  // ---- delivery (any thread) ----

  @Override
  public void message(byte[] channelName, byte[] message) {
    enqueue(new Delivery(MESSAGE, null, channelName, message));
  }

  @Override
  public void patternMessage(byte[] pattern, byte[] channelName, byte[] message) {
    enqueue(new Delivery(PMESSAGE, pattern, channelName, message));
  }

  @Override
  public void shardMessage(byte[] channelName, byte[] message) {
    enqueue(new Delivery(SMESSAGE, null, channelName, message));
  }

  private void enqueue(Delivery d) {
    if (disconnected.get()) {
      return;
    }
    long unread = queuedBytes.get() + unsent();
    boolean over;
    synchronized (overSoft) {
      over = limit.exceeded(unread, clock.nanos(), overSoft);
    }
    if (over) {
      disconnect(unread);
      return;
    }
    queuedBytes.addAndGet(d.size());
    queue.add(d);
    if (!drainScheduled.getAndSet(true)) {
      try {
        channel.eventLoop().execute(drain);
      } catch (RejectedExecutionException shuttingDown) {
        queue.clear();
      }
    }
  }

  private long unsent() {
    ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  private void disconnect(long unread) {
    disconnect(unread, null);
  }

  /** Closes the connection; {@code why} null: over client-output-buffer-limit pubsub. */
  private void disconnect(long unread, String why) {
    if (!disconnected.compareAndSet(false, true)) {
      return;
    }
    limit.countDisconnection();
    if (why == null) {
      ClientLog.warn(log, "pubsub-output-limit", "closing subscriber {}: {} bytes unread are over client-output-buffer-limit"
          + " pubsub {} {} {}", client.address, unread, limit.hardBytes(), limit.softBytes(), limit.softSeconds());
    } else {
      ClientLog.warn(log, "pubsub-out-of-memory", "closing subscriber {} with {} bytes unread: {}", client.address, unread, why);
    }
    queue.clear();
    queuedBytes.set(0);
    channel.close();
  }

  /** On the event loop: renders the queued messages behind the replies already issued, then flushes. */
  private void drain() {
    drainScheduled.set(false);
    Delivery d;
    boolean any = false;
    while ((d = queue.poll()) != null) {
      queuedBytes.addAndGet(-d.size());
      if (disconnected.get() || !channel.isActive()) {
        continue;
      }
      Delivery m = d;
      try {
        session.push(w -> {
          w.push(m.pattern == null ? 3 : 4);
          w.bulk(m.kind);
          if (m.pattern != null) {
            w.bulk(m.pattern);
          }
          w.bulk(m.channel);
          w.bulk(m.message);
        });
      } catch (OutOfMemoryError noRoom) {
        // The node's direct memory is spent (many subscribers, each under its own limit, not
        // reading): this subscriber, whose buffer could not grow, goes, as one over its limit
        // does. Thrown on, it was one unthrottled WARN with a stack trace per message (a tester:
        // 59 in one burst) and the subscriber stayed.
        disconnect(queuedBytes.get() + unsent(), "the node's memory for output buffers is exhausted ("
            + noRoom.getMessage() + ")");
        return;
      }
      any = true;
    }
    if (any) {
      session.pushed();
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
