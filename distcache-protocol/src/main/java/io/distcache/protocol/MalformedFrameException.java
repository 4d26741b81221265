package io.distcache.protocol;

import io.netty.handler.codec.CorruptedFrameException;

/**
 * The byte stream is not a frame of this protocol (bad magic byte, unsupported version, an extras
 * length that is not a multiple of 8, an unknown status in a response). The stream cannot be
 * resynchronised after this, so the receiver closes the connection.
 */
public final class MalformedFrameException extends CorruptedFrameException {
  private static final long serialVersionUID = 1L;

  public MalformedFrameException(String message) {
    super(message);
  }
}
