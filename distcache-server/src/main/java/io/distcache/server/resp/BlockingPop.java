package io.distcache.server.resp;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.cluster.ClusterView;
import io.distcache.server.cluster.KeyWaits;
import io.netty.util.concurrent.EventExecutor;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/*
 * Design: one blocked BZPOPMIN, BZPOPMAX or BZMPOP, parked without holding a thread. Every attempt
 * is a plain ZMPOP of its keys through the router (the one serve-or-forward path), so a pop is
 * atomic on the keys' owner, replicated and notified like ZMPOP. The state lives on the
 * connection's event loop; only wake() comes from elsewhere (the executor thread of a write), and
 * it just hands a retry to that loop.
 *
 *   1. attempt: members, or an error (WRONGTYPE, MOVED, CROSSSLOT ...) answer at once
 *   2. nothing: park on KeyWaits (refused past its node-wide count of clients, or when the heap its
 *      keys hold there would pass --max-input-buffer, in which a parked pop counts as a request not
 *      yet run), then, when first in a key's queue, attempt once more, since a write between the
 *      first attempt and the parking woke nobody
 *   3. a wake retries; a wake during an attempt marks it dirty, so the attempt that found nothing is
 *      made again instead of missing the write
 *   4. the timeout answers nil (a null array), unless an attempt is in flight: then its answer is the
 *      reply (it may have popped members, which must reach the client)
 *
 * Only the owner of the keys' slot parks a client: its writes are the ones that wake it. On any
 * other node (a plain connection whose keys another member owns) a pop that would wait is refused
 * with an error naming the owner; a cluster client is sent there by MOVED before that. A parked
 * client also checks each second that this node still owns the slot (a failover or a rebalancing
 * moves it): if not, it attempts again, which forwards (members) or answers MOVED or that error.
 * The connection's close cancels the wait at once (RespSession.handlerRemoved); a pop already in
 * flight then is not undone.
 *
 * Clients blocked on one key are served in the order they blocked (KeyWaits: a write wakes the
 * first, who passes the baton when it leaves). CLIENT UNBLOCK ends a wait as its timeout does, or
 * with Redis's -UNBLOCKED error (ZSetBlockingCommands renders it).
 */

/** One blocking pop waiting for members: its attempts, parking, wake-ups and timeout. */
final class BlockingPop implements KeyWaits.Waiter {
  /** How often a parked client checks that this node still owns its keys' slot. */
  static final long OWNER_CHECK_MILLIS = 1_000;
  /** Timeouts beyond this (about 31 years) are waited for as timeout 0 is: for ever. */
  static final long MAX_TIMER_MILLIS = 1_000_000_000_000L;

  private final RespSession session;
  private final String command;
  private final List<byte[]> keys;
  private final Frame request;
  private final long timeoutMillis;
  private final EventExecutor loop;
  private final CompletableFuture<Frame> result = new CompletableFuture<>();

  // Event loop only.
  private KeyWaits parkedOn;
  private boolean inFlight;
  private boolean dirty;
  private boolean expired;
  private boolean unblockedWithError;
  private ScheduledFuture<?> timer;
  private ScheduledFuture<?> ownerCheck;
  /** What parking counts in the node-wide input bound (KeyWaits.heldBytes), 0 when not parked. */
  private long heldBytes;
  /** An attempt waits for a script holding the node (see attempt). */
  private boolean deferred;
  /** Wakes the deferred attempt (made on first use). */
  private io.distcache.server.cluster.ScriptParking scriptParking;

  /** A pop of {@code count} members from the first of {@code keys} with any; timeout 0: no end. */
  BlockingPop(RespSession session, String command, List<byte[]> keys, boolean max, long count, long timeoutMillis) {
    this.session = session;
    this.command = command;
    this.keys = keys;
    this.request = Frame.request(Opcode.ZSETS, 0, keys.get(0), ListCodec.encodeValues(keys.subList(1, keys.size())),
        SortedSets.ZMPOP, max ? 1 : 0, count);
    this.timeoutMillis = timeoutMillis;
    this.loop = session.loop();
  }

  /** The ZMPOP response that answers the client: NOT_FOUND for the timeout. */
  CompletableFuture<Frame> result() {
    return result;
  }

  boolean done() {
    return result.isDone();
  }

  /** The first attempt; on the event loop. */
  void start() {
    attempt();
  }

  private void attempt() {
    inFlight = true;
    dirty = false;
    io.distcache.server.cluster.ScriptHost h = session.context().scriptHost();
    if (h != null && h.holdsClients()) {
      // A script holds the keys (one that just woke us by writing them, often): the pop would wait
      // for it on the event loop. It is made once the script ended (or is answered BUSY past the
      // threshold); a wake meanwhile marks it dirty, which changes nothing for an attempt not yet made.
      deferred = true;
      if (scriptParking == null) {
        scriptParking = new io.distcache.server.cluster.ScriptParking(loop, () -> {
          if (deferred && !result.isDone()) {
            deferred = false;
            attempt();
          }
        });
      }
      scriptParking.wakeAfter(h);
      return;
    }
    session.send(request).whenComplete((r, e) -> {
      if (loop.inEventLoop()) {
        answered(r, e);
      } else {
        run(() -> answered(r, e));
      }
    });
  }

