package io.distcache.server;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.bus.Peers;
import io.distcache.server.bus.NotSentException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/*
 * Design: a firewall between in-JVM nodes, at the Peers interface, so partitions and lost
 * heartbeats are tested deterministically in one JVM. One Firewall holds the rules for every node;
 * each node's Peers is wrapped (DistCacheNode.Builder.peersDecorator) in a FirewallPeers that
 * knows which node it belongs to (by its advertised address, set once the node has started). A
 * rule names a direction (from -> to):
 *
 *   block   the request fails at once, as if the connection were refused
 *   drop    the request never gets a reply, so the sender's own timeout fires (a lost packet)
 *   delay   the request goes out after the delay, and its reply comes back normally
 *
 * Every send is also recorded (to, opcode), for tests that check where a node tried to connect.
 */

/** A {@link Peers} decorator that blocks, drops or delays traffic between chosen nodes. */
final class FirewallPeers implements Peers {

  enum Action { BLOCK, DROP, DELAY }

  /** The rules shared by the nodes of one test cluster. */
  static final class Firewall {
    private final Map<String, Action> rules = new ConcurrentHashMap<>();
    private final Map<String, Duration> delays = new ConcurrentHashMap<>();

    /** Traffic from {@code from} to {@code to} (one direction) gets {@code action}. */
    void set(Address from, Address to, Action action, Duration delay) {
      rules.put(from + ">" + to, action);
      if (delay != null) {
        delays.put(from + ">" + to, delay);
      }
    }

    /** Blocks both directions between {@code node} and each of {@code others}. */
    void isolate(Address node, List<Address> others) {
      for (Address o : others) {
        set(node, o, Action.BLOCK, null);
        set(o, node, Action.BLOCK, null);
      }
    }

    void clear() {
      rules.clear();
      delays.clear();
      droppedOps.clear();
    }

    private final Map<String, Boolean> droppedOps = new ConcurrentHashMap<>();

    /** Frames of {@code op} from {@code from} to {@code to} get no reply (the sender's timeout fires); others pass. */
    void dropOpcode(Address from, Address to, io.distcache.protocol.Opcode op) {
      droppedOps.put(from + ">" + to + ">" + op, Boolean.TRUE);
    }

    /** Frames of {@code op} to {@code to} from any node get no reply (for a node whose address is not known yet). */
    void dropOpcodeFromAnyone(Address to, io.distcache.protocol.Opcode op) {
      droppedOps.put("*>" + to + ">" + op, Boolean.TRUE);
    }

    /** Lifts {@link #dropOpcodeFromAnyone}. */
    void passOpcodeFromAnyone(Address to, io.distcache.protocol.Opcode op) {
      droppedOps.remove("*>" + to + ">" + op);
    }

    boolean dropsOpcode(Address from, Address to, io.distcache.protocol.Opcode op) {
      return from != null && (droppedOps.containsKey(from + ">" + to + ">" + op)
          || droppedOps.containsKey("*>" + to + ">" + op));
    }

    Action action(Address from, Address to) {
      return from == null ? null : rules.get(from + ">" + to);
    }

    Duration delay(Address from, Address to) {
      return delays.getOrDefault(from + ">" + to, Duration.ZERO);
    }
  }

  private final Peers inner;
  private final Firewall firewall;
  private volatile Address self;
  final List<Address> sentTo = new CopyOnWriteArrayList<>();

  FirewallPeers(Peers inner, Firewall firewall) {
    this.inner = inner;
    this.firewall = firewall;
  }

  /** The node this wraps, once it has started (its advertised address). */
  void self(Address self) {
    this.self = self;
  }

  @Override
  public CompletableFuture<Frame> send(Address to, Frame request) {
    sentTo.add(to);
    if (firewall.dropsOpcode(self, to, request.op())) {
      return new CompletableFuture<Frame>().orTimeout(2, TimeUnit.SECONDS);
    }
    Action a = firewall.action(self, to);
    if (a == null) {
      return inner.send(to, request);
    }
    switch (a) {
      case BLOCK:
        return CompletableFuture.failedFuture(new NotSentException("firewall: " + self + " -> " + to + " blocked"));
      case DROP:
        return new CompletableFuture<Frame>().orTimeout(2, TimeUnit.SECONDS);
      default:
        long ms = firewall.delay(self, to).toMillis();
        return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS))
            .thenCompose(x -> inner.send(to, request));
    }
  }

  @Override
  public void retainOnly(Set<Address> keep) {
    inner.retainOnly(keep);
  }

  @Override
  public void close() {
    inner.close();
  }
}
