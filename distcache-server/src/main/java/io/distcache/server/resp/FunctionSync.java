package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.cluster.ScriptHost;
import io.distcache.server.net.ClientLog;
import io.distcache.server.resp.FunctionChanges.Entry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: keeps every member's function libraries the same (FUNCTION_SYNC over the peer bus).
 * The consistency model is FunctionRegistry's: stamped changes, last writer wins, deletions and
 * flushes remembered, so applying a change twice or in another order gives the same set.
 *
 *   push  a change a client made here (LOAD, DELETE, FLUSH, RESTORE) goes to every other member
 *         of the placement (learners included) once it is applied here; the client's reply waits
 *         for their answers (at most the peer request timeout), so a cluster client that loads on
 *         one node finds the library on the others right after. A member that is down or busy
 *         misses it and catches up by pulling; the change is not undone.
 *   pull  every PULL_INTERVAL this node sends its summary (names and stamps, no code) to the
 *         next other member, round robin, and applies what the answer holds (what it lacks, at
 *         most half a frame of code per answer; it asks again at once when more remain). So a
 *         node that was partitioned or restarted, or a joiner, converges within a round of pulls.
 *
 * A joiner pulls at its first tick with other members, and JoinDriver does not let it own slots
 * before one pull was answered (ready; at most JOIN_WAIT after its first try, so a cluster of
 * older nodes that answer nothing cannot stop a join): a cluster client routed to it finds the
 * libraries.
 *
 * A peer's changes are applied on the script lane, like a client's FUNCTION LOAD: each library
 * that this node takes is loaded with the load limits (500 ms each, the script memory limit) and
 * all of one answer's loads share LOAD_BUDGET, so a peer cannot hold the lane for long; what did
 * not load in time is asked for again by the next pull. A library that fails to load here is
 * left out (logged, rate-limited) and asked for again at each pull.
 */

/** Propagates function library changes to the other members and pulls theirs. */
public final class FunctionSync {
  private static final Logger log = LoggerFactory.getLogger(FunctionSync.class);
  /** How often this node pulls from the next member. */
  static final long PULL_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
  /** The node calls tick() this often. */
  public static final long TICK_MILLIS = 100;
  /** A joiner waits at most this long for its first answered pull before it may own slots anyway. */
  static final long JOIN_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
  /** The loads of one peer answer share this (four of Redis's 500 ms load limits, as RESTORE's). */
  static final long LOAD_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(4 * FunctionLoader.LOAD_TIMEOUT_MILLIS);

  private final RespContext context;
  private final ClusterView cluster;
  private final Peers peers;
  private final int maxFrameBytes;
  private volatile boolean pulling;
  private volatile boolean synced;
  private volatile boolean again;
  private volatile long firstTryNanos;
  private volatile long lastPullNanos;
  private int next;

  public FunctionSync(RespContext context, ClusterView cluster, Peers peers, int maxFrameBytes) {
    this.context = context;
    this.cluster = cluster;
    this.peers = peers;
    this.maxFrameBytes = maxFrameBytes;
    context.functionRegistry().origin(() -> {
      Member self = cluster.self();
      return self == null ? "" : self.id();
    });
    context.functionSync(this);
  }

  /** Answers a peer's FUNCTION_SYNC; never completes exceptionally. */
  public CompletableFuture<Frame> handle(Frame request) {
    FunctionRegistry registry = context.functionRegistry();
    long kind = request.extra(0, -1);
    try {
      if (kind == Opcode.FUNCTION_SYNC_PUSH) {
        FunctionChanges in = FunctionChanges.decode(request.value(), registry.clock(), false);
        return apply(in).handle((v, error) -> error == null ? request.replyOk() : refusal(request, error));
      }
      if (kind == Opcode.FUNCTION_SYNC_PULL) {
        FunctionChanges theirs = FunctionChanges.decode(request.value(), registry.clock(), true);
        FunctionRegistry.Missing m = registry.missing(theirs, maxFrameBytes / 2);
        return CompletableFuture.completedFuture(request.replyValue(m.changes().encode(), m.more() ? 1 : 0));
      }
      throw new IllegalArgumentException("kind " + kind + " is not " + Opcode.FUNCTION_SYNC_PUSH + " (push) or "
          + Opcode.FUNCTION_SYNC_PULL + " (pull)");
    } catch (IllegalArgumentException e) {
      ClientLog.warn(log, "function-sync-malformed", "refused a malformed FUNCTION_SYNC from a peer: {}", e.getMessage());
      return CompletableFuture.completedFuture(request.replyError(Status.BAD_REQUEST, "FUNCTION_SYNC: " + e.getMessage()));
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(refusal(request, e));
    }
  }

