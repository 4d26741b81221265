package io.distcache.server;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.bus.PeerHandshake;
import io.distcache.server.net.RawClient;

/**
 * A hand-driven peer connection for tests: opens a socket, runs the PEER_HELLO handshake as a
 * node would (with a secret, a wrong one, or none), then sends frames as a peer. Blocking, with
 * the socket timeouts of {@link RawClient}.
 */
final class PeerSession implements AutoCloseable {
  static final String FAKE_ID = "00000000000000000000000000000000000000aa";

  private final RawClient raw;
  private int nextId = 100;

  private PeerSession(RawClient raw) {
    this.raw = raw;
  }

  static PeerSession open(int port) {
    return new PeerSession(new RawClient(port));
  }

  /** Runs the handshake; returns the last reply (OK when accepted, AUTH_FAILED/BUSY/... when not). */
  Frame handshake(ClusterSecret secret) {
    byte[] nonce = PeerHandshake.newNonce();
    Frame reply = call(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeHello(secret != null, FAKE_ID, nonce)));
    if (reply.status() != Status.OK || secret == null) {
      return reply;
    }
    try {
      PeerHandshake.Reply r = PeerHandshake.decodeReply(reply.value());
      byte[] proof = PeerHandshake.dialerProof(secret, nonce, r.nonce(), FAKE_ID, r.id(), 0, r.tlsPort());
      return call(Frame.request(Opcode.PEER_HELLO, 0, null, PeerHandshake.encodeProof(proof)));
    } catch (PeerHandshake.HandshakeException e) {
      throw new AssertionError(e);
    }
  }

  Frame call(Frame request) {
    raw.send(request.withRequestId(nextId++));
    return raw.read();
  }

  RawClient raw() {
    return raw;
  }

  @Override
  public void close() {
    raw.close();
  }
}
