package io.distcache.server.tracking;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: tracking across members, for a client on a plain (non-cluster) connection whose reads
 * this node forwards to the keys' owners. Redis Cluster has no such case (its clients read from the
 * owner, which remembers them); here the entry node remembers the key for its client as usual, and
 * before forwarding the read it registers itself with the owner (TRACK_REGISTER) and waits for the
 * OK. The owner then treats the entry node as one more reader of the key: its next change sends a
 * TRACK_INVALIDATE back, which the entry node applies to its own table (invalidating the key for
 * its clients). Waiting for the OK costs the first tracked read of a forwarded key one more round
 * trip, and is what makes it correct: a write the owner applies after the read ran is certain to
 * find the registration (TrackingTable's ordering argument, across two nodes).
 *
 * If the registration fails (the owner is unreachable, or refused), the read still runs and the key
 * is invalidated for its readers here right after it: the client gets the value, then is told to
 * drop it. A slot whose owner changes is invalidated by every node's TrackingTable placement
 * listener, so readers never rely on a registration made with an owner that no longer serves it.
 *
 * Bounded: at most MAX_IN_FLIGHT_PER_PEER invalidations wait for a peer's acknowledgement. Past it,
 * or when one is lost, the peer is sent one invalidation of everything instead (it then tells all
 * its tracking clients to drop every key), so a lost message never leaves a stale copy behind
 * unless the peer cannot be reached at all; failures are logged at most once per LOG_INTERVAL.
 */

/** TRACK_REGISTER and TRACK_INVALIDATE: client tracking for reads forwarded between members. */
public final class ClusterTracking implements TrackingTable.PeerNotifier {
  private static final Logger log = LoggerFactory.getLogger(ClusterTracking.class);
  /** Invalidations awaiting acknowledgement from one peer before it is sent "everything" instead. */
  public static final int MAX_IN_FLIGHT_PER_PEER = 8192;
  private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

  private final TrackingTable table;
  private final Peers peers;
  private final Supplier<Member> self;
  private final Supplier<Placement> placement;
  private final Map<Address, AtomicInteger> inFlight = new ConcurrentHashMap<>();
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);

  public ClusterTracking(TrackingTable table, Peers peers, Supplier<Member> self, Supplier<Placement> placement) {
    this.table = table;
    this.peers = peers;
    this.self = self;
    this.placement = placement;
    table.peerNotifier(this);
  }

  public TrackingTable table() {
    return table;
  }

  /**
   * Registers this node with the owners of those of {@code keys} that another member owns; the
   * future completes (never exceptionally) once every owner answered. Completed at once when every
   * key is this node's (or there is no cluster).
   */
  public CompletableFuture<Void> registerRemote(List<byte[]> keys) {
    Placement p = placement.get();
    Member me = self.get();
    if (p == null || me == null || p.isAlone(me)) {
      return CompletableFuture.completedFuture(null);
    }
    Map<Member, List<byte[]>> byOwner = null;
    for (byte[] key : keys) {
      Member owner = p.ownerOf(key);
      if (owner != null && !owner.equals(me)) {
        if (byOwner == null) {
          byOwner = new HashMap<>();
        }
        byOwner.computeIfAbsent(owner, o -> new ArrayList<>()).add(key);
      }
    }
    if (byOwner == null) {
      return CompletableFuture.completedFuture(null);
    }
    byte[] from = me.address().toString().getBytes(StandardCharsets.US_ASCII);
    List<CompletableFuture<Void>> all = new ArrayList<>(byOwner.size());
    for (Map.Entry<Member, List<byte[]>> e : byOwner.entrySet()) {
      List<byte[]> ks = e.getValue();
      all.add(peers.send(e.getKey().address(), Frame.request(Opcode.TRACK_REGISTER, 0, from, ListCodec.encodeKeys(ks)))
          .handle((reply, error) -> {
            if (error != null || reply.status() != Status.OK) {
              warn("tracking registration with {} failed ({}); its keys are invalidated after the read",
                  e.getKey().address(), error != null ? error.getMessage() : reply.valueText());
              return ks;
            }
            return null;
          })
          .thenAccept(failed -> {
            if (failed != null) {
              // Runs before the read is forwarded, but after its reply was queued on the client's
              // connection, so the client gets the value and then the invalidation.
              for (byte[] k : failed) {
                table.invalidate(k);
              }
            }
          }));
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
  }

  /** Answers TRACK_REGISTER and TRACK_INVALIDATE from a peer. */
  public Frame handle(Frame r) {
    if (r.op() == Opcode.TRACK_REGISTER) {
      Address from;
      try {
        from = Address.parse(new String(r.key(), StandardCharsets.US_ASCII));
      } catch (RuntimeException e) {
        return r.replyError(Status.BAD_REQUEST, "TRACK_REGISTER: bad sender address: " + e.getMessage());
      }
      for (byte[] key : ListCodec.decodeKeys(r.value())) {
        table.rememberPeer(from, key);
      }
      return r.replyOk(0);
    }
    List<byte[]> keys = ListCodec.decodeKeys(r.value());
    if (keys.isEmpty()) {
      table.invalidateAllClients();
    } else {
      for (byte[] key : keys) {
        table.invalidate(key);
      }
    }
    return r.replyOk(0);
  }

  @Override
  public void invalidate(Address peer, List<byte[]> keys) {
    AtomicInteger waiting = inFlight.computeIfAbsent(peer, a -> new AtomicInteger());
    if (waiting.incrementAndGet() > MAX_IN_FLIGHT_PER_PEER && !keys.isEmpty()) {
      waiting.decrementAndGet();
      warn("peer {} has {} tracking invalidations unacknowledged; sending it an invalidation of every key", peer,
          MAX_IN_FLIGHT_PER_PEER);
      invalidate(peer, List.of());
      return;
    }
    peers.send(peer, Frame.request(Opcode.TRACK_INVALIDATE, 0, new byte[0], ListCodec.encodeKeys(keys)))
        .whenComplete((reply, error) -> {
          waiting.decrementAndGet();
          if (error != null || reply.status() != Status.OK) {
            warn("tracking invalidation to {} lost ({})", peer, error != null ? error.getMessage() : reply.valueText());
            if (!keys.isEmpty()) {
              invalidate(peer, List.of()); // one retry, as "everything": never a stale copy left behind
            }
          }
        });
  }

  private void warn(String format, Object a, Object b) {
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last >= LOG_INTERVAL_NANOS && lastLog.compareAndSet(last, now)) {
      log.warn(format, a, b);
    }
  }
}
