package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.util.concurrent.PromiseCombiner;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a {@link Frame} as header, extras, key and value into one buffer, or several for a large one.
 *
 * <p>Design: the frame knows its exact wire length, so the encoder asks the allocator for a
 * buffer of exactly that size (a pooled direct buffer by default): one allocation, no resizing,
 * one write to the socket. A frame longer than {@link #PIECE_BYTES} goes out as buffers of at most
 * that size instead, all allocated before any is written (a failed allocation writes nothing, so
 * the stream stays whole): Netty's pool serves buffers up to about 1 MiB, and a larger one was a
 * fresh allocation per frame, whose memory the kernel zeroes page by page on first touch. A 1 MiB
 * SET with a replica sent its effect so, and half of the owner's CPU went to those page faults
 * (issue 16). A value held in a buffer (BufferedValue: a replicated large string) is copied from
 * there. It keeps no state, so one instance serves every channel.
 */
@Sharable
public final class FrameEncoder extends MessageToByteEncoder<Frame> {
  /** Frames longer than this are written as several buffers of at most this many bytes. */
  public static final int PIECE_BYTES = 256 * 1024;

  public FrameEncoder() {
    super(Frame.class);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof Frame frame && frame.encodedLength() > PIECE_BYTES) {
      writePieces(ctx, frame, promise);
    } else {
      super.write(ctx, msg, promise);
    }
  }

  private static void writePieces(ChannelHandlerContext ctx, Frame frame, ChannelPromise promise) {
    int length = frame.valueLength();
    int head = frame.encodedLength() - length; // header, extras and key: at most 64 KiB and change
    int first = Math.max(0, Math.min(length, PIECE_BYTES - head));
    List<ByteBuf> pieces = new ArrayList<>(2 + (length - first) / PIECE_BYTES);
    try {
      ByteBuf b = ctx.alloc().ioBuffer(head + first, head + first);
      pieces.add(b);
      writeHead(frame, b);
      writeValue(frame, b, 0, first);
      for (int at = first; at < length; at += PIECE_BYTES) {
        int n = Math.min(PIECE_BYTES, length - at);
        b = ctx.alloc().ioBuffer(n, n);
        pieces.add(b);
        writeValue(frame, b, at, n);
      }
    } catch (RuntimeException | Error e) {
      pieces.forEach(ByteBuf::release);
      promise.tryFailure(e);
      return;
    }
    if (promise.isVoid()) {
      pieces.forEach(p -> ctx.write(p, promise));
      return;
    }
    PromiseCombiner all = new PromiseCombiner(ctx.executor());
    pieces.forEach(p -> all.add(ctx.write(p)));
    all.finish(promise);
  }

  @Override
  protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, Frame frame, boolean preferDirect) {
    int size = frame.encodedLength();
    return preferDirect ? ctx.alloc().ioBuffer(size, size) : ctx.alloc().heapBuffer(size, size);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) {
    write(frame, out);
  }

  /** Writes the frame at the writer index of {@code out}, which must have room for it. */
  public static void write(Frame frame, ByteBuf out) {
    writeHead(frame, out);
    writeValue(frame, out, 0, frame.valueLength());
  }

  /**
   * Writes {@code n} bytes of the value from {@code from}: a buffered value from its buffer, never
   * through a heap array of its size (Frame.value would make one: BufferedValue).
   */
  private static void writeValue(Frame frame, ByteBuf out, int from, int n) {
    BufferedValue buffered = frame.buffered();
    if (buffered != null) {
      buffered.copyTo(out, from, n);
    } else {
      out.writeBytes(frame.value(), from, n);
    }
  }

  /** The header, extras and key: everything but the value. */
  private static void writeHead(Frame frame, ByteBuf out) {
    long[] extras = frame.extras();
    byte[] key = frame.key();
    out.writeByte(ProtocolConstants.MAGIC);
    out.writeByte(ProtocolConstants.VERSION);
    out.writeByte(frame.opcode());
    out.writeByte(frame.flags());
    out.writeInt(frame.requestId());
    out.writeShort(frame.status() == null ? 0 : frame.status().code());
    out.writeShort(extras.length * 8);
    out.writeInt(key.length);
    out.writeInt(frame.valueLength());
    for (long extra : extras) {
      out.writeLong(extra);
    }
    out.writeBytes(key);
  }
}
