package io.distcache.junit5;

import io.distcache.client.ClusterMember;
import io.distcache.client.DistCacheClient;
import io.distcache.client.DistCacheException;
import io.distcache.server.DistCacheNode;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/*
 * Design: a fixture, registered with @RegisterExtension. In a static field it starts the nodes
 * before the class's first test and stops them after its last (its @Nested classes share them:
 * JUnit hands them the same extension, and only the context that started the nodes stops them);
 * in an instance field, around each test. Every node binds 127.0.0.1 on a port the OS picks, so tests never collide on ports. A
 * cluster's second and later nodes join the first, and the extension returns only once every
 * node reports every member ALIVE and done joining (each node asked through a client of its own), so a test starts
 * against a settled cluster; a cluster that does not settle within the ready timeout fails the
 * test setup with what each node saw. Stopping closes the clients the extension made, then every
 * node, even when one close fails.
 */

/**
 * Starts an embedded distcache node, or a small cluster, on free 127.0.0.1 ports for a test class
 * (static field) or for each test (instance field), and stops it afterwards.
 *
 * <pre>{@code
 * class MyTest {
 *   @RegisterExtension
 *   static final DistCacheExtension cache = DistCacheExtension.cluster(3);
 *
 *   @Test
 *   void roundTrip() {
 *     cache.client().set("k", "v");
 *     assertEquals("v", cache.client().get("k"));
 *   }
 * }
 * }</pre>
 */
