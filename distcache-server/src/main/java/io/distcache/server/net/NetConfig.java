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
        defaultIoThreads());
  }

  /** System property that sets the event-loop threads of {@link #of} (for tuning without a rebuild). */
  public static final String IO_THREADS_PROPERTY = "distcache.ioThreads";

  /**
   * {@value #IO_THREADS_PROPERTY} when set, else one event loop per core but one (at least one).
   * The spare core is for what else the node needs at the same moment (GC, the JIT, the kernel's
   * network work, the membership thread) and for whatever shares the machine: an event loop that
   * is preempted stalls every connection it owns, which shows as the latency tail. Redis gives the
   * same advice for its io-threads. Measured in docs/BENCHMARKS.md ("Changes").
   */
  static int defaultIoThreads() {
    String v = System.getProperty(IO_THREADS_PROPERTY);
    if (v == null || v.isBlank()) {
      return Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below with the value
    }
    throw new IllegalArgumentException(IO_THREADS_PROPERTY + " must be a whole number of at least 1, got '" + v + "'");
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
