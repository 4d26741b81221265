package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.util.internal.CleanableDirectBuffer;
import io.netty.util.internal.PlatformDependent;
import java.util.ArrayDeque;

/*
 * Design: RespDecoder copies a large bulk that arrives over several reads into direct chunks of
 * CHUNK_BYTES, held until the whole value is in (issue 16). With 50 clients each sending a 1 MiB
 * SET, tens of MiB of chunks are in flight at once, and Netty's adaptive allocator keeps only a few
 * of its own chunks for reuse (CHUNK_REUSE_QUEUE, 4): the rest were unmapped when emptied and the
 * next ones mapped afresh, so a third of a 1 MiB SET's CPU was the kernel faulting in and zeroing
 * the pages of the decoder's chunks (perf, docs/BENCHMARKS.md). Redis's jemalloc keeps freed pages
 * for seconds; so does this pool: a released chunk goes back here, newest first, and the next large
 * bulk takes it with its pages already resident.
 *
 * Bounds: at most MAX_POOLED chunks (32 MiB) wait here; more are freed at once. A chunk not taken
 * again within IDLE_NANOS is freed by the next take or give (looking at the oldest only), so a burst
 * of large requests does not hold its memory for long while traffic goes on; a node that goes quiet
 * right after keeps at most the 32 MiB. Thread-safe (chunks are released on whichever thread
 * releases the request's value).
 */

/** Direct buffers of CHUNK_BYTES for large bulks being received, reused across requests. */
final class BulkChunkPool {
  static final int CHUNK_BYTES = RespDecoder.STREAM_STEP_BYTES;
  static final int MAX_POOLED = 512;
  static final long IDLE_NANOS = 5_000_000_000L;

  static final BulkChunkPool SHARED = new BulkChunkPool();

  private record Pooled(CleanableDirectBuffer memory, long since) {}

  private final ArrayDeque<Pooled> free = new ArrayDeque<>();

  /** An empty chunk of CHUNK_BYTES (writer index 0), reused when one is free; released like any ByteBuf. */
  ByteBuf take(ByteBufAllocator alloc) {
    CleanableDirectBuffer memory = poll(System.nanoTime());
    if (memory == null) {
      memory = PlatformDependent.allocateDirect(CHUNK_BYTES);
    }
    return new Chunk(alloc, memory);
  }

  /** Chunks waiting for reuse. */
  synchronized int pooled() {
    return free.size();
  }

  private synchronized CleanableDirectBuffer poll(long now) {
    trimIdle(now);
    Pooled p = free.pollFirst();
    return p == null ? null : p.memory;
  }

  private void give(CleanableDirectBuffer memory) {
    long now = System.nanoTime();
    synchronized (this) {
      trimIdle(now);
      if (free.size() < MAX_POOLED) {
        free.addFirst(new Pooled(memory, now));
        return;
      }
    }
    memory.clean();
  }

  /** Frees the oldest chunks idle for IDLE_NANOS (a few per call, so no caller pays for many). */
  private void trimIdle(long now) {
    for (int i = 0; i < 4 && !free.isEmpty() && now - free.peekLast().since >= IDLE_NANOS; i++) {
      free.pollLast().memory.clean();
    }
  }

  /** A chunk over pooled memory that goes back to the pool when released. */
  private final class Chunk extends UnpooledDirectByteBuf {
    private final CleanableDirectBuffer memory;

    Chunk(ByteBufAllocator alloc, CleanableDirectBuffer memory) {
      super(alloc, memory.buffer().clear(), CHUNK_BYTES); // a view it never frees itself
      this.memory = memory;
      clear();
    }

    @Override
    protected void deallocate() {
      super.deallocate();
      give(memory);
    }
  }
}
