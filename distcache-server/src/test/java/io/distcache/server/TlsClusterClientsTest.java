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
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Clients connected over TLS to a three-node cluster (--tls-port on each, the bus on
 * --tls-cluster) are told the members' TLS ports: CLUSTER SLOTS, NODES and SHARDS, MOVED and
 * NOT_OWNER; JedisCluster, Lettuce's RedisClusterClient and the Java client route over TLS. One
 * cluster for the class (each test uses its own keys), as starting three nodes is most of its time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsClusterClientsTest {
  private static final ClusterSecret SECRET = ClusterSecret.ofText("correct horse battery staple");

  private TestCerts certs;
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<AutoCloseable> clients = new ArrayList<>();

  @BeforeAll
  void cluster(@TempDir Path dir) throws Exception {
    certs = TestCerts.create(dir);
    DistCacheNode a = start();
    start(a);
    start(a);
    // Each node has shaken hands with each other one (every member probes every other once a
    // round), so each knows the others' TLS ports.
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().guard().settled()).isTrue();
        for (DistCacheNode other : nodes) {
          assertThat(n.tlsEndpoints().tlsPort(other.membership().self())).isEqualTo(other.tlsPort());
        }
      }
    });
  }

  @AfterEach
  void closeClients() throws Exception {
    for (AutoCloseable c : clients) {
      c.close();
    }
    clients.clear();
  }

  @AfterAll
  void stopCluster() {
    for (DistCacheNode n : nodes) {
      n.close();
    }
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    TlsFiles files = new TlsFiles(certs.serverCert, certs.serverKey, certs.caCert, TlsFiles.AuthClients.YES);
    DistCacheNode n = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST)
        .clusterSecret(SECRET)
        .redirects(RedirectMode.MOVED)
        .tls(0, files)
        .tlsCluster(files)
        .joinAddresses(join)
        .start();
    nodes.add(n);
    return n;
  }

  private JedisClientConfig tlsConfig() throws Exception {
    SSLSocketFactory f = certs.clientContext(true).getSocketFactory();
    return DefaultJedisClientConfig.builder().ssl(true).sslSocketFactory(f).timeoutMillis(5000).build();
  }

  private DistCacheNode ownerOf(String key) {
    Member owner = nodes.get(0).membership().placement().ownerOf(key.getBytes(StandardCharsets.UTF_8));
    return nodes.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  /** A key that {@code owner} owns. */
  private String keyOf(DistCacheNode owner) {
    for (int i = 0; ; i++) {
      if (ownerOf("k" + i) == owner) {
        return "k" + i;
      }
    }
  }

  private long forwarded() {
    return nodes.stream().mapToLong(DistCacheNode::forwardedRequests).sum();
  }

  @Test
  void clusterSlotsNodesAndMoved_overTls_nameTlsPorts_andPlainConnectionsNodePorts() throws Exception {
    DistCacheNode a = nodes.get(0);
    DistCacheNode b = nodes.get(1);
    String key = keyOf(b);
    int slot = io.distcache.protocol.cluster.KeySlot.of(key.getBytes(StandardCharsets.UTF_8));

    try (Jedis tls = new Jedis(new HostAndPort("127.0.0.1", a.tlsPort()), tlsConfig());
        Jedis plain = new Jedis(new HostAndPort("127.0.0.1", a.port()), DefaultJedisClientConfig.builder().build())) {
      assertThatThrownBy(() -> tls.set(key, "v")).isInstanceOf(JedisDataException.class)
          .hasMessage("MOVED " + slot + " 127.0.0.1:" + b.tlsPort());
      assertThatThrownBy(() -> plain.set(key, "v")).isInstanceOf(JedisDataException.class)
          .hasMessage("MOVED " + slot + " 127.0.0.1:" + b.port());

      String nodesOverTls = tls.clusterNodes();
      String nodesPlain = plain.clusterNodes();
      for (DistCacheNode n : nodes) {
        String id = n.membership().self().id();
        assertThat(nodesOverTls).contains(id + " 127.0.0.1:" + n.tlsPort() + "@" + n.port() + " ");
        assertThat(nodesPlain).contains(id + " 127.0.0.1:" + n.port() + "@" + n.port() + " ");
      }
      List<Object> slotsOverTls = tls.clusterSlots();
      for (Object range : slotsOverTls) {
        List<?> owner = (List<?>) ((List<?>) range).get(2);
        assertThat(((Long) owner.get(1)).intValue()).isIn(nodes.stream().map(DistCacheNode::tlsPort).toList());
      }
      for (Object range : plain.clusterSlots()) {
        List<?> owner = (List<?>) ((List<?>) range).get(2);
        assertThat(((Long) owner.get(1)).intValue()).isIn(nodes.stream().map(DistCacheNode::port).toList());
      }
      // SHARDS: both ports, as Redis, to every client.
      for (var shard : plain.clusterShards()) {
        for (var node : shard.getNodes()) {
          DistCacheNode n = nodes.stream().filter(x -> x.membership().self().id().equals(node.getId())).findFirst()
              .orElseThrow();
          assertThat(node.getPort()).isEqualTo((long) n.port());
          assertThat(node.getTlsPort()).isEqualTo((long) n.tlsPort());
        }
      }
    }
  }

  @Test
  void notOwner_overTls_namesTheOwnersTlsAddress() throws Exception {
    DistCacheNode a = nodes.get(0);
    DistCacheNode c = nodes.get(2);
    byte[] key = keyOf(c).getBytes(StandardCharsets.UTF_8);
    try (SSLSocket s = (SSLSocket) certs.clientContext(true).getSocketFactory().createSocket("127.0.0.1", a.tlsPort())) {
      s.setSoTimeout(10_000);
      ByteBuf buf = Unpooled.buffer();
      FrameEncoder.write(Frame.request(Opcode.GET, Flags.ROUTED, key, null).withRequestId(3), buf);
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      buf.release();
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();

      Frame reply = readFrame(s.getInputStream());

      assertThat(reply.status()).isEqualTo(Status.NOT_OWNER);
      assertThat(reply.valueText()).isEqualTo("127.0.0.1:" + c.tlsPort());
    }
  }

  @Test
  void jedisCluster_overTls_routesEveryKeyToItsOwner() throws Exception {
    JedisCluster jc = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", nodes.get(1).tlsPort())), tlsConfig());
    clients.add(jc);
    long before = forwarded();

    for (int i = 0; i < 200; i++) {
      assertThat(jc.set("key:" + i, "v" + i)).isEqualTo("OK");
    }
    for (int i = 0; i < 200; i++) {
      assertThat(jc.get("key:" + i)).isEqualTo("v" + i);
    }

    assertThat(forwarded()).isEqualTo(before); // each went straight to its owner, over TLS
    assertThat(ownerOf("key:7").store().get("key:7".getBytes(StandardCharsets.UTF_8))).isEqualTo("v7".getBytes());
  }

  @Test
  void lettuceClusterClient_overTls_routesEveryKeyToItsOwner() {
    RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(nodes.get(2).tlsPort()).withSsl(true).build();
    RedisClusterClient client = RedisClusterClient.create(uri);
    client.setOptions(ClusterClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider()
        .trustManager(certs.caCert.toFile()).keyManager(certs.clientCert.toFile(), certs.clientKey.toFile(), null)
        .build()).build());
    StatefulRedisClusterConnection<String, String> connection = client.connect();
    clients.add(() -> {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    });
    RedisAdvancedClusterCommands<String, String> cmd = connection.sync();
    long before = forwarded();

    for (int i = 0; i < 200; i++) {
      assertThat(cmd.set("lk:" + i, "v" + i)).isEqualTo("OK");
    }
    for (int i = 0; i < 200; i++) {
      assertThat(cmd.get("lk:" + i)).isEqualTo("v" + i);
    }

    assertThat(forwarded()).isEqualTo(before);
  }

  @Test
  void javaClient_withTls_learnsTheTlsPorts_andSendsEachKeyToItsOwner() {
    DistCacheClient client = DistCacheClient.builder()
        .addresses("127.0.0.1:" + nodes.get(0).tlsPort())
        .tls(certs.caCert, certs.clientCert, certs.clientKey)
        .build();
    clients.add(client);
    assertThat(client.refreshMembers()).hasSize(3);
    long before = forwarded();

    for (int i = 0; i < 200; i++) {
      client.set("jk:" + i, "v" + i);
    }
    for (int i = 0; i < 200; i++) {
      assertThat(client.get("jk:" + i)).isEqualTo("v" + i);
    }

    assertThat(forwarded()).isEqualTo(before);
    assertThat(ownerOf("jk:3").store().get("jk:3".getBytes(StandardCharsets.UTF_8))).isEqualTo("v3".getBytes());
  }

  private static Frame readFrame(InputStream in) throws Exception {
    EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder());
    byte[] chunk = new byte[4096];
    try {
      while (true) {
        Frame f = decoder.readInbound();
        if (f != null) {
          return f;
        }
        int n = in.read(chunk);
        assertThat(n).as("bytes before the close").isPositive();
        decoder.writeInbound(Unpooled.copiedBuffer(chunk, 0, n));
      }
    } finally {
      decoder.finishAndReleaseAll();
    }
  }
}
