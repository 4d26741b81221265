package io.distcache.server.net;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/*
 * Design: one port serves both protocols. Our frames start with 0xDC, which is neither printable
 * ASCII nor a RESP type byte, so the first byte of a connection decides for its whole life. The
 * detector then installs that protocol's handlers behind itself and removes itself; the
 * ByteToMessageDecoder base hands the bytes it holds (the first byte included) to the new
 * handlers, so nothing is lost or copied.
 *
 * A connection over the limit still gets one detector, in rejecting mode: it waits for enough
 * bytes to answer in the client's own protocol (a Redis client shows "-ERR max number of clients
 * reached" to its user; a binary client maps BUSY to a typed exception and can try another node),
 * then closes. It holds at most 8 bytes, and gives up after REJECT_WAIT: a client sends its first
 * request right after connecting, so a second is plenty, and a short wait keeps a flood of silent
 * connections from holding descriptors (NetServer also bounds how many may wait at once).
 *
 * HTTP shares the port too (as Dragonfly serves /metrics on its main port): a first line that is an
 * HTTP/1.x request line ("GET /metrics HTTP/1.1") goes to the HTTP installer, not to Redis, whose
 * inline protocol would run GET with two arguments. Only a connection whose first byte is an
 * upper-case letter (an HTTP method) waits for its first line; a RESP client ('*') or a lower-case
 * inline command is handed over at once. The wait is bounded: without a line feed within
 * MAX_HTTP_REQUEST_LINE bytes (unless it began with an HTTP method and a '/' target: then HTTP,
 * which answers 414), or as soon as the bytes so far cannot start a request line (a Redis inline
 * command such as "SET k v"), the connection is Redis's. HttpRequestLine holds the rule.
 *
 * A connection that came in on the cluster bus's TLS (BusTlsSniffer, --tls-cluster yes) is a
 * peer's or nothing: the binary protocol in peer-only mode, anything else is closed.
 *
 * Peers are not clients: a refused binary connection whose first frame is PEER_HELLO is handed
 * to the binary protocol in peer-only mode (PeerGate), and the refusal timer is cancelled (the
 * handshake has its own time limit), so a node whose client slots are full still accepts its peers.
 */

/** Tells the binary protocol from the Redis protocol by the first byte and installs the right one. */
final class ProtocolDetector extends ByteToMessageDecoder {
  /** Redis's own text, which Redis clients and people recognise. */
  static final String REDIS_MAX_CLIENTS = "-ERR max number of clients reached\r\n";

  static final Duration REJECT_WAIT = Duration.ofSeconds(1);

  /** The BUSY text for a non-peer frame on the cluster bus's TLS (--tls-cluster yes). */
  static final String BUS_TLS_PEERS_ONLY =
      "TLS on the node port is the cluster bus's (peers only); clients use the TLS port (--tls-port)";

  /** Header bytes up to and including the request id: what a BUSY reply needs. */
  private static final int HEADER_BYTES_TO_REQUEST_ID = 8;

  private static final FrameEncoder ENCODER = new FrameEncoder();

  private final ProtocolInstaller binary;
  private final ProtocolInstaller other;
  /** Null: no HTTP on this port (every non-binary connection is Redis's). */
  private final ProtocolInstaller http;
  /** Null for an accepted connection; the reason it is refused otherwise. */
  private final String rejection;
  /** How long a refused connection may take to send what its refusal needs. */
  private final Duration rejectWait;
  /** Rejecting mode: the refusal has been written; later bytes are dropped until the close. */
  private boolean refused;
  /** How long a first line that could still be HTTP or Redis may take to tell which it is. */
  static final Duration DECIDE_WAIT = Duration.ofSeconds(5);
  /** Closes the wait for an undecided first line (see DECIDE_WAIT); null until one is pending. */
  private io.netty.util.concurrent.ScheduledFuture<?> decideTimer;
  /** Rejecting mode: closes the connection after rejectWait. */
  private io.netty.util.concurrent.ScheduledFuture<?> rejectTimer;

  ProtocolDetector(ProtocolInstaller binary, ProtocolInstaller other, String rejection, Duration rejectWait) {
    this(binary, other, null, rejection, rejectWait);
  }

