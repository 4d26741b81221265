package io.distcache.server.resp;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/*
 * Design: compiles scripts off the event loops, and bounds the script bodies that wait to be
 * compiled. LuaJ's compiler needs about a microsecond per byte of a body (a 2.4 MB SCRIPT LOAD took
 * 2 s): on an event loop that stalls every connection of the loop. So a body the cache does not
 * hold yet (SCRIPT LOAD, the first EVAL of it, the EVALs of a MULTI before EXEC replays them) is
 * compiled on a thread of its own, one at a time (a flood of compiles takes one core, not every
 * event loop), and the command's reply completes later, in the connection's order: the commands it
 * sent next wait for it (RespSession.runNextAfter), so a pipelined EVALSHA after SCRIPT LOAD finds
 * the script. A body the cache holds costs a lookup by its bytes on the event loop, as before.
 *
 * Bounded: the bodies waiting or compiling count against MAX_WAITING_BYTES (64 MiB: sixteen bodies
 * of the 4 MiB limit) and MAX_WAITING (1,024); one past either is refused at once with an error
 * naming the bound, so a flood of large SCRIPT LOADs costs at most that much heap on top of what the
 * connections' input bounds allow. FUNCTION LOAD and RESTORE compile on the script lane (their
 * top-level code runs there), and their code counts against the same bound while it waits for the
 * lane (reserve).
 *
 * The bytes waiting count in the node's HeapBudgets too, taken with this bound's (a body that does
 * not fit there is refused as here, naming the shared limit) and given back with it.
 *
 * The thread ends after 30 s without work, so an idle node (or a test's many nodes) keeps none.
 */

/** Compiles scripts on a thread of their own; bounds the bodies waiting for it. */
final class ScriptCompiler {
  /** Bytes of script bodies (and function code) waiting to be compiled, at most. */
  static final long MAX_WAITING_BYTES = 64L * 1024 * 1024;
  /** Script bodies (and function libraries) waiting to be compiled, at most. */
  static final int MAX_WAITING = 1_024;

  private final long maxBytes;
  private final int maxCount;
  private final java.util.concurrent.Executor thread;
  private final io.distcache.server.HeapBudgets heap;
  // Guarded by this.
  private long waitingBytes;
  private int waiting;

  ScriptCompiler() {
    this(MAX_WAITING_BYTES, MAX_WAITING);
  }

  ScriptCompiler(long maxBytes, int maxCount) {
    this(maxBytes, maxCount, null);
  }

  /**
   * {@code executor}: where bodies compile; null for a thread of the compiler's own (tests of a
   * session on an EmbeddedChannel pass Runnable::run, compiling on the caller's thread).
   */
  ScriptCompiler(long maxBytes, int maxCount, java.util.concurrent.Executor executor) {
    this(maxBytes, maxCount, executor, io.distcache.server.HeapBudgets.unbounded());
  }

  /** As above, with the waiting bytes counted in the node's {@code heap} too. */
  ScriptCompiler(long maxBytes, int maxCount, java.util.concurrent.Executor executor,
      io.distcache.server.HeapBudgets heap) {
    this.heap = heap;
    if (maxBytes < 1 || maxCount < 1) {
      throw new IllegalArgumentException("compile bounds must be positive: " + maxBytes + " bytes, " + maxCount + " bodies");
    }
    this.maxBytes = maxBytes;
    this.maxCount = maxCount;
    if (executor != null) {
      this.thread = executor;
      return;
    }
    ThreadPoolExecutor own = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "distcache-script-compile");
      t.setDaemon(true);
      return t;
    });
    own.allowCoreThreadTimeOut(true);
    this.thread = own;
  }

  /**
   * The script for {@code body} from {@code cache}: complete at once when the cache holds it (or the
   * body is over the size limit: failed with that error), else compiled on this compiler's thread
   * and cached. Fails with a CommandException carrying Redis's compile error, or this bound's error
   * when too many bodies wait already.
   */
  CompletableFuture<ScriptCache.Script> load(ScriptCache cache, byte[] body) {
    ScriptCache.Script known;
    try {
      known = cache.cached(body);
    } catch (CommandException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (known != null) {
      return CompletableFuture.completedFuture(known);
    }
    return reserve(body.length, () -> onThread(() -> cache.load(body)));
  }

  /** Runs {@code work} on the compiler's thread, after what waits for it already. */
  <T> CompletableFuture<T> onThread(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, thread);
  }

  /**
   * Runs {@code work} (which starts something that holds {@code bytes} of code until its future
   * completes) with those bytes, and one body, counted against the bounds; a failed future with the
   * bound's error, {@code work} not run, when they do not fit.
   */
  <T> CompletableFuture<T> reserve(long bytes, Supplier<CompletableFuture<T>> work) {
    if (bytes == 0) {
      return work.get(); // no code (FUNCTION DELETE, FLUSH): nothing to bound
    }
    synchronized (this) {
      if (waiting >= maxCount || waitingBytes + bytes > maxBytes) {
        return CompletableFuture.failedFuture(new CommandException("ERR " + waiting + " scripts of " + waitingBytes
            + " bytes already wait to be compiled on this node; one more of " + bytes + " bytes is over the limit of "
            + maxCount + " scripts or " + maxBytes + " bytes (try again once they are done)"));
      }
      if (!heap.take(bytes)) {
        return CompletableFuture.failedFuture(new CommandException("ERR a script of " + bytes + " bytes waiting to be"
            + " compiled " + heap.overLimit() + " (try again later)"));
      }
      waiting++;
      waitingBytes += bytes;
    }
    CompletableFuture<T> started;
    try {
      started = work.get();
    } catch (RuntimeException | Error e) { // an Error too (no thread for the compiler): the bytes would stay counted for good
      release(bytes);
      throw e;
    }
    return started.whenComplete((r, e) -> release(bytes));
  }

  private synchronized void release(long bytes) {
    waiting--;
    waitingBytes -= bytes;
    heap.release(bytes);
  }

  /** Bytes of bodies waiting or compiling now. */
  synchronized long waitingBytes() {
    return waitingBytes;
  }
}
