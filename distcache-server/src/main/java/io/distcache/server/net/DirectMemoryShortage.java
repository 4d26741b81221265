package io.distcache.server.net;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;

/**
 * What a connection is told when the node could not get memory to read or answer its request
 * (Netty's OutOfDirectMemoryError, the JDK's "Direct buffer memory", or a heap shortage): Redis's
 * error prefix {@code -OOM} or the binary status OUT_OF_MEMORY, then the close. Before this the
 * connection was closed with no reply and no log line.
 */
public final class DirectMemoryShortage {
  /** The message of both replies. */
  public static final String MESSAGE = "not enough memory to read or answer the request; closing the connection";

  private DirectMemoryShortage() {}

  /** True when {@code t}, or one of its causes, is an OutOfMemoryError. */
  public static boolean causedBy(Throwable t) {
    for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
      if (t instanceof OutOfMemoryError) {
        return true;
      }
    }
    return false;
  }

  /** The Redis reply; a heap buffer: the transport copies it with what memory it can find, or fails the write and the close goes on. */
  public static io.netty.buffer.ByteBuf respReply() {
    return io.netty.buffer.Unpooled.wrappedBuffer(("-OOM " + MESSAGE + "\r\n").getBytes(StandardCharsets.US_ASCII));
  }

  /** The binary reply, with request id 0: the request's own id may be in the bytes that could not be read. */
  static Frame frameReply() {
    return new Frame((byte) 0, Flags.RESPONSE, 0, Status.OUT_OF_MEMORY, Frame.NO_EXTRAS, Frame.EMPTY,
        MESSAGE.getBytes(StandardCharsets.UTF_8));
  }
}
