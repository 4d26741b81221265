package io.distcache.server.net;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/*
 * Design: a client that pipelines requests but never reads the replies would make the node hold
 * every reply in memory. Netty marks a channel unwritable once its outbound buffer passes the high
 * water mark (on write, before any flush), and writable again below the low mark; this handler
 * stops reading from the socket for exactly that time. The kernel's receive buffer then fills, and
 * TCP flow control pushes back on the client instead of the node's heap growing.
 */

/** Reads from a connection only while its unsent replies are under the write-buffer water marks. */
@Sharable
final class WritabilityGate extends ChannelInboundHandlerAdapter {
  static final WritabilityGate INSTANCE = new WritabilityGate();

  private WritabilityGate() {}

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    ctx.channel().config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }
}
