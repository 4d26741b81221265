package io.distcache.server.net;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.bus.PeerHandshake;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the accepting end of the peer handshake, one per binary connection, between the frame
 * codec and the BinaryRequestHandler. It looks at the first frame only:
 *
 *   not PEER_HELLO   a client connection: the gate removes itself and passes the frame on; the
 *                    handler stays in client mode for the connection's life (no gossip, no
 *                    FORWARDED), so a client can never turn itself into a peer later
 *   PEER_HELLO       the handshake (PeerHandshake): with a secret, HELLO -> reply with our proof
 *                    -> the dialer's proof, compared in constant time; without one, HELLO ->
 *                    reply. On success the connection moves from the client count to the peer
 *                    count (ConnectionSlot), the handler switches to peer mode and the gate goes.
 *
 * Bounds: a node-wide cap on handshakes in progress (PeerAccess) and a time limit per handshake,
 * so connections that start a handshake and stall hold nothing for long; peer connections are
 * capped apart from --max-connections. A connection that arrived over --max-connections (peerOnly)
 * is let through only for a handshake: any other first frame is answered BUSY, as before.
 *
 * With --tls-cluster yes (PeerAccess.requireTls) a PEER_HELLO is accepted only on a connection
 * that came in on the bus's mutual TLS (BusTlsSniffer), whose peer certificate the handshake has
 * checked; the cluster secret is then checked as before, on top of TLS.
 *
 * Failures are answered (AUTH_FAILED, BAD_REQUEST or BUSY, with the reason) and the connection is
 * closed; they are logged at most once per 10 s, since anyone who can reach the port can cause them.
 * The log never carries the secret or a proof.
 */

