package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/*
 * Design: a bulk of RespDecoder.STREAM_BULK_BYTES or more arrives as a Netty buffer, not a heap
 * array, so a large SET's value can go from the read buffer into the store without an array of its
 * size (issue 16). Such an argument is null in args and held in buffers at the same index. Only
 * RespSession decides what happens to it, before the command runs: kept for the commands that take
 * a buffered value (BUFFERED_VALUE_COMMANDS), copied into args for every other command
 * (materialize), so no other handler ever sees a null argument. Whoever holds the command releases
 * what is left (release): every buffer is released exactly once, by materialize, by take's new
 * owner, or by release.
 */

/** One decoded Redis request: the command name and its arguments, as sent. */
final class RespCommand {
  final byte[][] args;
  /**
   * The memory the request takes, heap and buffers, as RespDecoder estimates it: what the node-wide
   * input bound counts while the request waits to run (RespSession).
   */
  final long heldBytes;
  /** Large bulks still in their buffers, by argument index (args holds null there); null when none. */
  private ByteBuf[] buffers;

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
  boolean bufferedOnlyWhere(java.util.function.IntPredicate may) {
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

  /** Takes argument {@code i}'s buffer: the caller now owns (and releases) it; null when none. */
  ByteBuf take(int i) {
    ByteBuf b = peek(i);
    if (b != null) {
      buffers[i] = null;
    }
    return b;
  }

  /** Copies every buffered argument into args and releases its buffer. */
  void materialize() {
    if (buffers == null) {
      return;
    }
    ByteBuf[] held = buffers;
    buffers = null;
    try {
      for (int i = 0; i < held.length; i++) {
        if (held[i] != null) {
          args[i] = ByteBufUtil.getBytes(held[i]);
        }
      }
    } finally {
      for (ByteBuf b : held) {
        if (b != null) {
          b.release();
        }
      }
    }
  }

  /** Releases the buffers not taken (the command ran, failed, or is dropped). */
  void release() {
    if (buffers == null) {
      return;
    }
    ByteBuf[] held = buffers;
    buffers = null;
    for (ByteBuf b : held) {
      if (b != null) {
        b.release();
      }
    }
  }
}