public final class DistCacheExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
    AfterEachCallback {
  /** The most members a test cluster may have: each is a full node with its own threads. */
  public static final int MAX_MEMBERS = 9;
  /** The default memory limit of each node: small, as tests hold little. */
  public static final long DEFAULT_MAX_MEMORY_BYTES = 64L << 20;

  private final int members;
  private UnaryOperator<DistCacheNode.Builder> customizer = UnaryOperator.identity();
  private Duration readyTimeout = Duration.ofSeconds(30);
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private DistCacheClient client;
  /** The unique id of the context the nodes were started for; null while stopped. */
  private String owner;

  private DistCacheExtension(int members) {
    if (members < 1 || members > MAX_MEMBERS) {
      throw new IllegalArgumentException("members: expected 1.." + MAX_MEMBERS + ", got " + members);
    }
    this.members = members;
  }

  /**
   * One node.
   *
   * @return the extension, to register with {@code @RegisterExtension}
   */
  public static DistCacheExtension singleNode() {
    return new DistCacheExtension(1);
  }

  /**
   * A cluster of {@code members} nodes.
   *
   * @param members how many nodes, 1 to {@value #MAX_MEMBERS}
   * @return the extension, to register with {@code @RegisterExtension}
   */
  public static DistCacheExtension cluster(int members) {
    return new DistCacheExtension(members);
  }

  /**
   * Adjusts every node's builder before it starts (memory, replicas, authentication...). The
   * extension has already set the address (127.0.0.1, a free port), the memory limit ({@value
   * #DEFAULT_MAX_MEMORY_BYTES} bytes) and, for the second and later nodes, the address to join.
   *
   * @param customizer applied to each node's builder; returns the builder to start
   * @return this extension
   */
  public DistCacheExtension configure(UnaryOperator<DistCacheNode.Builder> customizer) {
    this.customizer = Objects.requireNonNull(customizer, "customizer");
    return this;
  }

  /**
   * How long a cluster may take to settle (every node seeing every member alive). Default 30 s.
   *
   * @param timeout positive
   * @return this extension
   */
  public DistCacheExtension readyTimeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("readyTimeout must be positive, got " + timeout);
    }
    this.readyTimeout = timeout;
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    startFor(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stopFor(context);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    startFor(context);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    stopFor(context);
  }

  /**
   * Starts the nodes for the outermost context that reaches the extension: a static field's class
   * (whose @Nested classes and tests then share the nodes), or each test of an instance field.
   */
  private synchronized void startFor(ExtensionContext context) {
    if (owner == null) {
      owner = context.getUniqueId();
      start();
    }
  }

  private synchronized void stopFor(ExtensionContext context) {
    if (context.getUniqueId().equals(owner)) {
      owner = null;
      stop();
    }
  }

  /**
   * The running nodes, the first one first (the one the others joined).
   *
   * @return the nodes
   */
  public List<DistCacheNode> nodes() {
    requireStarted();
    return List.copyOf(nodes);
  }

  /**
   * The first node.
   *
   * @return the first node
   */
  public DistCacheNode node() {
    requireStarted();
    return nodes.get(0);
  }

  /**
   * Every node's address, as {@code 127.0.0.1:port}.
   *
   * @return the addresses, in node order
   */
  public List<String> addresses() {
    requireStarted();
    List<String> out = new ArrayList<>(nodes.size());
    for (DistCacheNode n : nodes) {
      out.add("127.0.0.1:" + n.port());
    }
    return out;
  }

  /**
   * A client of every node, made on first use and closed with the nodes.
   *
   * @return the client
   */
  public synchronized DistCacheClient client() {
    requireStarted();
    if (client == null) {
      client = DistCacheClient.builder().addresses(addresses()).build();
    }
    return client;
  }

  /**
   * Starts the nodes now, for use outside JUnit 5 (JUnit calls it by itself); once it returns,
   * every node reports every member alive. Stop them with {@link #stop()}.
   *
   * @throws IllegalStateException when the nodes are already running
   */
  public synchronized void start() {
    if (!nodes.isEmpty()) {
      throw new IllegalStateException("nodes already started: register the extension once");
    }
    try {
      for (int i = 0; i < members; i++) {
        DistCacheNode.Builder b = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(DEFAULT_MAX_MEMORY_BYTES);
        if (i > 0) {
          b.joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", nodes.get(0).port())));
        }
        nodes.add(customizer.apply(b).start());
      }
      if (members > 1) {
        awaitSettled();
      }
    } catch (RuntimeException | Error e) {
      stop();
      throw e;
    }
  }

  /** Until every node reports every member ALIVE, or the ready timeout. */
  private void awaitSettled() {
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    List<DistCacheClient> probes = new ArrayList<>();
    try {
      for (DistCacheNode n : nodes) {
        probes.add(DistCacheClient.builder().addresses("127.0.0.1:" + n.port()).build());
      }
      String last = "";
      while (true) {
        StringBuilder views = new StringBuilder();
        boolean settled = true;
        for (int i = 0; i < probes.size(); i++) {
          List<ClusterMember> seen;
          try {
            seen = probes.get(i).refreshMembers();
          } catch (DistCacheException e) {
            seen = List.of();
          }
          long alive = seen.stream().filter(m -> m.state() == ClusterMember.State.ALIVE && !m.joining()).count();
          settled &= seen.size() == members && alive == members;
          views.append(" node ").append(i).append(": ").append(seen);
        }
        if (settled) {
          return;
        }
        last = views.toString();
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("a " + members + "-node cluster did not settle within " + readyTimeout
              + " (every member ALIVE on every node);" + last);
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
    } finally {
      probes.forEach(DistCacheClient::close);
    }
  }

  /**
   * Closes the extension's client, then every node (all of them, even when one close fails), for
   * use outside JUnit 5 (JUnit calls it by itself). Does nothing when no node runs.
   */
  public synchronized void stop() {
    RuntimeException failure = null;
    if (client != null) {
      client.close();
      client = null;
    }
    for (DistCacheNode n : nodes) {
      try {
        n.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    nodes.clear();
    if (failure != null) {
      throw failure;
    }
  }

  private void requireStarted() {
    if (nodes.isEmpty()) {
      throw new IllegalStateException("no node is running: use the extension inside a test it is registered for");
    }
  }
}
