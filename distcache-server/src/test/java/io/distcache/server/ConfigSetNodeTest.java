package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** CONFIG SET on a running node: the idle timeout reaches open connections; bound and policy show in INFO and /metrics. */
class ConfigSetNodeTest {
  private DistCacheNode node;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024).start();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  /** True once the node has closed the socket (end of stream), false while it is still open. */
  private static boolean closedByNode(Socket s) throws Exception {
    s.setSoTimeout(50);
    InputStream in = s.getInputStream();
    try {
      return in.read() < 0;
    } catch (SocketTimeoutException stillOpen) {
      return false;
    } catch (java.io.IOException reset) {
      return true;
    }
  }

  @Test
  void timeout_appliesToConnectionsAlreadyOpen_andShowsInConfigGet() throws Exception {
    try (Socket idle = new Socket()) {
      idle.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
      idle.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(new String(idle.getInputStream().readNBytes(7), StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
      assertThat(closedByNode(idle)).as("no idle timeout at start").isFalse();

      try (Jedis admin = new Jedis("127.0.0.1", node.port())) {
        assertThat(admin.configSet("timeout", "1")).isEqualTo("OK");
        assertThat(admin.configGet("timeout")).containsEntry("timeout", "1");
      }
      await().atMost(Duration.ofSeconds(15)).until(() -> closedByNode(idle));
    }
    try (Jedis admin = new Jedis("127.0.0.1", node.port())) {
      assertThat(admin.configSet("timeout", "0")).isEqualTo("OK");
      assertThat(admin.configGet("timeout")).containsEntry("timeout", "0");
    }
  }

  @Test
  void maxmemoryAndPolicy_showInInfoAndMetrics() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      assertThat(j.configSet("maxmemory", "32mb")).isEqualTo("OK");
      assertThat(j.configSet("maxmemory-policy", "allkeys-lfu")).isEqualTo("OK");
      assertThat(j.info("memory")).contains("maxmemory:33554432").contains("maxmemory_policy:allkeys-lfu");
      // the decay counts wall-clock minutes; a minute boundary between SET and OBJECT FREQ would take a step off
      assertThat(j.configSet("lfu-decay-time", "0")).isEqualTo("OK");
      j.set("k", "v");
      assertThat(j.objectFreq("k")).isEqualTo(5L);
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/metrics"))
        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(body).contains("distcache_memory_max_bytes 3.3554432E7")
        .contains("distcache_maxmemory_policy{policy=\"allkeys-lfu\"} 1.0");
  }
}
