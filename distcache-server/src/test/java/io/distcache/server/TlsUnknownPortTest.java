package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.client.DistCacheClient;
import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.net.TlsFiles;
import io.distcache.server.resp.RedirectMode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A TLS client is never sent to a node port. Node {@code a} has a TLS port, node {@code b} has
 * none, so {@code a} never learns a TLS port for {@code b}: the state every node is in for a
 * protocol round after a member joins, made permanent. A TLS client of {@code a} is shown only
 * {@code a} in CLUSTER SLOTS/NODES/SHARDS, gets {@code b}'s keys served (forwarded) instead of
 * MOVED to {@code b}'s plain port, and never gets {@code b}'s node address from CLUSTER OWNER,
 * CLUSTER MEMBERS or the binary CLUSTER_OWNER and NOT_OWNER. The Java client over TLS reaches
 * {@code b}'s keys through {@code a}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsUnknownPortTest {
  private static final ClusterSecret SECRET = ClusterSecret.ofText("correct horse battery staple");

  private TestCerts certs;
  private DistCacheNode a;
  private DistCacheNode b;
  private final List<AutoCloseable> clients = new ArrayList<>();

  @BeforeAll
  void cluster(@TempDir Path dir) throws Exception {
    certs = TestCerts.create(dir);
    TlsFiles files = new TlsFiles(certs.serverCert, certs.serverKey, certs.caCert, TlsFiles.AuthClients.YES);
    a = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).membership(ClusterTest.FAST)
        .clusterSecret(SECRET).redirects(RedirectMode.MOVED).tls(0, files).start();
    b = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).membership(ClusterTest.FAST)
        .clusterSecret(SECRET).redirects(RedirectMode.MOVED)
        .joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", a.port()))).start();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : List.of(a, b)) {
        assertThat(n.membership().placement().members()).hasSize(2);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().guard().settled()).isTrue();
      }
    });
    assertThat(a.tlsEndpoints().tlsPort(b.membership().self())).isZero();
  }

  @AfterEach
  void closeClients() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    clients.clear();
  }

  @AfterAll
  void stop() {
    b.close();
    a.close();
  }

  private JedisClientConfig tlsConfig() throws Exception {
    SSLSocketFactory f = certs.clientContext(true).getSocketFactory();
    return DefaultJedisClientConfig.builder().ssl(true).sslSocketFactory(f).timeoutMillis(5000).build();
  }

  private Jedis tlsJedis() throws Exception {
    return new Jedis(new HostAndPort("127.0.0.1", a.tlsPort()), tlsConfig());
  }

  /** A key that {@code owner} owns. */
  private String keyOf(DistCacheNode owner, String prefix) {
    Member m = owner.membership().self();
    for (int i = 0; ; i++) {
      if (a.membership().placement().ownerOf((prefix + i).getBytes(StandardCharsets.UTF_8)).equals(m)) {
        return prefix + i;
      }
    }
  }

  @Test
  void clusterSlotsNodesShards_overTls_showTheUnknownMembersRangesAsThisNodes() throws Exception {
    String bId = b.membership().self().id();
    String aId = a.membership().self().id();
    try (Jedis tls = tlsJedis();
        Jedis plain = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build())) {
      List<Object> slots = tls.clusterSlots();
      long covered = 0;
      for (Object range : slots) {
        List<?> r = (List<?>) range;
        covered += (Long) r.get(1) - (Long) r.get(0) + 1;
        for (Object node : r.subList(2, r.size())) {
          List<?> n = (List<?>) node;
          assertThat(((Long) n.get(1)).intValue()).isEqualTo(a.tlsPort());
          assertThat(new String((byte[]) n.get(2), StandardCharsets.UTF_8)).isEqualTo(aId);
        }
      }
      assertThat(covered).as("no hole: every slot has a node").isEqualTo(io.distcache.protocol.cluster.KeySlot.SLOTS);
      boolean plainSeesB = false;
      for (Object range : plain.clusterSlots()) {
        plainSeesB |= ((Long) ((List<?>) ((List<?>) range).get(2)).get(1)).intValue() == b.port();
      }
      assertThat(plainSeesB).as("a plain client is shown b's ranges at b's node port").isTrue();

      String nodes = tls.clusterNodes();
      assertThat(nodes).startsWith(aId + " 127.0.0.1:" + a.tlsPort() + "@" + a.port()).doesNotContain(bId)
          .contains(" 0-").containsOnlyOnce("\n");
      assertThat(plain.clusterNodes()).contains(bId + " 127.0.0.1:" + b.port() + "@" + b.port());

      long shardSlots = 0;
      for (var shard : tls.clusterShards()) {
        for (var range : shard.getSlots()) {
          shardSlots += range.get(1) - range.get(0) + 1;
        }
        for (var node : shard.getNodes()) {
          assertThat(node.getId()).isEqualTo(aId);
          assertThat(node.getTlsPort()).isEqualTo((long) a.tlsPort());
        }
      }
      assertThat(shardSlots).isEqualTo(io.distcache.protocol.cluster.KeySlot.SLOTS);
    }
  }

  @Test
  void keyOfTheMemberWithoutAKnownTlsPort_overTls_isServedNotMovedToAPlainPort() throws Exception {
    String bKey = keyOf(b, "fw:");
    String aKey = keyOf(a, "fw:");
    try (Jedis tls = tlsJedis()) {
      assertThat(tls.set(bKey, "v")).isEqualTo("OK");
      assertThat(tls.get(bKey)).isEqualTo("v");
      assertThat(b.store().get(bKey.getBytes(StandardCharsets.UTF_8))).isEqualTo("v".getBytes());
      assertThat(tls.set(aKey, "w")).isEqualTo("OK"); // its own key: served as before
    }
    try (Jedis plain = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build())) {
      // A plain client is still redirected to the node port.
      int slot = io.distcache.protocol.cluster.KeySlot.of(bKey.getBytes(StandardCharsets.UTF_8));
      assertThatThrownBy(() -> plain.set(bKey, "v")).isInstanceOf(JedisDataException.class)
          .hasMessage("MOVED " + slot + " 127.0.0.1:" + b.port());
    }
  }

  @Test
  void clusterOwnerAndMembers_overTls_nameTlsAddressesOnly() throws Exception {
    String bKey = keyOf(b, "ow:");
    String aKey = keyOf(a, "ow:");
    try (Jedis tls = tlsJedis();
        Jedis plain = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build())) {
      assertThat(tls.sendCommand(() -> "CLUSTER".getBytes(), "OWNER", aKey)).isEqualTo(
          ("127.0.0.1:" + a.tlsPort()).getBytes());
      assertThatThrownBy(() -> tls.sendCommand(() -> "CLUSTER".getBytes(), "OWNER", bKey))
          .isInstanceOf(JedisDataException.class)
          .hasMessage("ERR the TLS port of owner " + b.membership().self().id() + " is not known to this node yet");
      assertThat(plain.sendCommand(() -> "CLUSTER".getBytes(), "OWNER", bKey)).isEqualTo(
          ("127.0.0.1:" + b.port()).getBytes());

      List<?> members = (List<?>) tls.sendCommand(() -> "CLUSTER".getBytes(), "MEMBERS");
      assertThat(members).hasSize(2);
      for (Object o : members) {
        List<?> m = (List<?>) o;
        String id = new String((byte[]) m.get(0), StandardCharsets.UTF_8);
        if (id.equals(a.membership().self().id())) {
          assertThat(m.get(1)).isEqualTo(("127.0.0.1:" + a.tlsPort()).getBytes());
        } else {
          assertThat(m.get(1)).as("member %s without a known TLS port", id).isNull();
        }
      }
    }
  }

  @Test
  void binaryOwnerAndRoutedGet_overTls_neverNameTheNodeAddress() throws Exception {
    byte[] bKey = keyOf(b, "bin:").getBytes(StandardCharsets.UTF_8);
    byte[] aKey = keyOf(a, "bin:").getBytes(StandardCharsets.UTF_8);
    b.store().put(bKey, "held".getBytes());
    try (SSLSocket s = (SSLSocket) certs.clientContext(true).getSocketFactory().createSocket("127.0.0.1", a.tlsPort())) {
      s.setSoTimeout(10_000);
      EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder());
      try {
        Frame owner = exchange(s, decoder, Frame.request(Opcode.CLUSTER_OWNER, 0, aKey, null).withRequestId(1));
        assertThat(owner.status()).isEqualTo(Status.OK);
        assertThat(owner.valueText()).isEqualTo("127.0.0.1:" + a.tlsPort());

        Frame unknown = exchange(s, decoder, Frame.request(Opcode.CLUSTER_OWNER, 0, bKey, null).withRequestId(2));
        assertThat(unknown.status()).isEqualTo(Status.BUSY);
        assertThat(unknown.valueText()).contains("TLS port").doesNotContain(":" + b.port());

        // ROUTED asks for NOT_OWNER rather than forwarding; with no TLS address to name, it is served.
        Frame get = exchange(s, decoder, Frame.request(Opcode.GET, Flags.ROUTED, bKey, null).withRequestId(3));
        assertThat(get.status()).isEqualTo(Status.OK);
        assertThat(get.value()).isEqualTo("held".getBytes());
      } finally {
        decoder.finishAndReleaseAll();
      }
    }
  }

  @Test
  void javaClientAndJedisCluster_overTls_reachEveryKey() throws Exception {
    DistCacheClient client = DistCacheClient.builder().addresses("127.0.0.1:" + a.tlsPort())
        .tls(certs.caCert, certs.clientCert, certs.clientKey).build();
    clients.add(client);
    assertThat(client.refreshMembers()).hasSize(2);
    for (int i = 0; i < 100; i++) {
      client.set("jc:" + i, "v" + i);
    }
    for (int i = 0; i < 100; i++) {
      assertThat(client.get("jc:" + i)).isEqualTo("v" + i);
    }
    String bKey = keyOf(b, "jc:");
    assertThat(b.store().get(bKey.getBytes(StandardCharsets.UTF_8))).isNotNull();

    JedisCluster jc = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", a.tlsPort())), tlsConfig());
    clients.add(jc);
    for (int i = 0; i < 100; i++) {
      assertThat(jc.set("jcl:" + i, "v" + i)).isEqualTo("OK");
    }
    for (int i = 0; i < 100; i++) {
      assertThat(jc.get("jcl:" + i)).isEqualTo("v" + i);
    }
  }

  private static Frame exchange(SSLSocket s, EmbeddedChannel decoder, Frame request) throws Exception {
    ByteBuf buf = Unpooled.buffer();
    FrameEncoder.write(request, buf);
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    buf.release();
    s.getOutputStream().write(bytes);
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    byte[] chunk = new byte[4096];
    while (true) {
      Frame f = decoder.readInbound();
      if (f != null) {
        return f;
      }
      int n = in.read(chunk);
      assertThat(n).as("bytes before the close").isPositive();
      decoder.writeInbound(Unpooled.copiedBuffer(chunk, 0, n));
    }
  }
}
