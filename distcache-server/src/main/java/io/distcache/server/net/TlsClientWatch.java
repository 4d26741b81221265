package io.distcache.server.net;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: a client's TLS handshake that fails (TLS 1.1 asked for, no client certificate with
 * --tls-auth-clients yes, a plain-text client on the TLS port, an untrusted certificate) fails in
 * the SslHandler, before any protocol handler is installed, so its exception used to reach the
 * pipeline's tail: Netty's own WARN with a full stack trace, some thirty lines per connection and
 * not rate-limited, which any client could repeat to fill the log. This handler sits right after
 * the SslHandler until the handshake ends: a failure is one rate-limited line naming the address
 * and the reason (ClientLog, cause "tls-handshake"), and the connection is closed; a success
 * removes it, so what follows is handled as on the plain port.
 */
/** Logs a client's failed TLS handshake once (rate-limited) and closes; leaves after a success. */
@ChannelHandler.Sharable
public final class TlsClientWatch extends ChannelInboundHandlerAdapter {
  public static final TlsClientWatch INSTANCE = new TlsClientWatch();
  private static final Logger log = LoggerFactory.getLogger(TlsClientWatch.class);

  private TlsClientWatch() {}

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof SslHandshakeCompletionEvent done) {
      if (done.isSuccess()) {
        ctx.pipeline().remove(this);
      } else {
        ClientLog.warn(log, "tls-handshake", "TLS handshake from {} failed: {}", ctx.channel().remoteAddress(),
            io.distcache.server.bus.PeerBus.tlsReason(done.cause()));
        ctx.close();
      }
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // Before the handshake completes, a failure also arrives as the event above: close quietly.
    log.debug("closing {} during its TLS handshake", ctx.channel().remoteAddress(), cause);
    ctx.close();
  }
}
