package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.cluster.Address;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/*
 * Design: nodes talk to each other (membership gossip, forwarded requests) with the same
 * connection machinery the client uses: one NodePool per address, each a few multiplexed
 * connections with request ids, timeouts and lazy reconnects. Frames go out and come back as they
 * are; error statuses are replies to relay, not exceptions, so a forwarding node passes the owner's
 * exact answer on. Only failures on this side (cannot connect, timeout, connection lost) complete
 * the future exceptionally, with DistCacheConnectionException or DistCacheTimeoutException.
 *
 * Pools are created on first use of an address and live until retainOnly() drops them, so a
 * cluster's peers cost one pool each however many requests flow, and members that left for good
 * do not pin connections forever.
 */

/**
 * Sends raw binary-protocol frames to any node and returns the reply frames. Used by nodes for
 * peer traffic and by tools and tests that need a frame-level view. Thread-safe.
 */
final class FrameClient implements AutoCloseable {
  private final EventLoopGroup group;
  private final int connectionsPerAddress;
  private final int connectTimeoutMillis;
  private final long requestTimeoutMillis;
  private final int maxFrameBytes;
  private final Map<Address, NodePool> pools = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private FrameClient(Builder b) {
    this.connectionsPerAddress = b.connectionsPerAddress;
    this.connectTimeoutMillis = (int) b.connectTimeout.toMillis();
    this.requestTimeoutMillis = b.requestTimeout.toMillis();
    this.maxFrameBytes = b.maxFrameBytes;
    this.group = EventLoops.nio(b.ioThreads, b.threadName);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Sends {@code request} (its request id is replaced by the connection's own) and completes with
   * the reply, whatever its status. Completes exceptionally with {@link DistCacheException} when
   * the node cannot be reached or does not answer within the request timeout. Never blocks.
   */
  public CompletableFuture<Frame> send(Address to, Frame request) {
    CompletableFuture<Frame> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(new DistCacheConnectionException("the frame client is closed"));
      return result;
    }
    NodePool pool = pools.computeIfAbsent(to, this::newPool);
    pool.acquire().whenComplete((connection, error) -> {
      if (error != null) {
        result.completeExceptionally(error);
      } else {
        connection.sendRaw(request, result);
      }
    });
    return result;
  }

  /** Closes the connections to every address not in {@code keep}. */
  public void retainOnly(Collection<Address> keep) {
    Set<Address> wanted = Set.copyOf(keep);
    pools.entrySet().removeIf(e -> {
      if (wanted.contains(e.getKey())) {
        return false;
      }
      e.getValue().close();
      return true;
    });
  }

  /** The addresses with a pool (connected, connecting or idle). */
  public Set<Address> addresses() {
    return Set.copyOf(pools.keySet());
  }

  private NodePool newPool(Address a) {
    return new NodePool(InetSocketAddress.createUnresolved(a.host(), a.port()), group, connectionsPerAddress,
        connectTimeoutMillis, requestTimeoutMillis, maxFrameBytes);
  }

  /**
   * Closes every connection at once (requests in flight fail with a connection error) and stops
   * the I/O threads, waiting at most two seconds.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    pools.values().forEach(NodePool::close);
    pools.clear();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Settings; every one has a default. */
  public static final class Builder {
    private int ioThreads = 1;
    private int connectionsPerAddress = 1;
    private Duration connectTimeout = Duration.ofSeconds(1);
    private Duration requestTimeout = Duration.ofSeconds(2);
    private int maxFrameBytes = ProtocolConstants.DEFAULT_MAX_FRAME_BYTES;
    private String threadName = "distcache-frames";

    private Builder() {}

    /** I/O threads shared by every connection. Default 1. */
    public Builder ioThreads(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("io threads " + n + " is outside 1..256");
      }
      this.ioThreads = n;
      return this;
    }

    /** Multiplexed connections per address, used round robin. Default 1. */
    public Builder connectionsPerAddress(int n) {
      if (n < 1 || n > 64) {
        throw new IllegalArgumentException("connections per address " + n + " is outside 1..64");
      }
      this.connectionsPerAddress = n;
      return this;
    }

    /** How long a connect may take. Default 1 s. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive("connect timeout", timeout);
      return this;
    }

    /** How long a request waits for its reply. Default 2 s. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = positive("request timeout", timeout);
      return this;
    }

    /** The largest reply frame accepted. Default 32 MiB. */
    public Builder maxFrameBytes(int bytes) {
      if (bytes < ProtocolConstants.HEADER_BYTES) {
        throw new IllegalArgumentException(
            "max frame " + bytes + " is below the frame header size " + ProtocolConstants.HEADER_BYTES);
      }
      this.maxFrameBytes = bytes;
      return this;
    }

    /** The I/O threads' name prefix. Default "distcache-frames". */
    public Builder threadName(String name) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("thread name cannot be blank");
      }
      this.threadName = name;
      return this;
    }

    public FrameClient build() {
      return new FrameClient(this);
    }

    private static Duration positive(String what, Duration d) {
      if (d == null || d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(what + " " + d + " must be positive and at most " + Integer.MAX_VALUE + " ms");
      }
      return d;
    }
  }
}
