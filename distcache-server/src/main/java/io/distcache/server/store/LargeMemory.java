package io.distcache.server.store;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.util.internal.CleanableDirectBuffer;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: a large entry's buffer (PageLog) with a reference count, so that a GET's reply can be
 * written from the store's memory itself instead of from a copy of it: the copy was 27% of a 256
 * KiB GET's CPU, and Redis writes from its string with no copy in user space (issue 16). The entry
 * holds one reference from its write until it dies (overwritten, deleted, expired, evicted,
 * FLUSHALL); a reply takes one more (share, under the segment's read lock) in a read-only ByteBuf
 * over the value that the connection hands to its channel, and that buffer's release (once its bytes
 * are on the socket, or encrypted by TLS, or dropped with a closed connection) gives the reference
 * back. Whoever lets go last gives the memory back to the budget: pooled or freed. So a buffer whose
 * entry died while a reply queued on a slow socket still points at it is neither freed nor reused
 * (pooled, then taken by the next large write) before that reply is gone; until then the budget
 * counts it (MemoryBudget.lent), so used_memory and --max-memory stay truthful.
 *
 * A reply may also hold the buffer of an entry that lives on: the writes that edit a large buffer
 * where it lies (APPEND and SETRANGE, a large hash or set: Segment.spliceString, editInPlace) write
 * a new buffer instead while it is shared, so a reply's bytes are exactly the value it read.
 *
 * Thread-safety: a reply takes its reference under the segment's read lock while the entry's is still
 * held (an entry dies only under the write lock), so the count never rises from 0; under the write
 * lock it can only fall, which makes shared() a safe test before an edit in place, and lets an
 * entry that dies unshared free its buffer without more ado. An entry that dies shared and the last
 * reply's release meet under the pool's lock (MemoryBudget.lendIfHeld, returnLent), so the lent
 * bytes are added and taken away exactly once, in that order, whichever thread comes first.
 */

/** A large entry's memory, shared by the entry and the replies written from it. */
final class LargeMemory {
  private final CleanableDirectBuffer memory;
  private final MemoryBudget budget;
  /** The entry's reference (until it dies) and one per reply holding the buffer. */
  private final AtomicInteger refs = new AtomicInteger(1);

  LargeMemory(CleanableDirectBuffer memory, MemoryBudget budget) {
    this.memory = memory;
    this.budget = budget;
  }

  /** The whole memory (its capacity is what the budget counts). */
  ByteBuffer buffer() {
    return memory.buffer();
  }

  /** True while a reply holds the buffer; under the segment's write lock it can only become false. */
  boolean shared() {
    return refs.get() > 1;
  }

  /**
   * A read-only ByteBuf over {@code view} (a writable slice of this memory: the value), holding a
   * reference until it is released. The caller holds the segment's lock and the entry is live.
   */
  ByteBuf share(ByteBuffer view) {
    refs.incrementAndGet();
    try {
      return new Held(view, this).asReadOnly();
    } catch (RuntimeException | Error e) {
      replyDone();
      throw e;
    }
  }

  /**
   * The entry is gone, or never took the buffer (caller holds the segment's write lock): the memory
   * goes back to the budget now, or when the last reply holding it is released.
   */
  void entryGone() {
    if (refs.get() == 1) {
      // no reply holds it, and none can take one under the write lock
      refs.set(0);
      budget.freeLarge(memory);
    } else if (!budget.lendIfHeld(() -> refs.decrementAndGet() > 0, memory.buffer().capacity())) {
      budget.freeLarge(memory); // the last reply let go meanwhile
    }
  }

  /** A reply's buffer was released (any thread). */
  private void replyDone() {
    if (refs.decrementAndGet() == 0) {
      budget.returnLent(memory);
    }
  }

  /** The count, for tests. */
  int refCount() {
    return refs.get();
  }

  /** The reply's view: releasing it (Netty's last release) gives the reference back. */
  private static final class Held extends UnpooledDirectByteBuf {
    private final LargeMemory owner;

    Held(ByteBuffer view, LargeMemory owner) {
      // wraps the view without copying or ever freeing it (Netty's doNotFree for a given buffer)
      super(UnpooledByteBufAllocator.DEFAULT, view, view.remaining());
      this.owner = owner;
    }

    @Override
    protected void deallocate() {
      super.deallocate();
      owner.replyDone();
    }
  }
}
