package io.distcache.server.resp;

import io.distcache.server.Clock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;

/**
 * A single-node Redis endpoint for client tests: a local store behind a LocalRouter, the RESP
 * pipeline on every connection, bound to a free port on 127.0.0.1.
 */
final class RespTestServer implements AutoCloseable {
  static final int MAX_VALUE_BYTES = 4 * 1024 * 1024;

  final Store store;
  final RespContext context;
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
  private final Channel server;

  RespTestServer() throws InterruptedException {
    this(new StoreConfig(256L * 1024 * 1024, MAX_VALUE_BYTES, EvictionPolicy.ALLKEYS_LRU, Clock.system()));
  }

  RespTestServer(StoreConfig config) throws InterruptedException {
    store = Stores.create(config);
    context = RespContext.builder(new LocalRouter(new LocalExecutor(store)), store).version("test").build();
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            RespPipeline.install(ch.pipeline(), context);
          }
        })
        .bind("127.0.0.1", 0)
        .sync()
        .channel();
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 5, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    store.close();
  }
}
