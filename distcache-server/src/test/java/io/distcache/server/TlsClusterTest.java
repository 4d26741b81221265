package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.net.TlsFiles;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * --tls-cluster yes: the cluster bus on mutual TLS on the node port, with the cluster secret on
 * top. Three in-JVM nodes forward and replicate over it; a node whose certificate comes from
 * another CA, and a plain peer, cannot join. Certificates are made by openssl in the test.
 */
class TlsClusterTest {
  private static final ClusterSecret SECRET = ClusterSecret.ofText("correct horse battery staple");

  @TempDir Path dir;
  private TestCerts certs;
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<Runnable> undo = new ArrayList<>();

  @BeforeEach
  void certs() throws Exception {
    certs = TestCerts.create(Files.createDirectories(dir.resolve("ca1")));
  }

  @AfterEach
  void tearDown() {
    for (DistCacheNode n : nodes) {
      n.close();
    }
    undo.forEach(Runnable::run);
  }

  private TlsFiles files() {
    return new TlsFiles(certs.serverCert, certs.serverKey, certs.caCert, TlsFiles.AuthClients.YES);
  }

  private DistCacheNode.Builder builder(TlsFiles bus, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    return DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST)
        .clusterSecret(SECRET)
        .tlsCluster(bus)
        .joinAddresses(join);
  }

  private DistCacheNode start(DistCacheNode.Builder b) {
    DistCacheNode n = b.start();
    nodes.add(n);
    return n;
  }

  private static Address address(DistCacheNode n) {
    return new Address("127.0.0.1", n.port());
  }

  private ListAppender<ILoggingEvent> capture(String name) {
    Logger logger = (Logger) LoggerFactory.getLogger(name);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    undo.add(() -> logger.detachAppender(appender));
    return appender;
  }

  private static List<String> messages(ListAppender<ILoggingEvent> a) {
    synchronized (a.list) {
      return a.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  @Test
  void threeNodes_onATlsBus_forwardAndReplicate() throws Exception {
    DistCacheNode a = start(builder(files()).replicas(1));
    DistCacheNode b = start(builder(files(), a).replicas(1));
    DistCacheNode c = start(builder(files(), a).replicas(1));
    List<DistCacheNode> all = List.of(a, b, c);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : all) {
        assertThat(n.membership().placement().members()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().guard().settled()).isTrue();
      }
    });
    Placement p = a.membership().placement();
    byte[] key = null;
    for (int i = 0; key == null; i++) {
      byte[] k = ("key-" + i).getBytes(StandardCharsets.UTF_8);
      if (p.owner(KeySlot.of(k)).equals(c.membership().self())) {
        key = k;
      }
    }

    try (FrameClient client = FrameClient.builder().requestTimeout(Duration.ofSeconds(5)).build()) {
      Frame set = client.send(address(a), Frame.request(Opcode.SET, 0, key, "v".getBytes())).get(5, TimeUnit.SECONDS);
      assertThat(set.status()).isEqualTo(Status.OK);
      Frame get = client.send(address(b), Frame.request(Opcode.GET, key)).get(5, TimeUnit.SECONDS);
      assertThat(get.status()).isEqualTo(Status.OK);
      assertThat(get.value()).isEqualTo("v".getBytes());
    }

    assertThat(c.store().get(key)).isEqualTo("v".getBytes());
    assertThat(a.forwardedRequests()).isEqualTo(1);
    byte[] k = key;
    Member replica = p.replicas(KeySlot.of(key)).get(0);
    DistCacheNode r = all.stream().filter(n -> n.membership().self().equals(replica)).findFirst().orElseThrow();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> assertThat(r.store().get(k)).isEqualTo("v".getBytes()));
    // Every peer connection came in on TLS: a plain one would have been refused (next test).
    assertThat(a.peerAccess().peerConnections()).isPositive();
  }

  @Test
  void nodeWithACertificateFromAnotherCa_cannotJoin() throws Exception {
    ListAppender<ILoggingEvent> log = capture("io.distcache.server.net.BusTlsSniffer");
    DistCacheNode a = start(builder(files()));
    TestCerts other = TestCerts.create(Files.createDirectories(dir.resolve("ca2")));
    // Trusts the right CA, but its own certificate is signed by another one: a refuses it.
    DistCacheNode intruder = start(builder(
        new TlsFiles(other.serverCert, other.serverKey, certs.caCert, TlsFiles.AuthClients.YES), a));

    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(intruder.bus().send(address(a), Frame.request(Opcode.PING, null)))
            .failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
            .withMessageContaining("TLS handshake with " + address(a) + " failed"));
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(messages(log)).anySatisfy(m -> assertThat(m)
            .startsWith("cluster bus TLS handshake from /127.0.0.1:").contains("refused")));

    assertThat(a.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(intruder.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(a.peerAccess().peerConnections()).isZero();
  }

  @Test
  void reloadedCertificate_appliesToNewBusConnections() throws Exception {
    TestCerts other = TestCerts.create(Files.createDirectories(dir.resolve("ca2")));
    Path nodeDir = Files.createDirectories(dir.resolve("a"));
    Path cert = nodeDir.resolve("node.crt");
    Path key = nodeDir.resolve("node.key");
    // a starts with a certificate from another CA than the one the cluster trusts.
    Files.copy(other.serverCert, cert);
    Files.copy(other.serverKey, key);
    DistCacheNode a = start(builder(new TlsFiles(cert, key, certs.caCert, TlsFiles.AuthClients.YES)));
    DistCacheNode b = start(builder(files(), a));
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(b.bus().send(address(a), Frame.request(Opcode.PING, null)))
            .failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
            .withMessageContaining("TLS handshake with " + address(a) + " failed"));

    // The renewal: new files moved over the old ones, key first (as docs/OPERATIONS.md says).
    Path newKey = nodeDir.resolve("node.key.new");
    Path newCert = nodeDir.resolve("node.crt.new");
    Files.copy(certs.serverKey, newKey);
    Files.copy(certs.serverCert, newCert);
    Files.move(newKey, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    Files.move(newCert, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);

    // No restart: the next bus connections take the new certificate, and b joins.
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(a.membership().placement().members()).hasSize(2);
      assertThat(a.membership().placement().hasLearners()).as("learners").isFalse();
      assertThat(b.membership().placement().members()).hasSize(2);
      assertThat(b.membership().placement().hasLearners()).as("learners").isFalse();
    });
  }

  @Test
  void plainPeer_cannotTalkToATlsBus_norATlsPeerToAPlainOne() {
    DistCacheNode a = start(builder(files()));
    DistCacheNode plain = start(builder(null, a));

    // The plain node's PEER_HELLO is refused, saying why.
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(plain.bus().send(address(a), Frame.request(Opcode.PING, null)))
            .failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
            .withMessageContaining("cluster bus runs on TLS (--tls-cluster yes)"));
    try (PeerSession s = PeerSession.open(a.port())) {
      Frame reply = s.handshake(SECRET);
      assertThat(reply.status()).isEqualTo(Status.AUTH_FAILED);
      assertThat(reply.valueText()).contains("a plain peer connection is refused");
    }
    // And a TLS node cannot reach the plain one: its handshake meets no TLS there.
    a.membership().addSeeds(List.of(address(plain)));
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
        assertThat(a.bus().send(address(plain), Frame.request(Opcode.PING, null)))
            .failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
            .withMessageContaining("TLS handshake with " + address(plain) + " failed"));

    assertThat(a.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(plain.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(a.peerAccess().peerConnections()).isZero();
  }

  @Test
  void clientOnTheBusTls_withAValidCertificate_isStillNotServed() throws Exception {
    DistCacheNode a = start(builder(files()));
    try (SSLSocket s = (SSLSocket) certs.clientContext(true).getSocketFactory().createSocket("127.0.0.1", a.port())) {
      s.setSoTimeout(10_000);
      s.startHandshake();
      ByteBuf buf = Unpooled.buffer();
      FrameEncoder.write(Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)).withRequestId(7), buf);
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      buf.release();
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();

      Frame reply = readFrame(s.getInputStream());

      assertThat(reply.status()).isEqualTo(Status.BUSY);
      assertThat(reply.valueText()).contains("cluster bus's (peers only)");
    }
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
