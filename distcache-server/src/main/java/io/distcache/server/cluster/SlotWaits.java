package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.function.UnaryOperator;

/*
 * Design: requests for a slot this node owns but may not serve yet (its new owners have not all
 * confirmed the placement, its old keys are still being dropped) wait here, in arrival order, one
 * queue per slot, instead of being answered TRY_AGAIN at once. A join or a departure is settled
 * within a round trip or two, so clients that do not retry TRYAGAIN themselves (JedisCluster,
 * Lettuce, plain clients) ride through it.
 *
 * Order is the point. While a slot has a queue, every new request for it joins the queue, even if
 * the slot became servable a moment ago; the queue is run in order on one thread. So a write that
 * waited never lands after a write sent behind it on the same connection (requests for one slot
 * from one connection reach its owner in order: directly, or forwarded over one peer connection).
 * A request that waits past the deadline is answered TRY_AGAIN, not run; those behind it may then
 * run, which is fine: the client was told the earlier one failed.
 *
 * A slot this node stops owning while requests wait for it (a join's placement gave it to the
 * member that learned it) no longer answers them all TRY_AGAIN: what becomes of each is the
 * router's decision (Unowned). A peer's forward of a slot this node handed over is passed on to
 * the slot's owner now, in queue order, outside the lock (a forward
 * may wait on the peer bus); the slot counts as busy until they are sent, so a newcomer the router
 * would pass on too queues behind them. A peer's forward the router cannot place yet (its
 * SlotGuard has not processed the new placement, so whether this node handed the slot over is not
 * known) waits on; others are refused as before. Found in a join under load: a peer's SET for a
 * slot this node had just handed over arrived between the router's placement and the guard's
 * install of it, waited 1.5 s for an ownership that never came, and its client got TRYAGAIN.
 *
 * Bounds: at most MAX_WAITING requests wait node-wide; past that, TRY_AGAIN at once. The queues
 * are checked every POLL_MILLIS while a request waits, and not at all otherwise: an idle node's
 * 200 wake-ups a second cost 6-7 ms of CPU a second, taken from the event loops on a busy core.
 * The fast path (nothing waits anywhere) is one volatile read.
 */

/** Per-slot FIFO queues of requests waiting for their slot to become servable here. */
final class SlotWaits implements AutoCloseable {
  static final int MAX_WAITING = 100_000;
  static final long POLL_MILLIS = 5;

  /** What becomes of a request waiting for a slot this node does not own (any more). */
  enum Fate {
    /** Waits on, until its deadline (or until the slot is ours and servable). */
    WAIT,
    /** Goes to the slot's owner now (the passOn function), in queue order. */
    PASS_ON,
    /** Answered with the expired reply (TRY_AGAIN: not applied) at once. */
    REFUSE
  }

  /** Decides a waiting request's fate once its slot is not this node's. */
  @FunctionalInterface
  interface Unowned {
    /**
     * @param mark what the router noted when it queued the request (enqueue's mark; 0 if none)
     * @param waitedNanos how long it has waited here
     */
    Fate of(int slot, Frame request, boolean untilOwned, int mark, long waitedNanos);
  }

  /** The behaviour without a router: one waiting until owned waits on, any other is refused. */
  private static final Unowned REFUSE_UNLESS_UNTIL_OWNED =
      (slot, request, untilOwned, mark, waitedNanos) -> untilOwned ? Fate.WAIT : Fate.REFUSE;

  /** {@code untilOwned}: the slot is not ours yet but is expected to become ours (a failover or hand-off). */
  private record Waiting(Frame request, CompletableFuture<Frame> reply, long sinceNanos, long deadlineNanos,
      boolean untilOwned, int mark) {}

