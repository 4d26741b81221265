package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/** SHUTDOWN: Redis's command for the graceful stop SIGTERM makes, and its refusals. */
class ShutdownCommandTest {
  private final DistCacheNode node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L << 20).start();

  @AfterEach
  void tearDown() {
    node.close();
  }

  private CompletableFuture<Void> closed() {
    return CompletableFuture.runAsync(() -> {
      try {
        node.awaitClosed();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    });
  }

  private static String error(Jedis j, String... args) {
    try {
      Object reply = j.sendCommand(Protocol.Command.SHUTDOWN, args);
      return "no error: " + reply;
    } catch (JedisDataException e) {
      return e.getMessage();
    }
  }

  @Test
  void shutdown_fromJedis_stopsTheNode_andTheConnectionClosesUnanswered() {
    int port = node.port();
    try (Jedis j = new Jedis("127.0.0.1", port)) {
      j.set("k", "v");
      j.shutdown(); // throws unless the connection closes without a reply
    }

    assertThat(closed()).succeedsWithin(Duration.ofSeconds(10));
    assertThat(node.isRunning()).isFalse();
    assertThatThrownBy(() -> new Jedis("127.0.0.1", port).ping()).isInstanceOf(JedisConnectionException.class);
  }

  @Test
  void shutdown_nowNosave_stopsTheNode() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      assertThatThrownBy(() -> j.sendCommand(Protocol.Command.SHUTDOWN, "NOSAVE", "NOW"))
          .isInstanceOf(JedisConnectionException.class);
    }

    assertThat(closed()).succeedsWithin(Duration.ofSeconds(10));
  }

  @Test
  void shutdown_badOptionsSaveOrAbort_answeredWithAnError_andTheNodeKeepsServing() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      assertThat(error(j, "SOON")).isEqualTo("ERR syntax error");
      assertThat(error(j, "SAVE", "NOSAVE")).isEqualTo("ERR syntax error");
      assertThat(error(j, "ABORT", "NOW")).isEqualTo("ERR syntax error");
      assertThat(error(j, "ABORT")).isEqualTo("ERR No shutdown in progress.");
      assertThat(error(j, "SAVE")).startsWith("ERR this node keeps nothing on disk, so SHUTDOWN SAVE cannot save");

      assertThat(j.set("still", "here")).isEqualTo("OK");
      assertThat(j.get("still")).isEqualTo("here");
    }
    assertThat(node.isRunning()).isTrue();
  }

  @Test
  void shutdown_byAUserWithoutDangerousCommands_isRefusedWithNoPerm() {
    try (Jedis admin = new Jedis("127.0.0.1", node.port())) {
      admin.aclSetUser("app", "on", ">secret", "~*", "+@all", "-@dangerous");
    }
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.auth("app", "secret");
      assertThat(error(j, new String[0])).startsWith("NOPERM");
    }
    assertThat(node.isRunning()).isTrue();
  }

  @Test
  void shutdown_insideMulti_failsThatCommandOnly() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      redis.clients.jedis.Transaction tx = j.multi();
      tx.set("a", "1");
      tx.sendCommand(Protocol.Command.SHUTDOWN, new String[0]);
      java.util.List<Object> replies = tx.exec();
      assertThat(replies.get(0)).isEqualTo("OK");
      assertThat(replies.get(1)).isInstanceOf(JedisDataException.class);
      assertThat(((JedisDataException) replies.get(1)).getMessage()).contains("SHUTDOWN inside MULTI");
    }
    assertThat(node.isRunning()).isTrue();
  }
}
