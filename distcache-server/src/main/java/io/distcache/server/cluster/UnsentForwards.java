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
import java.util.function.IntFunction;

/*
 * Design: a client's forwards that never left this node because their owner could not be
 * connected to (killed, its host gone: bus.NotSentException), held until their slot's owner
 * changes and then sent to the new one, instead of answered BUSY at once. A killed owner is
 * declared dead after the detection time (about 3.5-5 s with the defaults) and its first replica,
 * which holds every acknowledged write (sync replication), takes its slots over: a write held
 * until then is applied there and its client sees no error. While the owner stays the same it is
 * tried again every 200 ms (the bus's own retry interval), so a moment's connect failure to a
 * live owner (a handshake timeout under load) delays its slot's requests by about that; a slot's
 * held requests wait at most the wait (the forward timeout, 2 s by default) from the first of
 * them, then every one is answered as before (BUSY, not applied; a read goes to a replica) and
 * the slot's requests are sent normally again: never a slot that holds every request for ever (a
 * reviewer). Once the owner changed, each held request gets a whole wait from then (the new
 * owner may wait out its lease first: a tester saw requests expire just as it began to serve).
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
 *   - a held request stays counted in SlotForwards as in flight to the old owner until it has
 *     been answered, so a request routed to the new owner (or served here, when this node is the
 *     new owner) waits, as it waits behind any forward to an old owner (HeldReply: its
 *     connection's next requests wait behind it), until every held one has its answer;
 *   - a request routed to the old owner while some of its slot's are held joins them unsent;
 *   - a slot's held requests are sent again only when every forward to the old owner for that
 *     slot has come back (the count in SlotForwards equals the held count): one still on its way,
 *     failing later, would otherwise go after requests sent behind it;
 *   - they are sent bypassing SlotForwards (ClusterRouter.resendHeld): the first alone, and
 *     while the owner does not take it (TRY_AGAIN: a new owner waiting out its lease;
 *     NotSentException: it refuses connections too) it stays held and is tried again shortly,
 *     which is safe while nothing behind it can pass; once the owner served one, the rest go
 *     together, in order, from one thread and so over one peer connection, which the owner
 *     serves in order per slot (one at a time each after the previous answer drained a backlog
 *     7x slower under a tester's load, so requests expired; all at once from several threads let
 *     a client's next request overtake them, a reviewer). One of those the owner does not take
 *     is answered so (not applied), never sent again: the ones after it may have been applied.
 *     A batch stops at a request served here on the script lane (what follows waits for it, as a
 *     connection's next request does) and when the slot's owner changes under it. One served
 *     here that the replicator sends on (held, or routed under an older placement) is resent
 *     again, never routed as new: it would wait behind itself (ClusterRouter.servedAsResent).
 *   - a multi-key request (MGET, MSET, DEL, EXISTS of several keys) goes whole while none of its
 *     slots has requests held for its owner; else, or when it could not be sent, it is split by
 *     slot and each slot's share is held like a one-key request (under the whole request's
 *     sequence number when it was not sent: its place in every one of its slots); MSETNX's set
 *     phase, all or nothing on its owner, is refused unapplied instead (ClusterRouter.forward).
 *     One this node serves as the new owner waits behind them (ClusterRouter.serveIfOwned).
 * A read whose owner cannot be reached goes to a replica at once (ClusterRouter.readFromAReplica)
 * unless requests of its slot are held: then it is held behind them, or it could read the value
 * from before a write its connection sent first. Past MAX_HELD, a request whose slot has held
 * requests is answered BUSY at once, for the same reason.
 *
 * What triggers a slot's step: a request held or answered for it, a placement change, and a timer
 * at the next deadline or retry. Bounded: at most MAX_HELD requests node-wide, each for at most
 * the wait while the owner stays (plus the forward timeout of the connect attempt that failed),
 * and a whole wait again from each change of owner; the requests themselves are already counted against
 * their connections' limits (replies waiting, requests in flight).
 */