  private void answered(Frame r, Throwable e) {
    inFlight = false;
    if (result.isDone()) {
      return; // cancelled: the connection is gone
    }
    if (e != null) {
      finish(null, e);
    } else if (r.status() != Status.NOT_FOUND || expired) {
      finish(r, null); // members, an error, or nothing at the timeout
    } else if (dirty) {
      attempt();
    } else {
      Frame refusal = refusal();
      if (refusal != null) {
        finish(refusal, null);
      } else if (parkedOn == null) {
        park();
      }
    }
  }

  private void park() {
    KeyWaits waits = session.context().keyWaits();
    long bytes = KeyWaits.heldBytes(keys);
    String full = session.holdParked(bytes);
    if (full != null) {
      finish(request.replyError(Status.BAD_REQUEST, full + "; " + command.toUpperCase(java.util.Locale.ROOT)
          + " was not parked"), null);
      return;
    }
    heldBytes = bytes;
    KeyWaits.Parked parked = waits.park(this, keys);
    if (parked == KeyWaits.Parked.REFUSED) {
      finish(request.replyError(Status.BAD_REQUEST, "too many clients are blocked on this node (the limit is "
          + waits.maxParked() + "); " + command.toUpperCase(java.util.Locale.ROOT) + " was not parked"), null);
      return;
    }
    parkedOn = waits;
    if (timeoutMillis > 0 && timeoutMillis <= MAX_TIMER_MILLIS) {
      timer = loop.schedule(this::expire, timeoutMillis, TimeUnit.MILLISECONDS);
    }
    ownerCheck = loop.scheduleAtFixedRate(this::checkOwner, OWNER_CHECK_MILLIS, OWNER_CHECK_MILLIS,
        TimeUnit.MILLISECONDS);
    if (parked == KeyWaits.Parked.FIRST) {
      attempt(); // behind others, a write in between woke the first, and the baton comes here in turn
    }
  }

  /**
   * Why this node may not park the client (null: it may): no registry, or another member owns the
   * keys, which is answered MOVED to that member, as Redis Cluster answers, so `redis-cli -c` and
   * cluster clients follow it (a plain connection cannot wait through a forward: its 2 s timeout).
   */
  private Frame refusal() {
    if (session.context().keyWaits() == null) {
      return request.replyError(Status.BAD_REQUEST,
          command + " cannot block on this node: it has no executor whose writes would wake it");
    }
    ClusterView view = session.context().cluster();
    Member self = view == null ? null : view.self();
    if (self == null) {
      return null;
    }
    Member owner = view.owner(keys.get(0));
    if (owner == null || owner.equals(self)) {
      return null;
    }
    int slot = KeySlot.of(keys.get(0));
    return request.reply(Status.NOT_OWNER, 0, owner.address().toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        view.placement().epoch(), slot);
  }

  @Override
  public boolean timed() {
    return timeoutMillis > 0;
  }

  @Override
  public void wake() {
    run(() -> {
      if (result.isDone()) {
        return;
      }
      if (inFlight) {
        dirty = true;
      } else {
        attempt();
      }
    });
  }

  private void expire() {
    if (result.isDone()) {
      return;
    }
    if (inFlight && !deferred) {
      expired = true; // the attempt in flight answers
    } else {
      deferred = false; // an attempt waiting for a script was not made: nothing popped
      inFlight = false;
      finish(request.reply(Status.NOT_FOUND), null);
    }
  }

  /**
   * CLIENT UNBLOCK, from any thread: ends the wait as its timeout would (nil), or, with
   * {@code error}, with Redis's UNBLOCKED error. Completes on the connection's event loop with true
   * when the pop was still waiting; an attempt in flight then answers instead when it popped
   * members, which must reach the client.
   */
  CompletableFuture<Boolean> unblock(boolean error) {
    CompletableFuture<Boolean> wasBlocked = new CompletableFuture<>();
    try {
      loop.execute(() -> {
        boolean waiting = !result.isDone();
        if (waiting) {
          unblockedWithError = error;
          expire();
        }
        wasBlocked.complete(waiting);
      });
    } catch (RejectedExecutionException shuttingDown) {
      wasBlocked.complete(false); // the event loop is gone, and the connection with it
    }
    return wasBlocked;
  }

  /** CLIENT UNBLOCK ... ERROR ended the wait: a reply of nothing is the UNBLOCKED error (event loop only). */
  boolean unblockedWithError() {
    return unblockedWithError;
  }

  private void checkOwner() {
    if (!result.isDone() && !inFlight && refusal() != null) {
      attempt();
    }
  }

  /** The connection closed: unparks at once; on the event loop. */
  void cancel() {
    if (!result.isDone()) {
      finish(null, new CancellationException("the connection closed"));
    }
  }

  private void finish(Frame r, Throwable e) {
    if (parkedOn != null) {
      parkedOn.unpark(this, keys);
      parkedOn = null;
    }
    if (heldBytes > 0) {
      session.releaseParked(heldBytes);
      heldBytes = 0;
    }
    if (timer != null) {
      timer.cancel(false);
    }
    if (ownerCheck != null) {
      ownerCheck.cancel(false);
    }
    session.unblocked(this);
    if (e != null) {
      result.completeExceptionally(e);
    } else {
      result.complete(r);
    }
  }

  private void run(Runnable task) {
    try {
      loop.execute(task);
    } catch (RejectedExecutionException shuttingDown) {
      // The event loop is gone, and the connection with it: handlerRemoved unparked it.
    }
  }
}
