package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.net.RawClient;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * In-process clusters with replicas for the membership-change tests: nodes on free 127.0.0.1
 * ports behind a firewalling peer transport, writers that record what was acknowledged, and the
 * check that every acknowledged write reads back through every live node and sits on every copy.
 */
final class ClusterFixture implements AutoCloseable {
  final FirewallPeers.Firewall firewall = new FirewallPeers.Firewall();
  final List<DistCacheNode> nodes = new CopyOnWriteArrayList<>();
  final List<DistCacheNode> stopped = new CopyOnWriteArrayList<>();
  /** How many GETs getAll sends before it reads their replies. */
  private static final int PIPELINE = 128;
  private final int replicas;
  private final ReplicationMode mode;

  private final io.distcache.server.membership.MembershipConfig membership;
  /** The nodes' forward timeout (DistCacheNode.Builder.forwardTimeout); the default when null. */
  java.time.Duration forwardTimeout;
  /** The --shutdown-timeout of the nodes started from now on; the default when null. */
  java.time.Duration shutdownTimeout;
  /** The --redirects of the nodes started from now on; the default when null. */
  io.distcache.server.resp.RedirectMode redirects;
  /** The heap budgets' shared limit of the nodes started from now on (Builder.heapBudgetBytes); the default when 0. */
  long heapBudgetBytes;

  ClusterFixture(int replicas, ReplicationMode mode) {
    this(replicas, mode, ClusterTest.FAST);
  }

  ClusterFixture(int replicas, ReplicationMode mode, io.distcache.server.membership.MembershipConfig membership) {
    this.replicas = replicas;
    this.mode = mode;
    this.membership = membership;
  }

  DistCacheNode start(DistCacheNode... seeds) {
    return startAt(0, seeds);
  }

  /** A node on {@code port} (0: any free port), joining through {@code seeds} (none: a founder). */
  DistCacheNode startAt(int port, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    FirewallPeers[] wrapped = new FirewallPeers[1];
    DistCacheNode.Builder builder = DistCacheNode.builder()
        .address("127.0.0.1", port)
        .maxMemoryBytes(64L * 1024 * 1024)
        .membership(membership)
        .replicas(replicas)
        .replication(mode)
        .joinAddresses(join)
        .peersDecorator(p -> wrapped[0] = new FirewallPeers(p, firewall));
    if (forwardTimeout != null) {
      builder.forwardTimeout(forwardTimeout);
    }
    if (shutdownTimeout != null) {
      builder.shutdownTimeout(shutdownTimeout);
    }
    if (redirects != null) {
      builder.redirects(redirects);
    }
    if (heapBudgetBytes > 0) {
      builder.heapBudgetBytes(heapBudgetBytes);
    }
    DistCacheNode n = builder.start();
    nodes.add(n);
    wrapped[0].self(address(n));
    return n;
  }

  List<DistCacheNode> live() {
    return nodes.stream().filter(n -> !stopped.contains(n)).toList();
  }

  void cluster(int size) {
    DistCacheNode first = start();
    for (int i = 1; i < size; i++) {
      start(first);
    }
    awaitSettled();
  }

  /**
   * Every live node has the same placement, without learners, with every slot servable. Members
   * join one after another (each learns, then takes over, two placements per join), so forming a
   * cluster takes several times a single change; on a loaded machine 4 nodes took over 15 s.
   */
  void awaitSettled() {
    List<DistCacheNode> live = live();
    try {
      await().atMost(ClusterTest.DEADLINE.multipliedBy(3)).untilAsserted(() -> {
        long fp = live.get(0).membership().placement().fingerprint();
        for (DistCacheNode n : live) {
          Placement p = n.membership().placement();
          assertThat(p.members()).hasSize(live.size());
          assertThat(p.hasLearners()).as("learners in %s", p).isFalse();
          assertThat(p.fingerprint()).isEqualTo(fp);
          assertThat(n.membership().guard().settled()).isTrue();
        }
      });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("the cluster did not settle:" + describe(live), e);
    }
  }

