package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.store.SetArgs;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Multi-key requests and replies near the max frame in a two-node cluster: nothing over the limit
 * may cross the shared peer connection, because the receiver's decoder would reject it and every
 * other request on that connection would fail with it.
 */
class ClusterFrameLimitTest {
  private static final int MAX_VALUE = 16 * 1024;
  /** Room for one max value plus the largest key and extras, and little more. */
  private static final int MAX_FRAME = 96 * 1024;
  /** Values per request that make a reply or request over MAX_FRAME, though each fits. */
  private static final int TOO_MANY = 7;

  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final FrameClient client = FrameClient.builder().build();
  private DistCacheNode a;
  private DistCacheNode b;

  @BeforeEach
  void startTwoNodes() {
    a = start();
    b = start(a);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(a.membership().placement().members()).hasSize(2);
      assertThat(a.membership().placement().hasLearners()).as("learners").isFalse();
      assertThat(b.membership().placement().members()).hasSize(2);
      assertThat(b.membership().placement().hasLearners()).as("learners").isFalse();
    });
  }

  @AfterEach
  void tearDown() {
    client.close();
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .maxValueBytes(MAX_VALUE).maxFrameBytes(MAX_FRAME).membership(ClusterTest.FAST).joinAddresses(join).start();
    nodes.add(n);
    return n;
  }

  private Frame call(DistCacheNode node, Frame request) {
    return client.send(new Address("127.0.0.1", node.port()), request).orTimeout(10, TimeUnit.SECONDS).join();
  }

  /** {@code count} keys that {@code owner} owns. */
  private List<byte[]> keysOwnedBy(DistCacheNode owner, int count) {
    Member self = owner.membership().self();
    List<byte[]> keys = new ArrayList<>();
    for (int i = 0; keys.size() < count; i++) {
      byte[] key = ("big-" + i).getBytes(StandardCharsets.UTF_8);
      if (a.membership().placement().ownerOf(key).equals(self)) {
        keys.add(key);
      }
    }
    return keys;
  }

  private static void fill(DistCacheNode owner, List<byte[]> keys) {
    byte[] value = new byte[MAX_VALUE];
    Arrays.fill(value, (byte) 'x');
    for (byte[] key : keys) {
      assertThat(owner.store().set(key, value, SetArgs.ALWAYS).written()).isTrue();
    }
  }

  @Test
  void multiGet_remoteOwnersReplyOverTheMaxFrame_answersTooLargeAndKeepsThePeerConnection() {
    List<byte[]> keys = keysOwnedBy(b, TOO_MANY);
    fill(b, keys);

    Frame reply = call(a, Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(keys)));

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.valueText()).contains("for " + TOO_MANY + " keys exceeds the max frame " + MAX_FRAME);
    // The owner refused before sending, so the link from a to b still serves forwarded requests.
    Frame small = call(a, Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(keys.subList(0, 2))));
    assertThat(small.status()).isEqualTo(Status.OK);
    assertThat(ListCodec.decodeValues(small.value())).hasSize(2).allSatisfy(v -> assertThat(v).hasSize(MAX_VALUE));
  }

  @Test
  void multiGet_partsFitButMergedReplyDoesNot_answersTooLarge() {
    List<byte[]> keys = new ArrayList<>(keysOwnedBy(a, 4));
    keys.addAll(keysOwnedBy(b, 4));
    fill(a, keys.subList(0, 4));
    fill(b, keys.subList(4, 8));

    Frame reply = call(a, Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(keys)));

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.valueText()).contains("for 8 keys exceeds the max frame " + MAX_FRAME);
  }

  @Test
  void redisMset_translatedFrameOverTheMaxFrame_refusedWithoutForwarding() {
    List<byte[]> keys = keysOwnedBy(b, TOO_MANY);
    byte[][] args = new byte[keys.size() * 2][];
    for (int i = 0; i < keys.size(); i++) {
      args[2 * i] = keys.get(i);
      args[2 * i + 1] = new byte[MAX_VALUE];
    }

    Jedis refused = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build());
    try {
      // A request larger than one frame is refused as it arrives, before any part is routed
      // (the Redis decoder's request limit is the frame limit); like Redis with an oversized
      // query, the node then closes that connection.
      assertThatThrownBy(() -> refused.mset(args))
          .isInstanceOfAny(JedisDataException.class, JedisConnectionException.class);
      assertThat(a.forwardedRequests()).isZero();
      assertThat(keys).allSatisfy(k -> assertThat(b.store().get(k)).isNull());
    } finally {
      // Closing flushes whatever of the refused request Jedis still buffers, onto a socket the
      // node has closed: a broken pipe here is the expected end of this connection.
      try {
        refused.close();
      } catch (JedisConnectionException expected) {
        // the node closed first
      }
    }
    // Forwarding goes on for the next client.
    try (Jedis redis = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build())) {
      assertThat(redis.set(keys.get(0), new byte[] {1})).isEqualTo("OK");
    }
    assertThat(b.store().get(keys.get(0))).containsExactly(1);
  }
}
