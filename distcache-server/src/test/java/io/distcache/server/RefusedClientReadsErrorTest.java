package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A refused Redis client that is still sending (a SET of 4 MiB) reads the refusal, not a reset:
 * protected mode, --max-connections and a request the decoder refuses. The node writes the error,
 * then drains the input until the client closes (LingeringClose). Closing with the client's bytes
 * unread made the kernel reset the connection, and the client read "Connection reset" instead of
 * the error. (Jedis cannot show this: it sends CLIENT SETINFO on connect and takes the refusal as
 * that command's ignored reply; redis-cli, in RefusedRedisCliIT, can.)
 */
class RefusedClientReadsErrorTest {
  private static final int VALUES = 40;
  private static final String VALUE = "x".repeat(100 * 1024);

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private DistCacheNode node(DistCacheNode.Builder b) {
    DistCacheNode n = b.maxMemoryBytes(64L * 1024 * 1024).start();
    toClose.add(n);
    return n;
  }

  /** A SET of a 4 MiB value, written in full by another thread while this one reads the reply. */
  private static byte[] largeSet() {
    String value = VALUE.repeat(VALUES);
    return ("*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$" + value.length() + "\r\n" + value + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void protectedMode_clientSendingALargeSet_readsDenied() throws Exception {
    InetAddress external = externalAddress();
    assumeTrue(external != null, "this host has no non-loopback IPv4 address");
    DistCacheNode n = node(DistCacheNode.builder().address("0.0.0.0", 0));

    for (int attempt = 0; attempt < 3; attempt++) {
      assertThat(sendThenRead(external.getHostAddress(), n.port(), largeSet(), new byte[0]))
          .startsWith("-DENIED Redis is running in protected mode").endsWith("\r\n");
    }
    assertThat(n.store().get("k0".getBytes())).isNull(); // nothing executed
  }

  @Test
  void maxConnections_clientSendingALargeSet_readsTheError() throws Exception {
    DistCacheNode n = node(DistCacheNode.builder().address("127.0.0.1", 0).maxConnections(1));
    try (Jedis first = new Jedis(new HostAndPort("127.0.0.1", n.port()))) {
      assertThat(first.ping()).isEqualTo("PONG");

      for (int attempt = 0; attempt < 3; attempt++) {
        assertThat(sendThenRead("127.0.0.1", n.port(), largeSet(), new byte[0]))
            .isEqualTo("-ERR max number of clients reached\r\n");
      }
    }
  }

  @Test
  void protocolError_followedByMoreInput_clientReadsTheError() throws Exception {
    DistCacheNode n = node(DistCacheNode.builder().address("127.0.0.1", 0));
    byte[] rest = ("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + VALUE.length() + "\r\n" + VALUE + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);

    for (int attempt = 0; attempt < 3; attempt++) {
      String reply = sendThenRead("127.0.0.1", n.port(), "*1\r\n$abc\r\n".getBytes(StandardCharsets.US_ASCII), rest);

      assertThat(reply).startsWith("-ERR Protocol error").endsWith("\r\n");
    }
    assertThat(n.store().get("k".getBytes())).isNull();
  }

  /**
   * Sends {@code first}, then {@code rest} 40 times, from another thread (as a client that writes
   * its whole request before reading), and reads until the node closes.
   */
  private static String sendThenRead(String host, int port, byte[] first, byte[] rest) throws Exception {
    try (Socket s = new Socket(host, port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          // One write, so that the node finds more input waiting when it refuses the first bytes.
          ByteArrayOutputStream all = new ByteArrayOutputStream();
          all.write(first);
          for (int i = 0; i < VALUES; i++) {
            all.write(rest);
          }
          out.write(all.toByteArray());
          out.flush();
        } catch (IOException closedByTheNode) {
          // once the node has answered and closed
        }
      });
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] chunk = new byte[4096];
      int n;
      while ((n = in.read(chunk)) > 0) {
        got.write(chunk, 0, n); // up to the node's close: a reset throws "Connection reset" here
      }
      s.close();
      writer.get(10, TimeUnit.SECONDS);
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }

  /** A non-loopback address of this host, or null. */
  private static InetAddress externalAddress() throws IOException {
    for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!ni.isUp() || ni.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(ni.getInetAddresses())) {
        if (a instanceof java.net.Inet4Address) {
          return a;
        }
      }
    }
    return null;
  }
}
