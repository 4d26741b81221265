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
 * Bounds: at most MAX_WAITING requests wait node-wide; past that, TRY_AGAIN at once. The queues
 * are checked every POLL_MILLIS while a request waits, and not at all otherwise: an idle node's
 * 200 wake-ups a second cost 6-7 ms of CPU a second, taken from the event loops on a busy core.
 * The fast path (nothing waits anywhere) is one volatile read.
 */

/** Per-slot FIFO queues of requests waiting for their slot to become servable here. */
final class SlotWaits implements AutoCloseable {
  static final int MAX_WAITING = 100_000;
  static final long POLL_MILLIS = 5;

  /** {@code untilOwned}: the slot is not ours yet but is expected to become ours (a failover or hand-off). */
  private record Waiting(Frame request, CompletableFuture<Frame> reply, long deadlineNanos, boolean untilOwned) {}

  private final IntPredicate servable;
  private final IntPredicate ours;
  private final java.util.function.Function<Frame, CompletableFuture<Frame>> execute;
  private final UnaryOperator<Frame> expired;
  private final long waitNanos;
  /** How long a client's own request (not a peer's forward, see the constructor) may wait. */
  private final long directWaitNanos;
  /** Guarded by this. */
  private final Map<Integer, ArrayDeque<Waiting>> queues = new HashMap<>();
  /** Requests waiting node-wide; 0 on the fast path. */
  private volatile int waiting;
  /** Guarded by this: per slot, a request run from its queue and not applied yet (a HeldReply). */
  private final Map<Integer, CompletableFuture<Frame>> notApplied = new HashMap<>();
  /** A drain is scheduled; guarded by this. */
  private boolean scheduled;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "distcache-slot-waits");
    t.setDaemon(true);
    return t;
  });

  /**
   * @param servable whether a slot may be served here now
   * @param ours whether this node still owns a slot (a slot it lost is answered at once)
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
    this.servable = servable;
    this.ours = ours;
    this.execute = execute;
    this.expired = expired;
    this.waitNanos = TimeUnit.MILLISECONDS.toNanos(waitMillis);
    this.directWaitNanos = TimeUnit.MILLISECONDS.toNanos(directWaitMillis);
  }

  /** True when requests for {@code slot} wait here: a new one must queue behind them. */
  boolean busy(int slot) {
    if (waiting == 0) {
      return false;
    }
    synchronized (this) {
      return queues.containsKey(slot);
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
    if (waiting >= MAX_WAITING) {
      return null;
    }
    // Held: the connection's later requests wait for it (HeldReply), as they would for a held
    // write; it has not been applied, and one for another slot must not overtake it.
    CompletableFuture<Frame> reply = new HeldReply();
    queues.computeIfAbsent(slot, s -> new ArrayDeque<>())
        .add(new Waiting(request, reply, System.nanoTime()
            + (request.hasFlag(io.distcache.protocol.Flags.FORWARDED) ? waitNanos : directWaitNanos), untilOwned));
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
    synchronized (this) {
      scheduled = false;
      try {
        drainLocked(now);
      } finally {
        if (waiting > 0) {
          scheduleDrain();
        }
      }
    }
  }

  private void drainLocked(long now) {
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
        // its deadline is answered wherever it is in the queue; nothing runs out of order.
        for (Iterator<Waiting> wi = q.iterator(); wi.hasNext(); ) {
          Waiting w = wi.next();
          if ((lost && !w.untilOwned()) || now - w.deadlineNanos() >= 0) {
            complete(w, expired);
            wi.remove();
            waiting--;
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
