package io.distcache.protocol;

import io.netty.handler.codec.TooLongFrameException;

/**
 * A frame header declares more than the receiver accepts: extras over {@link
 * ProtocolConstants#MAX_EXTRAS}, a key over {@link ProtocolConstants#MAX_KEY_BYTES}, or a whole
 * frame over the decoder's limit. Thrown as soon as the header is readable, before any of the body
 * is buffered, and carries the request id and opcode so that the receiver can answer TOO_LARGE to
 * the right request.
 */
public final class FrameTooLargeException extends TooLongFrameException {
  private static final long serialVersionUID = 1L;

  private final int requestId;
  private final byte opcode;
  private final int extrasBytes;
  private final long keyBytes;
  private final long valueBytes;
  private final long frameBytes;

  public FrameTooLargeException(
      String message, int requestId, byte opcode, int extrasBytes, long keyBytes, long valueBytes) {
    super(message);
    this.requestId = requestId;
    this.opcode = opcode;
    this.extrasBytes = extrasBytes;
    this.keyBytes = keyBytes;
    this.valueBytes = valueBytes;
    this.frameBytes = ProtocolConstants.HEADER_BYTES + (long) extrasBytes + keyBytes + valueBytes;
  }

  public int requestId() {
    return requestId;
  }

  /** The opcode's wire byte (it may be unknown). */
  public byte opcode() {
    return opcode;
  }

  public int extrasBytes() {
    return extrasBytes;
  }

  public long keyBytes() {
    return keyBytes;
  }

  public long valueBytes() {
    return valueBytes;
  }

  /** The whole frame as declared: header, extras, key and value. */
  public long frameBytes() {
    return frameBytes;
  }
}
