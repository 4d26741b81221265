package io.distcache.server.resp;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayList;

/*
 * Design: Redis answers a whole event-loop cycle at once: it reads and executes every ready client,
 * then writes all their replies before it sleeps again. Writing each connection's replies the
 * moment its read completes (Netty's natural shape) costs the same syscalls but wakes the client
 * process once per connection while this thread still has others to serve, and on a machine with
 * few cores those wake-ups steal the core the event loop needs. So a session with replies at the
 * end of its read registers here, and one task, which Netty runs after it has handled every ready
 * channel of the cycle, flushes them all. One instance per event-loop thread, touched only by it.
 * A thread that runs several executors (EmbeddedChannel tests) gets the batch while it is idle;
 * while it is queued on another executor the caller flushes at once instead.
 */

/** The sessions of one event loop with replies to flush once this I/O cycle ends. */
final class FlushBatch implements Runnable {
  private static final FastThreadLocal<FlushBatch> PER_LOOP = new FastThreadLocal<>() {
    @Override
    protected FlushBatch initialValue() {
      return new FlushBatch();
    }
  };

  private ArrayList<RespSession> pending = new ArrayList<>();
  private ArrayList<RespSession> flushing = new ArrayList<>();
  private boolean scheduled;
  private EventExecutor executor;

  /** The calling thread's batch for {@code loop}, or null when the caller should flush at once. */
  static FlushBatch of(EventExecutor loop) {
    FlushBatch batch = PER_LOOP.get();
    if (batch.scheduled && batch.executor != loop) {
      return null;
    }
    batch.executor = loop;
    return batch;
  }

  /** Flushes {@code session} when the cycle's I/O is done; true when the caller must schedule {@link #run}. */
  boolean add(RespSession session) {
    pending.add(session);
    if (scheduled) {
      return false;
    }
    scheduled = true;
    return true;
  }

  @Override
  public void run() {
    scheduled = false;
    // A session a flush makes add itself again (writability) lands in the next batch, not this one.
    ArrayList<RespSession> now = pending;
    pending = flushing;
    flushing = now;
    for (int i = 0; i < now.size(); i++) {
      now.get(i).flushQueued();
    }
    now.clear();
  }
}
