package io.distcache.server.http;

import io.distcache.server.net.ProtocolInstaller;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: --http-port serves the same HTTP as the node's port, on a port of its own so it can be
 * firewalled apart (Prometheus and the kubelet reach it, clients do not). It runs on the node's
 * event loops (no threads of its own) and holds at most MAX_CONNECTIONS connections; one more is
 * closed at once, so the HTTP port cannot take the node's descriptors.
 */

/** A listener for HTTP only. */
public final class HttpServer implements AutoCloseable {
  static final int MAX_CONNECTIONS = 256;

  private final AtomicInteger open = new AtomicInteger();
  private Channel channel;

  /**
   * Binds {@code address} on {@code loops} and serves {@code http} there.
   *
   * @param counters counts the bytes of every connection (the node's NetCounters)
   */
  public HttpServer(InetSocketAddress address, EventLoopGroup loops, Class<? extends ServerChannel> channelType,
      ProtocolInstaller http, ChannelHandler counters) {
    ServerBootstrap b = new ServerBootstrap()
        .group(loops)
        .channel(channelType)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (open.incrementAndGet() > MAX_CONNECTIONS) {
              open.decrementAndGet();
              ch.close();
              return;
            }
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            ch.pipeline().addLast("counters", counters);
            http.install(ch.pipeline());
          }
        });
    try {
      channel = b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) {
      BindException be = new BindException("cannot listen for HTTP on " + address.getHostString() + ":"
          + address.getPort() + ": " + e.getMessage());
      be.initCause(e);
      throw new UncheckedIOException(be.getMessage(), be);
    }
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** Stops listening; open HTTP connections close with the node's event loops. */
  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
  }
}
