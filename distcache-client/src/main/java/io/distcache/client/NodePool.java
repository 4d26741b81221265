package io.distcache.client;

import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/*
 * Design: a few connections to one node, used round-robin. Each connection already multiplexes many
 * requests, so the pool is small; it exists to spread the encode/decode work over event loop
 * threads and to keep one slow large reply from delaying every other request.
 *
 * A slot holds the future of its connection. A slot is (re)connected lazily, by the first request
 * that finds it empty, failed, or closed; concurrent requests that find it connecting wait on the
 * same future, so a node restart costs one connect per slot, not one per request. Nothing retries
 * in the background: a node that is down costs nothing until it is used.
 *
 * The cluster client will hold one pool per node and pick the pool by key owner.
 *
 * Each connection queues at most WRITE_BUFFER_HIGH_BYTES of unsent requests (plus the one that
 * crossed the mark); past it NodeConnection fails new requests with BUSY until the socket drains
 * below WRITE_BUFFER_LOW_BYTES. The marks sit far above what a healthy link holds (the kernel
 * buffer takes the first few hundred KiB) and a single frame may be larger than both: it is
 * accepted whenever the connection is under the mark.
 */
final class NodePool {
  private static final FrameEncoder ENCODER = new FrameEncoder();
  static final int WRITE_BUFFER_LOW_BYTES = 4 * 1024 * 1024;
  static final int WRITE_BUFFER_HIGH_BYTES = 8 * 1024 * 1024;

  private final InetSocketAddress address;
  /** host:port as configured, for messages (an unresolved address prints oddly). */
  private final String name;
  private final Bootstrap bootstrap;
  private final AtomicReferenceArray<CompletableFuture<NodeConnection>> slots;
  private final AtomicInteger next = new AtomicInteger();
  private volatile boolean closed;
  private final Listeners listeners;
  /** Open connections: connected() fires on 0 to 1, disconnected() on 1 to 0. */
  private final AtomicInteger open = new AtomicInteger();
  /** An AUTH frame's key and value (user, password) sent first on every connection, or null. */
  private byte[] authUser;
  private byte[] authPassword;

  /** Null: plain TCP. */
  private volatile io.netty.handler.ssl.SslContext tls;

  /** Every new connection speaks TLS with {@code context}, the node's name verified against its certificate. */
  NodePool withTls(io.netty.handler.ssl.SslContext context) {
    this.tls = context;
    return this;
  }

  /** Null: no near cache; else every new connection turns TRACKING on before it is used. */
  private volatile NearCache nearCache;

  /** Every new connection tracks the keys it reads for {@code cache} (Opcode.TRACKING), first thing. */
  NodePool withNearCache(NearCache cache) {
    this.nearCache = cache;
    return this;
  }

