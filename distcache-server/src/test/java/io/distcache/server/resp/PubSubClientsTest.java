package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

/** Pub/sub through real clients against a real node: Jedis (RESP2), Lettuce (RESP3), a subscriber that never reads. */
class PubSubClientsTest {
  private final RespTestServer server = new RespTestServer();

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void jedis_subscribeAndPatternSubscribe_receiveInOrder_thenUnsubscribeEverything() throws Exception {
    List<String> got = new CopyOnWriteArrayList<>();
    JedisPubSub listener = new JedisPubSub() {
      @Override
      public void onMessage(String channel, String message) {
        got.add("message " + channel + " " + message);
      }

      @Override
      public void onPMessage(String pattern, String channel, String message) {
        got.add("pmessage " + pattern + " " + channel + " " + message);
      }

      @Override
      public void onSubscribe(String channel, int count) {
        got.add("subscribe " + channel + " " + count);
      }

      @Override
      public void onPSubscribe(String pattern, int count) {
        got.add("psubscribe " + pattern + " " + count);
      }

      @Override
      public void onUnsubscribe(String channel, int count) {
        got.add("unsubscribe " + channel + " " + count);
      }

      @Override
      public void onPUnsubscribe(String pattern, int count) {
        got.add("punsubscribe " + pattern + " " + count);
      }
    };
    try (Jedis subscriber = new Jedis("127.0.0.1", server.port()); Jedis publisher = new Jedis("127.0.0.1", server.port())) {
      Thread t = new Thread(() -> subscriber.subscribe(listener, "orders"));
      t.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("subscribe orders 1"));
      listener.psubscribe("ord*");
      await().atMost(Duration.ofSeconds(10)).until(() -> got.contains("psubscribe ord* 2"));
      assertThat(publisher.publish("orders", "o-1")).isEqualTo(2);
      assertThat(publisher.publish("ordinal", "o-2")).isEqualTo(1);
      assertThat(publisher.pubsubNumSub("orders")).containsEntry("orders", 1L);
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() >= 5);
      listener.unsubscribe();
      listener.punsubscribe();
      t.join(10_000);
      assertThat(t.isAlive()).isFalse();
      assertThat(got).containsExactly("subscribe orders 1", "psubscribe ord* 2", "message orders o-1",
          "pmessage ord* orders o-1", "pmessage ord* ordinal o-2", "unsubscribe orders 1", "punsubscribe ord* 0");
      // The connection left subscribed mode: ordinary commands run again.
      assertThat(subscriber.ping()).isEqualTo("PONG");
      assertThat(publisher.publish("orders", "late")).isZero();
    }
  }

  @Test
  void lettuce_resp3Pushes_andShardChannels() {
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", server.port()));
    try {
      StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub();
      List<String> got = new CopyOnWriteArrayList<>();
      sub.addListener(new RedisPubSubAdapter<>() {
        @Override
        public void message(String channel, String message) {
          got.add(channel + "=" + message);
        }

        @Override
        public void smessage(String channel, String message) {
          got.add("shard " + channel + "=" + message);
        }
      });
      sub.sync().subscribe("prices");
      sub.sync().ssubscribe("{p}shard");
      // RESP3: the subscribed connection still runs ordinary commands, its replies between pushes.
      assertThat(sub.sync().set("k", "v")).isEqualTo("OK");
      var pub = client.connect().sync();
      assertThat(pub.publish("prices", "42")).isEqualTo(1);
      assertThat(pub.spublish("{p}shard", "s1")).isEqualTo(1);
      assertThat(sub.sync().get("k")).isEqualTo("v");
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 2);
      assertThat(got).containsExactly("prices=42", "shard {p}shard=s1");
      assertThat(pub.pubsubChannels()).containsExactly("prices");
      assertThat(pub.pubsubShardChannels()).containsExactly("{p}shard");
      sub.sync().unsubscribe("prices");
      assertThat(pub.publish("prices", "43")).isZero();
      sub.close();
    } finally {
      client.shutdown();
    }
  }

  @Test
  void subscriberThatDoesNotRead_isDisconnectedAtTheOutputLimit_andCounted() throws Exception {
    try (Jedis admin = new Jedis("127.0.0.1", server.port()); Socket slow = new Socket()) {
      assertThat(admin.configSet("client-output-buffer-limit", "pubsub 256kb 0 0")).isEqualTo("OK");
      slow.setReceiveBufferSize(4096);
      slow.connect(new InetSocketAddress("127.0.0.1", server.port()));
      OutputStream out = slow.getOutputStream();
      out.write("*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nfeed\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = slow.getInputStream();
      byte[] confirm = new byte[32];
      int n = 0;
      while (n < 31) { // "*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n"
        n += in.read(confirm, n, 31 - n);
      }
      String big = "x".repeat(64 * 1024);
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (int i = 0; i < 16; i++) {
          admin.publish("feed", big);
        }
        return admin.info("stats").contains("client_output_buffer_limit_disconnections:1");
      });
      assertThat(admin.pubsubNumSub("feed")).containsEntry("feed", 0L);
      assertThat(admin.info("clients")).contains("pubsub_clients:0");
      // The node goes on: a new subscriber gets its messages.
      assertThat(admin.publish("feed", "after")).isZero();
    }
  }
}
