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
  /** A handshake not finished this long after it started is closed. */
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  private final ClusterSecret secret;
  private final Supplier<String> selfId;
  private final int maxPendingHandshakes;
  private final int maxPeerConnections;
  private final Duration handshakeTimeout;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger peers = new AtomicInteger();
  final LogLimiter failures = new LogLimiter();

  /**
   * @param secret null: peers are accepted on their word (no proof)
   * @param selfId this node's member id, null until membership has started
   */
  public PeerAccess(ClusterSecret secret, Supplier<String> selfId, int maxPendingHandshakes, int maxPeerConnections,
      Duration handshakeTimeout) {
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

  boolean tryBeginHandshake() {
    if (pending.incrementAndGet() > maxPendingHandshakes) {
      pending.decrementAndGet();
      return false;
    }
    return true;
  }

  void endHandshake() {
    pending.decrementAndGet();
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
