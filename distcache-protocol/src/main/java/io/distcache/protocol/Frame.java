package io.distcache.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One request or response of the binary protocol. Immutable by convention: the arrays are not
 * copied, so callers must not change them after building a frame.
 *
 * <p>The opcode is kept as its wire byte so that a frame with an unknown opcode can still be
 * decoded and answered with UNKNOWN_OPCODE; {@link #op()} resolves it.
 */
public final class Frame {
  public static final byte[] EMPTY = new byte[0];
  public static final long[] NO_EXTRAS = new long[0];

  private final byte opcode;
  private final int flags;
  private final int requestId;
  private final Status status;
  private final long[] extras;
  private final byte[] key;
  private final byte[] value;
  /** In-process only, never encoded: see {@link ValueSink}. */
  private final ValueSink sink;
  /** The value held in a buffer instead of {@code value} (see {@link BufferedValue}). */
  private final BufferedValue buffered;

  public Frame(byte opcode, int flags, int requestId, Status status, long[] extras, byte[] key, byte[] value) {
    if (extras.length > ProtocolConstants.MAX_EXTRAS) {
      throw new IllegalArgumentException(
          "extras: expected <= " + ProtocolConstants.MAX_EXTRAS + ", got " + extras.length);
    }
    this.opcode = opcode;
    this.flags = flags & 0xFF;
    this.requestId = requestId;
    this.status = status;
    this.extras = extras;
    this.key = key;
    this.value = value;
    this.sink = null;
    this.buffered = null;
  }

  private Frame(Frame f, int flags, int requestId, ValueSink sink, BufferedValue buffered) {
    this.opcode = f.opcode;
    this.flags = flags & 0xFF;
    this.requestId = requestId;
    this.status = f.status;
    this.extras = f.extras;
    this.key = f.key;
    this.value = buffered == null ? f.value : EMPTY;
    this.sink = sink;
    this.buffered = buffered;
  }

  // ---- requests ----

  public static Frame request(Opcode op, int flags, byte[] key, byte[] value, long... extras) {
    return new Frame(op.code(), flags, 0, Status.OK, extras, key == null ? EMPTY : key, value == null ? EMPTY : value);
  }

  public static Frame request(Opcode op, byte[] key) {
    return request(op, 0, key, EMPTY, NO_EXTRAS);
  }

  /*
   * The overloads without extras below exist for speed only: a varargs call with no arguments
   * allocates a fresh empty array every time, and these run once per request.
   */

  public static Frame request(Opcode op, int flags, byte[] key, byte[] value) {
    return request(op, flags, key, value, NO_EXTRAS);
  }

  /** The same request with another request id (clients assign ids when they send). */
  public Frame withRequestId(int id) {
    return new Frame(this, flags, id, sink, buffered);
  }

  /** The same request with extra flag bits set. */
  public Frame withFlags(int moreFlags) {
    return new Frame(this, flags | moreFlags, requestId, sink, buffered);
  }

  /** The same request with a {@link ValueSink} for its value (in-process only, never encoded). */
  public Frame withSink(ValueSink sink) {
    return new Frame(this, flags, requestId, sink, buffered);
  }

  /**
   * The same request with its value in {@code value}'s buffer instead of an array ({@link #value()}
   * copies it out when something needs the array; FrameEncoder writes it from the buffer).
   */
  public Frame withValue(BufferedValue value) {
    return new Frame(this, flags, requestId, sink, value);
  }

  // ---- responses ----

  /** A response to this request. */
  public Frame reply(Status status, int flags, byte[] value, long... extras) {
    return new Frame(opcode, Flags.RESPONSE | flags, requestId, status, extras, EMPTY, value == null ? EMPTY : value);
  }

  public Frame reply(Status status, int flags, byte[] value) {
    return reply(status, flags, value, NO_EXTRAS);
  }

  public Frame reply(Status status) {
    return reply(status, 0, EMPTY, NO_EXTRAS);
  }

  public Frame replyOk(long... extras) {
    return reply(Status.OK, 0, EMPTY, extras);
  }

  public Frame replyOk() {
    return reply(Status.OK, 0, EMPTY, NO_EXTRAS);
  }

  public Frame replyValue(byte[] value, long... extras) {
    return reply(Status.OK, 0, value, extras);
  }

  public Frame replyValue(byte[] value) {
    return reply(Status.OK, 0, value, NO_EXTRAS);
  }

  /** An error response whose value is the UTF-8 message. */
  public Frame replyError(Status status, String message) {
    return reply(status, 0, message.getBytes(StandardCharsets.UTF_8));
  }

  // ---- accessors ----

  public byte opcode() {
    return opcode;
  }

  /** The opcode, or null when the wire byte is unknown. */
  public Opcode op() {
    return Opcode.fromCode(opcode);
  }

  public int flags() {
    return flags;
  }

  public boolean hasFlag(int bit) {
    return (flags & bit) != 0;
  }

  public boolean isResponse() {
    return hasFlag(Flags.RESPONSE);
  }

  public int requestId() {
    return requestId;
  }

  public Status status() {
    return status;
  }

  public long[] extras() {
    return extras;
  }

  /** The i-th extra, or {@code dflt} when the frame has fewer. */
  public long extra(int i, long dflt) {
    return i < extras.length ? extras[i] : dflt;
  }

  public byte[] key() {
    return key;
  }

  /** The value; for a request whose value is buffered, a heap copy of it (see {@link BufferedValue}). */
  public byte[] value() {
    return buffered == null ? value : buffered.array();
  }

  /** The value's buffer when it is held in one (see {@link #withValue}); null when it is an array. */
  public BufferedValue buffered() {
    return buffered;
  }

  /** The value's length, without copying a buffered value. */
  public int valueLength() {
    return buffered == null ? value.length : buffered.length();
  }

  /** Where the value may be written instead of replied (see {@link ValueSink}); null for none. */
  public ValueSink sink() {
    return sink;
  }

  /** The value as UTF-8 text (error messages, stats). */
  public String valueText() {
    return new String(value(), StandardCharsets.UTF_8);
  }

  /** Bytes this frame takes on the wire. */
  public int encodedLength() {
    return ProtocolConstants.HEADER_BYTES + extras.length * 8 + key.length + valueLength();
  }

  @Override
  public String toString() {
    Opcode op = op();
    return (isResponse() ? "Response{" : "Request{")
        + (op == null ? "opcode=0x" + Integer.toHexString(opcode & 0xFF) : op.name())
        + ", id=" + requestId
        + (isResponse() ? ", status=" + status : "")
        + ", flags=0x" + Integer.toHexString(flags)
        + ", extras=" + Arrays.toString(extras)
        + ", key=" + key.length + "B, value=" + valueLength() + "B}";
  }
}