/** Forwards whose owner could not be connected to, held in order until their slot's owner changes. */
final class UnsentForwards {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UnsentForwards.class);

  /** Requests held at once, node-wide. */
  static final int MAX_HELD = 65_536;
  /** A held request the new owner could not be connected to either is tried again after this. */
  static final long NOT_SENT_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  /** A held request the new owner answered TRY_AGAIN (not serving the slot yet) is tried again after this. */
  static final long TRY_AGAIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /** What a held request is answered with when its wait ends: before its slot changed owner, or unsent since. */
  @FunctionalInterface
  interface Expired {
    CompletableFuture<Frame> answer(Frame request, int slot, Member owner, Throwable error, long heldMillis,
        boolean ownerChanged);
  }

  /**
   * Sends a held request of {@code slot} to the slot's owner now, bypassing SlotForwards. Completes
   * exceptionally when no answer came from the owner: with a NotSentException when it was not sent
   * (not applied), with another exception when its outcome is unknown.
   */
  @FunctionalInterface
  interface Resend {
    CompletableFuture<Frame> to(Frame request, int slot);
  }

  private static final class Held {
    final long seq;
    final Frame request;
    final Throwable error;
    final long since;
    final long deadline;
    final CompletableFuture<Frame> reply;

    Held(long seq, Frame request, Throwable error, long since, long deadline, CompletableFuture<Frame> reply) {
      this.seq = seq;
      this.request = request;
      this.error = error;
      this.since = since;
      this.deadline = deadline;
      this.reply = reply;
    }
  }

  /** One slot's held requests, all first sent to one owner; closed once empty. */
  private static final class Lane {
    final Member owner;
    final TreeMap<Long, Held> held = new TreeMap<>();
    /** While the owner stays the same, every request still held then is answered (the first one's deadline). */
    long expiresAt;
    boolean closed;
    /** Requests of this lane on their way to the new owner: the next go after their answers. */
    int sending;
    /** The new owner has served one of them: the rest may go together (see step). */
    boolean proven;
    /** Not before this (System.nanoTime()) is a request sent again after the new owner refused it. */
    long nextAttempt;
    /** When this lane last saw its slot's owner change (0: not yet); each held request waits from then again. */
    long movedAt;
    /** The owner this lane's requests were last tried on (the old owner until the placement changes). */
    Member target;
    long timerAt;

    Lane(Member owner) {
      this.owner = owner;
      this.target = owner;
    }
  }

  private final SlotForwards inFlight;
  private final IntFunction<Member> ownerNow;
  private final Resend resend;
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
   * {@code ownerNow}: the slot's owner in the current placement; {@code resend}: sends a held
   * request to it; {@code expired}: the answer once its wait is over.
   */
  UnsentForwards(SlotForwards inFlight, IntFunction<Member> ownerNow, Resend resend, Expired expired) {
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
   * behind the slot's held requests when there are some to that owner (its future; BUSY at once
   * past MAX_HELD), else null (send it).
   */
  CompletableFuture<Frame> join(int slot, Member owner, Frame request) {
    Lane lane = lanes.get(slot);
    if (lane == null) {
      return null;
    }
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    synchronized (lane) {
      if (lane.closed || !lane.owner.equals(owner)) {
        return null;
      }
      if (holding.get() >= MAX_HELD) {
        reply = null;
      } else {
        Throwable error = lane.held.isEmpty() ? null : lane.held.firstEntry().getValue().error;
        add(lane, nextSequence(), request, error, reply);
      }
    }
    if (reply == null) {
      return refused(slot, owner, request);
    }
    step(slot);
    return reply;
  }

  /**
   * {@code request}, sent to {@code owner} as forward number {@code seq}, could not be sent: true
   * when this takes care of it (held: its answer will complete {@code reply}, and it stays counted
   * in SlotForwards until then; or refused BUSY past MAX_HELD behind held requests); false when
   * the caller answers it now (nothing to hold it behind for a read, {@code onlyBehindOthers}, or
   * past MAX_HELD with nothing held for the slot).
   */
  boolean hold(int slot, Member owner, long seq, Frame request, Throwable error, boolean onlyBehindOthers,
      CompletableFuture<Frame> reply) {
    if (waitNanos == 0) {
      return false;
    }
    while (true) {
      Lane lane = onlyBehindOthers || holding.get() >= MAX_HELD ? lanes.get(slot)
          : lanes.computeIfAbsent(slot, s -> new Lane(owner));
      if (lane == null) {
        return false;
      }
      boolean refuse = false;
      synchronized (lane) {
        if (lane.closed) {
          continue; // emptied just now: a fresh lane, or none
        }
        if (!lane.owner.equals(owner) || lane.held.isEmpty() && (onlyBehindOthers || holding.get() >= MAX_HELD)) {
          return false;
        }
        if (holding.get() >= MAX_HELD) {
          refuse = true;
        } else {
          if (lane.held.isEmpty()) {
            long now = System.nanoTime();
            lane.expiresAt = now + waitNanos;
            lane.nextAttempt = now + NOT_SENT_RETRY_NANOS; // the owner is tried again then (see step)
            logHolding(slot, owner, error);
          }
          add(lane, seq, request, error, reply);
        }
      }
      if (refuse) {
        refused(slot, owner, request).whenComplete((r, e) -> reply.complete(r));
      } else {
        step(slot);
      }
      return true;
    }
  }

  /** BUSY at once for a request that cannot be held behind its slot's held requests (counted answered). */
  private CompletableFuture<Frame> refused(int slot, Member owner, Frame request) {
    inFlight.answered(slot);
    step(slot);
    return CompletableFuture.completedFuture(request.replyError(io.distcache.protocol.Status.BUSY, "owner "
        + owner.address() + " unreachable, and " + MAX_HELD + " requests already wait for their slots' next owners"
        + " on this node (the limit); not applied"));
  }

  private void add(Lane lane, long seq, Frame request, Throwable error, CompletableFuture<Frame> reply) {
    long now = System.nanoTime();
    lane.held.put(seq, new Held(seq, request, error, now, now + waitNanos, reply));
    holding.incrementAndGet();
    heldTotal.increment();
  }

  /** A forward for {@code slot} has been answered or given up: held requests there may go now. */
  void poke(int slot) {
    if (!lanes.isEmpty() && lanes.containsKey(slot)) {
      step(slot);
    }
  }

  /** The placement changed: every slot's held requests may go to a new owner now (off the caller's thread). */
  void placementChanged(Executor executor) {
    if (!lanes.isEmpty()) {
      executor.execute(() -> {
        for (Integer slot : List.copyOf(lanes.keySet())) {
          Lane lane = lanes.get(slot);
          if (lane != null) {
            synchronized (lane) {
              lane.nextAttempt = 0;
            }
            step(slot);
          }
        }
      });
    }
  }

  /**
   * Moves {@code slot}'s held requests on: answers those whose wait is over, and, when no forward
   * to the old owner is still out, sends them to the slot's owner now (the new one once it
   * changed; the same one, every NOT_SENT_RETRY_NANOS, in case it was only a moment's connect
   * failure): the first alone, tried again until that owner serves it (a new owner may wait out
   * its lease, or refuse connections too), then the rest together, in order, from one thread and
   * so over one peer connection (the owner keeps one connection's requests for a slot in order);
   * keeps a timer at the next deadline or retry.
   */
  void step(int slot) {
    Lane lane = lanes.get(slot);
    if (lane == null) {
      return;
    }
    while (true) {
      List<Held> batch = null;
      List<Held> over = null;
      boolean moved;
      synchronized (lane) {
        if (lane.closed || lane.sending > 0) {
          return;
        }
        long now = System.nanoTime();
        Member target = ownerNow.apply(slot);
        moved = !lane.owner.equals(target);
        if (!target.equals(lane.target)) {
          // A new owner (A -> B, or B -> C): tried now, not at the old one's retry time, with the first
          // request alone again, and every held request gets a whole wait from now.
          lane.target = target;
          lane.movedAt = now;
          lane.nextAttempt = 0;
          lane.proven = false;
        }
        if (!moved && now - lane.expiresAt >= 0) {
          over = new ArrayList<>(lane.held.values()); // the owner stayed: the whole slot's wait is over
          lane.held.clear();
        } else {
          while (!lane.held.isEmpty() && now - deadline(lane, lane.held.firstEntry().getValue()) >= 0) {
            (over == null ? over = new ArrayList<>() : over).add(lane.held.pollFirstEntry().getValue());
          }
        }
        if (lane.held.isEmpty()) {
          lane.closed = true;
          lanes.remove(slot, lane);
        } else if (now - lane.nextAttempt >= 0 && inFlight.count(slot, lane.owner) == lane.held.size()) {
          batch = lane.proven ? new ArrayList<>(lane.held.values()) : List.of(lane.held.firstEntry().getValue());
          lane.sending = 1; // the loop below holds one count until it has sent what it sends
        } else {
          long wake = deadline(lane, lane.held.firstEntry().getValue());
          if (!moved && lane.expiresAt - wake < 0) {
            wake = lane.expiresAt;
          }
          if (lane.nextAttempt - wake < 0 && lane.nextAttempt - now > 0) {
            wake = lane.nextAttempt;
          }
          timer(slot, lane, wake, now);
        }
      }
      if (over != null) {
        answerOver(slot, lane.owner, over, moved);
      }
      if (batch == null) {
        return;
      }
      boolean alone = batch.size() == 1;
      Member to;
      synchronized (lane) {
        to = lane.target;
      }
      for (Held h : batch) {
        if (!to.equals(ownerNow.apply(slot))) {
          break; // the owner changed meanwhile: the rest go to the new one, first alone (a reviewer)
        }
        synchronized (lane) {
          lane.sending++;
        }
        CompletableFuture<Frame> sent;
        try {
          sent = resend.to(h.request, slot);
        } catch (Throwable e) {
          sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((r, e) -> {
          if (sentAgain(slot, lane, h, r, e, alone)) {
            step(slot); // the last of the batch has its answer: the next may go (a batch at most deep)
          }
        });
        if (HeldReply.holds(sent)) {
          // Served here on the script lane (an EVAL, or EXEC holding one): what follows must wait for
          // it, as a connection's next request does (a reviewer: SET k 2 applied before EVAL's SET k 1).
          break;
        }
      }
      boolean last;
      synchronized (lane) {
        last = --lane.sending == 0;
      }
      if (!last) {
        return; // the last answer steps on
      }
    }
  }

  /** A held request's deadline: its own, or, once its slot's owner changed, a whole wait from then. */
  private long deadline(Lane lane, Held h) {
    if (lane.movedAt == 0) {
      return h.deadline;
    }
    long fromMove = lane.movedAt + waitNanos;
    return fromMove - h.deadline > 0 ? fromMove : h.deadline;
  }

  /**
   * The new owner's answer to a held request sent again, or its failure; true when it was the
   * last of its batch. Sent {@code alone} (nothing else of the slot on its way), a request it did
   * not take (it refuses connections too, or answers TRY_AGAIN: not applied) stays held and is
   * tried again shortly; in a batch it is answered so, as the ones after it may have been applied.
   */
  private boolean sentAgain(int slot, Lane lane, Held h, Frame reply, Throwable error, boolean alone) {
    Throwable cause = cause(error);
    boolean notSent = cause instanceof io.distcache.server.bus.NotSentException;
    boolean tryAgain = error == null && reply != null && reply.status() == io.distcache.protocol.Status.TRY_AGAIN;
    boolean again = alone && (notSent || tryAgain);
    boolean last;
    boolean moved;
    synchronized (lane) {
      last = --lane.sending == 0;
      moved = lane.movedAt != 0;
      if (again) {
        lane.nextAttempt = System.nanoTime() + (notSent ? NOT_SENT_RETRY_NANOS : TRY_AGAIN_RETRY_NANOS);
      } else {
        lane.held.remove(h.seq);
      }
      // Only an answer from the owner proves it serves the slot; a refusal, a TRY_AGAIN or a lost
      // connection sends the next ones alone again (a reviewer).
      lane.proven = error == null && !tryAgain;
    }
    if (again) {
      return last; // still held; the caller steps on, which sets the timer for the retry
    }
    holding.decrementAndGet();
    resentTotal.increment();
    inFlight.answered(slot);
    if (error == null) {
      h.reply.complete(reply);
    } else if (!notSent) {
      // Sent, and no answer (a timeout, a lost connection): it may have been applied, so never
      // "not applied" (a client would retry an INCR; a reviewer).
      h.reply.complete(h.request.replyError(io.distcache.protocol.Status.BUSY, "owner " + lane.target.address()
          + " unreachable: " + cause.getMessage()));
    } else {
      long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - h.since);
      CompletableFuture<Frame> answer;
      try {
        answer = expired.answer(h.request, slot, lane.owner, cause, heldMillis, moved);
      } catch (RuntimeException e) {
        answer = CompletableFuture.completedFuture(h.request.replyError(io.distcache.protocol.Status.BUSY,
            "owner " + lane.owner.address() + " unreachable; not applied"));
      }
      answer.whenComplete((r, e) -> h.reply.complete(r));
    }
    return last;
  }

  private void answerOver(int slot, Member owner, List<Held> over, boolean moved) {
    holding.addAndGet(-over.size());
    expiredTotal.add(over.size());
    for (Held h : over) {
      inFlight.answered(slot);
      long heldMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - h.since);
      CompletableFuture<Frame> answer;
      try {
        answer = expired.answer(h.request, slot, owner, h.error, heldMillis, moved);
      } catch (RuntimeException e) {
        answer = CompletableFuture.completedFuture(h.request.replyError(io.distcache.protocol.Status.BUSY,
            "owner " + owner.address() + " unreachable; not applied"));
      }
      answer.whenComplete((r, e) -> h.reply.complete(r));
    }
  }

  private void timer(int slot, Lane lane, long wake, long now) {
    if (lane.timerAt != 0 && lane.timerAt - wake <= 0) {
      return; // one is set already, at or before this
    }
    lane.timerAt = wake;
    CompletableFuture.delayedExecutor(Math.max(1, wake - now), TimeUnit.NANOSECONDS).execute(() -> {
      synchronized (lane) {
        if (lane.timerAt == wake) {
          lane.timerAt = 0;
        }
      }
      step(slot);
    });
  }

  private void logHolding(int slot, Member owner, Throwable error) {
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last >= TimeUnit.SECONDS.toNanos(10) && lastLog.compareAndSet(last, now)) {
      Throwable cause = cause(error);
      log.info("owner {} of slot {} (and perhaps others) cannot be connected to ({}): holding its requests for up to"
          + " {} ms (--forward-timeout) until the cluster gives its slots to another member",
          owner.address(), slot, cause == null ? "unknown" : cause.getMessage(), TimeUnit.NANOSECONDS.toMillis(waitNanos));
    }
  }

  /** What a failed future failed with: the cause a CompletionException wraps. */
  static Throwable cause(Throwable error) {
    return error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  /** True when requests of {@code slot} are held for {@code owner}: what cannot join them must not pass them. */
  boolean holds(int slot, Member owner) {
    if (lanes.isEmpty()) {
      return false;
    }
    Lane lane = lanes.get(slot);
    if (lane == null) {
      return false;
    }
    synchronized (lane) {
      return !lane.closed && lane.owner.equals(owner);
    }
  }

  /** Requests held now. */
  int holding() {
    return holding.get();
  }

  /** Requests held since start, sent on to a new owner, and answered at the end of their wait. */
  long[] totals() {
    return new long[] {heldTotal.sum(), resentTotal.sum(), expiredTotal.sum()};
  }
}