  ProtocolDetector(ProtocolInstaller binary, ProtocolInstaller other, ProtocolInstaller http, String rejection,
      Duration rejectWait) {
    this.binary = binary;
    this.other = other;
    this.http = http;
    this.rejection = rejection;
    this.rejectWait = rejectWait;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (rejection != null) {
      rejectTimer =
          ctx.executor().schedule(() -> ctx.channel().close(), rejectWait.toMillis(), TimeUnit.MILLISECONDS);
    }
    super.channelActive(ctx);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    // The base decodes what is left (which may install a protocol and remove this detector) and
    // passes the event on; a connection half-closed before it chose a protocol has nothing to
    // answer (the channel allows half-closure, so nobody else would close it).
    super.userEventTriggered(ctx, evt);
    if (evt instanceof ChannelInputShutdownEvent && !ctx.isRemoved()) {
      ctx.close();
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    decode(ctx, in, out);
    if (in.isReadable() && !ctx.isRemoved() && rejection == null) {
      // The client half-closed in the middle of a first line that could still have been HTTP:
      // the Redis protocol answers what it can of it, as it would any truncated inline command.
      other.install(ctx.pipeline());
      ctx.pipeline().remove(this);
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (!in.isReadable()) {
      return;
    }
    boolean isBinary = in.getByte(in.readerIndex()) == ProtocolConstants.MAGIC;
    if (rejection == null && BusTlsSniffer.isBusTls(ctx.channel())) {
      // A TLS connection on the node port is the cluster bus's: peers only, never a client.
      if (!isBinary || !binary.installPeerOnly(ctx.pipeline(), BUS_TLS_PEERS_ONLY)) {
        in.skipBytes(in.readableBytes());
        ctx.close();
        return;
      }
      ctx.pipeline().remove(this);
    } else if (rejection == null) {
      ProtocolInstaller chosen;
      if (isBinary) {
        chosen = binary;
      } else if (http == null) {
        chosen = other;
      } else {
        int verdict = HttpRequestLine.classify(in);
        if (verdict == HttpRequestLine.UNDECIDED) {
          // Wait for more of the first line, but not for ever: a client that sends "G" and nothing
          // more held its connection open with no answer (a tester: over 75 s). After DECIDE_WAIT
          // the Redis protocol takes what came, with its own request timeout.
          if (decideTimer == null) {
            decideTimer = ctx.executor().schedule(() -> {
              if (!ctx.isRemoved()) {
                other.install(ctx.pipeline());
                ctx.pipeline().remove(this); // hands the bytes so far to the Redis decoder
              }
            }, DECIDE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
          }
          return;
        }
        if (decideTimer != null) {
          decideTimer.cancel(false);
        }
        chosen = verdict == HttpRequestLine.HTTP ? http : other;
      }
      chosen.install(ctx.pipeline());
      ctx.pipeline().remove(this);
    } else if (refused) {
      in.skipBytes(in.readableBytes());
    } else if (!isBinary) {
      refused = true;
      in.skipBytes(in.readableBytes());
      // Closed once the client could read it (LingeringClose bounds that, in place of the reject
      // timer); the rest of its input is skipped meanwhile.
      cancelRejectTimer();
      LingeringClose.after(ctx.channel().writeAndFlush(Unpooled.copiedBuffer(REDIS_MAX_CLIENTS, StandardCharsets.US_ASCII)));
    } else if (in.readableBytes() >= HEADER_BYTES_TO_REQUEST_ID) {
      int start = in.readerIndex();
      byte opcode = in.getByte(start + 2);
      int requestId = in.getInt(start + 4);
      if (opcode == Opcode.PEER_HELLO.code() && binary.installPeerOnly(ctx.pipeline(), rejection)) {
        if (rejectTimer != null) {
          rejectTimer.cancel(false);
        }
        ctx.pipeline().remove(this);
        return;
      }
      refused = true;
      in.skipBytes(in.readableBytes());
      Frame busy =
          new Frame(
              opcode,
              Flags.RESPONSE,
              requestId,
              Status.BUSY,
              Frame.NO_EXTRAS,
              Frame.EMPTY,
              rejection.getBytes(StandardCharsets.UTF_8));
      ctx.pipeline().addLast(ENCODER);
      cancelRejectTimer();
      LingeringClose.after(ctx.channel().writeAndFlush(busy));
    }
  }

  private void cancelRejectTimer() {
    if (rejectTimer != null) {
      rejectTimer.cancel(false);
    }
  }
}
