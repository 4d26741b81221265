package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.distcache.server.net.TlsFiles;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * Failed client TLS handshakes (here plain text sent to the TLS port) do not flood the log: each
 * one used to end as Netty's "exceptionCaught() ... reached at the tail of the pipeline" WARN with
 * a stack trace (about thirty lines), unlimited; now one rate-limited line names the cause.
 */
class TlsHandshakeLogTest {
  @TempDir Path dir;
  private DistCacheNode node;
  private final Logger tail = (Logger) LoggerFactory.getLogger("io.netty.channel.DefaultChannelPipeline");
  private final Logger watch = (Logger) LoggerFactory.getLogger("io.distcache.server.net.TlsClientWatch");
  private final ListAppender<ILoggingEvent> tailLines = new ListAppender<>();
  private final ListAppender<ILoggingEvent> watchLines = new ListAppender<>();

  @AfterEach
  void stop() {
    tail.detachAppender(tailLines);
    watch.detachAppender(watchLines);
    if (node != null) {
      node.close();
    }
  }

  @Test
  void failedHandshakes_logOneLimitedLine_notAStackTraceEach() throws Exception {
    TestCerts c = TestCerts.create(dir);
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L << 20)
        .tls(0, new TlsFiles(c.serverCert, c.serverKey, c.caCert, TlsFiles.AuthClients.NO)).start();
    tailLines.start();
    watchLines.start();
    tail.addAppender(tailLines);
    watch.addAppender(watchLines);

    for (int i = 0; i < 30; i++) {
      try (Socket s = new Socket("127.0.0.1", node.tlsPort())) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        while (in.read() >= 0) {
          // until the node closes
        }
      } catch (java.net.SocketException reset) {
        // a reset is a close too
      }
    }

    assertThat(tailLines.list).as("Netty's unhandled-exception WARNs").isEmpty();
    assertThat(watchLines.list).as("one per 10 s at most").hasSizeBetween(1, 3);
    assertThat(watchLines.list.get(0).getFormattedMessage()).startsWith("TLS handshake from /127.0.0.1:")
        .contains("failed");
    // A real TLS client is served as before.
    try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", node.tlsPort()), DefaultJedisClientConfig.builder()
        .ssl(true).sslSocketFactory(c.clientContext(false).getSocketFactory()).build())) {
      assertThat(j.ping()).isEqualTo("PONG");
    }
  }
}
