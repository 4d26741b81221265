package io.distcache.client;

import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Placement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the smart client's view of the cluster, and when to renew it.
 *
 * The view is one volatile Topology (null: plain mode, every request to any node, which forwards).
 * It is renewed by asking any node for CLUSTER_MEMBERS:
 *   - once at start; requests made before that first answer wait for it (not for a retry), so the
 *     first requests already go to their owners instead of paying a forwarding hop;
 *   - periodically (the builder's interval), to notice joins and leaves;
 *   - soon after a hint that the view is stale: a NOT_OWNER reply or an owner that refuses
 *     connections. Hints are rate-limited (at most one fetch per minimum gap, and never two at
 *     once; a hint inside the gap schedules one fetch at its end), so a burst of stale requests
 *     costs one fetch, not one each, and no hint is lost.
 *
 * Which view wins. Every reply carries the node's placement epoch and fingerprint (Placement). The
 * client checks the fingerprint against the one it computes from the reply's owning members (a
 * mismatch: the view is discarded, logged once), then keeps the view with the highest (epoch,
 * fingerprint) it has seen: a node that has not yet heard of the latest change answers an older
 * view, and taking it would send keys back to their previous owners. Two exceptions: a view none of
 * whose members we know is a restarted cluster (its epochs start again) and is taken; a reply with
 * two extras (a node older than slots) has no comparable epoch and is used only until a view with
 * one arrives.
 *
 * An error reply (a standalone node answers BAD_REQUEST, an older one UNKNOWN_OPCODE, a starting
 * one BUSY) leaves the view as it was: plain mode stays plain, silently, and a known cluster is
 * not forgotten because one node could not answer. A malformed reply is logged once and ignored
 * the same way.
 *
 * An owner that refused a connection is skipped (its keys go through any node) until its down
 * mark expires, one refresh interval later, so a dead member costs one failed connect per
 * interval rather than one per request while the cluster has not yet noticed.
 */
final class ClusterRouting {
  private static final Logger log = LoggerFactory.getLogger(ClusterRouting.class);

  private final Supplier<CompletableFuture<MemberList>> fetch;
  private final Consumer<Topology> onNewRing;
  private final long minGapNanos;
  private final long downNanos;
  private final CompletableFuture<Void> firstAnswer = new CompletableFuture<>();
  /** The fetch in flight, or null. */
  private final AtomicReference<CompletableFuture<Void>> inFlight = new AtomicReference<>();
  /** A hint-driven fetch is scheduled. */
  private final AtomicBoolean deferred = new AtomicBoolean();
  private final ScheduledExecutorService scheduler;
  private final ConcurrentHashMap<Address, Long> downUntil = new ConcurrentHashMap<>();
  private volatile Topology current;
  private volatile long lastFetchNanos;
  private volatile boolean warnedMalformed;
  private volatile boolean warnedFingerprint;

  /**
   * @param fetch sends CLUSTER_MEMBERS to any node
   * @param onNewRing called after a topology with different owners is published
   * @param minGapNanos the least time between two fetches triggered by hints
   * @param downNanos how long an owner that refused a connection is skipped
   * @param scheduler runs deferred fetches
   */
  ClusterRouting(Supplier<CompletableFuture<MemberList>> fetch, Consumer<Topology> onNewRing, long minGapNanos,
      long downNanos, ScheduledExecutorService scheduler) {
    this.fetch = fetch;
    this.scheduler = scheduler;
    this.onNewRing = onNewRing;
    this.minGapNanos = minGapNanos;
    this.downNanos = downNanos;
    this.lastFetchNanos = System.nanoTime() - minGapNanos;
  }

  /** Starts the first fetch. */
  void start() {
    refresh().whenComplete((v, e) -> firstAnswer.complete(null));
  }

  /** Completes when the first fetch has answered or failed. */
  CompletableFuture<Void> firstAnswer() {
    return firstAnswer;
  }

  /** The current view, or null in plain mode. */
  Topology current() {
    return current;
  }

  /** Fetches now unless a fetch is in flight; completes when this (or that) fetch is over. */
  CompletableFuture<Void> refresh() {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> running = inFlight.compareAndExchange(null, mine);
    if (running != null) {
      return running;
    }
    lastFetchNanos = System.nanoTime();
    CompletableFuture<MemberList> reply;
    try {
      reply = fetch.get();
    } catch (RuntimeException e) {
      inFlight.set(null);
      mine.complete(null);
      return mine;
    }
    reply.whenComplete((list, error) -> {
      try {
        if (error == null) {
          apply(list);
        } else {
          note(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error);
        }
      } finally {
        inFlight.set(null);
        mine.complete(null);
      }
    });
    return mine;
  }

