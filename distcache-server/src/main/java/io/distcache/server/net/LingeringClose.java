package io.distcache.server.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.socket.DuplexChannel;
import java.util.concurrent.TimeUnit;

/*
 * Design: closing a TCP connection while the client's bytes are still unread makes the kernel
 * answer with a reset, and a reset can destroy the error reply just written before the client
 * reads it: the refusal turns into the silent close it was meant to replace. So after the reply
 * is flushed only our side is shut (FIN: the client reads the reply, then end of stream), the
 * connection's remaining input keeps being read and dropped by its decoder (which is in its
 * refused state), and the connection closes when the client closes, or after LINGER_MILLIS at
 * the latest, so a client that keeps sending cannot hold it open.
 */
/** Closes a connection after an error reply without letting unread input reset the reply away. */
public final class LingeringClose {
  static final long LINGER_MILLIS = 2_000;

  private LingeringClose() {}

  /** Once {@code replyWritten} completes: shut the output, keep reading, close soon. */
  public static void after(ChannelFuture replyWritten) {
    replyWritten.addListener(done -> {
      Channel ch = replyWritten.channel();
      if (!done.isSuccess() || !(ch instanceof DuplexChannel duplex) || !ch.isActive()) {
        ch.close();
        return;
      }
      duplex.shutdownOutput();
      ch.config().setAutoRead(true);
      ch.eventLoop().schedule(() -> {
        ch.close();
      }, LINGER_MILLIS, TimeUnit.MILLISECONDS);
    });
  }
}
