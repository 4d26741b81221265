package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Writes a {@link Frame} as header, extras, key and value into one buffer.
 *
 * <p>Design: the frame knows its exact wire length, so the encoder asks the allocator for a
 * buffer of exactly that size (a pooled direct buffer by default): one allocation, no resizing,
 * one write to the socket. It keeps no state, so one instance serves every channel.
 */
@Sharable
public final class FrameEncoder extends MessageToByteEncoder<Frame> {

  public FrameEncoder() {
    super(Frame.class);
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
    long[] extras = frame.extras();
    byte[] key = frame.key();
    byte[] value = frame.value();
    out.writeByte(ProtocolConstants.MAGIC);
    out.writeByte(ProtocolConstants.VERSION);
    out.writeByte(frame.opcode());
    out.writeByte(frame.flags());
    out.writeInt(frame.requestId());
    out.writeShort(frame.status() == null ? 0 : frame.status().code());
    out.writeShort(extras.length * 8);
    out.writeInt(key.length);
    out.writeInt(value.length);
    for (long extra : extras) {
      out.writeLong(extra);
    }
    out.writeBytes(key);
    out.writeBytes(value);
  }
}
