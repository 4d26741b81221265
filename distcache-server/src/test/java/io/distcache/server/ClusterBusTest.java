package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.GossipMessage;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.net.RawClient;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster bus against the attacks of issue 10: gossip from a client, peers without the secret,
 * a flood of invented members, PING_REQ as an SSRF, clients filling --max-connections, a client
 * setting FORWARDED. In-JVM nodes on 127.0.0.1 and free ports.
 */
class ClusterBusTest {
  private static final MembershipConfig FAST = ClusterTest.FAST;
  private static final Duration DEADLINE = ClusterTest.DEADLINE;
  private static final ClusterSecret SECRET = ClusterSecret.ofText("correct horse battery staple");
  private static final ClusterSecret WRONG = ClusterSecret.ofText("incorrect horse battery staple");

  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    for (DistCacheNode n : nodes) {
      n.close();
    }
  }

  private DistCacheNode.Builder builder(ClusterSecret secret, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    return DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(16L * 1024 * 1024)
        .membership(FAST)
        .clusterSecret(secret)
        .joinAddresses(join);
  }

  private DistCacheNode start(DistCacheNode.Builder b) {
    DistCacheNode n = b.start();
    nodes.add(n);
    return n;
  }

  private FrameClient client() {
    FrameClient c = FrameClient.builder().requestTimeout(Duration.ofSeconds(5)).build();
    closeables.add(c);
    return c;
  }

  private static Address address(DistCacheNode n) {
    return new Address("127.0.0.1", n.port());
  }

  private static void awaitMembers(int n, List<DistCacheNode> all) {
    await().atMost(DEADLINE).untilAsserted(() -> {
      for (DistCacheNode node : all) {
        assertThat(node.membership().placement().members()).hasSize(n);
        assertThat(node.membership().placement().hasLearners()).as("learners").isFalse();
      }
    });
  }

  private static byte[] keyOwnedBy(List<DistCacheNode> c, DistCacheNode owner) {
    for (int i = 0; ; i++) {
      byte[] k = ("key-" + i).getBytes(StandardCharsets.UTF_8);
      if (c.get(0).membership().placement().ownerOf(k).equals(owner.membership().self())) {
        return k;
      }
    }
  }

  private static Member fake(int i, int port) {
    return new Member(String.format("%040x", 0xFA4E000L + i), new Address("127.0.0.1", port));
  }

  private static byte[] gossipNaming(int count, int port) {
    List<MemberStatus> statuses = new ArrayList<>();
    for (int i = 0; i < Math.min(count, GossipCodec.MAX_STATUSES); i++) {
      statuses.add(new MemberStatus(fake(i, port), MemberState.ALIVE, 0));
    }
    return GossipCodec.encode(new GossipMessage.Gossip(fake(9999, port), statuses));
  }

  /** A GOSSIP message naming {@code count} members, encoded by hand: the codec refuses to build one this large. */
  private static byte[] oversizeGossip(int count, int port) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(GossipCodec.FORMAT);
    out.write(5); // GOSSIP
    writeMember(out, fake(9999, port));
    out.write(count >>> 8);
    out.write(count & 0xFF);
    for (int i = 0; i < count; i++) {
      writeMember(out, fake(i, port));
      out.write(0); // ALIVE
      out.writeBytes(new byte[8]); // incarnation 0
    }
    return out.toByteArray();
  }

  private static void writeMember(ByteArrayOutputStream out, Member m) {
    byte[] id = m.id().getBytes(StandardCharsets.US_ASCII);
    byte[] host = m.address().host().getBytes(StandardCharsets.US_ASCII);
    out.write(id.length);
    out.writeBytes(id);
    out.write(host.length);
    out.writeBytes(host);
    out.write(m.address().port() >>> 8);
    out.write(m.address().port() & 0xFF);
  }

  @Test
  void clientConnection_gossip_isRefusedAndNotApplied() throws Exception {
    DistCacheNode node = start(builder(null));

    Frame reply = client().send(address(node), Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, gossipNaming(3, 1)))
        .get(5, TimeUnit.SECONDS);

    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(reply.valueText()).contains("only on a peer connection");
    assertThat(node.membership().snapshot().orElseThrow().members()).hasSize(1);
  }

  @Test
  void clientConnection_peerHelloAfterTheFirstFrame_isBadRequest() {
    DistCacheNode node = start(builder(null));
    try (RawClient raw = new RawClient(node.port())) {
      raw.send(Frame.request(Opcode.PING, null).withRequestId(1));
      assertThat(raw.read().status()).isEqualTo(Status.OK);

      raw.send(Frame.request(Opcode.PEER_HELLO, 0, null, new byte[3]).withRequestId(2));
      Frame reply = raw.read();

      assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(reply.valueText()).contains("first frame");
    }
  }

  @Test
  void clientConnection_forwardedFlag_isIgnoredAndTheRequestRoutedToTheOwner() throws Exception {
    DistCacheNode a = start(builder(null));
    DistCacheNode b = start(builder(null, a));
    awaitMembers(2, List.of(a, b));
    byte[] key = keyOwnedBy(List.of(a, b), b);

    Frame reply = client().send(address(a), Frame.request(Opcode.SET, Flags.FORWARDED, key, "v".getBytes()))
        .get(5, TimeUnit.SECONDS);

    assertThat(reply.status()).isEqualTo(Status.OK);
    // Served by the owner (forwarded); a holds the copy it replicates for b (--replicas 1), no other.
    assertThat(b.store().get(key)).isEqualTo("v".getBytes());
    assertThat(a.forwardedRequests()).isEqualTo(1);
    assertThat(a.membership().placement().isReplica(a.membership().self(), io.distcache.protocol.cluster.KeySlot.of(key)))
        .isTrue();
  }

  @Test
  void peerHandshake_withoutTheSecret_isRefusedAndClosed() {
    DistCacheNode node = start(builder(SECRET));
    try (PeerSession s = PeerSession.open(node.port())) {
      Frame reply = s.handshake(null);

      assertThat(reply.status()).isEqualTo(Status.AUTH_FAILED);
      assertThat(reply.valueText()).contains("requires the cluster secret");
      assertThat(s.raw().readUntilClosed()).isEmpty();
    }
    assertThat(node.peerAccess().peerConnections()).isZero();
  }

  @Test
  void peerHandshake_withAWrongSecret_isRefusedAndCannotGossip() {
    DistCacheNode node = start(builder(SECRET));
    try (PeerSession s = PeerSession.open(node.port())) {
      Frame reply = s.handshake(WRONG);

      // The acceptor proves first; a dialer with the wrong secret computes a wrong proof.
      assertThat(reply.status()).isEqualTo(Status.AUTH_FAILED);
      assertThat(reply.valueText()).contains("wrong proof");
      assertThat(s.raw().readUntilClosed()).isEmpty();
    }
    assertThat(node.membership().snapshot().orElseThrow().members()).hasSize(1);
  }

  @Test
  void peerHandshake_withTheSecret_isAcceptedAndMayGossip() {
    DistCacheNode node = start(builder(SECRET));
    try (PeerSession s = PeerSession.open(node.port())) {
      assertThat(s.handshake(SECRET).status()).isEqualTo(Status.OK);

      Frame reply = s.call(Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, new byte[] {9, 9, 9}));

      assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(reply.valueText()).contains("malformed membership message");
      assertThat(node.peerAccess().peerConnections()).isEqualTo(1);
    }
  }

  @Test
  void nodeWithAWrongSecret_cannotJoin() {
    DistCacheNode a = start(builder(SECRET));
    FirewallPeers.Firewall fw = new FirewallPeers.Firewall();
    List<FirewallPeers> wrapped = new ArrayList<>();
    DistCacheNode b = start(builder(WRONG, a).peersDecorator(p -> {
      FirewallPeers f = new FirewallPeers(p, fw);
      wrapped.add(f);
      return f;
    }));
    // The join is a sync with the seed over the bus; a's proof does not verify under b's secret.
    await().atMost(DEADLINE).untilAsserted(() ->
        assertThat(b.bus().send(address(a), Frame.request(Opcode.PING, null)))
            .failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
            .withMessageContaining("did not prove the cluster secret"));

    assertThat(wrapped.get(0).sentTo).contains(address(a));
    assertThat(a.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(b.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(a.peerAccess().peerConnections()).isZero();
  }

  @Test
  void nodesWithTheSameSecret_formAClusterAndForward() throws Exception {
    DistCacheNode a = start(builder(SECRET));
    DistCacheNode b = start(builder(SECRET, a));
    DistCacheNode c = start(builder(SECRET, a));
    List<DistCacheNode> all = List.of(a, b, c);
    awaitMembers(3, all);
    byte[] key = keyOwnedBy(all, c);

    Frame set = client().send(address(a), Frame.request(Opcode.SET, 0, key, "v".getBytes())).get(5, TimeUnit.SECONDS);

    assertThat(set.status()).isEqualTo(Status.OK);
    assertThat(c.store().get(key)).isEqualTo("v".getBytes());
    assertThat(a.forwardedRequests()).isEqualTo(1);
  }

  @Test
  void thousandFakeMembersInOneMessage_doNotEnterTheRing() {
    DistCacheNode node = start(builder(null));
    try (PeerSession s = PeerSession.open(node.port())) {
      assertThat(s.handshake(null).status()).isEqualTo(Status.OK);

      Frame reply = s.call(Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, oversizeGossip(1000, 1)));

      assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(reply.valueText()).contains("status count 1000 exceeds the limit " + GossipCodec.MAX_STATUSES);
    }
    assertThat(node.membership().snapshot().orElseThrow().members()).hasSize(1);
    assertThat(node.membership().placement().members()).hasSize(1);
    assertThat(node.membership().placement().hasLearners()).as("learners").isFalse();
  }

  @Test
  void pingReqForAnUnknownAddress_makesNoConnection() throws Exception {
    FirewallPeers.Firewall fw = new FirewallPeers.Firewall();
    List<FirewallPeers> wrapped = new ArrayList<>();
    DistCacheNode node = start(builder(null).peersDecorator(p -> {
      FirewallPeers f = new FirewallPeers(p, fw);
      wrapped.add(f);
      return f;
    }));
    try (ServerSocket victim = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
        PeerSession s = PeerSession.open(node.port())) {
      assertThat(s.handshake(null).status()).isEqualTo(Status.OK);
      Member target = fake(1, victim.getLocalPort());
      byte[] pingReq = GossipCodec.encode(new GossipMessage.PingReq(fake(2, 1), 7, target, List.of()));

      Frame reply = s.call(Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, pingReq));

      assertThat(reply.status()).isEqualTo(Status.OK);
      // The engine sends synchronously while handling the message, so by the reply it would have.
      assertThat(wrapped.get(0).sentTo).doesNotContain(target.address());
      // And the bus itself refuses any address membership did not list.
      CompletableFuture<Frame> direct = node.bus().send(target.address(), Frame.request(Opcode.PING, null));
      assertThat(direct).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("neither an admitted member nor a seed");
    }
  }

  @Test
  void clientsFillingMaxConnections_doNotStopPeers() throws Exception {
    DistCacheNode a = start(builder(null).maxConnections(2));
    List<RawClient> clients = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      RawClient c = new RawClient(a.port());
      closeables.add(c);
      c.send(Frame.request(Opcode.PING, null).withRequestId(1));
      assertThat(c.read().status()).isEqualTo(Status.OK);
      clients.add(c);
    }
    try (RawClient third = new RawClient(a.port())) {
      third.send(Frame.request(Opcode.PING, null).withRequestId(1));
      assertThat(third.read().status()).as("a third client is refused").isEqualTo(Status.BUSY);
    }

    // b joins through a, whose client slots are all taken, and forwards to it.
    DistCacheNode b = start(builder(null, a));
    awaitMembers(2, List.of(a, b));
    byte[] key = keyOwnedBy(List.of(a, b), a);
    Frame set = client().send(address(b), Frame.request(Opcode.SET, 0, key, "v".getBytes())).get(5, TimeUnit.SECONDS);

    assertThat(set.status()).isEqualTo(Status.OK);
    assertThat(a.store().get(key)).isEqualTo("v".getBytes());
    assertThat(a.peerAccess().peerConnections()).isPositive();
    // INFO clients counts the bus's sockets both ways, as Redis's cluster_connections (it said 0: a tester)
    try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", b.port())) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(j.info("clients"))
          .containsPattern("cluster_connections:[1-9]"));
    }
  }

  @Test
  void peerConnection_doesNotCountAgainstMaxConnections() {
    DistCacheNode node = start(builder(null).maxConnections(1));
    try (PeerSession s = PeerSession.open(node.port())) {
      assertThat(s.handshake(null).status()).isEqualTo(Status.OK);
      try (RawClient c = new RawClient(node.port())) {
        c.send(Frame.request(Opcode.PING, null).withRequestId(1));

        assertThat(c.read().status()).as("the one client slot is still free").isEqualTo(Status.OK);
      }
    }
  }
}
