package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ScriptCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.server.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/*
 * Design: where a node runs scripts, and what makes one atomic. Redis runs a script on its one
 * thread, so nothing else runs until it ends. Here requests run on several event loops, so a script
 * takes every stripe of the TransactionGate exclusive (mask -1) for its whole run: every request
 * that touches a key takes its key's stripe shared, so none runs between two of the script's calls,
 * whatever keys the script touches, and the script's own calls run with the stripes already held
 * (LocalExecutor.run(..., inTransaction = true)), as a TRANSACTION's requests do.
 *
 * Scripts run one at a time on one thread of their own, the lane, never on an event loop: a script
 * that loops for seconds must leave the event loops free to read SCRIPT KILL and to answer other
 * clients BUSY. The router hops a SCRIPT request onto the lane (submit) before the replicator's slot
 * lock, so the lock is taken and released on the lane.
 *
 * Busy: while a script runs, a request that needs a stripe waits for it, as Redis's clients wait;
 * once the script has run for the busy threshold (Redis's busy-reply-threshold, default 5 s) such a
 * request gives up at once with SCRIPT_BUSY (Redis's -BUSY). Waiting is polled in steps of at most
 * 10 ms (TransactionGate.waitFor), so a request that started waiting before the threshold is also
 * answered BUSY when the threshold passes. SCRIPT_KILL sets a flag that the Lua engine polls; it is
 * refused (UNKILLABLE) once the script called a write command, as in Redis.
 *
 * In a cluster (a placement with other members), a script may only touch keys of its declared
 * keys' slot, which the router checked this node owns and may serve; a script without keys may
 * touch none (it runs on whichever node received it). This is what lets the replicator ship a
 * script's writes as effects: every key it wrote is in the slot whose replicator lock it holds.
 *
 * Keyless requests. The node-wide keyspace requests (SCAN, SIZE, RANDOM_KEY, FLUSH, and their
 * replicated forms in Replicator) take no stripe, yet must not run between a script's calls
 * either (a FLUSH deleting what the script just wrote, a SCAN listing its partial writes). So a
 * script also holds the node's keyspace barrier exclusive, taken first of all on the lane (before
 * the replicator's slot lock, the order every holder follows: barrier, replicator stripe, gate
 * stripes), and those requests hold it shared (keyspaceShared), waiting polled like a stripe and
 * answered BUSY past the threshold. Taking it shared costs an uncontended read lock per request.
 * Every other command that names no key (PING, INFO, PUBLISH ...) waits for it too, only while a
 * script runs (awaitIdle, see resp.ScriptWait), and lets go at once.
 *
 * Waiting off the event loops: the waits above block their thread, and an event loop serves many
 * connections. So the node's hold (the barrier taken exclusive on the lane, from the moment a
 * script's turn comes until it is released) has a future, released(), which a Redis connection
 * waits on instead of blocking: while holdsClients() (held, and the running script not past its
 * threshold) it parks its commands and runs them once the hold ended, or the threshold passed (they
 * get BUSY at once then).
 *
 * Functions (FCALL) are SCRIPT requests too, and run the same way; while one runs, BUSY names
 * FUNCTION KILL and each of SCRIPT KILL / FUNCTION KILL stops only its own kind, as in Redis.
 * Loading a function library (onLane) also runs Lua, so it takes its turn on the lane, holding no
 * key: it cannot touch the keyspace.
 *
 * Transactions holding scripts (Redis's EXEC with EVAL, EVALSHA or FCALL queued): the router hops
 * such a TRANSACTION onto the lane as it does a SCRIPT, and the executor runs the whole batch
 * inside holdingAll, the hold a script takes (barrier, every stripe), so no request of another
 * client runs between any two of its requests or its scripts' calls. Its scripts run with runHeld,
 * each with its own busy state as in Redis; the keys they wrote are gathered for the replicator,
 * which ships them with the batch's own keys as one unit of the slot.
 */

