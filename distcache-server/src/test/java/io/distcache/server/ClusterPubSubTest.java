package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.exceptions.JedisDataException;

/** Pub/sub across three nodes in one JVM: PUBLISH reaches every node, SPUBLISH goes by slot, notifications stay local. */
class ClusterPubSubTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<AutoCloseable> clients = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    for (DistCacheNode n : nodes) {
      n.close();
    }
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(32L * 1024 * 1024)
        .membership(ClusterTest.FAST)
        .joinAddresses(join)
        .start();
    nodes.add(n);
    return n;
  }

  private void cluster3() {
    DistCacheNode first = start();
    start(first);
    start(first);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      long fp = nodes.get(0).membership().placement().fingerprint();
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().placement().fingerprint()).isEqualTo(fp);
        assertThat(n.membership().guard().settled()).isTrue();
      }
    });
  }

  /** A subscriber on {@code node} in its own thread, recording "channel=message" (pattern messages prefixed). */
  private List<String> subscriber(DistCacheNode node, boolean shard, String... channels) {
    if (shard) {
      return shardSubscriber(node, channels);
    }
    List<String> got = new CopyOnWriteArrayList<>();
    Jedis jedis = new Jedis("127.0.0.1", node.port());
    JedisPubSub listener = new JedisPubSub() {
      @Override
      public void onMessage(String channel, String message) {
        got.add(channel + "=" + message);
      }

      @Override
      public void onPMessage(String pattern, String channel, String message) {
        got.add(pattern + ":" + channel + "=" + message);
      }

      @Override
      public void onSubscribe(String channel, int count) {
        got.add("subscribed");
      }

      @Override
      public void onPSubscribe(String pattern, int count) {
        got.add("subscribed");
      }
    };
    Thread t = new Thread(() -> {
      try {
        if (channels[0].contains("*")) {
          jedis.psubscribe(listener, channels);
        } else {
          jedis.subscribe(listener, channels);
        }
      } catch (RuntimeException closed) {
        // the test is over and closed the connection
      }
    });
    t.setDaemon(true);
    t.start();
    clients.add(jedis);
    await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == channels.length);
    got.clear();
    return got;
  }

  /** Jedis has no SSUBSCRIBE on a single connection: Lettuce's (RESP3) subscribes to shard channels. */
  private List<String> shardSubscriber(DistCacheNode node, String... channels) {
    io.lettuce.core.RedisClient client = io.lettuce.core.RedisClient.create(
        io.lettuce.core.RedisURI.create("127.0.0.1", node.port()));
    clients.add(client::shutdown);
    List<String> got = new CopyOnWriteArrayList<>();
    io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> c = client.connectPubSub();
    c.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
      @Override
      public void smessage(String channel, String message) {
        got.add("shard " + channel + "=" + message);
      }
    });
    c.sync().ssubscribe(channels);
    return got;
  }

  @Test
  void publish_onAnyNode_reachesSubscribersOfEveryNode() {
    cluster3();
    List<String> a = subscriber(nodes.get(0), false, "news");
    List<String> b = subscriber(nodes.get(1), false, "news");
    List<String> c = subscriber(nodes.get(2), false, "n*");
    try (Jedis pub = new Jedis("127.0.0.1", nodes.get(1).port())) {
      for (int i = 0; i < 50; i++) {
        // Redis Cluster answers the receivers on the node that took the PUBLISH.
        assertThat(pub.publish("news", "m" + i)).isEqualTo(1);
      }
    }
    List<String> expected = new ArrayList<>();
    List<String> expectedPattern = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      expected.add("news=m" + i);
      expectedPattern.add("n*:news=m" + i);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(a).containsExactlyElementsOf(expected); // one publisher's messages arrive in order
      assertThat(b).containsExactlyElementsOf(expected);
      assertThat(c).containsExactlyElementsOf(expectedPattern);
    });
  }

  @Test
  void spublish_goesToTheSlotOwner_andReachesShardSubscribers() {
    cluster3();
    DistCacheNode owner = ownerOf("{feed}");
    DistCacheNode other = nodes.stream().filter(n -> n != owner).findFirst().orElseThrow();
    List<String> onOwner = subscriber(owner, true, "{feed}x");
    List<String> onOther = subscriber(other, true, "{feed}x");
    try (Jedis pub = new Jedis("127.0.0.1", other.port())) {
      // A plain connection's SPUBLISH is forwarded to the owner; the reply counts the owner's receivers.
      assertThat(pub.sendCommand(Protocol.Command.SPUBLISH, "{feed}x", "hello")).isEqualTo(1L);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(onOwner).containsExactly("shard {feed}x=hello");
      assertThat(onOther).containsExactly("shard {feed}x=hello");
    });
    try (Jedis cluster = new Jedis("127.0.0.1", other.port())) {
      cluster.sendCommand(Protocol.Command.READONLY); // a cluster client: redirected, as by Redis Cluster
      assertThatThrownBy(() -> cluster.sendCommand(Protocol.Command.SSUBSCRIBE, "{feed}x"))
          .isInstanceOf(JedisDataException.class)
          .hasMessage("MOVED " + KeySlot.of("{feed}".getBytes(StandardCharsets.UTF_8)) + " 127.0.0.1:" + owner.port());
    }
  }

  @Test
  void keyspaceNotifications_areNodeLocal_onTheKeysOwner() {
    cluster3();
    for (DistCacheNode n : nodes) {
      try (Jedis j = new Jedis("127.0.0.1", n.port())) {
        j.configSet("notify-keyspace-events", "E$");
      }
    }
    DistCacheNode owner = ownerOf("user:1");
    DistCacheNode other = nodes.stream().filter(n -> n != owner).findFirst().orElseThrow();
    List<String> onOwner = subscriber(owner, false, "__keyevent@0__:set");
    List<String> onOther = subscriber(other, false, "__keyevent@0__:set");
    try (Jedis j = new Jedis("127.0.0.1", other.port())) {
      j.set("user:1", "x"); // forwarded to the owner, which publishes the event to its own subscribers
      j.publish("__keyevent@0__:set", "marker"); // reaches both, after the event on the owner
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(onOwner).containsExactly("__keyevent@0__:set=user:1", "__keyevent@0__:set=marker");
      assertThat(onOther).containsExactly("__keyevent@0__:set=marker");
    });
  }

  private DistCacheNode ownerOf(String key) {
    Member m = nodes.get(0).membership().placement().owner(KeySlot.of(key.getBytes(StandardCharsets.UTF_8)));
    return nodes.stream().filter(n -> n.port() == m.address().port()).findFirst().orElseThrow();
  }
}
