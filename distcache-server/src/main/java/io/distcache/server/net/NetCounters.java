package io.distcache.server.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: one shared handler at the head of every connection's pipeline (before protocol
 * detection, so every protocol, peers included, is counted once) adds the bytes of each socket
 * read and each buffer written to node-wide LongAdders: one add per read and per write, no
 * allocation, and event loops do not contend on one cache line. Redis counts the same thing for
 * total_net_input_bytes / total_net_output_bytes (every byte on client sockets).
 */

/** Node-wide network counters: bytes in and out, connections accepted. */
@Sharable
public final class NetCounters extends ChannelDuplexHandler {
  private final LongAdder bytesIn = new LongAdder();
  private final LongAdder bytesOut = new LongAdder();
  private final LongAdder accepted = new LongAdder();

  /** Bytes read from every connection since start (Redis total_net_input_bytes). */
  public long bytesIn() {
    return bytesIn.sum();
  }

  /** Bytes written to every connection since start (Redis total_net_output_bytes). */
  public long bytesOut() {
    return bytesOut.sum();
  }

  /** Connections accepted since start, refused ones included (their refusal is counted apart). */
  public long accepted() {
    return accepted.sum();
  }

  void connectionAccepted() {
    accepted.increment();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof ByteBuf b) {
      bytesIn.add(b.readableBytes());
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
    if (msg instanceof ByteBuf b) {
      bytesOut.add(b.readableBytes());
    } else if (msg instanceof ByteBufHolder h) {
      bytesOut.add(h.content().readableBytes());
    }
    ctx.write(msg, promise);
  }
}
