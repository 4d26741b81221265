package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import java.util.Map;
import java.util.function.IntPredicate;

/*
 * Design: a bulk can arrive as a Netty buffer, not a heap array, so a SET's value can go from the
 * read buffer into the store without an array of its size (issue 16): a bulk of
 * RespDecoder.STREAM_BULK_BYTES or more for any command, and a value of RespDecoder.SLICE_BULK_BYTES
 * or more of a command that takes its values from buffers (VALUE_ARGS). Such an argument is null in
 * args and held in buffers at the same index. Only RespSession decides what happens to it, before
 * the command runs: kept for the commands that take a buffered value, copied into args for every
 * other command (materialize), so no other handler ever sees a null argument.
 *
 * A kept buffer is usually a slice of the connection's read buffer, which it keeps alive: that is
 * free while the command runs within the read that delivered it, but a command that waits (queued
 * behind a blocking pop, a script or a slow client) first copies its slices into buffers of their
 * own (detach), so a queued 1 KiB value never holds a read buffer of up to 1 MiB.
 *
 * Every buffer is released exactly once, by materialize or release; a command that takes one
 * (take) gets its own reference, so the value stays readable here until the command has finished,
 * for the slow log (shown), without a copy of its head made per request.
 */

/** One decoded Redis request: the command name and its arguments, as sent. */
final class RespCommand {
  final byte[][] args;
  /**
   * The memory the request takes, heap and buffers, as RespDecoder estimates it: what the node-wide
   * input bound counts while the request waits to run (RespSession).
   */
  final long heldBytes;
  /** Bulks still in their buffers, by argument index (args holds null there); null when none. */
  private ByteBuf[] buffers;

  /**
   * What stands among the arguments for a value left in its buffer while the command runs; the slow
   * log and MONITOR see {@link #shown} instead. Never stored: the handlers of VALUE_ARGS take the
   * buffer for it.
   */
  static final byte[] IN_BUFFER = "(a value in its buffer)".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /**
   * The commands whose values the store may copy from their buffers, with the argument indexes
   * those values may be at: the SET family and GETSET (one value; LocalExecutor.set and getAndSet
   * take a BufferedValue), MSET and MSETNX (every value, at the even indexes from 2; the pair list
   * is a BufferedPairs), APPEND (its suffix; LocalExecutor.append). Any other command gets its
   * buffered arguments as arrays.
   */
  private static final CommandIndex<IntPredicate> VALUE_ARGS;

  static {
    IntPredicate second = i -> i == 2;
    IntPredicate third = i -> i == 3;
    IntPredicate pairValues = i -> i >= 2 && i % 2 == 0;
    VALUE_ARGS = new CommandIndex<>(Map.of("set", second, "setnx", second, "setex", third, "psetex", third,
        "getset", second, "mset", pairValues, "msetnx", pairValues, "append", second));
  }

  /** The indexes at which command {@code name} (any letter case) takes values from buffers; null for other commands. */
  static IntPredicate valueArgs(byte[] name) {
    return VALUE_ARGS.get(name);
  }

  RespCommand(byte[][] args, ByteBuf[] buffers, long heldBytes) {
    this.args = args;
    this.buffers = buffers;
    this.heldBytes = heldBytes;
  }

  /** True while some argument is still in a buffer. */
  boolean buffered() {
    return buffers != null;
  }

  /** True when some argument is in a buffer and every such argument's index satisfies {@code may}. */
  boolean bufferedOnlyWhere(IntPredicate may) {
    if (buffers == null) {
      return false;
    }
    for (int j = 0; j < buffers.length; j++) {
      if (buffers[j] != null && !may.test(j)) {
        return false;
      }
    }
    return true;
  }

  /** The buffer of argument {@code i} (still owned here), or null. */
  ByteBuf peek(int i) {
    return buffers == null || i >= buffers.length ? null : buffers[i];
  }

  /**
   * Argument {@code i}'s buffer with a reference of the caller's own (who releases it; it must not
   * move the buffer's indexes), or null when none. The command keeps its own until release.
   */
  ByteBuf take(int i) {
    ByteBuf b = peek(i);
    return b == null ? null : b.retain();
  }

  /**
   * {@code args} as the slow log and MONITOR show them: each IN_BUFFER replaced by the head of its
   * value and its length (SlowLog.shortened). Only while the buffers are held (before release).
   */
  byte[][] shown(byte[][] args) {
    if (buffers == null) {
      return args;
    }
    byte[][] copy = args.clone();
    for (int i = 0; i < copy.length && i < buffers.length; i++) {
      ByteBuf value = buffers[i];
      if (value != null && copy[i] == IN_BUFFER) {
        byte[] head = new byte[Math.min(SlowLog.MAX_ARG_BYTES, value.readableBytes())];
        value.getBytes(value.readerIndex(), head);
        copy[i] = SlowLog.shortened(head, value.readableBytes());
      }
    }
    return copy;
  }

  /**
   * The command waits to run: each buffer that is a slice of a read buffer is replaced by a copy of
   * its own size from {@code alloc} (see the design note). The chunks of a streamed bulk are the
   * request's own already and stay.
   */
  void detach(ByteBufAllocator alloc) {
    if (buffers != null) {
      detach(buffers, 0, buffers.length, alloc);
    }
  }

  /**
   * Replaces each slice among {@code buffers[from..to)} by a copy of its own (ownCopy); the chunks
   * of a streamed bulk (a CompositeByteBuf) are the request's own already and stay. Should a copy
   * fail, the slices not yet copied are still in place, held, and released with the request.
   */
  static void detach(ByteBuf[] buffers, int from, int to, ByteBufAllocator alloc) {
    for (int i = from; i < to; i++) {
      ByteBuf b = buffers[i];
      if (b != null && !(b instanceof CompositeByteBuf)) {
        buffers[i] = ownCopy(b, alloc);
      }
    }
  }

  /** A copy of {@code slice}'s readable bytes in a buffer of exactly that size; {@code slice} is released once copied. */
  static ByteBuf ownCopy(ByteBuf slice, ByteBufAllocator alloc) {
    int length = slice.readableBytes();
    ByteBuf own = alloc.directBuffer(length, length); // may fail for memory: the slice is still held then
    own.writeBytes(slice, slice.readerIndex(), length);
    slice.release();
    return own;
  }

  /**
   * Copies every buffered argument into args and releases its buffer. Returns the heap the new
   * arrays hold beyond what heldBytes counts for them (ArrayHeap: G1 gives an array of more than
   * half a region whole regions), which the session adds to the request's share while it waits.
   */
  long materialize() {
    if (buffers == null) {
      return 0;
    }
    ByteBuf[] held = buffers;
    buffers = null;
    long excess = 0;
    try {
      for (int i = 0; i < held.length; i++) {
        if (held[i] != null) {
          args[i] = ByteBufUtil.getBytes(held[i]);
          excess += ArrayHeap.excess(args[i].length);
        }
      }
    } finally {
      releaseAll(held);
    }
    return excess;
  }

  /** Releases the buffers (the command ran, failed, or is dropped). */
  void release() {
    if (buffers == null) {
      return;
    }
    ByteBuf[] held = buffers;
    buffers = null;
    releaseAll(held);
  }

  static void releaseAll(ByteBuf[] held) {
    for (ByteBuf b : held) {
      if (b != null) {
        b.release();
      }
    }
  }
}
