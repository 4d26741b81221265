package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.IntFunction;

/*
 * Design: a client's forwards that never left this node because their owner could not be
 * connected to (killed, its host gone: bus.NotSentException), held until their slot's owner
 * changes and then routed again, instead of answered BUSY at once. A killed owner is declared dead
 * after the detection time (about 3.5-5 s with the defaults) and its first replica, which holds
 * every acknowledged write (sync replication), takes its slots over: a write held until then is
 * applied there and its client sees no error. Each request waits at most the wait (the forward
 * timeout, 2 s by default); then it is answered as before (BUSY, not applied; a read goes to a
 * replica), so a client waits no longer than it did for an owner that does not answer.
 *
 * Only what was never sent is held: its owner cannot have applied it, so sending it elsewhere
 * applies it once. A request lost with its connection (written, no reply) may have been applied;
 * it stays BUSY, as an INCR sent twice would count twice.
 *
 * Order is the point. One connection pipelines SET k 1, SET k 2, GET k; all three fail to connect
 * and are held; they must reach the new owner in that order, and nothing the connection sends
 * later may overtake them. So:
 *   - held requests are kept per slot in the order they were first sent (a sequence number taken
 *     just before the send: one connection's requests are routed on its event loop in order);
 *   - a held request stays counted in SlotForwards as in flight to the old owner, so a request
 *     routed to the new owner (or served here, when this node is the new owner) waits, as it does
 *     behind any forward to an old owner, until the held ones have gone first;
 *   - a request routed to the old owner while some of its slot's are held joins them unsent;
 *   - a slot's held requests are routed again only when every forward to the old owner for that
 *     slot has come back (count in SlotForwards equals the held count): one still on its way,
 *     failing later, would otherwise go after requests sent behind it;
 *   - they are routed again in sequence order under the slot's lock, before the requests that
 *     waited for them are released (SlotForwards.detachAll).
 * A read whose owner cannot be reached goes to a replica at once (ClusterRouter.readFromAReplica)
 * unless requests of its slot are held: then it is held behind them, or it could read the value
 * before a write its connection sent first.
 *
 * What triggers a slot's check: a request held or answered for it, a placement change, and a
 * timer at its oldest request's deadline. Bounded: at most MAX_HELD requests node-wide (past it a
 * request is answered as before), each for at most the wait; the requests themselves are already
 * counted against their connections' limits (replies waiting, requests in flight).
 */

