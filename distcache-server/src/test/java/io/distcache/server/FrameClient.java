package io.distcache.server;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.cluster.Address;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: the tests' frame-level view of a node, independent of the client SDK (whose plumbing is
 * not public API and whose jar relocates Netty and the protocol). One connection per address,
 * opened on first use; each request gets a fresh id and the reply with that id completes it,
 * whatever its status. A connection that closes fails what it still has pending; the next send
 * opens a new one. Requests time out after the request timeout.
 */

/** Sends raw binary-protocol frames to nodes and returns their replies, for tests. Thread-safe. */
public final class FrameClient implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("test-frame-client", true), NioIoHandler.newFactory());
  private final long requestTimeoutMillis;
  private final Map<Address, CompletableFuture<Connection>> connections = new ConcurrentHashMap<>();

  private FrameClient(Duration requestTimeout) {
    this.requestTimeoutMillis = requestTimeout.toMillis();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Sends {@code request} (its id replaced) and completes with the reply, whatever its status. */
  public CompletableFuture<Frame> send(Address to, Frame request) {
    CompletableFuture<Frame> result = new CompletableFuture<>();
    connection(to).whenComplete((c, error) -> {
      if (error != null) {
        result.completeExceptionally(error);
      } else {
        c.send(request, result);
      }
    });
    return result.orTimeout(requestTimeoutMillis, TimeUnit.MILLISECONDS);
  }

  private CompletableFuture<Connection> connection(Address to) {
    return connections.compute(to, (a, existing) -> {
      if (existing != null && !(existing.isDone() && (existing.isCompletedExceptionally() || !existing.join().channel.isActive()))) {
        return existing;
      }
      CompletableFuture<Connection> opened = new CompletableFuture<>();
      Connection handler = new Connection();
      new Bootstrap().group(group).channel(NioSocketChannel.class)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new FrameDecoder(), new FrameEncoder(), handler);
            }
          })
          .connect(a.host(), a.port()).addListener(f -> {
            if (f.isSuccess()) {
              opened.complete(handler);
            } else {
              opened.completeExceptionally(new IOException("cannot connect to " + a + ": " + f.cause(), f.cause()));
            }
          });
      return opened;
    });
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Settings; every one has a default. */
  public static final class Builder {
    private Duration requestTimeout = Duration.ofSeconds(5);

    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = timeout;
      return this;
    }

    public FrameClient build() {
      return new FrameClient(requestTimeout);
    }
  }

  private static final class Connection extends SimpleChannelInboundHandler<Frame> {
    private final Map<Integer, CompletableFuture<Frame>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private volatile Channel channel;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      channel = ctx.channel();
    }

    void send(Frame request, CompletableFuture<Frame> result) {
      int id = nextId.getAndIncrement();
      pending.put(id, result);
      result.whenComplete((r, e) -> pending.remove(id));
      channel.writeAndFlush(request.withRequestId(id)).addListener(f -> {
        if (!f.isSuccess()) {
          result.completeExceptionally(new IOException("could not send: " + f.cause(), f.cause()));
        }
      });
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame reply) {
      CompletableFuture<Frame> p = pending.remove(reply.requestId());
      if (p != null) {
        p.complete(reply);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      IOException closed = new IOException("connection to " + ctx.channel().remoteAddress() + " closed");
      pending.values().forEach(p -> p.completeExceptionally(closed));
      pending.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
