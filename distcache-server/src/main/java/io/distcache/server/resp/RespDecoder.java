package io.distcache.server.resp;

import io.distcache.protocol.Status;
import io.distcache.server.net.InputMeter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;

/*
 * Design: one pass over whatever a read burst delivered, emitting a RespCommand per complete
 * request, so a pipelined burst is executed as a batch and answered with one flush. Requests are
 * consumed argument by argument: a request split across reads keeps the arguments it already has
 * here, and a large bulk is waited for once (never re-parsed from the start on every read).
 *
 * Every length read from the network is checked against RespLimits before anything is allocated:
 * a bulk's bytes are copied out only once they have all arrived, and argument arrays start small.
 *
 * A SET's value of SLICE_BULK_BYTES up to STREAM_BULK_BYTES (a value of a command RespCommand's
 * valueArgs names, at one of its value indexes) is kept as a retained slice of the read buffer it
 * arrived in, whole as every bulk below STREAM_BULK_BYTES is read, so that it reaches the store
 * without a heap array of its size (issue 16): the bytes are copied once, from the read buffer into
 * the store's page. A slice keeps its read buffer (up to NetServer's 1 MiB) alive, which costs
 * nothing while the request runs within the read that delivered it; a request still incomplete at
 * the end of a read copies such slices into buffers of their own (detachSlices), so that a client
 * trickling a long MSET cannot hold a read buffer per value while each is counted at its length
 * (RespSession does the same for a complete request that has to wait: RespCommand.detach). Below
 * SLICE_BULK_BYTES, and for every other command's arguments, a bulk is copied into a heap array:
 * there the slice's reference counting and the BufferedValue around it cost more than the copy.
 *
 * A large bulk (STREAM_BULK_BYTES or more) is kept off the heap, in a Netty buffer (RespCommand
 * holds it beside the arguments), so that a large SET's value reaches the store without a heap
 * array of its size (issue 16): a slice of the read buffer when it has arrived whole, no copy at
 * all; otherwise what has arrived of it is copied at once into direct chunks of STREAM_STEP_BYTES
 * reused from BulkChunkPool (their pages already resident), so the read cumulation never grows
 * to the value's size (each growth of it allocated and copied a buffer of the value's size) and is released
 * after every read, and each byte is copied once, with no growth copies. The chunks' capacity
 * counts as held below; a request dropped half-received releases them.
 * Each bulk's claimed size is also added to the request's running total as soon as its header is
 * read, so a request of many large bulks is refused before the bulk that would cross the limit.
 * Malformed input yields a RespProtocolError with Redis's wording, after which the decoder discards
 * everything (the handler answers and closes, as Redis does).
 *
 * Before the connection has authenticated (the session's auth gate says so), Redis's tighter bounds
 * apply: at most RespLimits.UNAUTHENTICATED_MAX_ARGS arguments of UNAUTHENTICATED_MAX_BULK_BYTES
 * each, so a client without the password cannot make the node hold more than a few hundred KB. So
 * that "AUTH pw" and a large SET sent in one burst behave as in Redis (which parses a command only
 * after the one before it ran), the decoder emits one request at a time while the gate is shut:
 * Netty hands it to the session, which runs it, before the next one is parsed.
 *
 * After each read the decoder tells the connection's InputMeter what it holds for the request not
 * yet complete: the unread bytes plus the heap its parsed arguments take (each counted at its length
 * plus ARG_OVERHEAD, the array header and reference: a request of a million empty arguments is 6 MB
 * on the wire but 24 MB of heap; empty arguments share one array, so they cost only the reference).
 * The meter may refuse the connection (the node-wide bound) or time the request out; the decoder
 * then emits a RespProtocolError the session answers before it closes. Each RespCommand carries the
 * same estimate for the whole request (heldBytes: its arguments' bytes, ARG_OVERHEAD for each
 * non-empty one, 8 per reference and the reference array's header), which the session has the
 * meter keep while the request waits to run.
 */

