package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.server.ManualClock;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * A network of membership engines in one thread, Hazelcast-firewall style: links can be blocked
 * (one way or both), members partitioned or slowed down. Messages wait in a queue ordered by
 * delivery time and are delivered only by {@link #deliverDue()}, so nothing happens behind a
 * test's back. Every message goes through {@link GossipCodec} on the way, as it would on a wire.
 */
final class InMemoryNetwork {
  private record Link(Address from, Address to) {}

  private record Envelope(long deliverAtNanos, long order, Address from, Address to, byte[] bytes) {}

  private final ManualClock clock;
  private final Map<Address, MembershipEngine> engines = new HashMap<>();
  private final Set<Link> blocked = new HashSet<>();
  private final Map<Address, Long> outboundDelayNanos = new HashMap<>();
  private final PriorityQueue<Envelope> queue = new PriorityQueue<>(
      (a, b) -> a.deliverAtNanos != b.deliverAtNanos
          ? Long.compare(a.deliverAtNanos, b.deliverAtNanos)
          : Long.compare(a.order, b.order));
  private long order;
  private long delivered;
  private long dropped;

  InMemoryNetwork(ManualClock clock) {
    this.clock = clock;
  }

  /** The transport for the engine that will sit at {@code self}. */
  GossipTransport transportFor(Address self) {
    return (to, message) -> enqueue(self, to, message);
  }

  void attach(MembershipEngine engine) {
    engines.put(engine.self().address(), engine);
  }

  /** The process is gone: messages to it vanish. */
  void detach(Address address) {
    engines.remove(address);
  }

  void blockBothWays(Address a, Address b) {
    blocked.add(new Link(a, b));
    blocked.add(new Link(b, a));
  }

  void partition(Collection<Address> side1, Collection<Address> side2) {
    for (Address a : side1) {
      for (Address b : side2) {
        blockBothWays(a, b);
      }
    }
  }

  /** Everything this member sends arrives {@code millis} late. */
  void delayFrom(Address address, long millis) {
    outboundDelayNanos.put(address, millis * 1_000_000L);
  }

  /** Removes every block and delay. */
  void heal() {
    blocked.clear();
    outboundDelayNanos.clear();
  }

  /** Delivers every message due by now, including replies and messages they cause. */
  void deliverDue() {
    while (!queue.isEmpty() && queue.peek().deliverAtNanos <= clock.nanos()) {
      Envelope e = queue.poll();
      MembershipEngine target = engines.get(e.to);
      if (target == null || blocked.contains(new Link(e.from, e.to))) {
        dropped++;
        continue;
      }
      delivered++;
      Optional<GossipMessage> reply = target.onMessage(GossipCodec.decode(e.bytes));
      reply.ifPresent(r -> enqueue(e.to, e.from, r));
    }
  }

  long delivered() {
    return delivered;
  }

  long dropped() {
    return dropped;
  }

  private void enqueue(Address from, Address to, GossipMessage message) {
    long at = clock.nanos() + outboundDelayNanos.getOrDefault(from, 0L);
    queue.add(new Envelope(at, order++, from, to, GossipCodec.encode(message)));
  }
}
