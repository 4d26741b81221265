package io.distcache.server.net;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Native epoll where the platform has it (fewer syscalls and copies, edge-triggered), the JDK's
 * NIO everywhere else. Chosen once per node; both behave the same to the handlers.
 */
public enum Transport {
  EPOLL,
  NIO;

  /** Epoll when its native library loads on this machine, NIO otherwise. */
  public static Transport best() {
    return Epoll.isAvailable() ? EPOLL : NIO;
  }

  /** The name printed at startup. */
  public String displayName() {
    return this == EPOLL ? "epoll" : "nio";
  }

  EventLoopGroup newGroup(int threads, String threadPrefix) {
    IoHandlerFactory factory = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(threadPrefix), factory);
  }

  /** The client socket channel class that goes with this transport's event loops. */
  public Class<? extends Channel> socketChannel() {
    return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  /** The server socket channel class that goes with this transport's event loops. */
  public Class<? extends ServerChannel> serverChannel() {
    return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }
}
