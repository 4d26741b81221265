package io.distcache.server.net;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.concurrent.RejectedExecutionException;

/*
 * Design: Redis answers a whole event-loop cycle at once: it reads and executes every ready client,
 * then writes all their replies before it sleeps again. Writing each connection's replies the
 * moment its read completes (Netty's natural shape) costs the same syscalls but wakes the client
 * process once per connection while this thread still has others to serve, and on a machine with
 * few cores those wake-ups steal the core the event loop needs. So a connection handler (RESP or
 * binary) with replies written but not flushed registers here, and one task, which Netty runs
 * after it has handled every ready channel of the cycle and the tasks queued before it (forwarded
 * replies arriving in a burst), flushes them all. One instance per event loop, touched only by its
 * thread.
 */

/** The connections of one event loop with replies to flush once this I/O cycle ends. */
public final class FlushBatch implements Runnable {
  /** A connection handler whose unflushed replies wait for the cycle's end. */
  public interface Member {
    /** Flushes what the handler has written; called once per {@link #enqueue}, on its event loop. */
    void flushQueued();
  }

  /**
   * The batches of the executors the calling thread runs. A Netty event-loop thread runs one; a
   * test thread driving EmbeddedChannels runs one per channel, and a batch whose task a test never
   * ran must not hold back the others, so batches are per executor, not per thread.
   */
  private static final FastThreadLocal<Batches> PER_THREAD = new FastThreadLocal<>() {
    @Override
    protected Batches initialValue() {
      return new Batches();
    }
  };

  private static final class Batches {
    final IdentityHashMap<EventExecutor, FlushBatch> byLoop = new IdentityHashMap<>();
    FlushBatch last;
  }

  private final EventExecutor executor;
  private ArrayList<Member> pending = new ArrayList<>();
  private ArrayList<Member> flushing = new ArrayList<>();
  private boolean scheduled;

  private FlushBatch(EventExecutor executor) {
    this.executor = executor;
  }

  /** The batch of {@code loop}; call on that loop's thread. */
  public static FlushBatch of(EventExecutor loop) {
    Batches batches = PER_THREAD.get();
    FlushBatch last = batches.last;
    if (last != null && last.executor == loop) {
      return last;
    }
    FlushBatch batch = batches.byLoop.computeIfAbsent(loop, FlushBatch::new);
    batches.last = batch;
    return batch;
  }

  /** Flushes {@code member} once the cycle's I/O is done (at once if the loop is shutting down). */
  public void enqueue(Member member) {
    pending.add(member);
    if (scheduled) {
      return;
    }
    scheduled = true;
    try {
      executor.execute(this);
    } catch (RejectedExecutionException shuttingDown) {
      run();
    }
  }

  @Override
  public void run() {
    scheduled = false;
    // A member a flush makes add itself again (writability) lands in the next batch, not this one.
    ArrayList<Member> now = pending;
    pending = flushing;
    flushing = now;
    for (int i = 0; i < now.size(); i++) {
      now.get(i).flushQueued();
    }
    now.clear();
  }
}
