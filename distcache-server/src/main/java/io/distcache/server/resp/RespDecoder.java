package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/*
 * Design: one pass over whatever a read burst delivered, emitting a RespCommand per complete
 * request, so a pipelined burst is executed as a batch and answered with one flush. Requests are
 * consumed argument by argument: a request split across reads keeps the arguments it already has
 * here, and a large bulk is waited for once (never re-parsed from the start on every read).
 *
 * Every length read from the network is checked against RespLimits before anything is allocated:
 * a bulk's bytes are copied out only once they have all arrived, and argument arrays start small.
 * Each bulk's claimed size is also added to the request's running total as soon as its header is
 * read, so a request of many large bulks is refused before the bulk that would cross the limit.
 * Malformed input yields a RespProtocolError with Redis's wording, after which the decoder discards
 * everything (the handler answers and closes, as Redis does).
 */

/** Decodes RESP arrays of bulk strings and inline commands. */
final class RespDecoder extends ByteToMessageDecoder {
  private static final int INITIAL_ARGS = 16;

  private final RespLimits limits;

  /** Arguments still expected by the current array request; 0 between requests. */
  private int remainingArgs;
  /** Length of the bulk whose header was read, or -1 when the next thing is a bulk header. */
  private long bulkLength = -1;
  /** Wire bytes the current array request has claimed so far, counting bulks in full from their header. */
  private long requestBytes;
  private byte[][] args;
  private int argCount;
  private boolean failed;

  RespDecoder(RespLimits limits) {
    this.limits = limits;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    while (in.isReadable()) {
      Object message;
      if (remainingArgs > 0) {
        message = readArguments(in);
      } else if (in.getByte(in.readerIndex()) == '*') {
        message = readArrayHeader(in);
      } else {
        message = readInline(in);
      }
      if (message == null) {
        return;
      }
      if (message != NOTHING) {
        out.add(message);
      }
      if (message instanceof RespProtocolError) {
        failed = true;
        args = null;
        in.skipBytes(in.readableBytes());
        return;
      }
    }
  }

  /** Marks "a request was consumed that produces no command" (an empty array or blank line). */
  private static final Object NOTHING = new Object();

  private Object readArrayHeader(ByteBuf in) {
    int start = in.readerIndex();
    int cr = findCr(in, start);
    if (cr < 0) {
      return in.readableBytes() > limits.maxInlineBytes() ? error("too big mbulk count string") : null;
    }
    if (cr + 1 >= in.writerIndex()) {
      return null;
    }
    long n = parseLong(in, start + 1, cr);
    if (n == Long.MIN_VALUE || n > limits.maxArrayLength()) {
      return error("invalid multibulk length");
    }
    in.readerIndex(cr + 2);
    if (n <= 0) {
      return NOTHING;
    }
    remainingArgs = (int) n;
    requestBytes = cr + 2 - start;
    args = new byte[(int) Math.min(n, INITIAL_ARGS)][];
    argCount = 0;
    bulkLength = -1;
    return readArguments(in);
  }

  private Object readArguments(ByteBuf in) {
    while (remainingArgs > 0) {
      if (bulkLength < 0) {
        int start = in.readerIndex();
        int cr = findCr(in, start);
        if (cr < 0) {
          return in.readableBytes() > limits.maxInlineBytes() ? error("too big bulk count string") : null;
        }
        if (cr + 1 >= in.writerIndex()) {
          return null;
        }
        byte first = in.getByte(start);
        if (first != '$') {
          return error("expected '$', got '" + (char) (first & 0xFF) + "'");
        }
        long len = parseLong(in, start + 1, cr);
        if (len < 0 || len > limits.maxBulkBytes()) {
          return error("invalid bulk length");
        }
        long claimed = requestBytes + (cr + 2 - start) + len + 2;
        if (claimed > limits.maxRequestBytes()) {
          return error("too big request: at least " + claimed + " bytes, the limit is " + limits.maxRequestBytes());
        }
        requestBytes = claimed;
        in.readerIndex(cr + 2);
        bulkLength = len;
      }
      // Like Redis, the two bytes after the data are taken as the CRLF without looking at them.
      if (in.readableBytes() < bulkLength + 2) {
        return null;
      }
      byte[] arg = new byte[(int) bulkLength];
      in.readBytes(arg);
      in.skipBytes(2);
      bulkLength = -1;
      if (argCount == args.length) {
        byte[][] bigger = new byte[Math.min(args.length * 2, argCount + remainingArgs)][];
        System.arraycopy(args, 0, bigger, 0, argCount);
        args = bigger;
      }
      args[argCount++] = arg;
      remainingArgs--;
    }
    RespCommand command = new RespCommand(args);
    args = null;
    argCount = 0;
    return command;
  }

  private Object readInline(ByteBuf in) {
    int start = in.readerIndex();
    int searchEnd = (int) Math.min(in.writerIndex(), (long) start + limits.maxInlineBytes() + 1);
    int lf = in.indexOf(start, searchEnd, (byte) '\n');
    if (lf < 0) {
      return in.readableBytes() > limits.maxInlineBytes() ? error("too big inline request") : null;
    }
    int end = lf;
    if (end > start && in.getByte(end - 1) == '\r') {
      end--;
    }
    byte[] line = new byte[end - start];
    in.getBytes(start, line);
    in.readerIndex(lf + 1);
    List<byte[]> parts = InlineSplitter.split(line);
    if (parts == null) {
      return error("unbalanced quotes in request");
    }
    if (parts.isEmpty()) {
      return NOTHING;
    }
    return new RespCommand(parts.toArray(new byte[0][]));
  }

  /** The index of the first CR at or after {@code from}, looking no further than the length-line limit. */
  private int findCr(ByteBuf in, int from) {
    int end = (int) Math.min(in.writerIndex(), (long) from + limits.maxInlineBytes() + 1);
    return in.indexOf(from, end, (byte) '\r');
  }

  /**
   * Parses a strict decimal (Redis string2ll: optional '-', no '+', no leading zeros, no blanks).
   * Returns Long.MIN_VALUE when malformed; callers treat that as invalid.
   */
  static long parseLong(ByteBuf in, int from, int to) {
    int len = to - from;
    if (len <= 0 || len > 20) {
      return Long.MIN_VALUE;
    }
    int i = from;
    boolean negative = false;
    if (in.getByte(i) == '-') {
      negative = true;
      i++;
      if (i == to) {
        return Long.MIN_VALUE;
      }
    }
    byte first = in.getByte(i);
    if (first == '0') {
      return i + 1 == to && !negative ? 0 : Long.MIN_VALUE;
    }
    long value = 0;
    for (; i < to; i++) {
      byte b = in.getByte(i);
      if (b < '0' || b > '9') {
        return Long.MIN_VALUE;
      }
      if (value > (Long.MAX_VALUE - (b - '0')) / 10) {
        return Long.MIN_VALUE;
      }
      value = value * 10 + (b - '0');
    }
    return negative ? -value : value;
  }

  private static RespProtocolError error(String what) {
    return new RespProtocolError("Protocol error: " + what);
  }

  /** Used by tests to check the decoder holds nothing once input is consumed. */
  boolean idle() {
    return remainingArgs == 0 && args == null;
  }

  /**
   * Bytes received and not yet decoded (CLIENT LIST qbuf). Read from other threads for display
   * only: a racy but harmless look at the cumulation's indexes.
   */
  int bufferedBytes() {
    try {
      return actualReadableBytes();
    } catch (RuntimeException e) {
      return 0;
    }
  }
}
