package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A node stand-in for client tests: speaks the binary protocol on 127.0.0.1 and lets each test
 * script the replies (or their absence, order, or a dropped connection). Runs on one thread, so
 * a script may keep state without locks.
 */
final class ScriptedServer implements AutoCloseable {

  /** Called for every request frame, on the server's single I/O thread. */
  interface Script {
    void onRequest(ChannelHandlerContext ctx, Frame request);
  }

  private final EventLoopGroup group = EventLoops.nio(1, "scripted-server");
  private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger accepted = new AtomicInteger();
  private final Channel serverChannel;

  private ScriptedServer(int port, Script script) {
    serverChannel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            accepted.incrementAndGet();
            children.add(ch);
            ch.pipeline().addLast(new FrameDecoder(), new FrameEncoder(), new SimpleChannelInboundHandler<Frame>() {
              @Override
              protected void channelRead0(ChannelHandlerContext ctx, Frame request) {
                script.onRequest(ctx, request);
              }
            });
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", port))
        .syncUninterruptibly()
        .channel();
  }

  /** On a free port. */
  static ScriptedServer start(Script script) {
    return new ScriptedServer(0, script);
  }

  /** On a given port (to stand in for a restarted node). */
  static ScriptedServer start(int port, Script script) {
    return new ScriptedServer(port, script);
  }

  /** Answers PING with an echo and everything else with what {@code reply} returns. */
  static Script answering(java.util.function.Function<Frame, Frame> reply) {
    return (ctx, request) -> ctx.writeAndFlush(reply.apply(request));
  }

  int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  String address() {
    return "127.0.0.1:" + port();
  }

  /** Connections accepted so far. */
  int accepted() {
    return accepted.get();
  }

  @Override
  public void close() {
    serverChannel.close().syncUninterruptibly();
    children.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
