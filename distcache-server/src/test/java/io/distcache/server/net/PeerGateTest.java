package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.bus.PeerHandshake;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The accepting side of the peer handshake on an EmbeddedChannel: modes, limits, time limit. */
class PeerGateTest {
  private static final String SELF = "00000000000000000000000000000000000000ff";
  private static final String PEER = "0000000000000000000000000000000000000011";
  private static final ClusterSecret SECRET = ClusterSecret.ofText("sixteen-bytes-or-more");

  private static EmbeddedChannel channel(PeerAccess access, boolean peerOnly) {
    return new EmbeddedChannel(new PeerGate(access, peerOnly, "max connections 1 reached"),
        new BinaryRequestHandler(new MapRouter()));
  }

  private static Frame hello(boolean secret, byte[] nonce) {
    return Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeHello(secret, PEER, nonce)).withRequestId(1);
  }

  @Test
  void firstFrameNotAHello_isAClientConnection_andCannotGossip() {
    PeerAccess access = PeerAccess.of(null, () -> SELF);
    EmbeddedChannel ch = channel(access, false);

    ch.writeInbound(Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, new byte[] {1}).withRequestId(7));
    ch.runPendingTasks();
    Frame reply = ch.readOutbound();

    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(ch.pipeline().get(PeerGate.class)).isNull();
    assertThat(ch.pipeline().get(BinaryRequestHandler.class).isPeer()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void openMode_helloMakesAPeer_countedApart() {
    PeerAccess access = PeerAccess.of(null, () -> SELF);
    EmbeddedChannel ch = channel(access, false);

    ch.writeInbound(hello(false, PeerHandshake.newNonce()));
    Frame reply = ch.readOutbound();

    assertThat(reply.status()).isEqualTo(Status.OK);
    assertThat(ch.pipeline().get(BinaryRequestHandler.class).isPeer()).isTrue();
    assertThat(access.peerConnections()).isEqualTo(1);
    assertThat(access.pendingHandshakes()).isZero();
    ch.close();
    assertThat(access.peerConnections()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void secretMode_rightProof_makesAPeer() throws Exception {
    PeerAccess access = PeerAccess.of(SECRET, () -> SELF);
    EmbeddedChannel ch = channel(access, false);
    byte[] nonce = PeerHandshake.newNonce();

    ch.writeInbound(hello(true, nonce));
    Frame first = ch.readOutbound();
    PeerHandshake.Reply r = PeerHandshake.decodeReply(first.value());
    assertThat(PeerHandshake.matches(PeerHandshake.acceptorProof(SECRET, nonce, r.nonce(), PEER, SELF, 0, 0), r.proof()))
        .isTrue();
    assertThat(access.pendingHandshakes()).isEqualTo(1);
    byte[] proof = PeerHandshake.dialerProof(SECRET, nonce, r.nonce(), PEER, SELF, 0, 0);
    ch.writeInbound(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeProof(proof)).withRequestId(2));
    Frame second = ch.readOutbound();

    assertThat(second.status()).isEqualTo(Status.OK);
    assertThat(ch.pipeline().get(BinaryRequestHandler.class).isPeer()).isTrue();
    assertThat(access.pendingHandshakes()).isZero();
    ch.finishAndReleaseAll();
  }

  /**
   * A man in the middle without the secret changes the TLS port in the dialer's HELLO (7443 to
   * 9999): the acceptor's proof, made over 9999, fails the dialer's check over 7443, and the
   * dialer's proof, made over 7443, is refused by the acceptor. Neither side records the port.
   */
  @Test
  void secretMode_tlsPortChangedOnTheWay_failsTheProofBothWays() throws Exception {
    io.distcache.server.bus.PeerTlsPorts ports = new io.distcache.server.bus.PeerTlsPorts(id -> true);
    ports.self(6380);
    PeerAccess access = PeerAccess.of(SECRET, () -> SELF).tlsPorts(ports);
    EmbeddedChannel ch = channel(access, false);
    byte[] nonce = PeerHandshake.newNonce();

    ch.writeInbound(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeHello(true, PEER, nonce, 9999))
        .withRequestId(1));
    PeerHandshake.Reply r = PeerHandshake.decodeReply(((Frame) ch.readOutbound()).value());

    assertThat(r.tlsPort()).isEqualTo(6380);
    assertThat(PeerHandshake.matches(PeerHandshake.acceptorProof(SECRET, nonce, r.nonce(), PEER, SELF, 7443, 6380),
        r.proof())).as("the dialer's check over the port it sent").isFalse();
    byte[] proof = PeerHandshake.dialerProof(SECRET, nonce, r.nonce(), PEER, SELF, 7443, 6380);
    ch.writeInbound(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeProof(proof)).withRequestId(2));
    Frame second = ch.readOutbound();

    assertThat(second.status()).isEqualTo(Status.AUTH_FAILED);
    assertThat(second.valueText()).isEqualTo("wrong proof of the cluster secret");
    assertThat(access.peerConnections()).isZero();
    assertThat(ports.of(PEER)).isZero();
    ch.finishAndReleaseAll();
  }

  /** The same, with the acceptor's TLS port changed in its reply: the dialer's check fails. */
  @Test
  void secretMode_acceptorsTlsPortChangedOnTheWay_failsTheDialersCheck() throws Exception {
    io.distcache.server.bus.PeerTlsPorts ports = new io.distcache.server.bus.PeerTlsPorts(id -> true);
    ports.self(6380);
    PeerAccess access = PeerAccess.of(SECRET, () -> SELF).tlsPorts(ports);
    EmbeddedChannel ch = channel(access, false);
    byte[] nonce = PeerHandshake.newNonce();

    ch.writeInbound(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeHello(true, PEER, nonce, 7443))
        .withRequestId(1));
    PeerHandshake.Reply r = PeerHandshake.decodeReply(((Frame) ch.readOutbound()).value());

    assertThat(PeerHandshake.matches(PeerHandshake.acceptorProof(SECRET, nonce, r.nonce(), PEER, SELF, 7443, 6380),
        r.proof())).as("untouched").isTrue();
    assertThat(PeerHandshake.matches(PeerHandshake.acceptorProof(SECRET, nonce, r.nonce(), PEER, SELF, 7443, 6999),
        r.proof())).as("the reply's port changed to 6999 on the way").isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void peerOnly_otherFirstFrame_isBusyAndClosed() {
    PeerAccess access = PeerAccess.of(null, () -> SELF);
    EmbeddedChannel ch = channel(access, true);

    ch.writeInbound(Frame.request(Opcode.GET, Flags.FORWARDED, new byte[] {1}, null).withRequestId(3));
    Frame reply = ch.readOutbound();

    assertThat(reply.status()).isEqualTo(Status.BUSY);
    assertThat(reply.valueText()).isEqualTo("max connections 1 reached");
    assertThat(ch.isOpen()).isFalse();
    assertThat(access.pendingHandshakes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void pendingHandshakes_overTheCap_areClosed() {
    PeerAccess access = new PeerAccess(SECRET, () -> SELF, 1, 8, Duration.ofSeconds(5));
    EmbeddedChannel first = channel(access, false);
    EmbeddedChannel second = channel(access, false);

    first.writeInbound(hello(true, PeerHandshake.newNonce()));
    second.writeInbound(hello(true, PeerHandshake.newNonce()));

    assertThat(first.isOpen()).isTrue();
    assertThat(second.isOpen()).isFalse();
    assertThat(access.pendingHandshakes()).isEqualTo(1);
    first.close();
    assertThat(access.pendingHandshakes()).isZero();
    first.finishAndReleaseAll();
    second.finishAndReleaseAll();
  }

  @Test
  void pendingHandshakes_fromOneSourceOverItsCap_areClosed_othersStillHaveRoom() {
    PeerAccess access = new PeerAccess(SECRET, () -> SELF, 8, 2, 8, Duration.ofSeconds(5));
    EmbeddedChannel first = channel(access, false);
    EmbeddedChannel second = channel(access, false);
    EmbeddedChannel third = channel(access, false);

    // EmbeddedChannels all have the same remote address: one source holding hellos open.
    first.writeInbound(hello(true, PeerHandshake.newNonce()));
    second.writeInbound(hello(true, PeerHandshake.newNonce()));
    third.writeInbound(hello(true, PeerHandshake.newNonce()));

    assertThat(first.isOpen()).isTrue();
    assertThat(second.isOpen()).isTrue();
    assertThat(third.isOpen()).as("a third pending handshake from the same address").isFalse();
    assertThat(access.pendingHandshakes()).isEqualTo(2);
    first.close();
    EmbeddedChannel fourth = channel(access, false);
    fourth.writeInbound(hello(true, PeerHandshake.newNonce()));
    assertThat(fourth.isOpen()).as("a slot freed by a close is free again").isTrue();
    for (EmbeddedChannel ch : new EmbeddedChannel[] {first, second, third, fourth}) {
      ch.close();
      ch.finishAndReleaseAll();
    }
    assertThat(access.pendingHandshakes()).isZero();
  }

  @Test
  void handshakeNotFinished_isClosedAtTheTimeLimit() throws Exception {
    PeerAccess access = new PeerAccess(SECRET, () -> SELF, 4, 8, Duration.ofSeconds(30));
    EmbeddedChannel ch = channel(access, false);

    ch.writeInbound(hello(true, PeerHandshake.newNonce()));
    assertThat(ch.isOpen()).isTrue();
    ch.advanceTimeBy(31, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();

    assertThat(ch.isOpen()).isFalse();
    assertThat(access.pendingHandshakes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void peerCap_reached_closesTheNewPeer() {
    PeerAccess access = new PeerAccess(null, () -> SELF, 4, 1, Duration.ofSeconds(5));
    EmbeddedChannel a = channel(access, false);
    EmbeddedChannel b = channel(access, false);

    a.writeInbound(hello(false, PeerHandshake.newNonce()));
    b.writeInbound(hello(false, PeerHandshake.newNonce()));

    assertThat(a.isOpen()).isTrue();
    assertThat(b.isOpen()).isFalse();
    assertThat(access.peerConnections()).isEqualTo(1);
    a.finishAndReleaseAll();
    b.finishAndReleaseAll();
  }
}
