package io.distcache.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: with --tls-cluster yes the cluster bus runs on mutual TLS on the node's one port, the
 * address every member already advertises (so nothing new is gossiped and -join still names the
 * node port). A TLS connection opens with a handshake record, content type 0x16: a byte no Redis
 * command, HTTP request or binary frame (magic 0xDC) starts with. So this handler, first in the
 * plain port's pipeline after the byte counters, looks at the first byte once:
 *
 *   0x16        the connection is a peer's on TLS: an SslHandler with the bus's server context
 *               (our certificate; the peer's required and checked against the CA) takes this
 *               handler's place, and the channel is marked (BUS_TLS). Behind it the protocol
 *               detector accepts only the binary protocol, and the PeerGate only a PEER_HELLO
 *               handshake (the cluster secret, checked on top of TLS): a TLS connection on the
 *               node port is never a client's.
 *   anything    left alone (clients, HTTP, and plain PEER_HELLOs, which the PeerGate then refuses
 *   else        because the bus requires TLS).
 *
 * The handshake must finish within the peer handshake's time limit (2 s), and a failed one (no
 * certificate, one from another CA, an expired one, not TLS at all) is logged at most once per
 * 10 s with the peer's address and the reason, since anyone who reaches the port can cause it.
 * Each new connection takes the context current then, so a reloaded certificate applies to new
 * bus connections (open ones keep theirs).
 */

/** Puts a connection that starts with a TLS handshake on the cluster bus's mutual TLS. */
final class BusTlsSniffer extends ByteToMessageDecoder {
  private static final Logger log = LoggerFactory.getLogger(BusTlsSniffer.class);
  /** The first byte of every TLS connection: a handshake record. */
  static final int TLS_HANDSHAKE_RECORD = 0x16;
  /** Set on a connection that came in on the cluster bus's TLS (so far: handshake started). */
  static final AttributeKey<Boolean> BUS_TLS = AttributeKey.valueOf("distcache.busTls");

  private final TlsFiles tls;
  private final PeerAccess access;

  BusTlsSniffer(TlsFiles tls, PeerAccess access) {
    this.tls = tls;
    this.access = access;
  }

  /** True when {@code ch} is a cluster-bus TLS connection (its peer certificate checked by the handshake). */
  static boolean isBusTls(Channel ch) {
    return Boolean.TRUE.equals(ch.attr(BUS_TLS).get());
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (!in.isReadable()) {
      return;
    }
    if ((in.getByte(in.readerIndex()) & 0xFF) == TLS_HANDSHAKE_RECORD) {
      SslHandler ssl = tls.busServerContext().newHandler(ctx.alloc());
      ssl.setHandshakeTimeoutMillis(access.handshakeTimeout().toMillis());
      ctx.channel().attr(BUS_TLS).set(Boolean.TRUE);
      // Removing this decoder hands the bytes it holds to the next handler: the SslHandler.
      ctx.pipeline().addAfter(ctx.name(), "tls", ssl);
      ctx.pipeline().addAfter("tls", "busTlsWatch", new Watch(access));
    }
    ctx.pipeline().remove(this);
  }

  /** Logs a failed bus handshake (rate-limited), then leaves the pipeline once one succeeds. */
  private static final class Watch extends ChannelInboundHandlerAdapter {
    private final PeerAccess access;

    Watch(PeerAccess access) {
      this.access = access;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent done) {
        if (done.isSuccess()) {
          ctx.pipeline().remove(this);
        } else {
          if (access.failures.allow()) {
            long more = access.failures.takeSuppressed();
            log.warn("cluster bus TLS handshake from {} refused: {}{}", ctx.channel().remoteAddress(),
                io.distcache.server.bus.PeerBus.tlsReason(done.cause()), more > 0 ? " (" + more + " more peer refusals not logged)" : "");
          }
          ctx.close();
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // The handshake failure itself arrives as the event above; the exception only repeats it.
      ctx.close();
    }
  }
}
