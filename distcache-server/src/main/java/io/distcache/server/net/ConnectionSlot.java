package io.distcache.server.net;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which counter a connection is counted in: clients (against --max-connections), refusals still
 * waiting to be answered, or peers. A connection starts as a client or a refusal (NetServer decides
 * at accept) and may become a peer after its handshake; whichever counter holds it when it closes
 * is decremented, exactly once.
 */
final class ConnectionSlot {
  private static final AttributeKey<ConnectionSlot> KEY = AttributeKey.valueOf("distcache.connectionSlot");

  /** The counter this connection is in now; null once released. Guarded by this. */
  private AtomicInteger held;

  private ConnectionSlot(AtomicInteger held) {
    this.held = held;
  }

  /** Counts {@code ch} in {@code counter} (already incremented by the caller) until it closes. */
  static void attach(Channel ch, AtomicInteger counter) {
    ConnectionSlot slot = new ConnectionSlot(counter);
    ch.attr(KEY).set(slot);
    ch.closeFuture().addListener(f -> slot.release());
  }

  /**
   * Moves {@code ch} into {@code to} unless that would take it over {@code limit}; true when moved.
   * A channel NetServer did not count (a test's EmbeddedChannel) is simply counted in {@code to}.
   */
  static boolean moveTo(Channel ch, AtomicInteger to, int limit) {
    ConnectionSlot slot = ch.attr(KEY).get();
    if (to.incrementAndGet() > limit) {
      to.decrementAndGet();
      return false;
    }
    if (slot == null) {
      slot = new ConnectionSlot(null);
      ch.attr(KEY).set(slot);
      ConnectionSlot s = slot;
      ch.closeFuture().addListener(f -> s.release());
    }
    synchronized (slot) {
      if (slot.held != null) {
        slot.held.decrementAndGet();
      }
      slot.held = to;
    }
    if (!ch.isOpen()) {
      slot.release(); // closed while moving: the close listener may have run already
    }
    return true;
  }

  private synchronized void release() {
    if (held != null) {
      held.decrementAndGet();
      held = null;
    }
  }
}