/** Runs SCRIPT requests: the lane, the busy state, SCRIPT KILL, and the keys a script wrote. */
public final class ScriptHost implements AutoCloseable {
  /** Redis's text, word for word. */
  public static final String BUSY_MESSAGE =
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
  /** Redis's text while a function (FCALL) is busy. */
  public static final String FUNCTION_BUSY_MESSAGE =
      "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
  /** SCRIPT_KILL's extra 0 for FUNCTION KILL: it stops a function only, SCRIPT KILL a script only. */
  public static final long KILL_FUNCTION = 1;
  /** Scripts that may wait for the lane; one more is answered BUSY. */
  static final int MAX_QUEUED = 16_384;
  /** Redis's busy-reply-threshold default. */
  public static final long DEFAULT_BUSY_MILLIS = 5_000;
  /**
   * The lane's Java stack: LuaJ takes about 1 KiB of it per nested Lua call (measured, before the
   * JIT compiles the interpreter), so the engine's 1,000 nested calls fit many times over.
   */
  static final long LANE_STACK_BYTES = 16L << 20;

  private final Clock clock;
  private final ThreadPoolExecutor lane;
  private volatile ScriptRunner runner;
  private volatile BooleanSupplier clustered = () -> false;
  private volatile long busyThresholdMillis = DEFAULT_BUSY_MILLIS;

  // The running script, written by the lane, read by every thread.
  private volatile boolean running;
  private volatile long startedNanos;
  private volatile boolean wrote;
  private volatile boolean killRequested;
  /** The running request's script (FUNCTION STATS shows a running function), null when none runs. */
  private volatile ScriptCodec.Script current;
  /** Lane only: the keys the last script's (or scripted batch's) write requests named. */
  private List<byte[]> writtenKeys = new ArrayList<>();
  /** Lane only, while holdingAll runs: the keys its scripts' writes named so far. */
  private List<byte[]> batchWritten;

