package io.distcache.server.net;

import io.distcache.server.bus.ClusterSecret;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What the accepting side of the cluster bus needs, shared by every connection of one node: the
 * secret (or none), this node's member id, and the node-wide bounds on handshakes in progress and
 * on peer connections.
 */
public final class PeerAccess {
  /** Handshakes in progress at once, node-wide; one more is answered BUSY and closed. */
  public static final int DEFAULT_MAX_PENDING_HANDSHAKES = 64;
  /** Peer connections at once, node-wide (each member opens one per event loop of its own). */
  public static final int DEFAULT_MAX_PEER_CONNECTIONS = 1024;
  /**
   * Handshakes in progress at once from one source address. A client that opens PEER_HELLOs and
   * never sends the proof would otherwise hold every node-wide slot and keep real members out
   * (found in review); from one address it holds at most these.
   */
  public static final int DEFAULT_MAX_PENDING_PER_SOURCE = 16;
  /** A handshake not finished this long after it started is closed: a real one takes a round trip. */
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(2);

  private final ClusterSecret secret;
  private final Supplier<String> selfId;
  private final int maxPendingHandshakes;
  private final int maxPeerConnections;
  private final Duration handshakeTimeout;
  private final AtomicInteger pending = new AtomicInteger();
  private final int maxPendingPerSource;
  /** Handshakes in progress per source address (null: a channel without an IP address, in tests). */
  private final java.util.concurrent.ConcurrentHashMap<Object, AtomicInteger> pendingBySource =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger peers = new AtomicInteger();
  final LogLimiter failures = new LogLimiter();
  /** --tls-cluster yes: a peer handshake is accepted only on a cluster-bus TLS connection. */
  private volatile boolean tlsRequired;
  private volatile io.distcache.server.bus.PeerTlsPorts tlsPorts;

  /**
   * @param secret null: peers are accepted on their word (no proof)
   * @param selfId this node's member id, null until membership has started
   */
  public PeerAccess(ClusterSecret secret, Supplier<String> selfId, int maxPendingHandshakes, int maxPeerConnections,
      Duration handshakeTimeout) {
    this(secret, selfId, maxPendingHandshakes, Math.min(maxPendingHandshakes, DEFAULT_MAX_PENDING_PER_SOURCE),
        maxPeerConnections, handshakeTimeout);
  }

  public PeerAccess(ClusterSecret secret, Supplier<String> selfId, int maxPendingHandshakes, int maxPendingPerSource,
      int maxPeerConnections, Duration handshakeTimeout) {
    if (maxPendingPerSource < 1) {
      throw new IllegalArgumentException("pending handshakes per source must be at least 1: " + maxPendingPerSource);
    }
    this.maxPendingPerSource = maxPendingPerSource;
    if (selfId == null) {
      throw new IllegalArgumentException("selfId is required");
    }
    if (maxPendingHandshakes < 1 || maxPeerConnections < 1) {
      throw new IllegalArgumentException("peer limits must be at least 1: pending handshakes " + maxPendingHandshakes
          + ", peer connections " + maxPeerConnections);
    }
    if (handshakeTimeout == null || handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
      throw new IllegalArgumentException("handshake timeout must be positive: " + handshakeTimeout);
    }
    this.secret = secret;
    this.selfId = selfId;
    this.maxPendingHandshakes = maxPendingHandshakes;
    this.maxPeerConnections = maxPeerConnections;
    this.handshakeTimeout = handshakeTimeout;
  }

  public static PeerAccess of(ClusterSecret secret, Supplier<String> selfId) {
    return new PeerAccess(secret, selfId, DEFAULT_MAX_PENDING_HANDSHAKES, DEFAULT_MAX_PEER_CONNECTIONS,
        DEFAULT_HANDSHAKE_TIMEOUT);
  }

  /**
   * With {@code true} (--tls-cluster yes), a PEER_HELLO is accepted only on a connection that came
   * in on the cluster bus's mutual TLS; a plain one is refused (AUTH_FAILED, saying why).
   */
  public PeerAccess requireTls(boolean required) {
    this.tlsRequired = required;
    return this;
  }

  /** Where the handshake records each peer's TLS port, and takes ours from (null: ports not exchanged). */
  public PeerAccess tlsPorts(io.distcache.server.bus.PeerTlsPorts ports) {
    this.tlsPorts = ports;
    return this;
  }

  /** Our TLS port as the handshake tells it (0: none). */
  int selfTlsPort() {
    io.distcache.server.bus.PeerTlsPorts p = tlsPorts;
    return p == null ? 0 : p.self();
  }

  /** Records the TLS port a peer told us in a handshake that succeeded. */
  void learnedTlsPort(String peerId, int port) {
    io.distcache.server.bus.PeerTlsPorts p = tlsPorts;
    if (p != null && peerId != null) {
      p.learned(peerId, port);
    }
  }

  boolean tlsRequired() {
    return tlsRequired;
  }

  ClusterSecret secret() {
    return secret;
  }

  String selfId() {
    return selfId.get();
  }

  Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  int maxPendingHandshakes() {
    return maxPendingHandshakes;
  }

  int maxPeerConnections() {
    return maxPeerConnections;
  }

  AtomicInteger peerCounter() {
    return peers;
  }

  boolean tryBeginHandshake(Object source) {
    AtomicInteger fromSource = pendingBySource.computeIfAbsent(key(source), k -> new AtomicInteger());
    if (fromSource.incrementAndGet() > maxPendingPerSource) {
      endFrom(source, fromSource);
      return false;
    }
    if (pending.incrementAndGet() > maxPendingHandshakes) {
      pending.decrementAndGet();
      endFrom(source, fromSource);
      return false;
    }
    return true;
  }

  void endHandshake(Object source) {
    pending.decrementAndGet();
    AtomicInteger fromSource = pendingBySource.get(key(source));
    if (fromSource != null) {
      endFrom(source, fromSource);
    }
  }

  private void endFrom(Object source, AtomicInteger fromSource) {
    if (fromSource.decrementAndGet() <= 0) {
      pendingBySource.remove(key(source), fromSource);
    }
  }

  private static Object key(Object source) {
    return source != null ? source : "";
  }

  int maxPendingPerSource() {
    return maxPendingPerSource;
  }

  /** Authenticated peer connections open now. */
  public int peerConnections() {
    return peers.get();
  }

  /** Handshakes in progress now. */
  public int pendingHandshakes() {
    return pending.get();
  }
}
