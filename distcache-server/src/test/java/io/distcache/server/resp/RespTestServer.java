package io.distcache.server.resp;

import io.distcache.server.DistCacheNode;
import io.distcache.server.NodeAccess;
import io.distcache.server.store.Store;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A real node on a free loopback port, for the Redis client tests: the same detector, pipelines,
 * router and store that {@code bin/distcache} runs.
 */
final class RespTestServer implements AutoCloseable {
  static final int MAX_VALUE_BYTES = 4 * 1024 * 1024;

  final DistCacheNode node;
  final Store store;

  RespTestServer() {
    node = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(256L * 1024 * 1024)
        .maxValueBytes(MAX_VALUE_BYTES)
        .start();
    store = NodeAccess.store(node);
  }

  int port() {
    return node.port();
  }

  /** A raw connection to the node that sent {@code commands} (RespChannel.encode); read with {@link #read}. */
  Socket raw(String... commands) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port()), 5_000);
    s.setSoTimeout(10_000);
    send(s, commands);
    return s;
  }

  /** Sends {@code commands} (RespChannel.encode) on a raw connection. */
  static void send(Socket s, String... commands) throws IOException {
    s.getOutputStream().write(RespChannel.encode(commands).getBytes(StandardCharsets.ISO_8859_1));
  }

  /** Reads until what arrived ends with {@code end} (or the socket's timeout fails the test). */
  static String read(Socket s, String end) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[1024];
    while (!out.toString(StandardCharsets.ISO_8859_1).endsWith(end)) {
      int n = in.read(chunk);
      if (n < 0) {
        break;
      }
      out.write(chunk, 0, n);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    node.close();
  }
}