/** Decodes RESP arrays of bulk strings and inline commands. */
final class RespDecoder extends ByteToMessageDecoder {
  private static final int INITIAL_ARGS = 16;
  /** Heap an argument costs beyond its bytes: a byte[] header and a reference to it. */
  static final int ARG_OVERHEAD = 24;
  private static final byte[] EMPTY = new byte[0];
  /** Bulks of at least this many bytes are copied as they arrive (Redis's big-argument threshold). */
  static final int STREAM_BULK_BYTES = 32 * 1024;
  /** The least a streamed bulk's array is given or grown by. */
  static final int STREAM_STEP_BYTES = 64 * 1024;
  /**
   * A SET-family value of at least this many bytes (and below STREAM_BULK_BYTES) is kept as a slice
   * of the read buffer instead of copied into a heap array (see the design note). Measured
   * (docs/BENCHMARKS.md, issue 16, twentieth session): a slice cost 0.1-0.25 µs more per SET than the
   * array at 128-512 bytes, 0.1-0.2 less at 1 KiB and 0.3-0.5 less at 2 KiB.
   */
  static final int SLICE_BULK_BYTES = 1024;
  /** valueArgs before the current request's command name was looked up. */
  private static final IntPredicate NOT_LOOKED_UP = i -> false;

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
  /** Heap held by the arguments of the incomplete request, as counted for the InputMeter. */
  private long argBytes;
  /** Buffered bulks of the current request, by argument index; null until it has one. */
  private ByteBuf[] buffers;
  /** Where the current request's command takes values from buffers (RespCommand.valueArgs); null: nowhere. */
  private IntPredicate valueArgs = NOT_LOOKED_UP;
  /** Values the current request holds as slices of read buffers (any size), from index {@code firstSlice}. */
  private int slices;
  private int firstSlice;
  /** The full chunks a large bulk is copied into as it arrives (see STREAM_BULK_BYTES); null when none. */
  private CompositeByteBuf partial;
  /** The chunk being filled, not yet in {@code partial}; null when none. */
  private ByteBuf chunk;
  /** Bytes of the bulk already in {@code partial} and {@code chunk}. */
  private int partialFilled;
  /** Capacity of {@code partial}'s chunks and {@code chunk}, as counted for the InputMeter. */
  private long partialHeld;
  /** Requests (and empty lines) completed during the current read. */
  private int completed;
  private ChannelHandlerContext ctx;
  private InputMeter meter;
  /** True while the connection must still authenticate (set by the session); never, until then. */
  private BooleanSupplier unauthenticated = () -> false;

  RespDecoder(RespLimits limits) {
    this.limits = limits;
  }

  /** Tells the decoder how to know the connection has not authenticated yet (see the design note). */
  void authGate(BooleanSupplier unauthenticated) {
    this.unauthenticated = unauthenticated;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    meter = InputMeter.of(ctx.channel());
    meter.refuser(this::refuse);
    super.handlerAdded(ctx);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    // the connection is gone: a large bulk half received is garbage now, not held
    dropRequest();
    remainingArgs = 0;
  }

  /** Drops the incomplete request: its arguments, and releases its buffered bulks and chunks. */
  private void dropRequest() {
    args = null;
    argBytes = 0;
    if (buffers != null) {
      for (ByteBuf b : buffers) {
        if (b != null) {
          b.release();
        }
      }
      buffers = null;
    }
    if (partial != null) {
      partial.release();
      partial = null;
    }
    if (chunk != null) {
      chunk.release();
      chunk = null;
    }
    partialFilled = 0;
    partialHeld = 0;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    super.channelRead(ctx, msg);
    if (failed) {
      return;
    }
    int done = completed;
    completed = 0;
    long held = internalBuffer().readableBytes() + argBytes + (args == null ? 0 : 8L * args.length)
        + (partialHeld == 0 ? 0 : partialHeld + ARG_OVERHEAD);
    if (!meter.afterRead(held, done)) {
      meter.release();
      refuse(Status.BUSY, meter.refusal(true));
    }
  }

