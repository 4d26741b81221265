package io.distcache.server.net;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * How the node listens.
 *
 * @param bindAddress where to listen; a wildcard address listens on every interface, port 0 picks
 *     a free port
 * @param maxConnections clients connected at once; one more is told so and closed
 * @param idleTimeout a client that neither sends nor receives for this long is closed; zero
 *     disables it (Redis {@code timeout 0})
 * @param writeBufferLowBytes a connection whose unsent replies fall below this is read from again
 * @param writeBufferHighBytes a connection stops being read while it has more unsent replies than
 *     this, so a client that does not read cannot make the node buffer without bound
 * @param ioThreads event-loop threads serving connections
 */
public record NetConfig(
    InetSocketAddress bindAddress,
    int maxConnections,
    Duration idleTimeout,
    int writeBufferLowBytes,
    int writeBufferHighBytes,
    int ioThreads) {

  public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
  public static final int DEFAULT_WRITE_BUFFER_LOW_BYTES = 256 * 1024;
  public static final int DEFAULT_WRITE_BUFFER_HIGH_BYTES = 1024 * 1024;

  public NetConfig {
    if (bindAddress == null) {
      throw new IllegalArgumentException("bindAddress is required");
    }
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1: " + maxConnections);
    }
    if (idleTimeout == null || idleTimeout.isNegative()) {
      throw new IllegalArgumentException("idleTimeout cannot be negative: " + idleTimeout);
    }
    if (writeBufferLowBytes < 1 || writeBufferHighBytes < writeBufferLowBytes) {
      throw new IllegalArgumentException(
          "write buffer water marks: expected 1 <= low <= high, got low " + writeBufferLowBytes
              + ", high " + writeBufferHighBytes);
    }
    if (ioThreads < 1) {
      throw new IllegalArgumentException("ioThreads must be at least 1: " + ioThreads);
    }
  }

  /** Defaults for everything but the address. */
  public static NetConfig of(InetSocketAddress bindAddress) {
    return new NetConfig(
        bindAddress,
        DEFAULT_MAX_CONNECTIONS,
        Duration.ZERO,
        DEFAULT_WRITE_BUFFER_LOW_BYTES,
        DEFAULT_WRITE_BUFFER_HIGH_BYTES,
        Runtime.getRuntime().availableProcessors());
  }

  public NetConfig withMaxConnections(int n) {
    return new NetConfig(bindAddress, n, idleTimeout, writeBufferLowBytes, writeBufferHighBytes, ioThreads);
  }

  public NetConfig withIdleTimeout(Duration d) {
    return new NetConfig(bindAddress, maxConnections, d, writeBufferLowBytes, writeBufferHighBytes, ioThreads);
  }

  public NetConfig withWriteBuffer(int lowBytes, int highBytes) {
    return new NetConfig(bindAddress, maxConnections, idleTimeout, lowBytes, highBytes, ioThreads);
  }

  public NetConfig withIoThreads(int n) {
    return new NetConfig(bindAddress, maxConnections, idleTimeout, writeBufferLowBytes, writeBufferHighBytes, n);
  }
}
