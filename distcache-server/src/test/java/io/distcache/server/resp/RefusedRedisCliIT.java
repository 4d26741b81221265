package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.DistCacheNode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * The stock redis-cli, refused by --max-connections while it sends a 4 MiB SET (-x, the value on
 * stdin), prints the node's error. Closing right after the error, with the rest of the request
 * unread, reset the connection: redis-cli died of SIGPIPE (exit 141) or printed "Connection reset
 * by peer" (Redis 7.0 with maxclients 1 does the former too). The node now drains the input
 * until redis-cli has read the error and gone (net.LingeringClose).
 */
class RefusedRedisCliIT {
  @Test
  void maxConnections_redisCliSendingALargeValue_printsTheError() throws Exception {
    RedisTools.require("redis-cli");
    byte[] value = "x".repeat(4 * 1024 * 1024).getBytes(StandardCharsets.US_ASCII);
    try (DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024)
        .maxConnections(1).start();
        Jedis first = new Jedis(new HostAndPort("127.0.0.1", n.port()))) {
      assertThat(first.ping()).isEqualTo("PONG");

      for (int attempt = 0; attempt < 3; attempt++) {
        RedisTools.Result r = RedisTools.run(value, "redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(n.port()),
            "-x", "SET", "k");

        assertThat(r.out() + r.stderr()).as("exit %d", r.exitCode()).contains("ERR max number of clients reached");
      }
      RedisTools.Result small = RedisTools.run(null, "redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(n.port()),
          "PING");
      assertThat(small.out() + small.stderr()).contains("ERR max number of clients reached");
    }
  }
}
