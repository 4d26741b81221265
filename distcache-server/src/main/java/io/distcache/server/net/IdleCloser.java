package io.distcache.server.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection that has neither read nor written for the idle timeout, as Redis's {@code
 * timeout} does: a client blocked reading a long reply is not idle, one that went away without a
 * FIN is.
 */
final class IdleCloser extends IdleStateHandler {
  private static final Logger log = LoggerFactory.getLogger(IdleCloser.class);

  IdleCloser(Duration timeout) {
    super(0, 0, timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
    log.debug("closing idle connection {}", ctx.channel().remoteAddress());
    ctx.close();
  }
}