  /**
   * A hint that the view is stale: fetches now, or once the minimum gap since the last fetch has
   * passed. Hints within one gap share that one deferred fetch.
   */
  void refreshSoon() {
    long wait = lastFetchNanos + minGapNanos - System.nanoTime();
    if (wait <= 0 && inFlight.get() == null) {
      refresh();
    } else if (deferred.compareAndSet(false, true)) {
      // A fetch in flight may have been asked before the change we were hinted about: fetch again.
      try {
        scheduler.schedule(() -> {
          deferred.set(false);
          refresh();
        }, Math.max(wait, minGapNanos / 4), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException closing) {
        deferred.set(false); // the client is closing: no view is needed any more
      }
    }
  }

  /** Skips {@code owner} for a while and asks for a fresh view. */
  void markDown(Address owner) {
    downUntil.put(owner, System.nanoTime() + downNanos);
    refreshSoon();
  }

  /** True while a connection failure to {@code owner} is recent. */
  boolean isDown(Address owner) {
    Long until = downUntil.get(owner);
    if (until == null) {
      return false;
    }
    if (System.nanoTime() - until >= 0) {
      downUntil.remove(owner, until);
      return false;
    }
    return true;
  }

  /**
   * What a NOT_OWNER reply naming placement {@code epoch} says about our view: true when the node
   * knows a placement at least as new as ours (a higher epoch, or the same epoch with other owners,
   * which the fingerprint tie-break resolves), so a refresh can help; false when the node lags
   * behind us, or our view is not comparable. {@code epoch} < 0: the reply named none.
   */
  boolean nodeIsAhead(long epoch) {
    Topology view = current;
    return view == null || !view.epochKnown() || epoch < 0 || epoch >= view.epoch();
  }

  void apply(MemberList list) {
    Topology old = current;
    if (list.epochKnown()) {
      // The fingerprint is a function of the owning members and virtual nodes: a mismatch means
      // this client would not compute the node's table (a different Placement algorithm, or a
      // reply assembled from two moments); routing by it would send keys to the wrong owners.
      long mine = Placement.fingerprint(list.owners(), list.learners(), list.departing(), list.virtualNodes(),
          list.replicas());
      if (mine != list.fingerprint()) {
        if (!warnedFingerprint) {
          warnedFingerprint = true;
          log.warn("ignoring a cluster view at epoch {}: its fingerprint {} is not the {} computed from its {} owning"
              + " members (logged once)", list.epoch(), Long.toHexString(list.fingerprint()), Long.toHexString(mine),
              list.owners().size());
        } else {
          log.debug("ignoring a cluster view at epoch {}: fingerprint mismatch", list.epoch());
        }
        return;
      }
      if (old != null && old.epochKnown() && !restarted(old, list)
          && Placement.compare(list.epoch(), list.fingerprint(), old.epoch(), old.placement().fingerprint()) < 0) {
        // A node that has not yet heard of the placement we route by: its view is older, keep ours.
        log.debug("ignoring an older cluster view (epoch {}, ours {})", list.epoch(), old.epoch());
        return;
      }
    } else if (old != null && old.epochKnown()) {
      // No epoch (a node older than slots): not comparable with the view we have; keep ours.
      return;
    }
    Topology next = old == null ? Topology.of(list) : old.update(list);
    if (next.placement().isEmpty()) {
      // No member owns keys in this node's view (it is leaving, or alone and not started): keep
      // the view we have rather than route nothing.
      return;
    }
    current = next;
    if (!next.sameOwners(old)) {
      log.info("cluster view: {} key-owning members of {} at placement epoch {} ({})", next.placement().size(),
          next.members().size(), next.epochKnown() ? next.epoch() : "unknown",
          old == null ? "smart routing on" : "membership changed");
      onNewRing.accept(next);
    }
  }

  /**
   * True when none of the members we route by is known to the replying node, in any state: the
   * whole cluster was restarted (ids are new with every process), and its epochs started again
   * from 1. A node that merely lags still knows some of our members; without this rule a client
   * that outlives its cluster would ignore the new one for good.
   */
  private static boolean restarted(Topology old, MemberList list) {
    for (ClusterMember m : old.members()) {
      if (m.state().ownsKeys() && list.knows(m.id())) {
        return false;
      }
    }
    return true;
  }

  private void note(Throwable error) {
    if (error instanceof DistCacheException e && e.status() != null) {
      // An error status: a standalone or older node (BAD_REQUEST, UNKNOWN_OPCODE) or one not ready
      // (BUSY). Plain mode, or the view we have, stays.
      if (current == null && e.status() != Status.BUSY) {
        log.debug("no cluster view ({}); requests go to any node", e.getMessage());
      }
      return;
    }
    if (error instanceof MemberListCodec.MalformedException) {
      if (!warnedMalformed) {
        warnedMalformed = true;
        log.warn("ignoring a cluster view: {}", error.getMessage());
      }
      return;
    }
    log.debug("cluster view refresh failed: {}", error.toString());
  }
}
