package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.Clock;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.GossipMessage;
import io.distcache.server.membership.GossipTransport;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.membership.MembershipEngine;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.bus.Peers;
import io.distcache.server.placement.PlacementHolder;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the membership engine has no threads or sockets; this class gives it both.
 *
 * Threads. One single-threaded event loop ("distcache-membership") calls tick() every
 * tickInterval and handles every reply that comes back from a peer. Incoming CLUSTER_GOSSIP
 * requests are handled on the server event loop that read them, because the reply (an ACK) rides
 * on the same request's response. The engine's public methods are synchronized (checked in
 * MembershipEngine), so the two callers serialise on its lock; both are short (no I/O under the
 * lock: sends only enqueue on a peer connection).
 *
 * Transport. Each message is one CLUSTER_GOSSIP request on the cluster bus's multiplexed peer
 * connection to its address (Peers; CLUSTER_GOSSIP is refused on client connections); the
 * response's value, when not empty, is the engine's answer (an ACK to a PING, the full list to a
 * SYNC) and goes back into onMessage. A failed or timed-out request is a lost message: SWIM lives
 * with loss, so nothing retries here. Replies are handed to the membership loop, never handled on
 * the peer connection's thread, so the engine is never re-entered from inside one of its own sends.
 *
 * Start order. The router exists before the node binds (the protocol handlers need it), but the
 * advertised port is known only after binding when port 0 was asked; so the engine is created in
 * start(). Until then the ring is empty and every request is served locally.
 */