  ScriptHost(Clock clock) {
    this.clock = clock;
    this.lane = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(MAX_QUEUED), r -> {
      Thread t = new Thread(null, r, "distcache-script", LANE_STACK_BYTES);
      t.setDaemon(true);
      return t;
    });
  }

  /** Installs the Lua side (the node does once its Redis protocol is built). */
  public void runner(ScriptRunner runner) {
    this.runner = runner;
  }

  /** Tells whether the node is part of a cluster with other members (the key rule applies then). */
  void clustered(BooleanSupplier clustered) {
    this.clustered = clustered;
  }

  /** Redis's busy-reply-threshold (lua-time-limit), in milliseconds; 0 makes a running script busy at once. */
  public void busyThresholdMillis(long millis) {
    if (millis < 0) {
      throw new IllegalArgumentException("busy threshold cannot be negative: " + millis);
    }
    this.busyThresholdMillis = millis;
  }

  public long busyThresholdMillis() {
    return busyThresholdMillis;
  }

  /** True while a script runs. */
  public boolean running() {
    return running;
  }

  /** The running function or script, or null. */
  public ScriptCodec.Script current() {
    return running ? current : null;
  }

  /** Scripts and function changes waiting for the lane (not the one running). */
  public int waiting() {
    return lane.getQueue().size();
  }

  /** Milliseconds the running script has run. */
  public long runningMillis() {
    return running ? TimeUnit.NANOSECONDS.toMillis(clock.nanos() - startedNanos) : 0;
  }

  /** Redis's BUSY text for what runs now: a function's names FUNCTION KILL. */
  public String busyMessage() {
    ScriptCodec.Script s = current;
    return s != null && s.isFunction() ? FUNCTION_BUSY_MESSAGE : BUSY_MESSAGE;
  }

  /**
   * Runs {@code work} on the lane, one at a time with scripts (a function library's load needs the
   * lane's Lua engine); fails with {@link Refused} (Redis's BUSY) while a script is busy or when too
   * many wait already.
   */
  public <T> CompletableFuture<T> onLane(Supplier<T> work) {
    if (running && nanosUntilBusy() == 0) {
      return CompletableFuture.failedFuture(new Refused(busyMessage()));
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      lane.execute(() -> {
        try {
          result.complete(work.get());
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(new Refused("BUSY " + MAX_QUEUED + " scripts already wait to run on this node"));
    }
    return result;
  }

  /**
   * Runs {@code work} on the lane; SCRIPT_BUSY when too many scripts wait already. Exceptional only
   * with the NotSentException of a held request resent on (see above), which its sender handles.
   */
  CompletableFuture<Frame> submit(Frame request, Supplier<CompletableFuture<Frame>> work) {
    if (running && nanosUntilBusy() == 0) {
      // As in Redis, a script sent while another is busy is answered BUSY, not queued behind it.
      return CompletableFuture.completedFuture(request.replyError(Status.SCRIPT_BUSY, busyMessage()));
    }
    // A HeldReply: a command the connection pipelined after the script waits for it (see HeldReply).
    CompletableFuture<Frame> reply = new HeldReply();
    try {
      lane.execute(() -> {
        // First of all, before the replicator's slot lock (see Design: keyless requests).
        holdNode();
        try {
          work.get().whenComplete((r, e) -> {
            if (e == null) {
              reply.complete(r);
            } else if (UnsentForwards.cause(e) instanceof io.distcache.server.bus.NotSentException) {
              // A held request resent here that the replicator sent on to an owner it could not
              // connect to (ClusterRouter.reroute): not applied, and UnsentForwards holds it again.
              reply.completeExceptionally(e);
            } else {
              reply.complete(request.replyError(Status.INTERNAL_ERROR, "script failed: " + e));
            }
          });
        } catch (RuntimeException e) {
          reply.complete(request.replyError(Status.INTERNAL_ERROR, "script failed: " + e));
        } finally {
          releaseNode();
        }
      });
    } catch (RejectedExecutionException e) {
      reply.complete(request.replyError(Status.BUSY, MAX_QUEUED + " scripts already wait to run on this node"));
    }
    return reply;
  }

  /**
   * Nanoseconds a request may still wait for a stripe before it is answered BUSY: Long.MAX_VALUE
   * when no script runs, 0 once the running script passed the threshold.
   */
  long nanosUntilBusy() {
    if (!running || Thread.currentThread() == laneThread) {
      return Long.MAX_VALUE;
    }
    long elapsed = clock.nanos() - startedNanos;
    long threshold = TimeUnit.MILLISECONDS.toNanos(busyThresholdMillis);
    return Math.max(0, threshold - elapsed);
  }

  private volatile Thread laneThread;

  /** Held exclusive by a running script, shared by the node-wide keyspace requests (see Design). */
  private final ReentrantReadWriteLock barrier = new ReentrantReadWriteLock();
  /** The barrier's exclusive holds nested on its holder's thread (guarded by the barrier's write lock). */
  private int holdDepth;
  /** Completes when the node's current hold ends; null while the node is not held. */
  private volatile CompletableFuture<Void> hold;

  /**
   * Holds the keyspace barrier shared until the returned handle is closed: waits for a running
   * script, polled in steps of at most 10 ms; ScriptBusyException once it passed its busy threshold.
   */
  Keyspace keyspaceShared() {
    ReentrantReadWriteLock.ReadLock lock = barrier.readLock();
    if (!lock.tryLock()) {
      try {
        while (true) {
          long left = nanosUntilBusy();
          if (left == 0) {
            throw new ScriptBusyException();
          }
          if (lock.tryLock(Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)), TimeUnit.NANOSECONDS)) {
            break;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ScriptBusyException();
      }
    }
    return lock::unlock;
  }

  /**
   * Runs {@code work} (a read or flush of the whole store that takes no stripe) holding the keyspace
   * barrier shared, so never between a script's calls; {@link Refused} with Redis's BUSY text once
   * the running script passed its busy threshold, {@code work} not run.
   */
  public <T> T withKeyspace(Supplier<T> work) {
    Keyspace held;
    try {
      held = keyspaceShared();
    } catch (ScriptBusyException e) {
      throw new Refused(busyMessage());
    }
    try (held) {
      return work.get();
    }
  }

  /**
   * Returns once no script runs on this node, at once when none does (one volatile read): for a
   * command that names no key, which Redis runs only between scripts. Waits for the keyspace
   * barrier as {@link #keyspaceShared} does and lets go of it at once (resp.ScriptWait says why);
   * {@link Refused} with Redis's BUSY text once the running script passed its busy threshold.
   */
  public void awaitIdle() {
    if (running) {
      withKeyspace(() -> null);
    }
  }

  /** The keyspace barrier held shared; close releases it. */
  interface Keyspace extends AutoCloseable {
    @Override
    void close();
  }

  /** SCRIPT_KILL: stops the running script unless it has written. */
  Frame kill(Frame request) {
    if (!running) {
      return request.reply(Status.NOT_FOUND);
    }
    ScriptCodec.Script s = current;
    if (s != null && s.isFunction() != (request.extra(0, 0) == KILL_FUNCTION)) {
      // As in Redis: SCRIPT KILL cannot stop a function, nor FUNCTION KILL a script; both are BUSY then.
      return request.replyError(Status.SCRIPT_BUSY, busyMessage());
    }
    if (wrote) {
      return request.reply(Status.CONDITION_FAILED);
    }
    killRequested = true;
    return request.replyOk();
  }

  /**
   * Runs a SCRIPT request with every stripe of {@code gate} held exclusive; {@code held} runs a
   * request without taking stripes. Called on the lane (or, for a node without a router, on the
   * caller's thread).
   */
  Frame run(Frame request, TransactionGate gate, UnaryOperator<Frame> held) {
    if (runner == null) {
      return noEngine(request);
    }
    return holdingAll(gate, () -> runHeld(request, held));
  }

  /**
   * Runs {@code work} as a script runs, with the keyspace barrier and every stripe of {@code gate}
   * held exclusive: a TRANSACTION holding scripts (Redis's EXEC with EVAL or FCALL inside), whose
   * requests run in between its scripts with no other request on any key, and whose scripts run
   * with {@link #runHeld}. The keys its scripts wrote are {@link #lastWrittenKeys} afterwards.
   */
  Frame holdingAll(TransactionGate gate, Supplier<Frame> work) {
    // Re-entered on the lane (submit holds it); taken here on a node without a router.
    holdNode();
    long[] stamps;
    try {
      stamps = gate.lockAll(-1L, true);
    } catch (RuntimeException e) {
      releaseNode();
      throw e;
    }
    Thread previous = laneThread;
    laneThread = Thread.currentThread();
    batchWritten = new ArrayList<>();
    try {
      return work.get();
    } finally {
      writtenKeys = batchWritten;
      batchWritten = null;
      laneThread = previous;
      gate.unlockAll(-1L, stamps);
      releaseNode();
    }
  }

  /** Takes the keyspace barrier exclusive; the outermost hold makes {@link #released} a new future. */
  private void holdNode() {
    barrier.writeLock().lock();
    if (holdDepth++ == 0) {
      hold = new CompletableFuture<>();
    }
  }

  /** Lets go of {@link #holdNode}; the outermost release completes the hold's future, after the unlock. */
  private void releaseNode() {
    CompletableFuture<Void> ended = null;
    if (--holdDepth == 0) {
      ended = hold;
      hold = null;
    }
    barrier.writeLock().unlock();
    if (ended != null) {
      ended.complete(null);
    }
  }

  /**
   * True while a script that started on a node alone runs: the one-slot rule did not apply to it,
   * so it may write any key without its slot's lock. Never waits.
   */
  boolean unclusteredScriptRunning() {
    return unclustered;
  }

  private volatile boolean unclustered;

  /**
   * True while a script (or a batch holding scripts) holds the node's keys and has not passed its
   * busy threshold: a client's command would wait for it, so the connection parks the command
   * instead of running it on its event loop (resp.RespSession, resp.ScriptWait). One volatile read
   * when the node is not held.
   */
  public boolean holdsClients() {
    return hold != null && nanosUntilBusy() > 0;
  }

  /**
   * Completes once the node's current hold (see {@link #holdsClients}) ends; an already completed
   * future when the node is not held.
   */
  public CompletableFuture<Void> released() {
    CompletableFuture<Void> h = hold;
    return h != null ? h : DONE;
  }

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  /**
   * Nanoseconds until a parked command must be looked at again: the running script's time left
   * before its busy threshold, at most 10 ms (the threshold may change, CONFIG SET).
   */
  public long nanosUntilRecheck() {
    return Math.max(1, Math.min(nanosUntilBusy(), POLL_NANOS));
  }

  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  /**
   * Runs a SCRIPT request inside {@link #holdingAll}; BAD_REQUEST on a thread that does not hold
   * the node's keys (a batch that did not come through holdingAll could not be atomic).
   *
   * <p>The busy state (BUSY past the threshold, SCRIPT KILL, FUNCTION STATS) is the script's own,
   * as Redis keeps it per script run: a transaction's other requests are quick, and a SCRIPT KILL
   * stops a script that has not written itself, whatever the transaction wrote before it (Redis
   * 7: the script's slot of the EXEC array gets the kill error and the rest of the EXEC runs).
   */
  Frame runHeld(Frame request, UnaryOperator<Frame> held) {
    ScriptRunner r = runner;
    if (r == null) {
      return noEngine(request);
    }
    // Only the thread inside holdingAll holds the barrier exclusive, so batchWritten is its own.
    if (!barrier.isWriteLockedByCurrentThread() || batchWritten == null) {
      return request.replyError(Status.BAD_REQUEST, "SCRIPT cannot run inside another script, nor in a"
          + " TRANSACTION that does not hold every key of the node");
    }
    ScriptCodec.Script script = ScriptCodec.decode(request);
    Integer slot = null;
    if (!script.keys().isEmpty()) {
      slot = KeySlot.of(script.keys().get(0));
    }
    boolean inCluster = clustered.getAsBoolean();
    Calls calls = new Calls(held, inCluster, slot);
    Thread previous = laneThread;
    laneThread = Thread.currentThread();
    wrote = false;
    killRequested = false;
    startedNanos = clock.nanos();
    current = script;
    unclustered = !inCluster;
    running = true;
    try {
      return r.run(request, script, calls);
    } finally {
      running = false;
      unclustered = false;
      current = null;
      laneThread = previous;
      batchWritten.addAll(calls.written);
    }
  }

  private static Frame noEngine(Frame request) {
    return request.replyError(Status.BAD_REQUEST, "this node has no scripting engine (no Redis protocol)");
  }

  /**
   * The keys the last script (or every script of the last scripted batch) run on this thread wrote,
   * for its replication effects; empty when none.
   */
  List<byte[]> lastWrittenKeys() {
    return writtenKeys;
  }

  /** Stops a running script (written or not: the node is going away) and the lane. */
  @Override
  public void close() {
    killRequested = true;
    lane.shutdownNow();
  }

  /** A request a script may not make here; its message is Redis's error text. */
  public static final class Refused extends RuntimeException {
    public Refused(String message) {
      super(message, null, false, false);
    }
  }

  private final class Calls implements ScriptCalls {
    private final UnaryOperator<Frame> held;
    private final boolean inCluster;
    private final Integer slot;
    final List<byte[]> written = new ArrayList<>();

    Calls(UnaryOperator<Frame> held, boolean inCluster, Integer slot) {
      this.held = held;
      this.inCluster = inCluster;
      this.slot = slot;
    }

    @Override
    public Frame call(Frame request) {
      Opcode op = request.op();
      if (op == Opcode.SCRIPT || op == Opcode.TRANSACTION) {
        throw new Refused("ERR This Redis command is not allowed from script");
      }
      if (inCluster) {
        for (byte[] key : keysOf(request)) {
          if (slot == null) {
            throw new Refused("ERR Script attempted to access a non local key in a cluster node script");
          }
          if (KeySlot.of(key) != slot) {
            throw new Refused("ERR Script attempted to access keys that do not hash to the same slot");
          }
        }
      }
      Frame reply = held.apply(request);
      if (op != null && !op.readOnly()) {
        written.addAll(Replicator.writtenKeys(request));
      }
      return reply;
    }

    @Override
    public void markWrite() {
      wrote = true;
    }

    @Override
    public boolean killRequested() {
      return killRequested;
    }
  }

  /** Every key a data request names. */
  private static List<byte[]> keysOf(Frame request) {
    Opcode op = request.op();
    if (op == null) {
      return List.of();
    }
    try {
      List<byte[]> multi = BatchKeys.multiKeys(request);
      if (multi != null) {
        return multi;
      }
      List<byte[]> keys = new ArrayList<>();
      if (op.keyed()) {
        keys.add(request.key());
      }
      List<byte[]> more = BatchKeys.sameSlotKeys(request);
      if (more != null) {
        keys.addAll(more);
      }
      return keys;
    } catch (ListCodec.MalformedListException | IllegalArgumentException e) {
      return List.of(); // the executor answers BAD_REQUEST for it
    }
  }
}