  /**
   * Each node's placement, the members it counts as learning, whether its guard settled and the
   * member states it holds: a formation that stalled once in CI left nothing else to go on.
   */
  static String describe(List<DistCacheNode> live) {
    StringBuilder b = new StringBuilder();
    for (DistCacheNode n : live) {
      Placement p = n.membership().placement();
      b.append("\n  ").append(n.membership().self()).append(": ").append(p).append(", learners ")
          .append(p.members().stream().filter(p::isLearner).map(Member::id).toList()).append(", settled ")
          .append(n.membership().guard().settled()).append(", join: ").append(n.membership().joinState())
          .append(", replica copies not whole: ").append(n.membership().replicaCopiesState()).append(", states ")
          .append(n.membership().snapshot().map(s -> s.members().toString()).orElse("none"));
    }
    return b.toString();
  }

  void kill(DistCacheNode n) {
    stopped.add(n);
    n.closeAbruptly();
  }

  /** What SIGTERM does. */
  void stop(DistCacheNode n) {
    stopped.add(n);
    n.close();
  }

  DistCacheNode nodeOf(Member m) {
    return live().stream().filter(n -> n.membership().self().equals(m)).findFirst().orElseThrow();
  }

  static Address address(DistCacheNode n) {
    return new Address("127.0.0.1", n.port());
  }