/** Runs this node's membership over the network and keeps the ring current. */
public final class ClusterMembership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

  private final MembershipConfig config;
  private final Clock clock;
  private final Peers peers;
  private final PlacementHolder placement;
  private final int virtualNodes;
  private final Set<CompletableFuture<Frame>> inFlight = ConcurrentHashMap.newKeySet();
  private final DefaultEventLoop loop = new DefaultEventLoop(new DefaultThreadFactory("distcache-membership", true));
  private volatile List<Address> seeds = List.of();
  private volatile MembershipEngine engine;

  public ClusterMembership(MembershipConfig config, int virtualNodes, Clock clock, Peers peers) {
    if (virtualNodes < 1 || virtualNodes > HashRing.MAX_VIRTUAL_NODES) {
      throw new IllegalArgumentException("virtual nodes " + virtualNodes + " is outside 1.." + HashRing.MAX_VIRTUAL_NODES);
    }
    this.config = config;
    this.clock = clock;
    this.peers = peers;
    this.virtualNodes = virtualNodes;
    this.placement = new PlacementHolder(virtualNodes);
  }

  /** Creates this node's member at {@code advertised}, joins through {@code seedAddresses} and starts ticking. */
  public synchronized void start(Address advertised, List<Address> seedAddresses) {
    if (engine != null) {
      throw new IllegalStateException("membership already started as " + engine.self());
    }
    SecureRandom random = new SecureRandom();
    Member self = new Member(Member.newId(System.currentTimeMillis(), random), advertised);
    MembershipEngine e = new MembershipEngine(self, config, new FrameTransport(), clock, random);
    seeds = List.copyOf(seedAddresses);
    // Peers first: the bus dials only addresses it was given here, so a new member must be
    // allowed before the placement can route a request to it.
    e.addListener(this::dropPeersNoLongerKnown);
    e.addListener(placement);
    engine = e;
    e.join(seedAddresses);
    long every = config.tickInterval().toNanos();
    loop.scheduleAtFixedRate(this::tick, every, every, TimeUnit.NANOSECONDS);
    log.info("member {} joining through {}", self, seedAddresses.isEmpty() ? "no seeds (a new cluster)" : seedAddresses);
  }

  private void tick() {
    try {
      engine.tick();
    } catch (RuntimeException e) {
      // One bad tick must not stop the timer for good (a thrown task is never rescheduled).
      log.error("membership tick failed", e);
    }
  }

  /** Members that are gone from the table (tombstones expired) no longer need a connection. */
  private void dropPeersNoLongerKnown(MembershipSnapshot snapshot) {
    Set<Address> keep = new HashSet<>(seeds);
    for (MemberStatus s : snapshot.members()) {
      keep.add(s.member().address());
    }
    peers.retainOnly(keep);
  }

  /** The current placement; empty before start. Never blocks. */
  public Placement placement() {
    return placement.current();
  }

  /** The holder of the placement, to listen to its changes. */
  public PlacementHolder placements() {
    return placement;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  /** This node's member, or null before start. */
  public Member self() {
    MembershipEngine e = engine;
    return e == null ? null : e.self();
  }

  /** The current member list, or empty before start. */
  public Optional<MembershipSnapshot> snapshot() {
    MembershipEngine e = engine;
    return e == null ? Optional.empty() : Optional.of(e.snapshot());
  }

  /** Answers one CLUSTER_GOSSIP request: the engine's reply in the value, empty when it has none. */
  Frame onGossip(Frame request) {
    MembershipEngine e = engine;
    if (e == null) {
      return request.replyError(Status.BUSY, "membership is not started yet");
    }
    GossipMessage message;
    try {
      message = GossipCodec.decode(request.value());
    } catch (GossipCodec.MalformedGossipException ex) {
      return request.replyError(Status.BAD_REQUEST, "malformed membership message: " + ex.getMessage());
    }
    Optional<GossipMessage> reply = e.onMessage(message);
    return request.replyValue(reply.map(GossipCodec::encode).orElse(Frame.EMPTY));
  }

  /**
   * Leaves the cluster: LEFT goes directly to every live member, and this waits (at most {@code
   * wait}) until they have answered, so the goodbye is not cut off by the close that follows.
   */
  public void leave(Duration wait) {
    MembershipEngine e = engine;
    if (e == null) {
      return;
    }
    // Wait for the goodbyes only: a ping still waiting on a dead member must not delay the stop.
    Set<CompletableFuture<Frame>> before = Set.copyOf(inFlight);
    e.leave();
    CompletableFuture<?>[] sent = inFlight.stream().filter(f -> !before.contains(f)).toArray(CompletableFuture<?>[]::new);
    try {
      CompletableFuture.allOf(sent).get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException ex) {
      log.warn("{} members did not confirm the leave within {} ms", sent.length, wait.toMillis());
    } catch (java.util.concurrent.ExecutionException ex) {
      log.debug("a leave message was lost: {}", ex.getMessage());
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the timer at once, without leaving: to peers this node just stops answering. */
  @Override
  public void close() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Carries each message in a CLUSTER_GOSSIP request; the response's value is the answer. */
  private final class FrameTransport implements GossipTransport {
    @Override
    public void send(Address to, GossipMessage message) {
      Frame request = Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, GossipCodec.encode(message));
      CompletableFuture<Frame> reply = peers.send(to, request);
      inFlight.add(reply);
      reply.whenComplete((frame, error) -> {
        inFlight.remove(reply);
        if (error != null) {
          log.debug("membership message to {} lost: {}", to, error.getMessage());
        } else if (frame.status() != Status.OK) {
          log.debug("{} refused a membership message: {} {}", to, frame.status(), frame.valueText());
        } else if (frame.value().length > 0) {
          try {
            loop.execute(() -> deliver(to, frame.value()));
          } catch (RejectedExecutionException stopped) {
            log.debug("membership stopped; dropping a reply from {}", to);
          }
        }
      });
    }

    private void deliver(Address from, byte[] bytes) {
      try {
        engine.onMessage(GossipCodec.decode(bytes));
      } catch (GossipCodec.MalformedGossipException e) {
        log.warn("malformed membership reply from {}: {}", from, e.getMessage());
      } catch (RuntimeException e) {
        log.error("membership reply from {} failed", from, e);
      }
    }
  }
}
