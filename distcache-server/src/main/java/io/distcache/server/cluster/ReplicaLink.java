package io.distcache.server.cluster;

import io.distcache.protocol.BufferedValue;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the ordered stream of effects from this node (an owner) to one member that replicates
 * some of its slots, like a TCP connection over the bus's request/reply frames.
 *
 * Every effect gets the next sequence number of the stream (a stream id, new for every link and
 * larger than every earlier link's of this process, names the stream: the replica refuses a batch
 * of a link older than one it took from the same owner). Effects are appended under the owner's per-slot stripe lock, right
 * after the write they describe, so the stream has the writes of each slot in the order they were
 * applied. One thread (the replicator's) sends batches, in order, at most MAX_IN_FLIGHT at once;
 * the replica applies a batch only when its first number follows the last it applied (it skips
 * numbers it has, so a batch sent twice is harmless) and answers the last number applied. Any
 * failure (no reply, a lost connection, TRY_AGAIN for a gap, another placement or a slot still
 * being cleaned) rewinds: every unacknowledged effect is sent again, from the replica's last
 * acknowledged number, after a short pause. So the replica applies every effect once, in order,
 * or the link is closed (the member is no longer a replica of any of our slots: dead, left, or
 * moved on the ring), and then nothing waits on it.
 *
 * A batch the replica refuses outright (BAD_REQUEST: it cannot read it, say a format one version
 * writes and the other does not know during a rolling upgrade) is not resent: sent again it is
 * refused again, and the stream, one per replica for all of our slots, stalled for good behind it
 * (every sync write to the replica's slots waited SYNC_WAIT_MILLIS and got BUSY, found in review).
 * The link closes instead, at once and under its lock with the slots of every effect it took, so
 * an effect is either on it or refused by append (its writer goes to the next stream): what waits
 * on it fails, as when a replica loses the stream (the write is applied here, the client is told a
 * replica did not confirm it), and the replicator is told which slots the unacknowledged effects
 * touched (their copies there missed writes). The next write opens a new stream.
 *
 * Bounds: unacknowledged effects are held until acknowledged; their accounted bytes are the lag,
 * which the replicator keeps under MAX_LAG_BYTES by making writes wait (async mode turns into
 * sync while a replica lags that much).
 */

/** The stream of effects to one replica member: ordered, acknowledged, resent after failures. */
final class ReplicaLink {
  private static final Logger log = LoggerFactory.getLogger(ReplicaLink.class);
  static final int MAX_BATCH_EFFECTS = 1024;
  static final int MAX_BATCH_BYTES = 1 << 20;
  static final int MAX_IN_FLIGHT = 4;
  /** Accounted bytes of unacknowledged effects beyond which writes wait for this replica. */
  static final long MAX_LAG_BYTES = 32L << 20;
  /** Heap an effect costs besides its key and value (objects, queue slots). */
  private static final int ENTRY_COST = 64;
  private static final long RETRY_AFTER_REFUSAL_MILLIS = 20;
  private static final long RETRY_AFTER_FAILURE_MILLIS = 100;
  private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  /**
   * The last stream id given. Ids increase across the links this process opens (ReplicaApplier
   * refuses a link older than one it took), starting from the clock in microseconds so that they
   * would go on increasing even if a member id outlived its process.
   */
  private static final AtomicLong STREAM_IDS = new AtomicLong(System.currentTimeMillis() * 1000);

  final Member replica;
  private final long streamId = STREAM_IDS.incrementAndGet();
  private final Supplier<Member> self;
  private final Supplier<Placement> placement;
  private final Peers peers;
  private final ScheduledExecutorService sender;
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_INTERVAL_NANOS);
  /** Guarded by this: since when every batch was refused (TRY_AGAIN) without one answered OK; 0 when the last was OK. */
  private long refusedSinceNanos;

  // Guarded by this.
  private final ArrayDeque<Entry> sent = new ArrayDeque<>();
  private final ArrayDeque<Entry> pending = new ArrayDeque<>();
  private final PriorityQueue<Waiter> waiters = new PriorityQueue<>((a, b) -> Long.compare(a.seq, b.seq));
  private long lastSeq;
  private long acked;
  private long lagBytes;
  private int inFlight;
  private int generation;
  private boolean scheduled;
  private boolean closed;
  /** Why the link closed, when a failure closed it: later waits for effects it never confirmed fail too. */
  private RuntimeException closedBy;
  private long lastAckMillis = System.currentTimeMillis();

  private record Entry(long seq, Effect effect) {}

  /** Told when the replica refused a batch outright, before the link closes (see the design note). */
  interface Refusals {
    /** {@code slots} (a 16,384-bit map): the slots of the effects the replica never acknowledged. */
    void refused(ReplicaLink link, long[] slots, String fault);
  }

  private final Refusals refusals;

  private record Waiter(long seq, CompletableFuture<Void> done) {}

  ReplicaLink(Member replica, Supplier<Member> self, Supplier<Placement> placement, Peers peers,
      ScheduledExecutorService sender) {
    this(replica, self, placement, peers, sender, (link, slots, fault) -> {});
  }

  ReplicaLink(Member replica, Supplier<Member> self, Supplier<Placement> placement, Peers peers,
      ScheduledExecutorService sender, Refusals refusals) {
    this.refusals = refusals;
    this.replica = replica;
    this.self = self;
    this.placement = placement;
    this.peers = peers;
    this.sender = sender;
  }

  /** Appends an effect; returns its sequence number (0 when the link is closed: nothing to wait for). */
  synchronized long append(Effect effect) {
    if (closed) {
      return 0;
    }
    long seq = ++lastSeq;
    pending.add(new Entry(seq, effect));
    lagBytes += effect.encodedBytes() + ENTRY_COST;
    if (!scheduled && inFlight < MAX_IN_FLIGHT) {
      scheduled = true;
      schedule(0);
    }
    return seq;
  }

  /**
   * Completes once the replica has applied effect {@code seq}, or the link is closed: normally (the
   * member is no longer a replica), or with the failure that closed it (abort, a refused batch).
   */
  synchronized CompletableFuture<Void> whenApplied(long seq) {
    if (seq <= acked || closed && closedBy == null) {
      return CompletableFuture.completedFuture(null);
    }
    if (closed) {
      // Closed by a failure after the effect was appended and before this was asked (the sender
      // thread may close the link first): the effect is as unconfirmed as for a waiter it failed.
      return CompletableFuture.failedFuture(closedBy);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    waiters.add(new Waiter(seq, f));
    return f;
  }

  /** True when this replica lags so far behind that writes should wait for it. */
  synchronized boolean lagging() {
    return lagBytes > MAX_LAG_BYTES;
  }

  synchronized long lagBytes() {
    return lagBytes;
  }

  synchronized boolean isClosed() {
    return closed;
  }

  /** The last sequence number given and the last acknowledged: the stream's offsets. */
  synchronized long[] offsets() {
    return new long[] {lastSeq, acked, lagBytes, lastAckMillis};
  }

  /** The member is no longer a replica of our slots: nothing waits for it any more. */
  void close() {
    close(null);
  }

  /** This node is stopping: what waits for the replica fails (it was never confirmed). */
  void abort(String why) {
    close(new IllegalStateException(why));
  }

  /** Closes the link; waiters complete normally, or with {@code failure} when given. */
  private void close(RuntimeException failure) {
    List<Waiter> release;
    synchronized (this) {
      if (closed) {
        return;
      }
      release = closeLocked(failure);
    }
    for (Waiter w : release) {
      if (failure == null) {
        w.done.complete(null);
      } else {
        w.done.completeExceptionally(failure);
      }
    }
  }

  /** Guarded by this: closes the link, dropping what it holds; returns the waiters to complete. */
  private List<Waiter> closeLocked(RuntimeException failure) {
    closed = true;
    closedBy = failure;
    sent.clear();
    pending.clear();
    lagBytes = 0;
    List<Waiter> release = new ArrayList<>(waiters);
    waiters.clear();
    return release;
  }

  private void schedule(long delayMillis) {
    try {
      sender.schedule(this::drain, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopping) {
      abort("the node is stopping; replica " + replica.address() + " did not confirm");
    }
  }

  /** Sends what is pending, in order, within the in-flight window. Runs on the sender thread only. */
  private void drain() {
    List<Frame> frames = new ArrayList<>();
    int gen;
    synchronized (this) {
      scheduled = false;
      if (closed) {
        return;
      }
      Placement p = placement.get();
      int ownerIndex = p.members().indexOf(self.get()); // the replica resolves it in the same placement
      if (ownerIndex < 0) {
        // This node is not in its own placement (it left, or was declared dead): no replica can
        // name the sender of such a batch, and each one came back BAD_REQUEST and was resent with a
        // WARN after every graceful leave (two testers). What is pending stays unsent: nothing
        // here is acknowledged on it, and the node is about to close or to come back empty.
        return;
      }
      while (inFlight < MAX_IN_FLIGHT && !pending.isEmpty()) {
        List<Effect> batch = new ArrayList<>();
        long first = pending.peek().seq;
        int bytes = 0;
        while (!pending.isEmpty() && batch.size() < MAX_BATCH_EFFECTS
            && (batch.isEmpty() || bytes + pending.peek().effect.encodedBytes() <= MAX_BATCH_BYTES)) {
          Entry e = pending.poll();
          sent.add(e);
          batch.add(e.effect);
          bytes += e.effect.encodedBytes();
        }
        frames.add(batchFrame(batch, streamId, first, p.fingerprint(), ownerIndex));
        inFlight++;
      }
      gen = generation;
    }
    for (Frame f : frames) {
      peers.send(replica.address(), f).whenComplete((reply, error) -> answered(gen, reply, error));
    }
  }

  /**
   * The REPLICATE frame of a batch: one with a large value (Effect.large) holds the value's chunks
   * as they are (EffectCodec.encodeBuffer) and the frame encoder copies them to the socket.
   */
  private static Frame batchFrame(List<Effect> batch, long streamId, long first, long fingerprint, int ownerIndex) {
    boolean large = false;
    for (Effect e : batch) {
      large |= e.large() != null;
    }
    if (!large) {
      return Frame.request(Opcode.REPLICATE, 0, null, EffectCodec.encode(batch), streamId, first, fingerprint,
          ownerIndex);
    }
    return Frame.request(Opcode.REPLICATE, 0, null, Frame.EMPTY, streamId, first, fingerprint, ownerIndex)
        .withValue(BufferedValue.ofHeap(EffectCodec.encodeBuffer(batch)));
  }

  private void answered(int gen, Frame reply, Throwable error) {
    List<Waiter> done = new ArrayList<>();
    String problem = null;
    long[] refusedSlots = null;
    List<Waiter> refusedWaiters = null;
    RuntimeException refusal = null;
    synchronized (this) {
      if (reply != null && (reply.status() == Status.OK || reply.status() == Status.TRY_AGAIN)
          && reply.extras().length >= 1) {
        ackTo(reply.extras()[0], done);
      }
      if (!closed && gen == generation) {
        if (reply != null && reply.status() == Status.OK) {
          refusedSinceNanos = 0;
          inFlight--;
          if (!pending.isEmpty() && !scheduled) {
            scheduled = true;
            schedule(0);
          }
        } else if (reply != null && reply.status() == Status.TRY_AGAIN && reply.extras().length >= 1
            && reply.extras()[0] < 0) {
          problem = "it does not know this stream (" + reply.valueText() + ")";
        } else if (reply != null && reply.status() == Status.BAD_REQUEST) {
          // Closed here, with the slots of every effect it took: an effect appended after the slots
          // were listed and before a later close was neither released nor on any stream (a
          // reviewer: writes answered OK that the replica never got). From now on append refuses
          // (the writer goes to the link in this one's place, Replicator.ship), whenApplied fails.
          refusedSlots = unacknowledgedSlots();
          problem = reply.valueText();
          refusal = new IllegalStateException(replica.address() + " refused a replication batch (" + problem + ")");
          generation++;
          inFlight = 0;
          refusedWaiters = closeLocked(refusal);
        } else {
          // Rewind: everything unacknowledged goes again, in order, after a pause.
          generation++;
          inFlight = 0;
          for (Iterator<Entry> it = sent.descendingIterator(); it.hasNext(); ) {
            pending.addFirst(it.next());
          }
          sent.clear();
          boolean refused = reply != null && reply.status() == Status.TRY_AGAIN;
          if (!refused) {
            problem = error != null ? String.valueOf(error.getMessage()) : reply.status() + " " + reply.valueText();
          } else if (refusedSinceNanos == 0) {
            refusedSinceNanos = System.nanoTime();
          } else if (System.nanoTime() - refusedSinceNanos >= LOG_INTERVAL_NANOS) {
            // Refusals are resent quietly (a placement being installed, a slot being cleaned take
            // moments); one that lasts says so, or a stream stuck for good looks like a quiet one.
            problem = "refused for " + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - refusedSinceNanos)
                + " s: " + reply.valueText();
          }
          if (!scheduled) {
            scheduled = true;
            schedule(refused ? RETRY_AFTER_REFUSAL_MILLIS : RETRY_AFTER_FAILURE_MILLIS);
          }
        }
      }
    }
    done.forEach(w -> w.done.complete(null));
    if (refusedSlots != null) {
      long[] slots = refusedSlots;
      String fault = problem;
      // The replicator puts a new link in this one's place, with the effects that make the
      // replica's copies again, then the writes waiting here fail: a write their clients send next
      // goes behind those effects.
      try {
        refusals.refused(this, slots, fault);
      } finally {
        for (Waiter w : refusedWaiters) {
          w.done.completeExceptionally(refusal);
        }
      }
    } else if (problem != null) {
      if (problem.startsWith("it does not know")) {
        log.error("replica {} lost the replication stream: {}; closing it", replica, problem);
        close(new IllegalStateException(replica.address() + " lost the replication stream"));
      } else {
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_INTERVAL_NANOS && lastLog.compareAndSet(last, now)) {
          log.warn("replicating to {} failed, resending: {}", replica, problem);
        }
      }
    }
  }

  /** Guarded by this: the slots of the effects sent or pending, as a 16,384-bit map. */
  private long[] unacknowledgedSlots() {
    long[] slots = new long[KeySlot.SLOTS / 64];
    for (ArrayDeque<Entry> q : List.of(sent, pending)) {
      for (Entry e : q) {
        int slot = e.effect.isMarker() ? e.effect.copiedSlot() : KeySlot.of(e.effect.key());
        slots[slot >>> 6] |= 1L << slot;
      }
    }
    return slots;
  }

  /** Guarded by this: the replica applied every effect up to {@code seq}. */
  private void ackTo(long seq, List<Waiter> done) {
    if (seq <= acked) {
      return;
    }
    acked = Math.min(seq, lastSeq);
    lastAckMillis = System.currentTimeMillis();
    while (!sent.isEmpty() && sent.peek().seq <= acked) {
      lagBytes -= sent.poll().effect.encodedBytes() + ENTRY_COST;
    }
    while (!pending.isEmpty() && pending.peek().seq <= acked) {
      lagBytes -= pending.poll().effect.encodedBytes() + ENTRY_COST;
    }
    while (!waiters.isEmpty() && waiters.peek().seq <= acked) {
      done.add(waiters.poll());
    }
  }
}
