package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;
import java.nio.ByteBuffer;

/*
 * Design: a large SET's value used to travel from the socket to the store as a heap array of its
 * size (the RESP decoder copied it out of the read buffer, the frame carried it, the store copied
 * it again): G1 humongous objects from 512 KiB, 1.4 MiB of arrays per 512 KiB SET (issue 16). A
 * connection that has the value in a Netty buffer attaches it to the request instead, and the node
 * that serves the request locally copies it from there into the store: one copy, no array.
 *
 * The buffer is lent for the send only: the connection releases it once send returns
 * (release(keepCopy)). A request that is still in flight then (forwarded to another node, queued
 * for a moving slot or a hand-off) needs its value later, on another thread: release(true) copies
 * it into a heap array first, and value() answers that array from then on. A request already
 * answered needs nothing more (the store holds the value; replication ships what the store holds),
 * so release(false) drops the bytes, and a late value() fails loudly instead of reading freed
 * memory. Every method holds the instance's lock, so a reader on another thread sees either the
 * live buffer or the copy, never a released buffer.
 *
 * A request served here whose answer waits for the replicas (sync replication, the default) is
 * still in flight when send returns, but its value is in the store by then and nothing reads the
 * request's value again (replication ships what the store holds; a write held, queued or
 * forwarded is sent before it is applied, never after): the executor marks it stored() once the
 * store has copied it, and release(true) then keeps no copy (a reviewer: every large SET, MSET and
 * GETSET on a node with a replica still made one).
 *
 * A replicated large string travels as one too (issue 16: a 1 MiB SET with a replica made five
 * heap arrays of 1 MiB, each a G1 humongous object). Such a value is held on the heap in chunks
 * below half a G1 region ({@link #heapCopyOf}: the owner's copy out of its store; {@link #ofHeap}:
 * the chunks FrameDecoder gathered on the replica), so it needs no release and no array of its
 * size: the collector frees it, and release does nothing to it. The frame encoder writes a buffered
 * value from its buffer ({@link #copyTo(ByteBuf, int, int)}), and readers of a heap value take
 * views of it ({@link #heapView}) that they may keep.
 */

/** A request value held in a (reference-counted) Netty buffer instead of a heap array. */
public final class BufferedValue {
  private final int length;
  /** Held on the heap and never released (ofHeap, heapCopyOf). */
  private final boolean heap;
  private ByteBuf buffer;
  private byte[] copy;

  /** Takes over one reference to {@code buffer}: its readable bytes are the value. */
  public BufferedValue(ByteBuf buffer) {
    this(buffer, false);
  }

  private BufferedValue(ByteBuf buffer, boolean heap) {
    this.buffer = buffer;
    this.length = buffer.readableBytes();
    this.heap = heap;
  }

  /** The largest chunk {@link #heapCopyOf} makes: far below half of G1's smallest region (1 MiB). */
  public static final int HEAP_CHUNK_BYTES = 64 * 1024;

  /**
   * A value whose bytes are {@code heap}'s readable bytes, held on the heap (an array, or a
   * composite of arrays): never released, so views of it may be kept (see the design note).
   *
   * @throws IllegalArgumentException when {@code heap} is not on the heap
   */
  public static BufferedValue ofHeap(ByteBuf heap) {
    if (heap.isReadable() && (heap.isDirect() || heap.hasMemoryAddress())) {
      throw new IllegalArgumentException("a heap value must be held in heap arrays, got " + heap);
    }
    return new BufferedValue(Unpooled.unreleasableBuffer(heap), true);
  }

  /**
   * A heap copy of {@code src}'s remaining bytes (its position unchanged) in chunks of at most
   * {@link #HEAP_CHUNK_BYTES}: no array of the value's size, whatever its size.
   */
  public static BufferedValue heapCopyOf(ByteBuffer src) {
    int n = src.remaining();
    byte[][] chunks = new byte[Math.max(1, (n + HEAP_CHUNK_BYTES - 1) / HEAP_CHUNK_BYTES)][];
    for (int i = 0, at = 0; i < chunks.length; i++, at += HEAP_CHUNK_BYTES) {
      chunks[i] = new byte[Math.min(HEAP_CHUNK_BYTES, n - at)];
      src.get(src.position() + at, chunks[i]);
    }
    return ofHeap(Unpooled.wrappedBuffer(chunks));
  }

  /** True for a value held on the heap that is never released ({@link #ofHeap}, {@link #heapCopyOf}). */
  public boolean onHeap() {
    return heap;
  }

  /**
   * A view of a heap value's bytes with its own indexes, which the caller may keep and slice; its
   * release does nothing.
   *
   * @throws IllegalStateException for a value that is not {@link #onHeap}
   */
  public synchronized ByteBuf heapView() {
    if (!heap) {
      throw new IllegalStateException("only a heap value may be viewed beyond its request; this one is lent");
    }
    return live().duplicate();
  }

