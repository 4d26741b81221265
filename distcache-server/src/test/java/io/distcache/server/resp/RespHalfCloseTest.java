package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that sends its commands and shuts down its sending side (`printf ... | nc -N`, health
 * checks) gets every reply before the node closes, as from Redis.
 */
class RespHalfCloseTest {
  private final RespTestServer server = new RespTestServer();

  @AfterEach
  void stop() {
    server.close();
  }

  /** Sends {@code bytes}, half-closes, and returns everything read until the node closes. */
  private String sendAndHalfClose(String bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
      s.setSoTimeout(5_000);
      s.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
      s.shutdownOutput();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] chunk = new byte[1024];
      int n;
      while ((n = in.read(chunk)) >= 0) {
        out.write(chunk, 0, n);
      }
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void commandsThenHalfClose_everyReplyArrivesThenTheNodeCloses() throws IOException {
    for (int attempt = 0; attempt < 20; attempt++) {
      String replies = sendAndHalfClose(RespChannel.encode("PING", "SET k" + attempt + " v", "GET k" + attempt));
      assertThat(replies).isEqualTo("+PONG\r\n+OK\r\n$1\r\nv\r\n");
    }
  }

  @Test
  void inlineCommandThenHalfClose_answered() throws IOException {
    assertThat(sendAndHalfClose("PING\r\n")).isEqualTo("+PONG\r\n");
  }

  @Test
  void halfCloseMidCommand_closedWithoutAReply() throws IOException {
    assertThat(sendAndHalfClose("*2\r\n$3\r\nGET\r\n")).isEmpty();
  }
}