  /** A counter of an INFO section's text ({@code name:value}). */
  static long counter(String info, String name) {
    for (String line : info.split("\r\n")) {
      if (line.startsWith(name + ":")) {
        return Long.parseLong(line.substring(name.length() + 1));
      }
    }
    throw new AssertionError(name + " not in INFO: " + info);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Frame call(RawClient c, Frame request) {
    c.send(request.withRequestId(1));
    return c.read();
  }

  /**
   * GETs {@code keys} through {@code c} and returns the replies in the keys' order. The GETs go
   * pipelined, PIPELINE at a time, each reply matched to its key by request id (a missing,
   * duplicate or stray reply fails): one round trip per GET made the whole-keyspace checks most
   * of a membership test's time (assertIntact: 7.9 s for 5,614 keys on 4 nodes, 3.2 s pipelined).
   */
  static List<Frame> getAll(RawClient c, List<String> keys) {
    List<Frame> all = new ArrayList<>(keys.size());
    for (int from = 0; from < keys.size(); from += PIPELINE) {
      List<String> batch = keys.subList(from, Math.min(keys.size(), from + PIPELINE));
      Frame[] gets = new Frame[batch.size()];
      for (int i = 0; i < gets.length; i++) {
        gets[i] = Frame.request(Opcode.GET, b(batch.get(i))).withRequestId(i + 1);
      }
      c.send(gets);
      Frame[] replies = new Frame[gets.length];
      for (int i = 0; i < gets.length; i++) {
        Frame r = c.read();
        assertThat(r.requestId()).as("reply's request id").isBetween(1, gets.length);
        assertThat(replies[r.requestId() - 1]).as("a second reply to request %d", r.requestId()).isNull();
        replies[r.requestId() - 1] = r;
      }
      all.addAll(List.of(replies));
    }
    return all;
  }

  /** Writes {@code key} (to "v-" + key) through {@code entry}; returns it if acknowledged, else nothing. */
  static Map<String, String> writeOne(DistCacheNode entry, String key) {
    try (RawClient c = new RawClient(entry.port())) {
      boolean ok = call(c, Frame.request(Opcode.SET, 0, b(key), b("v-" + key))).status() == Status.OK;
      return ok ? Map.of(key, "v-" + key) : Map.of();
    }
  }

  /** Writes {@code count} keys through {@code entry}; returns what was acknowledged. */
  static Map<String, String> write(DistCacheNode entry, String prefix, int count) {
    Map<String, String> acked = new ConcurrentHashMap<>();
    try (RawClient c = new RawClient(entry.port())) {
      for (int i = 0; i < count; i++) {
        String k = prefix + i;
        if (call(c, Frame.request(Opcode.SET, 0, b(k), b("v-" + k))).status() == Status.OK) {
          acked.put(k, "v-" + k);
        }
      }
    }
    return acked;
  }

  /**
   * A client that keeps writing new keys through {@code entry} until stopped, recording every
   * acknowledged write in {@code acked} and every error reply in {@link #errors}.
   */
  static final class Writer implements AutoCloseable {
    final List<String> errors = new CopyOnWriteArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;

    Writer(DistCacheNode entry, String prefix, Map<String, String> acked) {
      thread = new Thread(() -> {
        try (RawClient c = new RawClient(entry.port())) {
          for (int i = 0; !stop.get(); i++) {
            String k = prefix + i;
            Frame r = call(c, Frame.request(Opcode.SET, 0, b(k), b("v-" + k)));
            if (r.status() == Status.OK) {
              acked.put(k, "v-" + k);
            } else {
              errors.add(k + ": " + r.status() + " " + r.valueText());
            }
          }
        }
      }, "test-writer-" + prefix);
      thread.start();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
    }
  }

  /** Writes k:0..count-1 through the first node until each was acknowledged once. */
  Map<String, String> writeEvery(int count) {
    DistCacheNode entry = nodes.get(0);
    Map<String, String> acked = write(entry, "k:", count);
    await().atMost(ClusterTest.DEADLINE).until(() -> {
      for (int i = 0; i < count; i++) {
        if (!acked.containsKey("k:" + i)) {
          acked.putAll(writeOne(entry, "k:" + i));
        }
      }
      return acked.size() == count;
    });
    return acked;
  }

  /** Every acknowledged write reads back through every live node, and is held by its owner and replicas. */
  void assertIntact(Map<String, String> acked) {
    List<Map.Entry<String, String>> entries = new ArrayList<>(acked.entrySet());
    List<String> keys = entries.stream().map(Map.Entry::getKey).toList();
    for (DistCacheNode n : live()) {
      try (RawClient c = new RawClient(n.port())) {
        List<Frame> replies = getAll(c, keys);
        for (int i = 0; i < entries.size(); i++) {
          Map.Entry<String, String> e = entries.get(i);
          Frame r = replies.get(i);
          assertThat(r.status()).as("GET %s through %s: %s (slot %d)", e.getKey(), n.port(), r.valueText(),
              KeySlot.of(b(e.getKey()))).isEqualTo(Status.OK);
          assertThat(r.valueText()).isEqualTo(e.getValue());
        }
      }
    }
    Placement p = live().get(0).membership().placement();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (String k : acked.keySet()) {
        int slot = KeySlot.of(b(k));
        List<Member> copies = new ArrayList<>(p.replicas(slot));
        copies.add(p.owner(slot));
        for (Member m : copies) {
          assertThat(nodeOf(m).store().get(b(k))).as("copy of %s on %s", k, m.address()).isEqualTo(b(acked.get(k)));
        }
      }
    });
  }

  /** No acknowledged key is answered TRY_AGAIN through any live node (a dead owner's lease has run out). */
  boolean noneRefused(Map<String, String> acked) {
    for (DistCacheNode n : live()) {
      try (RawClient c = new RawClient(n.port())) {
        for (String k : acked.keySet()) {
          if (call(c, Frame.request(Opcode.GET, b(k))).status() == Status.TRY_AGAIN) {
            return false;
          }
        }
      }
    }
    return true;
  }

  @Override
  public void close() {
    // Heal first: a node that closes behind a dropped link waits out its hand-off (--shutdown-timeout).
    firewall.clear();
    for (DistCacheNode n : nodes) {
      if (!stopped.contains(n)) {
        n.close();
      }
    }
  }
}
