package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns bytes into {@link Frame}s.
 *
 * <p>Design: no length from the network is trusted. As soon as the 20-byte header is readable the
 * declared sizes are checked, in {@code long} so that four u32/u16 fields cannot overflow, against
 * the limits; only then does the decoder wait for the body, so the bytes it buffers are bounded by
 * {@code maxFrameBytes} plus one socket read, and no array is allocated before the bytes it will
 * hold have arrived.
 *
 * <p>A frame whose value is {@link #GATHER_VALUE_BYTES} or longer and has not arrived whole is
 * gathered instead: once its header, extras and key are in, they are decoded, and the value's bytes
 * are copied into heap chunks of {@link #CHUNK_BYTES} (the last one shorter) as each chunk's bytes
 * have all arrived, then joined into the value's array at its end. Left in the read cumulation,
 * such a frame made Netty grow it to the frame's size by doubling, a fresh direct buffer and a copy
 * per growth, whose pages the kernel faulted in and zeroed (14% of a node's CPU under 1 MiB SETs
 * to new keys replicated to it, perf), and its bytes were then copied once more into the value's
 * array (issue 16, docs/BENCHMARKS.md).
 * A chunk is allocated only once all its bytes are here (a part waits in the cumulation), so a
 * header that claims a large value costs nothing until its bytes come, and what a connection holds
 * is what it sent ({@link #gatheredBytes}, which the server's meter counts beside the cumulation),
 * until the last chunk arrives and the value's array is made beside the chunks for a moment (or,
 * for a receiver that reads the value from a buffer, {@link #lendsChunks}, the chunks are the value).
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
  /** A frame with a value of at least this many bytes that has not arrived whole is gathered (see above). */
  public static final int GATHER_VALUE_BYTES = 64 * 1024;
  /** The largest chunk a gathered value is held in before the value's array is made (never, for a lending receiver). */
  static final int CHUNK_BYTES = 64 * 1024;

  private final int maxFrameBytes;
  /** The frame whose value is being gathered, or null. */
  private Gathering gathering;
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
    if (gathering != null) {
      gather(in, out);
      return;
    }
    try {
      Frame frame = readFrame(in, maxFrameBytes);
      if (frame != null) {
        out.add(frame);
      } else if (startGathering(in)) {
        gather(in, out);
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

    Status status = status(flags, statusCode, requestId);

    if (in.readableBytes() < frameBytes) {
      return null;
    }
    in.skipBytes(ProtocolConstants.HEADER_BYTES);
    long[] extras = readExtras(in, extrasBytes);
    byte[] key = readBytes(in, (int) keyBytes);
    byte[] value = readBytes(in, (int) valueBytes);
    return new Frame(opcode, flags, requestId, status, extras, key, value);
  }

  private static Status status(int flags, int statusCode, int requestId) {
    if ((flags & Flags.RESPONSE) != 0) {
      Status status = Status.fromCode(statusCode);
      if (status == null) {
        throw new MalformedFrameException(
            "unknown status code " + statusCode + " in the response to request id " + requestId);
      }
      return status;
    }
    // Requests carry no status: senders write 0 and receivers ignore the field.
    Status known = Status.fromCode(statusCode);
    return known == null ? Status.OK : known;
  }

  /**
   * Called when readFrame found the frame at {@code in}'s reader index incomplete (its header, when
   * readable, checked): starts gathering it when its value is long enough and everything before
   * the value has arrived, consuming that much; false, consuming nothing, otherwise.
   */
  private boolean startGathering(ByteBuf in) {
    if (in.readableBytes() < ProtocolConstants.HEADER_BYTES) {
      return false;
    }
    int at = in.readerIndex();
    long valueBytes = in.getUnsignedInt(at + 16);
    int extrasBytes = in.getUnsignedShort(at + 10);
    long keyBytes = in.getUnsignedInt(at + 12);
    if (valueBytes < GATHER_VALUE_BYTES
        || in.readableBytes() < ProtocolConstants.HEADER_BYTES + extrasBytes + keyBytes) {
      return false;
    }
    byte opcode = in.getByte(at + 2);
    int flags = in.getUnsignedByte(at + 3);
    int requestId = in.getInt(at + 4);
    Status status = status(flags, in.getUnsignedShort(at + 8), requestId);
    in.skipBytes(ProtocolConstants.HEADER_BYTES);
    long[] extras = readExtras(in, extrasBytes);
    byte[] key = readBytes(in, (int) keyBytes);
    gathering = new Gathering(new Frame(opcode, flags, requestId, status, extras, key, Frame.EMPTY), (int) valueBytes);
    return true;
  }

  /**
   * Copies the whole chunks {@code in} holds of the gathered value (a part of a chunk waits in the
   * cumulation, counted there byte for byte: a chunk allocated at its first byte would let a
   * connection that sent 22 bytes hold 64 KiB, a reviewer); once the value is whole, emits the frame.
   */
  private void gather(ByteBuf in, List<Object> out) {
    Gathering g = gathering;
    while (g.filled < g.valueBytes && in.readableBytes() >= g.nextChunkBytes()) {
      g.take(in);
    }
    if (g.filled == g.valueBytes) {
      gathering = null;
      out.add(lendsChunks(g.head) ? g.lentFrame() : g.frame());
    }
  }

  /**
   * Bytes of the frame being gathered that the decoder consumed (its header, extras and key, and
   * the value's chunks so far), 0 when none: never 0 while one is, so the server's meter keeps
   * the request pending and its deadline running from the header (a reviewer: a bare header
   * claiming a large value stopped the deadline, and the connection stayed open for good).
   */
  protected final long gatheredBytes() {
    Gathering g = gathering;
    return g == null ? 0 : g.heldBytes();
  }

  /** The frame being gathered, its value not yet there (empty), or null when none. */
  protected final Frame gatheringHead() {
    Gathering g = gathering;
    return g == null ? null : g.head;
  }

  /**
   * Whether a gathered frame like {@code head} (everything but its value) gets its value as the
   * chunks themselves (a heap {@link BufferedValue}, {@link Frame#buffered}) instead of one array
   * joined from them: for receivers that read the value from a buffer (the server's REPLICATE
   * batches), so a large value arrives with no array of its size. Frame.value still answers such a
   * frame, through a copy.
   */
  protected boolean lendsChunks(Frame head) {
    return false;
  }

  /** Drops the frame being gathered, if any (the connection is refused). */
  protected final void dropGathered() {
    gathering = null;
  }

  /** A frame whose header, extras and key are decoded and whose value is arriving in chunks. */
  private static final class Gathering {
    /** The frame as decoded so far: everything but its value. */
    private final Frame head;
    private final int valueBytes;
    private final List<byte[]> chunks = new ArrayList<>();
    /** Bytes of the value copied into chunks. */
    private int filled;

    Gathering(Frame head, int valueBytes) {
      this.head = head;
      this.valueBytes = valueBytes;
    }

    /** The length of the next chunk: CHUNK_BYTES, or what is left of the value. */
    int nextChunkBytes() {
      return Math.min(CHUNK_BYTES, valueBytes - filled);
    }

    /** Copies the next chunk out of {@code in}, which holds all of it. */
    void take(ByteBuf in) {
      byte[] chunk = new byte[nextChunkBytes()];
      in.readBytes(chunk);
      chunks.add(chunk);
      filled += chunk.length;
    }

    /** The header's, extras' and key's bytes (consumed when the gathering began) and the chunks'. */
    long heldBytes() {
      return ProtocolConstants.HEADER_BYTES + 8L * head.extras().length + head.key().length + filled;
    }

    /** The frame with its value held in the chunks (see lendsChunks). */
    Frame lentFrame() {
      return head.withValue(BufferedValue.ofHeap(Unpooled.wrappedBuffer(chunks.toArray(new byte[0][]))));
    }

    Frame frame() {
      byte[] v;
      if (chunks.size() == 1) {
        v = chunks.get(0); // exactly the value's length (a chunk is never longer than what is left)
      } else {
        v = new byte[valueBytes];
        int at = 0;
        for (byte[] c : chunks) {
          System.arraycopy(c, 0, v, at, c.length);
          at += c.length;
        }
      }
      return new Frame(head.opcode(), head.flags(), head.requestId(), head.status(), head.extras(), head.key(), v);
    }
  }

  private static long[] readExtras(ByteBuf in, int extrasBytes) {
    if (extrasBytes == 0) {
      return Frame.NO_EXTRAS;
    }
    long[] extras = new long[extrasBytes / 8];
    for (int i = 0; i < extras.length; i++) {
      extras[i] = in.readLong();
    }
    return extras;
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
