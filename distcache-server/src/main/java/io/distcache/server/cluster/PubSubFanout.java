package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import io.distcache.server.pubsub.PubSubHub;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: Redis Cluster's PUBLISH reaches the subscribers of every node; here the node that took a
 * PUBLISH (or owns an SPUBLISH's slot) sends one PUBSUB_PUBLISH request to every other member of the
 * placement over the cluster bus, on the calling event loop's multiplexed peer connection (no
 * thread hop, no new connection). Delivery is at most once, as Redis's: nothing is retried.
 *
 * Bounded: at most MAX_IN_FLIGHT_PER_PEER messages wait for their acknowledgement per peer; past
 * that the message is not sent to that peer and counted in pubsub_fanout_dropped (a peer that
 * stopped answering must not make this node queue messages without bound; the bus itself also
 * fails requests at once while a peer's connection is over its write high mark). Failures are
 * logged at most once per LOG_INTERVAL.
 *
 * Order: messages from one publishing connection go out on one event loop's link to each peer, in
 * order, so a subscriber elsewhere sees one publisher's messages in the order it published them.
 */

/** Sends local publications to the other members of the cluster. */
public final class PubSubFanout implements PubSubHub.Broadcaster {
  private static final Logger log = LoggerFactory.getLogger(PubSubFanout.class);
  /** Messages awaiting acknowledgement from one peer before further ones to it are dropped. */
  public static final int MAX_IN_FLIGHT_PER_PEER = 8192;
  private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

  private final ClusterRouter router;
  private final Peers peers;
  private final Map<Address, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final LongAdder sent = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final java.util.concurrent.atomic.AtomicLong lastLog =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);

  public PubSubFanout(ClusterRouter router, Peers peers) {
    this.router = router;
    this.peers = peers;
  }

  @Override
  public void broadcast(boolean shard, byte[] channel, byte[] message) {
    Placement placement = router.placement();
    if (placement.size() <= 1) {
      return; // a lone node: nobody else to tell
    }
    Member self = router.self();
    for (Member m : placement.members()) {
      if (m.equals(self)) {
        continue;
      }
      AtomicInteger waiting = inFlight.computeIfAbsent(m.address(), a -> new AtomicInteger());
      if (waiting.incrementAndGet() > MAX_IN_FLIGHT_PER_PEER) {
        waiting.decrementAndGet();
        dropped.increment();
        warn("peer {} has {} pub/sub messages unacknowledged; dropping messages to it", m.address(),
            MAX_IN_FLIGHT_PER_PEER);
        continue;
      }
      Frame request = Frame.request(Opcode.PUBSUB_PUBLISH, 0, channel, message,
          shard ? Opcode.PUBLISH_KIND_SHARD : Opcode.PUBLISH_KIND_GLOBAL);
      sent.increment();
      peers.send(m.address(), request).whenComplete((reply, error) -> {
        waiting.decrementAndGet();
        if (error != null) {
          dropped.increment();
          warn("pub/sub message to {} lost: {}", m.address(), error.getMessage());
        } else if (reply.status().isError()) {
          dropped.increment();
          warn("pub/sub message to {} refused: {}", m.address(), reply.valueText());
        }
      });
    }
  }

  /** Messages sent to peers (INFO pubsub_fanout_sent). */
  public long sent() {
    return sent.sum();
  }

  /** Messages not delivered to a peer: over the bound, refused or lost (INFO pubsub_fanout_dropped). */
  public long dropped() {
    return dropped.sum();
  }

  private void warn(String format, Object a, Object b) {
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last >= LOG_INTERVAL_NANOS && lastLog.compareAndSet(last, now)) {
      log.warn(format, a, b);
    }
  }
}