  /** Every new connection authenticates as {@code user} before it is used. */
  NodePool withCredentials(String user, String password) {
    if (password != null) {
      this.authUser = (user == null ? "" : user).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      this.authPassword = password.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
    return this;
  }

  NodePool(InetSocketAddress address, EventLoopGroup group, int connections, int connectTimeoutMillis,
      long requestTimeoutMillis, int maxFrameBytes) {
    this(address, group, connections, connectTimeoutMillis, requestTimeoutMillis, maxFrameBytes, Listeners.NONE);
  }

  NodePool(InetSocketAddress address, EventLoopGroup group, int connections, int connectTimeoutMillis,
      long requestTimeoutMillis, int maxFrameBytes, Listeners listeners) {
    this.listeners = listeners;
    this.address = address;
    this.name = address.getHostString() + ":" + address.getPort();
    this.slots = new AtomicReferenceArray<>(connections);
    this.bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(WRITE_BUFFER_LOW_BYTES, WRITE_BUFFER_HIGH_BYTES))
        .remoteAddress(address)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            io.netty.handler.ssl.SslContext t = tls;
            if (t != null) {
              io.netty.handler.ssl.SslHandler h = t.newHandler(ch.alloc(), address.getHostString(), address.getPort());
              javax.net.ssl.SSLParameters p = h.engine().getSSLParameters();
              p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host dialed
              h.engine().setSSLParameters(p);
              ch.pipeline().addLast("tls", h);
            }
            ch.pipeline().addLast(
                // Many callers writing at once share one syscall instead of one flush each.
                new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true),
                new FrameDecoder(maxFrameBytes),
                ENCODER,
                new NodeConnection(ch, name, requestTimeoutMillis));
          }
        });
  }

  InetSocketAddress address() {
    return address;
  }

  /** A connection, connecting (or reconnecting) its slot first when needed. */
  CompletableFuture<NodeConnection> acquire() {
    if (closed) {
      return CompletableFuture.failedFuture(new DistCacheConnectionException("the client is closed"));
    }
    int i = Math.floorMod(next.getAndIncrement(), slots.length());
    while (true) {
      CompletableFuture<NodeConnection> current = slots.get(i);
      if (current != null && usable(current)) {
        return current;
      }
      CompletableFuture<NodeConnection> fresh = new CompletableFuture<>();
      if (slots.compareAndSet(i, current, fresh)) {
        connect(fresh);
        return fresh;
      }
    }
  }

  /** Connecting, or connected and open. A failed or closed slot is replaced. */
  private static boolean usable(CompletableFuture<NodeConnection> slot) {
    if (!slot.isDone()) {
      return true;
    }
    return !slot.isCompletedExceptionally() && slot.join().isActive();
  }

  private void connect(CompletableFuture<NodeConnection> slot) {
    ChannelFuture connect;
    try {
      connect = bootstrap.connect();
    } catch (RuntimeException e) {
      slot.completeExceptionally(new DistCacheConnectionException("cannot connect to " + name + ": " + e, e, true));
      return;
    }
    connect.addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        slot.completeExceptionally(new DistCacheConnectionException(
            "cannot connect to " + name + ": " + f.cause().getMessage(), f.cause(), true));
      } else if (closed) {
        f.channel().close();
        slot.completeExceptionally(new DistCacheConnectionException("the client is closed"));
      } else if (authPassword != null) {
        authenticate(f.channel(), slot);
      } else {
        track(f.channel(), slot);
      }
    });
  }

  /** Tells the listeners about a connection ready for requests, and later about its close. */
  private void opened(Channel ch) {
    if (open.getAndIncrement() == 0) {
      listeners.connected(name);
    }
    ch.closeFuture().addListener(closedFuture -> {
      if (open.decrementAndGet() == 0) {
        listeners.disconnected(name);
      }
    });
  }

  /** Sends AUTH first; the slot is usable only once the node accepted it. */
  private void authenticate(Channel ch, CompletableFuture<NodeConnection> slot) {
    NodeConnection connection = ch.pipeline().get(NodeConnection.class);
    CompletableFuture<io.distcache.protocol.Frame> reply = new CompletableFuture<>();
    connection.sendRaw(io.distcache.protocol.Frame.request(io.distcache.protocol.Opcode.AUTH, 0, authUser, authPassword), reply);
    reply.whenComplete((r, e) -> {
      if (e != null) {
        ch.close();
        slot.completeExceptionally(e);
      } else if (r.status() != io.distcache.protocol.Status.OK) {
        ch.close();
        // The exception names the user, never the password.
        slot.completeExceptionally(new DistCacheException(r.status(), "AUTH as '"
            + new String(authUser, java.nio.charset.StandardCharsets.UTF_8) + "' on " + name + " failed: " + r.valueText()));
      } else {
        track(ch, slot);
      }
    });
  }

  /**
   * With a near cache, sends TRACKING before anything else on the connection, so the node tracks
   * every GET made on it; a node that refuses it turns the near cache off. Then the slot is usable.
   */
  private void track(Channel ch, CompletableFuture<NodeConnection> slot) {
    NodeConnection connection = ch.pipeline().get(NodeConnection.class);
    NearCache nc = nearCache;
    if (nc == null || nc.disabled()) {
      opened(ch);
      slot.complete(connection);
      return;
    }
    connection.nearCache(nc);
    CompletableFuture<io.distcache.protocol.Frame> reply = new CompletableFuture<>();
    connection.sendRaw(io.distcache.protocol.Frame.request(io.distcache.protocol.Opcode.TRACKING, 0, null, null, 1L),
        reply);
    reply.whenComplete((r, e) -> {
      if (e != null) {
        ch.close();
        slot.completeExceptionally(e);
        return;
      }
      if (r.status() != io.distcache.protocol.Status.OK) {
        nc.disable(name + " refused TRACKING (" + r.status() + " " + r.valueText() + ")");
      }
      opened(ch);
      slot.complete(connection);
    });
  }

  /** Closes every connection; requests in flight fail with a connection error. */
  void close() {
    closed = true;
    for (int i = 0; i < slots.length(); i++) {
      CompletableFuture<NodeConnection> slot = slots.get(i);
      if (slot != null) {
        slot.thenAccept(NodeConnection::close);
      }
    }
  }
}