  /**
   * Writes {@code n} bytes of the value from {@code from} at {@code dst}'s writer index, which
   * advances (the frame encoder: a buffered value goes out without an array of its size).
   */
  public synchronized void copyTo(ByteBuf dst, int from, int n) {
    if (from < 0 || n < 0 || from > length - n) {
      throw new IndexOutOfBoundsException(n + " bytes from " + from + " of a value of " + length + " bytes");
    }
    if (copy != null) {
      dst.writeBytes(copy, from, n);
    } else {
      ByteBuf b = live();
      // From the source's side: a composite source copies piece by piece into dst. dst.writeBytes
      // (src, ...) asks a source with no array and no address for one nioBuffer, which for a
      // composite is a new array of the whole range (the profile of a replicated 1 MiB SET).
      dst.ensureWritable(n);
      b.getBytes(b.readerIndex() + from, dst, n);
    }
  }

  /** The value's length in bytes. */
  public int length() {
    return length;
  }

  /** Copies the value into {@code dst} from its position, which advances by {@link #length()}. */
  public synchronized void copyTo(ByteBuffer dst) {
    if (copy != null) {
      dst.put(copy);
    } else {
      ByteBuf b = live();
      int at = dst.position();
      // Through a view limited to the value, so a composite source fills it piece by piece.
      b.getBytes(b.readerIndex(), dst.duplicate().limit(at + length));
      dst.position(at + length);
    }
  }

  /**
   * Copies the value into {@code dst} at absolute index {@code at}, leaving {@code dst}'s position
   * and limit alone (the store's pages are shared views: EntryCodec). A buffer with a memory address
   * (a slice of the read buffer: every value the RESP decoder hands over whole) is copied address to
   * address: the views the store made of its page and the one Netty's getBytes(int, ByteBuffer)
   * makes of its own memory were three DirectByteBuffer objects per value, about 150 of the 684
   * bytes of heap a 1 KiB SET allocated (docs/BENCHMARKS.md, issue 16). A composite or heap buffer
   * goes through a view.
   */
  public synchronized void copyTo(ByteBuffer dst, int at) {
    if (at < 0 || at > dst.limit() - length) {
      throw new IndexOutOfBoundsException("value of " + length + " bytes at " + at + " in a buffer of " + dst.limit());
    }
    if (copy != null) {
      dst.put(at, copy, 0, length);
      return;
    }
    ByteBuf b = live();
    if (dst.isDirect() && b.hasMemoryAddress() && PlatformDependent.hasUnsafe() && !dst.isReadOnly()) {
      if (b.readerIndex() > b.capacity() - length) { // as getBytes' checkIndex: never read past the source
        throw new IndexOutOfBoundsException("value of " + length + " bytes at " + b.readerIndex() + " in a buffer of "
            + b.capacity());
      }
      PlatformDependent.copyMemory(b.memoryAddress() + b.readerIndex(), PlatformDependent.directBufferAddress(dst) + at, length);
    } else {
      b.getBytes(b.readerIndex(), dst.duplicate().limit(at + length).position(at));
    }
  }

  /** The value as a heap array: a copy made on first use (or at release(true)) and kept. */
  public synchronized byte[] array() {
    if (copy == null) {
      ByteBuf b = live();
      byte[] a = new byte[length];
      b.getBytes(b.readerIndex(), a);
      copy = a;
    }
    return copy;
  }

  /**
   * Gives the buffer back; with {@code keepCopy} the value stays readable as a heap array (copied
   * now unless it was already). Idempotent. Nothing to give back for a heap value: it stays readable.
   */
  public synchronized void release(boolean keepCopy) {
    if (buffer == null || heap) {
      return;
    }
    if (keepCopy && !stored) {
      array();
    }
    ByteBuf b = buffer;
    buffer = null;
    b.release();
  }

  /**
   * Runs {@code reader} on the value's bytes (the live buffer, or a wrapper of the copy once
   * released with one) under the instance's lock; the reader must not move the buffer's indexes
   * or keep it, only copy out or take retained slices (BufferedPairs).
   */
  synchronized <T> T read(java.util.function.Function<ByteBuf, T> reader) {
    return reader.apply(copy != null ? io.netty.buffer.Unpooled.wrappedBuffer(copy) : live());
  }

  /** Set once the store has copied the value (see the design note): release(true) then keeps no copy. */
  private boolean stored;

  /** The request was served here and the store holds its value: nothing reads it from the request again. */
  public synchronized void stored() {
    stored = true;
  }

  /** True once a heap array of the value was made (array(), release(true)): what a buffered path avoids. */
  public synchronized boolean copied() {
    return copy != null;
  }

  /** True while the buffer is held (not yet released). */
  public synchronized boolean held() {
    return buffer != null;
  }

  private ByteBuf live() {
    if (buffer == null) {
      throw new IllegalStateException("the value of " + length + " bytes was released after its request was answered");
    }
    return buffer;
  }
}
