package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A refused connection that keeps sending (a pipelining client) still reads the refusal: the node
 * writes the error, shuts its output and drains the input until the client closes (LingeringClose),
 * instead of closing with the client's bytes unread, which makes the kernel send a reset that can
 * destroy the reply before the client reads it ("Connection reset").
 */
class RefusalLingerTest {
  /** Enough pipelined requests that the node has not read them all when it refuses. */
  private static final int PIPELINE_BYTES = 4 * 1024 * 1024;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private NetServer fullServer() {
    NetConfig config = NetConfig.of(new InetSocketAddress("127.0.0.1", 0)).withMaxConnections(1).withIoThreads(1);
    NetServer server = new NetServer(config, new BinaryProtocol(new MapRouter(), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES),
        UnknownProtocol.INSTANCE);
    server.start();
    toClose.add(server);
    RawClient first = new RawClient(server.localAddress().getPort());
    toClose.add(first);
    assertThat(first.send(Frame.request(Opcode.PING, 0, null, null).withRequestId(1)).read().status())
        .isEqualTo(Status.OK);
    return server;
  }

  /** Sends {@code request} repeated to PIPELINE_BYTES from another thread, then reads everything until the close. */
  static String pipelineThenRead(int port, byte[] request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          for (int sent = 0; sent < PIPELINE_BYTES; sent += request.length) {
            out.write(request);
          }
          out.flush();
        } catch (IOException closedByTheNode) {
          // expected once the node has answered and stops reading
        }
      });
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] chunk = new byte[4096];
      int n;
      while ((n = in.read(chunk)) > 0) {
        got.write(chunk, 0, n);
      }
      s.close(); // the client goes away having read the refusal, as redis-cli does
      writer.get(10, TimeUnit.SECONDS);
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void maxConnections_pipeliningRedisClient_readsTheErrorNotAReset() throws Exception {
    NetServer server = fullServer();
    byte[] ping = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);

    for (int attempt = 0; attempt < 5; attempt++) {
      assertThat(pipelineThenRead(server.localAddress().getPort(), ping))
          .isEqualTo("-ERR max number of clients reached\r\n");
    }
  }
}
