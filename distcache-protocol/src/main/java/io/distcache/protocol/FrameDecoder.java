package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Turns bytes into {@link Frame}s.
 *
 * <p>Design: no length from the network is trusted. As soon as the 20-byte header is readable the
 * declared sizes are checked, in {@code long} so that four u32/u16 fields cannot overflow, against
 * the limits; only then does the decoder wait for the body, so the bytes it buffers are bounded by
 * {@code maxFrameBytes} plus one socket read, and no array is allocated before the whole frame has
 * arrived.
 *
 * <p>Two kinds of failure, because they differ in whether the stream can go on:
 *
 * <ul>
 *   <li>{@link FrameTooLargeException}: the header is well formed, so the frame boundary is known.
 *       The decoder skips the declared body as it arrives and then decodes the next frame; the
 *       exception carries the request id, so the receiver can answer TOO_LARGE (and may close).
 *       It is fired down the pipeline rather than thrown, so that the frames after it in the same
 *       read are still decoded: thrown, they would sit in the buffer until more bytes arrive,
 *       which on a quiet multiplexed connection may be never.
 *   <li>{@link MalformedFrameException}: bad magic, unsupported version, an extras length that is
 *       not a multiple of 8, or an unknown status in a response. The frame boundary is lost, so
 *       the decoder drops every byte from then on; the receiver closes the connection.
 * </ul>
 *
 * Not final: the server extends it to account for the bytes it holds (a node-wide bound).
 *
 * An unknown opcode is not a decoding error: the frame decodes (it keeps the raw opcode byte) so
 * the receiver can answer UNKNOWN_OPCODE and keep the connection.
 */
public class FrameDecoder extends ByteToMessageDecoder {

  private final int maxFrameBytes;
  /** Body bytes of a rejected oversize frame still to skip. */
  private long bytesToSkip;
  /** Set after a malformed frame: the stream cannot be trusted again. */
  private boolean corrupted;

  public FrameDecoder(int maxFrameBytes) {
    if (maxFrameBytes < ProtocolConstants.HEADER_BYTES) {
      throw new IllegalArgumentException(
          "maxFrameBytes: expected >= " + ProtocolConstants.HEADER_BYTES + ", got " + maxFrameBytes);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  public FrameDecoder() {
    this(ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (corrupted) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (bytesToSkip > 0) {
      int skip = (int) Math.min(bytesToSkip, in.readableBytes());
      in.skipBytes(skip);
      bytesToSkip -= skip;
      if (bytesToSkip > 0) {
        return;
      }
    }
    try {
      Frame frame = readFrame(in, maxFrameBytes);
      if (frame != null) {
        out.add(frame);
      }
    } catch (FrameTooLargeException e) {
      // The header is sound, so the frame's end is known: skip it and stay in sync.
      in.skipBytes(ProtocolConstants.HEADER_BYTES);
      long body = e.frameBytes() - ProtocolConstants.HEADER_BYTES;
      int now = (int) Math.min(body, in.readableBytes());
      in.skipBytes(now);
      bytesToSkip = body - now;
      ctx.fireExceptionCaught(e);
    } catch (MalformedFrameException e) {
      corrupted = true;
      in.skipBytes(in.readableBytes());
      throw e;
    }
  }

  /**
   * Reads one whole frame from {@code in}, or returns null (consuming nothing) when it has not all
   * arrived yet. Throws, consuming nothing, when the header is bad.
   *
   * @throws FrameTooLargeException when the header declares more than the limits allow
   * @throws MalformedFrameException when the bytes are not a frame of this protocol
   */
  public static Frame readFrame(ByteBuf in, int maxFrameBytes) {
    if (in.readableBytes() < ProtocolConstants.HEADER_BYTES) {
      return null;
    }
    int at = in.readerIndex();
    byte magic = in.getByte(at);
    if (magic != ProtocolConstants.MAGIC) {
      throw new MalformedFrameException(
          "bad magic byte 0x" + hex(magic) + " at the start of a frame (expected 0x" + hex(ProtocolConstants.MAGIC) + ")");
    }
    byte version = in.getByte(at + 1);
    if (version != ProtocolConstants.VERSION) {
      throw new MalformedFrameException(
          "unsupported protocol version " + (version & 0xFF) + " (this peer speaks " + ProtocolConstants.VERSION + ")");
    }
    byte opcode = in.getByte(at + 2);
    int flags = in.getUnsignedByte(at + 3);
    int requestId = in.getInt(at + 4);
    int statusCode = in.getUnsignedShort(at + 8);
    int extrasBytes = in.getUnsignedShort(at + 10);
    long keyBytes = in.getUnsignedInt(at + 12);
    long valueBytes = in.getUnsignedInt(at + 16);

    if (extrasBytes % 8 != 0) {
      throw new MalformedFrameException(
          "extras length " + extrasBytes + " is not a multiple of 8 (request id " + requestId + ")");
    }
    int maxExtrasBytes = ProtocolConstants.MAX_EXTRAS * 8;
    if (extrasBytes > maxExtrasBytes) {
      throw tooLarge("extras length " + extrasBytes + " exceeds the limit " + maxExtrasBytes,
          requestId, opcode, extrasBytes, keyBytes, valueBytes);
    }
    if (keyBytes > ProtocolConstants.MAX_KEY_BYTES) {
      throw tooLarge("key length " + keyBytes + " exceeds the limit " + ProtocolConstants.MAX_KEY_BYTES,
          requestId, opcode, extrasBytes, keyBytes, valueBytes);
    }
    long frameBytes = ProtocolConstants.HEADER_BYTES + (long) extrasBytes + keyBytes + valueBytes;
    if (frameBytes > maxFrameBytes) {
      throw tooLarge("frame length " + frameBytes + " (value length " + valueBytes + ") exceeds the limit " + maxFrameBytes,
          requestId, opcode, extrasBytes, keyBytes, valueBytes);
    }

    Status status;
    boolean response = (flags & Flags.RESPONSE) != 0;
    if (response) {
      status = Status.fromCode(statusCode);
      if (status == null) {
        throw new MalformedFrameException(
            "unknown status code " + statusCode + " in the response to request id " + requestId);
      }
    } else {
      // Requests carry no status: senders write 0 and receivers ignore the field.
      Status known = Status.fromCode(statusCode);
      status = known == null ? Status.OK : known;
    }

    if (in.readableBytes() < frameBytes) {
      return null;
    }
    in.skipBytes(ProtocolConstants.HEADER_BYTES);
    long[] extras = Frame.NO_EXTRAS;
    if (extrasBytes > 0) {
      extras = new long[extrasBytes / 8];
      for (int i = 0; i < extras.length; i++) {
        extras[i] = in.readLong();
      }
    }
    byte[] key = readBytes(in, (int) keyBytes);
    byte[] value = readBytes(in, (int) valueBytes);
    return new Frame(opcode, flags, requestId, status, extras, key, value);
  }

  private static byte[] readBytes(ByteBuf in, int length) {
    if (length == 0) {
      return Frame.EMPTY;
    }
    byte[] bytes = new byte[length];
    in.readBytes(bytes);
    return bytes;
  }

  private static FrameTooLargeException tooLarge(
      String what, int requestId, byte opcode, int extrasBytes, long keyBytes, long valueBytes) {
    return new FrameTooLargeException(
        what + " (request id " + requestId + ", opcode 0x" + hex(opcode) + ")",
        requestId, opcode, extrasBytes, keyBytes, valueBytes);
  }

  private static String hex(byte b) {
    return String.format("%02x", b & 0xFF);
  }
}