  /**
   * The session refused a complete request (the node-wide bound, RespSession.channelRead) and
   * answers it in its place: nothing after it is decoded, what is held of the next is dropped, and
   * the rest of the input is discarded until the close.
   */
  void discardInput() {
    if (failed) {
      return;
    }
    failed = true;
    meter.release();
    dropRequest();
    remainingArgs = 0;
    ByteBuf held = internalBuffer();
    held.skipBytes(held.readableBytes());
  }

  /** Drops the incomplete request and has the session answer {@code message} and close. */
  private void refuse(Status status, String message) {
    if (failed) {
      return;
    }
    failed = true;
    dropRequest();
    ByteBuf held = internalBuffer();
    held.skipBytes(held.readableBytes());
    ctx.fireChannelRead(new RespProtocolError(message));
    ctx.fireChannelReadComplete();
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
        detachSlices();
        return;
      }
      if (message != NOTHING) {
        out.add(message);
        completed++; // blank lines are no request: they keep no connection from being idle
      }
      if (message instanceof RespProtocolError) {
        failed = true;
        dropRequest();
        in.skipBytes(in.readableBytes());
        return;
      }
      if (message != NOTHING && unauthenticated.getAsBoolean()) {
        return; // run it (it may be AUTH) before the next request is held to the gate's bounds
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
    if (n > RespLimits.UNAUTHENTICATED_MAX_ARGS && unauthenticated.getAsBoolean()) {
      return error("unauthenticated multibulk length");
    }
    in.readerIndex(cr + 2);
    if (n <= 0) {
      return NOTHING;
    }
    remainingArgs = (int) n;
    argBytes = 0;
    requestBytes = cr + 2 - start;
    args = new byte[(int) Math.min(n, INITIAL_ARGS)][];
    argCount = 0;
    bulkLength = -1;
    valueArgs = NOT_LOOKED_UP;
    slices = 0;
    firstSlice = 0;
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
        if (len > RespLimits.UNAUTHENTICATED_MAX_BULK_BYTES && unauthenticated.getAsBoolean()) {
          return error("unauthenticated bulk length");
        }
        long claimed = requestBytes + (cr + 2 - start) + len + 2;
        if (claimed > limits.maxRequestBytes()) {
          return error("too big request: at least " + claimed + " bytes, the limit is " + limits.maxRequestBytes());
        }
        requestBytes = claimed;
        in.readerIndex(cr + 2);
        bulkLength = len;
      }
      byte[] arg;
      ByteBuf buffered = null;
      if (bulkLength >= STREAM_BULK_BYTES) {
        if (partialFilled == 0 && in.readableBytes() >= bulkLength + 2) {
          buffered = in.readRetainedSlice((int) bulkLength); // arrived whole: no copy
          slices++; // a slice of the read buffer all the same (detachSlices)
          in.skipBytes(2);
        } else {
          if (!streamBulk(in)) {
            return null;
          }
          buffered = partial;
          partial = null;
          partialFilled = 0;
          partialHeld = 0;
        }
        arg = null;
        argBytes += bulkLength + ARG_OVERHEAD;
      } else {
        // Like Redis, the two bytes after the data are taken as the CRLF without looking at them.
        if (in.readableBytes() < bulkLength + 2) {
          return null;
        }
        if (bulkLength >= SLICE_BULK_BYTES && takesBuffer(argCount)) {
          buffered = in.readRetainedSlice((int) bulkLength);
          arg = null;
          slices++;
        } else {
          arg = bulkLength == 0 ? EMPTY : new byte[(int) bulkLength];
          in.readBytes(arg);
        }
        if (bulkLength > 0) {
          argBytes += bulkLength + ARG_OVERHEAD;
        }
        in.skipBytes(2);
      }
      bulkLength = -1;
      if (argCount == args.length) {
        byte[][] bigger = new byte[Math.min(args.length * 2, argCount + remainingArgs)][];
        System.arraycopy(args, 0, bigger, 0, argCount);
        args = bigger;
      }
      if (buffered != null) {
        if (buffers == null || buffers.length < args.length) {
          buffers = java.util.Arrays.copyOf(buffers == null ? new ByteBuf[0] : buffers, args.length);
        }
        buffers[argCount] = buffered;
      }
      args[argCount++] = arg;
      remainingArgs--;
    }
    RespCommand command = new RespCommand(args, buffers, argBytes + 8L * args.length + ARG_OVERHEAD);
    args = null;
    buffers = null;
    argCount = 0;
    argBytes = 0;
    return command;
  }

  /** True when argument {@code index} of the current request is a value its command takes from a buffer. */
  private boolean takesBuffer(int index) {
    if (index == 0) {
      return false;
    }
    if (valueArgs == NOT_LOOKED_UP) {
      valueArgs = args[0] == null ? null : RespCommand.valueArgs(args[0]); // a buffered name is no command
    }
    return valueArgs != null && valueArgs.test(index);
  }

  /**
   * The read ends inside a request: its values held as slices are copied into buffers of their own,
   * so the read buffers they came from can go (see the design note).
   */
  private void detachSlices() {
    if (slices == 0) {
      return;
    }
    // buffers grows only when a buffered value is added: it may be shorter than args (a reviewer:
    // an MSET with a 1 KiB value early and more than 16 arguments, split across reads, failed
    // with an index out of bounds and lost the connection). A large value that arrived whole is a
    // slice too and is copied as well (it pinned a read buffer of up to 1 MiB while counted at its
    // length); a streamed one (CompositeByteBuf of pooled chunks) is the request's own already.
    if (buffers != null) {
      RespCommand.detach(buffers, firstSlice, Math.min(argCount, buffers.length), ctx.alloc());
    }
    slices = 0;
    firstSlice = argCount;
  }

  /**
   * Copies what has arrived of the current large bulk into its chunks (BulkChunkPool's direct
   * buffers of STREAM_STEP_BYTES, the last one partly filled); true once all of it and the two
   * bytes after it (taken as the CRLF, as above) are consumed, with the whole bulk in {@code partial}.
   */
  private boolean streamBulk(ByteBuf in) {
    int length = (int) bulkLength;
    while (partialFilled < length && in.isReadable()) {
      if (chunk == null) {
        chunk = BulkChunkPool.SHARED.take(ctx.alloc());
        partialHeld += chunk.capacity();
      }
      int take = Math.min(Math.min(in.readableBytes(), chunk.writableBytes()), length - partialFilled);
      chunk.writeBytes(in, take);
      partialFilled += take;
      if (!chunk.isWritable() || partialFilled == length) {
        if (partial == null) {
          partial = ctx.alloc().compositeDirectBuffer(Integer.MAX_VALUE);
        }
        partial.addComponent(true, chunk);
        chunk = null;
      }
    }
    if (partialFilled < length || in.readableBytes() < 2) {
      return false;
    }
    in.skipBytes(2);
    return true;
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
    // Counted like an array request's arguments (see the design note), should it wait to run.
    return new RespCommand(parts.toArray(new byte[0][]), null, line.length + (long) parts.size() * (ARG_OVERHEAD + 8));
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
    return remainingArgs == 0 && args == null && buffers == null && partial == null && chunk == null;
  }

  /**
   * Bytes received and not yet decoded (CLIENT LIST qbuf). Read from other threads for display
   * only: a racy but harmless look at the cumulation's indexes.
   */
  int bufferedBytes() {
    try {
      return actualReadableBytes() + partialFilled;
    } catch (RuntimeException e) {
      return 0;
    }
  }
}