/** Forwards whose owner could not be connected to, held in order until their slot's owner changes. */
final class UnsentForwards {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UnsentForwards.class);

  /** Requests held at once, node-wide; past it a request is answered at once as before. */
  static final int MAX_HELD = 65_536;

  /** What a held request is answered with when its wait ends before its slot's owner changed. */
  @FunctionalInterface
  interface Expired {
    CompletableFuture<Frame> answer(Frame request, Member owner, Throwable error, long heldMillis);
  }

  private static final class Held {
    final Frame request;
    final Throwable error;
    final long since;
    final long deadline;
    final CompletableFuture<Frame> reply;

    Held(Frame request, Throwable error, long since, long deadline, CompletableFuture<Frame> reply) {
      this.request = request;
      this.error = error;
      this.since = since;
      this.deadline = deadline;
      this.reply = reply;
    }
  }

  /** One slot's held requests, all to one owner; closed once they have been routed again. */
  private static final class Lane {
    final Member owner;
    final TreeMap<Long, Held> held = new TreeMap<>();
    boolean closed;
    long timerAt;

    Lane(Member owner) {
      this.owner = owner;
    }
  }

  private final SlotForwards inFlight;
  private final IntFunction<Member> ownerNow;
  private final Function<Frame, CompletableFuture<Frame>> resend;
  private final Expired expired;
  private final ConcurrentHashMap<Integer, Lane> lanes = new ConcurrentHashMap<>();
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicInteger holding = new AtomicInteger();
  private final LongAdder heldTotal = new LongAdder();
  private final LongAdder resentTotal = new LongAdder();
  private final LongAdder expiredTotal = new LongAdder();
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - TimeUnit.SECONDS.toNanos(10));
  private volatile long waitNanos = TimeUnit.SECONDS.toNanos(2);

  /**
   * {@code ownerNow}: the slot's owner in the current placement; {@code resend}: routes a request
   * afresh (never completes exceptionally); {@code expired}: the answer once its wait is over.
   */
  UnsentForwards(SlotForwards inFlight, IntFunction<Member> ownerNow, Function<Frame, CompletableFuture<Frame>> resend,
      Expired expired) {
    this.inFlight = inFlight;
    this.ownerNow = ownerNow;
    this.resend = resend;
    this.expired = expired;
  }

  /** How long a request may be held (the forward timeout); 0 holds nothing. */
  void waitFor(java.time.Duration wait) {
    waitNanos = Math.max(0, wait.toNanos());
  }

  /** The sequence number of a forward about to be sent (its place in its slot's order). */
  long nextSequence() {
    return sequence.incrementAndGet();
  }

  /**
   * A request routed to {@code owner} for {@code slot}, already counted in SlotForwards: held
   * behind the slot's held requests when there are some to that owner (its future), else null
   * (send it).
   */
  CompletableFuture<Frame> join(int slot, Member owner, Frame request) {
    Lane lane = lanes.get(slot);
    if (lane == null || waitNanos == 0) {
      return null;
    }
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    synchronized (lane) {
      if (lane.closed || !lane.owner.equals(owner) || holding.get() >= MAX_HELD) {
        return null;
      }
      Throwable error = lane.held.isEmpty() ? null : lane.held.firstEntry().getValue().error;
      add(lane, nextSequence(), request, error, reply);
    }
    check(slot);
    return reply;
  }

  /**
   * {@code request}, sent to {@code owner} as forward number {@code seq}, could not be sent: true
   * when it is held (its answer will complete {@code reply}, and it stays counted in SlotForwards
   * until then); false when the caller answers it now (nothing is held past MAX_HELD, and a read
   * is held only behind held requests of its slot: {@code onlyBehindOthers}).
   */
  boolean hold(int slot, Member owner, long seq, Frame request, Throwable error, boolean onlyBehindOthers,
      CompletableFuture<Frame> reply) {
    if (waitNanos == 0 || holding.get() >= MAX_HELD) {
      return false;
    }
    while (true) {
      Lane lane = onlyBehindOthers ? lanes.get(slot) : lanes.computeIfAbsent(slot, s -> new Lane(owner));
      if (lane == null) {
        return false;
      }
      synchronized (lane) {
        if (lane.closed) {
          continue; // routed again just now: a fresh lane, or none
        }
        if (!lane.owner.equals(owner) || onlyBehindOthers && lane.held.isEmpty()) {
          return false;
        }
        if (lane.held.isEmpty()) {
          logHolding(slot, owner, error);
        }
        add(lane, seq, request, error, reply);
      }
      check(slot);
      return true;
    }
  }

  private void add(Lane lane, long seq, Frame request, Throwable error, CompletableFuture<Frame> reply) {
    long now = System.nanoTime();
    lane.held.put(seq, new Held(request, error, now, now + waitNanos, reply));
    holding.incrementAndGet();
    heldTotal.increment();
  }

  /** A forward for {@code slot} has been answered or given up: held requests there may go now. */
  void poke(int slot) {
    if (!lanes.isEmpty() && lanes.containsKey(slot)) {
      check(slot);
    }
  }

  /** The placement changed: every slot's held requests may go to a new owner now (off the caller's thread). */
  void placementChanged(Executor executor) {
    if (!lanes.isEmpty()) {
      executor.execute(() -> {
        for (Integer slot : List.copyOf(lanes.keySet())) {
          check(slot);
        }
      });
    }
  }

  /**
   * Routes {@code slot}'s held requests again when their owner changed and none to the old owner
   * is still on its way; answers those whose wait is over; keeps a timer at the next deadline.
   */
  void check(int slot) {
    Lane lane = lanes.get(slot);
    if (lane == null) {
      return;
    }
    List<Held> over = null;
    CompletableFuture<Void> release = null;
    boolean resent = false;
    synchronized (lane) {
      if (lane.closed) {
        return;
      }
      int n = lane.held.size();
      if (n > 0 && !lane.owner.equals(ownerNow.apply(slot))) {
        release = inFlight.detachAll(slot, lane.owner, n); // null while another forward to the old owner is out
      }
      if (release != null) {
        close(slot, lane);
        for (Held h : lane.held.values()) {
          resend.apply(h.request).whenComplete((r, e) -> h.reply.complete(r));
        }
        holding.addAndGet(-n);
        resentTotal.add(n);
        resent = true;
      } else {
        long now = System.nanoTime();
        while (!lane.held.isEmpty() && now - lane.held.firstEntry().getValue().deadline >= 0) {
          (over == null ? over = new ArrayList<>() : over).add(lane.held.pollFirstEntry().getValue());
        }
        if (lane.held.isEmpty()) {
          close(slot, lane);
        } else {
          long next = lane.held.firstEntry().getValue().deadline;
          if (lane.timerAt == 0 || next - lane.timerAt < 0) {
            lane.timerAt = next;
            CompletableFuture.delayedExecutor(Math.max(1, next - now), TimeUnit.NANOSECONDS).execute(() -> {
              synchronized (lane) {
                lane.timerAt = 0;
              }
              check(slot);
            });
          }
        }
      }
    }
    if (release != null) {
      release.complete(null); // the requests that waited for the held ones, after them
    }
    if (over != null) {
      holding.addAndGet(-over.size());
      expiredTotal.add(over.size());
      for (Held h : over) {
        inFlight.answered(slot);
        long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - h.since);
        expired.answer(h.request, lane.owner, h.error, heldMillis).whenComplete((r, e) -> h.reply.complete(r));
      }
    }
    if (resent) {
      log.debug("slot {}: requests held for {} routed to its new owner", slot, lane.owner.address());
    }
  }

  private void close(int slot, Lane lane) {
    lane.closed = true;
    lanes.remove(slot, lane);
  }

  private void logHolding(int slot, Member owner, Throwable error) {
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last >= TimeUnit.SECONDS.toNanos(10) && lastLog.compareAndSet(last, now)) {
      Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
          ? error.getCause() : error;
      log.info("owner {} of slot {} (and perhaps others) cannot be connected to ({}): holding its requests for up to"
          + " {} ms (--forward-timeout) until the cluster gives its slots to another member",
          owner.address(), slot, cause == null ? "unknown" : cause.getMessage(), TimeUnit.NANOSECONDS.toMillis(waitNanos));
    }
  }

  /** Requests held now. */
  int holding() {
    return holding.get();
  }

  /** Requests held since start, routed again to a new owner, and answered at the end of their wait. */
  long[] totals() {
    return new long[] {heldTotal.sum(), resentTotal.sum(), expiredTotal.sum()};
  }
}