  private final IntPredicate servable;
  private final IntPredicate ours;
  private final java.util.function.Function<Frame, CompletableFuture<Frame>> execute;
  private final UnaryOperator<Frame> expired;
  private final Unowned unowned;
  private final java.util.function.Function<Frame, CompletableFuture<Frame>> passOn;
  private final long waitNanos;
  /** How long a client's own request (not a peer's forward, see the constructor) may wait. */
  private final long directWaitNanos;
  /** Guarded by this. */
  private final Map<Integer, ArrayDeque<Waiting>> queues = new HashMap<>();
  /** Requests waiting node-wide; 0 on the fast path. */
  private volatile int waiting;
  /** Guarded by this: per slot, a request run from its queue and not applied yet (a HeldReply). */
  private final Map<Integer, CompletableFuture<Frame>> notApplied = new HashMap<>();
  /** Guarded by this: slots whose passed-on requests are being sent (outside the lock): still busy. */
  private final java.util.Set<Integer> passing = new java.util.HashSet<>();
  /** A drain is scheduled; guarded by this. */
  private boolean scheduled;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "distcache-slot-waits");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param servable whether a slot may be served here now
   * @param ours whether this node still owns a slot (its waiters are answered at once when it is
   *     lost, unless waiting until owned; see Unowned for the router's finer decision)
   * @param execute serves a request locally
   * @param expired the answer to a request that waited too long (TRY_AGAIN)
   */
  SlotWaits(IntPredicate servable, IntPredicate ours, java.util.function.Function<Frame, CompletableFuture<Frame>> execute,
      UnaryOperator<Frame> expired,
      long waitMillis) {
    this(servable, ours, execute, expired, waitMillis, waitMillis);
  }

  /**
   * @param waitMillis how long a request a peer forwarded may wait: less than the sender's forward
   *     timeout, so the sender hears TRY_AGAIN (not applied) rather than giving up on a request that
   *     may still run
   * @param directWaitMillis how long a client's own request may wait: no sender times it out, so it
   *     may outlast the lease a new owner waits out after a member's death (1.5 s by default)
   */
  SlotWaits(IntPredicate servable, IntPredicate ours, java.util.function.Function<Frame, CompletableFuture<Frame>> execute,
      UnaryOperator<Frame> expired, long waitMillis, long directWaitMillis) {
    this(servable, ours, execute, expired, REFUSE_UNLESS_UNTIL_OWNED, null, waitMillis, directWaitMillis);
  }

  /**
   * @param unowned what becomes of a request whose slot this node does not own (any more)
   * @param passOn sends a request the router passes on (Fate.PASS_ON) to the slot's owner now;
   *     never through this SlotWaits again (it is not this node's slot)
   */
  SlotWaits(IntPredicate servable, IntPredicate ours, java.util.function.Function<Frame, CompletableFuture<Frame>> execute,
      UnaryOperator<Frame> expired, Unowned unowned, java.util.function.Function<Frame, CompletableFuture<Frame>> passOn,
      long waitMillis, long directWaitMillis) {
    this.servable = servable;
    this.ours = ours;
    this.execute = execute;
    this.expired = expired;
    this.unowned = unowned;
    this.passOn = passOn;
    this.waitNanos = TimeUnit.MILLISECONDS.toNanos(waitMillis);
    this.directWaitNanos = TimeUnit.MILLISECONDS.toNanos(directWaitMillis);
  }

  /** True when requests for {@code slot} wait here: a new one must queue behind them. */
  boolean busy(int slot) {
    if (waiting == 0) {
      return false;
    }
    synchronized (this) {
      return queues.containsKey(slot) || passing.contains(slot);
    }
  }

  /** Queues {@code request} behind the others for {@code slot}; null when too many wait already. */
  synchronized CompletableFuture<Frame> enqueue(int slot, Frame request) {
    return enqueue(slot, request, false);
  }

  /**
   * Queues {@code request}; with {@code untilOwned} it waits for this node to become the slot's
   * owner (until the deadline) instead of being answered as soon as the slot is not ours.
   */
  synchronized CompletableFuture<Frame> enqueue(int slot, Frame request, boolean untilOwned) {
    return enqueue(slot, request, untilOwned, 0);
  }

  /** {@link #enqueue(int, Frame, boolean)} with a {@code mark} the router gets back in Unowned. */
  synchronized CompletableFuture<Frame> enqueue(int slot, Frame request, boolean untilOwned, int mark) {
    if (waiting >= MAX_WAITING) {
      return null;
    }
    // Held: the connection's later requests wait for it (HeldReply), as they would for a held
    // write; it has not been applied, and one for another slot must not overtake it.
    CompletableFuture<Frame> reply = new HeldReply();
    long now = System.nanoTime();
    queues.computeIfAbsent(slot, s -> new ArrayDeque<>())
        .add(new Waiting(request, reply, now,
            now + (request.hasFlag(io.distcache.protocol.Flags.FORWARDED) ? waitNanos : directWaitNanos), untilOwned, mark));
    waiting++;
    scheduleDrain();
    return reply;
  }

  /** Guarded by this: the next drain, unless one is due already or the node is closing. */
  private void scheduleDrain() {
    if (scheduled || timer.isShutdown()) {
      return;
    }
    scheduled = true;
    try {
      timer.schedule(this::drain, POLL_MILLIS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      scheduled = false; // close() answers whatever waits
    }
  }

  /** Runs the queues whose slot became servable, and answers the requests past their deadline. */
  private void drain() {
    long now = System.nanoTime();
    Map<Integer, java.util.List<Waiting>> passed = new HashMap<>();
    synchronized (this) {
      scheduled = false;
      try {
        drainLocked(now, passed);
      } finally {
        if (waiting > 0) {
          scheduleDrain();
        }
      }
    }
    if (passed.isEmpty()) {
      return;
    }
    // Sent outside the lock, on this one thread, in queue order; their slots stay busy meanwhile.
    for (java.util.List<Waiting> ws : passed.values()) {
      for (Waiting w : ws) {
        send(w);
      }
    }
    synchronized (this) {
      passing.removeAll(passed.keySet());
      // (close() may have zeroed it meanwhile)
      waiting = Math.max(0, waiting - passed.values().stream().mapToInt(java.util.List::size).sum());
      if (waiting > 0) {
        scheduleDrain(); // newcomers queued behind the ones passed on
      }
    }
  }

  /** The router's decision for a waiter whose slot is not ours; refused if the decision itself fails. */
  private Fate fate(int slot, Waiting w, long now) {
    try {
      return unowned.of(slot, w.request(), w.untilOwned(), w.mark(), now - w.sinceNanos());
    } catch (RuntimeException e) {
      // Never leave waiters moved to the pass-on list unsent, or the slot busy for ever (a reviewer).
      return Fate.REFUSE;
    }
  }

  private void send(Waiting w) {
    try {
      passOn.apply(w.request()).whenComplete((r, e) -> {
        if (e == null) {
          w.reply().complete(r);
        } else {
          w.reply().completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) {
      w.reply().completeExceptionally(e);
    }
  }

  private void drainLocked(long now, Map<Integer, java.util.List<Waiting>> passed) {
    for (Iterator<Map.Entry<Integer, ArrayDeque<Waiting>>> it = queues.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Integer, ArrayDeque<Waiting>> e = it.next();
      ArrayDeque<Waiting> q = e.getValue();
      CompletableFuture<Frame> ahead = notApplied.get(e.getKey());
      boolean blocked = ahead != null && !ahead.isDone(); // the ones behind it run after it
      boolean open = !blocked && servable.test(e.getKey());
      boolean lost = !blocked && !open && !ours.test(e.getKey());
      if (open) {
        for (Waiting w; (w = q.pollFirst()) != null; ) {
          CompletableFuture<Frame> applied = run(w);
          waiting--;
          if (HeldReply.holds(applied)) {
            // Not applied yet (a script on its lane, a write held for a hand-off): the ones behind
            // it run after it, not before, on the next drain after it completes.
            notApplied.put(e.getKey(), applied);
            applied.whenComplete((reply, error) -> {
              synchronized (this) {
                scheduleDrain();
              }
            });
            break;
          }
        }
      } else {
        // Deadlines differ (a peer's forward waits less than a client's own request), so one past
        // its deadline is answered wherever it is in the queue; nothing runs out of order: one is
        // passed on only while none ahead of it waits on.
        boolean waitingAhead = false;
        for (Iterator<Waiting> wi = q.iterator(); wi.hasNext(); ) {
          Waiting w = wi.next();
          Fate fate = lost ? fate(e.getKey(), w, now) : Fate.WAIT;
          if (fate == Fate.PASS_ON && !waitingAhead && passOn != null) {
            passed.computeIfAbsent(e.getKey(), k -> new java.util.ArrayList<>()).add(w);
            passing.add(e.getKey());
            wi.remove(); // still counted in waiting until sent (drain)
          } else if (fate == Fate.REFUSE || now - w.deadlineNanos() >= 0) {
            complete(w, expired);
            wi.remove();
            waiting--;
          } else {
            waitingAhead = true;
          }
        }
      }
      if (q.isEmpty()) {
        it.remove();
        notApplied.remove(e.getKey());
      }
    }
  }

  /**
   * Runs a waiting request now, in the queue's order; its reply may complete later. Returns what
   * the execution returned: a HeldReply not yet complete when the request is not applied yet.
   */
  private CompletableFuture<Frame> run(Waiting w) {
    try {
      CompletableFuture<Frame> applied = execute.apply(w.request());
      applied.whenComplete((r, e) -> {
        if (e == null) {
          w.reply().complete(r);
        } else {
          w.reply().completeExceptionally(e);
        }
      });
      return applied;
    } catch (RuntimeException e) {
      w.reply().completeExceptionally(e);
      return w.reply();
    }
  }

  private static void complete(Waiting w, UnaryOperator<Frame> answer) {
    try {
      w.reply().complete(answer.apply(w.request()));
    } catch (RuntimeException e) {
      w.reply().completeExceptionally(e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    synchronized (this) {
      for (ArrayDeque<Waiting> q : queues.values()) {
        for (Waiting w : q) {
          complete(w, expired);
        }
      }
      queues.clear();
      notApplied.clear();
      waiting = 0;
    }
  }
}
