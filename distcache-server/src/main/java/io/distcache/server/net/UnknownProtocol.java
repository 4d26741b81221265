package io.distcache.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * For connections that do not start with the binary magic byte when no other protocol is
 * installed: answers one RESP-style error line, which a Redis client shows as it is, and closes.
 */
public final class UnknownProtocol implements ProtocolInstaller {
  public static final UnknownProtocol INSTANCE = new UnknownProtocol();

  static final String REPLY = "-ERR unknown protocol\r\n";

  private static final Logger log = LoggerFactory.getLogger(UnknownProtocol.class);

  private UnknownProtocol() {}

  @Override
  public void install(ChannelPipeline pipeline) {
    pipeline.addLast(new Refuser());
  }

  /** Answers the first bytes and drops the rest until the close completes. */
  private static final class Refuser extends ChannelInboundHandlerAdapter {
    private boolean answered;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (!answered && msg instanceof ByteBuf buf && buf.isReadable()) {
          answered = true;
          log.info(
              "closing {}: first byte 0x{} is not the binary protocol and no other protocol is installed",
              ctx.channel().remoteAddress(),
              Integer.toHexString(buf.getByte(buf.readerIndex()) & 0xFF));
          LingeringClose.after(ctx.writeAndFlush(Unpooled.copiedBuffer(REPLY, StandardCharsets.US_ASCII)));
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }
  }
}