  private static Frame refusal(Frame request, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof ScriptHost.Refused) {
      return request.replyError(Status.BUSY, "FUNCTION_SYNC: " + cause.getMessage());
    }
    if (cause instanceof CommandException) {
      ClientLog.warn(log, "function-sync-refused", "refused a peer's function libraries: {}", cause.getMessage());
      return request.replyError(Status.BAD_REQUEST, "FUNCTION_SYNC: " + cause.getMessage());
    }
    log.error("applying a peer's function libraries failed", cause);
    return request.replyError(Status.INTERNAL_ERROR, "FUNCTION_SYNC: " + cause);
  }

  /** Loads the libraries of {@code in} this node takes, on the lane, and merges them. */
  private CompletableFuture<Void> apply(FunctionChanges in) {
    ScriptHost host = context.scriptHost();
    FunctionLoader loader = context.functionLoader();
    if (host == null || loader == null) {
      return CompletableFuture.failedFuture(new CommandException("this node runs no scripts"));
    }
    FunctionRegistry registry = context.functionRegistry();
    return host.onLane(() -> {
      if (registry.flushes(in)) {
        loader.clear(); // as FUNCTION FLUSH: the flushed libraries' closures go
      }
      long notAfter = context.clock().nanos() + LOAD_BUDGET_NANOS;
      Map<String, FunctionLibrary> loaded = new HashMap<>();
      for (Entry e : registry.wanted(in)) {
        FunctionLibrary same = registry.sameCode(e.name(), e.code());
        if (same != null) {
          loaded.put(e.name(), same);
        } else if (context.clock().nanos() - notAfter < 0) {
          try {
            loaded.put(e.name(), loader.load(e.name(), e.code(), notAfter));
          } catch (CommandException ex) {
            ClientLog.warn(log, "function-sync-load", "function library '{}' from a peer did not load here: {}", e.name(),
                ex.getMessage());
          }
        }
      }
      registry.merge(in, loaded);
      return null;
    });
  }

  /**
   * Sends a change made here to every other member; completes (never exceptionally) once each
   * answered or failed. A member that missed it catches up by pulling.
   */
  CompletableFuture<Void> push(FunctionChanges changes) {
    Placement p = cluster.placement();
    Member self = cluster.self();
    if (changes == null || changes.isEmpty() || self == null || p.size() <= 1) {
      return CompletableFuture.completedFuture(null);
    }
    byte[] value = changes.encode();
    if (value.length > maxFrameBytes - ProtocolConstants.HEADER_BYTES - 64) {
      ClientLog.warn(log, "function-sync-large", "a function change of {} bytes does not fit one frame; the other"
          + " members take it by pulling", value.length);
      return CompletableFuture.completedFuture(null);
    }
    Frame request = Frame.request(Opcode.FUNCTION_SYNC, 0, null, value, Opcode.FUNCTION_SYNC_PUSH);
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (Member m : p.members()) {
      if (m.equals(self)) {
        continue;
      }
      acks.add(peers.send(m.address(), request).handle((reply, error) -> {
        if (error != null || reply.status() != Status.OK) {
          log.debug("function change not applied by {} (it will pull it): {}", m.address(),
              error != null ? error.toString() : reply.status() + " " + reply.valueText());
        }
        return null;
      }));
    }
    return CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0]));
  }

  /** Every TICK_MILLIS: pulls from the next member when it is time. */
  public void tick() {
    try {
      Placement p = cluster.placement();
      Member self = cluster.self();
      if (self == null || p.size() <= 1 || pulling) {
        return;
      }
      long now = context.clock().nanos();
      if (firstTryNanos == 0) {
        firstTryNanos = now;
      }
      if (synced && !again && now - lastPullNanos < PULL_INTERVAL_NANOS) {
        return;
      }
      List<Member> others = new ArrayList<>(p.members());
      others.remove(self);
      if (!others.isEmpty()) {
        pull(others.get(Math.floorMod(next++, others.size())), now);
      }
    } catch (RuntimeException e) {
      log.error("function library pull failed", e);
    }
  }

  private void pull(Member from, long now) {
    pulling = true;
    lastPullNanos = now;
    again = false;
    FunctionRegistry registry = context.functionRegistry();
    Frame request = Frame.request(Opcode.FUNCTION_SYNC, 0, null, registry.summary().encode(),
        Opcode.FUNCTION_SYNC_PULL);
    peers.send(from.address(), request).thenCompose(reply -> {
      if (reply.status() == Status.OK) {
        FunctionChanges in = FunctionChanges.decode(reply.value(), registry.clock(), false);
        again = reply.extra(0, 0) == 1;
        return in.isEmpty() ? CompletableFuture.completedFuture(null) : apply(in);
      }
      if (reply.status() == Status.BUSY || reply.status() == Status.TRY_AGAIN || reply.status() == Status.SCRIPT_BUSY) {
        throw new IllegalStateException(reply.status() + " " + reply.valueText());
      }
      // BAD_REQUEST or UNKNOWN_OPCODE: the member has no libraries to give (no Redis protocol, an older node).
      log.debug("{} answered a function pull with {} {}", from.address(), reply.status(), reply.valueText());
      return CompletableFuture.completedFuture(null);
    }).whenComplete((v, error) -> {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (error == null) {
        synced = true;
      } else if (cause instanceof java.util.concurrent.TimeoutException || cause instanceof java.net.ConnectException
          || cause instanceof IllegalStateException) {
        // Unreachable or busy: the bus and membership report the member; the next pull asks another.
        log.debug("function library pull from {} failed: {}", from.address(), cause.toString());
      } else {
        ClientLog.warn(log, "function-sync-pull", "function library pull from {} failed: {}", from.address(),
            cause.toString());
      }
      pulling = false;
    });
  }

  /** For the join: one pull was answered, or JOIN_WAIT passed since the first try. */
  public boolean ready() {
    if (synced) {
      return true;
    }
    long first = firstTryNanos;
    if (first != 0 && context.clock().nanos() - first > JOIN_WAIT_NANOS) {
      ClientLog.warn(log, "function-sync-join", "joining without the other members' function libraries: no pull"
          + " answered within {} ms; they arrive with the next pulls", TimeUnit.NANOSECONDS.toMillis(JOIN_WAIT_NANOS));
      return true;
    }
    return false;
  }
}