/** Accepts a peer connection after its PEER_HELLO handshake, or lets a client connection pass. */
final class PeerGate extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(PeerGate.class);

  private final PeerAccess access;
  /** Over --max-connections: only a peer handshake is let through. */
  private final boolean peerOnly;
  private final String rejection;
  private boolean pendingHeld;
  /** The source address whose pending-handshake count this connection holds (null: not an IP). */
  private Object pendingSource;
  private boolean done;
  private ScheduledFuture<?> timeout;
  /** Mode 1, after our reply: the proof we expect from the dialer. */
  private byte[] expectedProof;
  private String peerId;
  /** The TLS port the dialer's HELLO named (0: none), recorded once the handshake succeeds. */
  private int peerTlsPort;

  PeerGate(PeerAccess access, boolean peerOnly, String rejection) {
    this.access = access;
    this.peerOnly = peerOnly;
    this.rejection = rejection;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (peerOnly && !begin(ctx)) {
      return;
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    release();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (!done && expectedProof != null && access.failures.allow()) {
      // We proved first; a dialer that finds our proof wrong closes without sending its own. So a
      // member started with another secret shows up here, not as a "wrong proof".
      long more = access.failures.takeSuppressed();
      log.warn("peer handshake from {} ({}) closed after our proof: it holds another cluster secret, or it expected another member at"
          + " this address (one restarted or replaced there){}",
          peerId, ctx.channel().remoteAddress(), more > 0 ? " (" + more + " more peer refusals not logged)" : "");
    }
    release();
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (done) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (!(msg instanceof Frame frame)) {
      ctx.fireChannelRead(msg);
      return;
    }
    boolean hello = frame.op() == Opcode.PEER_HELLO && !frame.isResponse();
    if (expectedProof == null && hello && access.tlsRequired() && !BusTlsSniffer.isBusTls(ctx.channel())) {
      fail(ctx, frame, Status.AUTH_FAILED, "this node's cluster bus runs on TLS (--tls-cluster yes);"
          + " a plain peer connection is refused", true);
      return;
    }
    if (expectedProof == null && !hello) {
      if (peerOnly) {
        fail(ctx, frame, Status.BUSY, rejection, false);
      } else {
        ctx.pipeline().remove(this); // a client connection
        ctx.fireChannelRead(frame);
      }
      return;
    }
    if (!hello) {
      fail(ctx, frame, Status.AUTH_FAILED, "expected the PEER_HELLO proof, got " + frame.op(), true);
      return;
    }
    try {
      if (expectedProof == null) {
        onHello(ctx, frame);
      } else {
        onProof(ctx, frame);
      }
    } catch (PeerHandshake.HandshakeException e) {
      fail(ctx, frame, Status.BAD_REQUEST, e.getMessage(), true);
    }
  }

  private void onHello(ChannelHandlerContext ctx, Frame frame) throws PeerHandshake.HandshakeException {
    if (!pendingHeld && !begin(ctx)) {
      return;
    }
    String self = access.selfId();
    if (self == null) {
      fail(ctx, frame, Status.BUSY, "this node is still starting", false);
      return;
    }
    PeerHandshake.Hello hello = PeerHandshake.decodeHello(frame.value());
    peerId = hello.id();
    peerTlsPort = hello.tlsPort();
    ClusterSecret secret = access.secret();
    if (secret == null) {
      if (hello.mode() == PeerHandshake.MODE_SECRET) {
        fail(ctx, frame, Status.AUTH_FAILED, "this node runs without a cluster secret and the peer has one", true);
        return;
      }
      byte[] reply = PeerHandshake.encodeReply(self, PeerHandshake.newNonce(), null, access.selfTlsPort());
      ctx.writeAndFlush(frame.replyValue(reply));
      accept(ctx, frame);
      return;
    }
    if (hello.mode() != PeerHandshake.MODE_SECRET) {
      fail(ctx, frame, Status.AUTH_FAILED, "this node requires the cluster secret and the peer has none", true);
      return;
    }
    byte[] nonce = PeerHandshake.newNonce();
    int ourTlsPort = access.selfTlsPort();
    // Both proofs cover the TLS port the dialer sent and ours (PeerHandshake).
    byte[] ours = PeerHandshake.acceptorProof(secret, hello.nonce(), nonce, hello.id(), self, hello.tlsPort(), ourTlsPort);
    expectedProof = PeerHandshake.dialerProof(secret, hello.nonce(), nonce, hello.id(), self, hello.tlsPort(), ourTlsPort);
    ctx.writeAndFlush(frame.replyValue(PeerHandshake.encodeReply(self, nonce, ours, ourTlsPort)));
  }

  private void onProof(ChannelHandlerContext ctx, Frame frame) throws PeerHandshake.HandshakeException {
    byte[] proof = PeerHandshake.decodeProof(frame.value());
    if (!PeerHandshake.matches(expectedProof, proof)) {
      fail(ctx, frame, Status.AUTH_FAILED, "wrong proof of the cluster secret", true);
      return;
    }
    ctx.writeAndFlush(frame.replyOk());
    accept(ctx, frame);
  }

  /** Takes a pending-handshake slot and starts the time limit; false (and closed) when none is free. */
  private boolean begin(ChannelHandlerContext ctx) {
    java.net.SocketAddress remote = ctx.channel().remoteAddress();
    Object source = remote instanceof java.net.InetSocketAddress a ? a.getAddress() : null;
    if (!access.tryBeginHandshake(source)) {
      done = true;
      if (access.failures.allow()) {
        log.warn("refused a peer handshake from {}: {} handshakes already in progress (at most {} from one address)",
            remote, access.maxPendingHandshakes(), access.maxPendingPerSource());
      }
      ctx.close();
      return false;
    }
    pendingSource = source;
    pendingHeld = true;
    long ms = access.handshakeTimeout().toMillis();
    timeout = ctx.executor().schedule(() -> {
      if (!done) {
        done = true;
        if (access.failures.allow()) {
          log.warn("closing {}: peer handshake not finished within {} ms", ctx.channel().remoteAddress(), ms);
        }
        ctx.close();
      }
    }, ms, TimeUnit.MILLISECONDS);
    return true;
  }

  private void accept(ChannelHandlerContext ctx, Frame frame) {
    done = true;
    release();
    if (!ConnectionSlot.moveTo(ctx.channel(), access.peerCounter(), access.maxPeerConnections())) {
      if (access.failures.allow()) {
        log.warn("closing peer connection from {}: {} peer connections already open",
            ctx.channel().remoteAddress(), access.maxPeerConnections());
      }
      ctx.close();
      return;
    }
    access.learnedTlsPort(peerId, peerTlsPort);
    BinaryRequestHandler handler = ctx.pipeline().get(BinaryRequestHandler.class);
    if (handler != null) {
      handler.becomePeer();
    }
    log.debug("peer connection from {} ({}) accepted", peerId, ctx.channel().remoteAddress());
    ctx.pipeline().remove(this);
  }

  private void fail(ChannelHandlerContext ctx, Frame frame, Status status, String reason, boolean logIt) {
    done = true;
    release();
    if (logIt && access.failures.allow()) {
      long more = access.failures.takeSuppressed();
      log.warn("peer handshake from {} refused: {}{}", ctx.channel().remoteAddress(), reason,
          more > 0 ? " (" + more + " more peer refusals not logged)" : "");
    }
    ctx.writeAndFlush(frame.replyError(status, reason)).addListener(ChannelFutureListener.CLOSE);
  }

  private void release() {
    if (pendingHeld) {
      pendingHeld = false;
      access.endHandshake(pendingSource);
    }
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }
}
