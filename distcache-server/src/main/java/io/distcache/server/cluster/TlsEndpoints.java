package io.distcache.server.cluster;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.PeerTlsPorts;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.MemberStatus;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

/*
 * Design: what a client connected over TLS must be told about where members are. Members are
 * known by their node port; a TLS client can only use their TLS ports (--tls-port), which the
 * peer handshake carries (PeerTlsPorts). So, on a TLS connection only:
 *
 *   CLUSTER SLOTS, CLUSTER NODES   each member at its TLS port (Redis Cluster does this for TLS
 *                                  clients with tls-cluster yes; here with or without it, since
 *                                  the handshake tells the ports either way)
 *   MOVED, NOT_OWNER               the owner's TLS address
 *   CLUSTER SHARDS                 "port" and "tls-port" for every client (Redis's fields)
 *   CLUSTER OWNER, MEMBERS         the TLS address
 *   CLUSTER_MEMBERS asking for it  a section of TLS ports after the member list (request extras
 *                                  [MEMBERS_WITH_TLS_PORTS], from any connection),
 *                                  so the Java client keeps member identities (node ports, which
 *                                  the placement fingerprint covers) and dials the TLS ports
 *
 * A TLS client is never shown a node port: a member whose TLS port this node does not know (in
 * the first protocol round after it joined, before the two have shaken hands, or for good when
 * the member has no --tls-port) is left out of SLOTS, NODES and SHARDS for TLS clients, the ranges
 * it owns shown as this node's (resp.ClusterCommands), and a request that would be answered
 * MOVED / NOT_OWNER naming it is forwarded to it over the bus instead (forTlsClient). So a
 * redirect a TLS client gets is always right; for a protocol round its keys take one hop more.
 * Once the port is known, this node answers MOVED for those keys and the client's next refresh
 * shows the true owner. Plain connections see exactly what they saw before.
 */

/** Members' TLS addresses, for what clients connected over TLS are told. */
public final class TlsEndpoints {
  private final PeerTlsPorts ports;
  private final Supplier<Member> self;
  private final Supplier<Placement> placement;

  public TlsEndpoints(PeerTlsPorts ports, Supplier<Member> self, Supplier<Placement> placement) {
    this.ports = ports;
    this.self = self;
    this.placement = placement;
  }

  /** {@code m}'s TLS port, 0 when unknown (or it has none). */
  public int tlsPort(Member m) {
    return m.equals(self.get()) ? ports.self() : ports.of(m.id());
  }

  /** Where a TLS client reaches {@code m}: its TLS address, null when this node does not know it. */
  public Address forTls(Member m) {
    int p = tlsPort(m);
    return p == 0 ? null : new Address(m.address().host(), p);
  }

  /**
   * The port a client reaches {@code m} on: its node port for a plain client; for a TLS client its
   * TLS port, 0 when unknown (the member must then not be shown to that client).
   */
  public int clientPort(Member m, boolean tlsClient) {
    return tlsClient ? tlsPort(m) : m.address().port();
  }

  /**
   * A NOT_OWNER reply with the owner's TLS address in place of its node address; null when the
   * owner is a member whose TLS port this node does not know (the request must then be forwarded,
   * not redirected). Other replies, and an owner that is not in the placement, are unchanged.
   */
  public Frame forTlsClient(Frame reply) {
    if (reply.status() != Status.NOT_OWNER) {
      return reply;
    }
    String named = reply.valueText();
    for (Member m : placement.get().members()) {
      if (m.address().toString().equals(named)) {
        Address tls = forTls(m);
        if (tls == null) {
          return null;
        }
        return new Frame(reply.opcode(), reply.flags(), reply.requestId(), reply.status(), reply.extras(), reply.key(),
            tls.toString().getBytes(StandardCharsets.US_ASCII));
      }
    }
    return reply;
  }

  /**
   * The reply a TLS client gets for {@code request} (sent ROUTED, so it may be answered NOT_OWNER):
   * a NOT_OWNER names the owner's TLS address; when that is unknown, the request is sent again
   * without ROUTED through {@code route}, which serves or forwards it (never NOT_OWNER).
   */
  public CompletableFuture<Frame> forTlsClient(Frame request, CompletableFuture<Frame> reply,
      Function<Frame, CompletableFuture<Frame>> route) {
    return reply.thenCompose(r -> {
      Frame shown = forTlsClient(r);
      if (shown != null) {
        return CompletableFuture.completedFuture(shown);
      }
      return route.apply(new Frame(request.opcode(), request.flags() & ~Flags.ROUTED, request.requestId(),
          request.status(), request.extras(), request.key(), request.value()));
    });
  }

  /**
   * A CLUSTER_OWNER reply for a TLS client: the owner's TLS address, BUSY when this node does not
   * know it yet (never the node address).
   */
  public Frame ownerForTlsClient(Frame request, Frame reply) {
    if (reply.status() != Status.OK) {
      return reply;
    }
    String named = reply.valueText();
    for (Member m : placement.get().members()) {
      if (m.address().toString().equals(named)) {
        Address tls = forTls(m);
        if (tls == null) {
          return request.replyError(Status.BUSY, "the TLS port of owner " + m.id() + " is not known to this node yet");
        }
        return new Frame(reply.opcode(), reply.flags(), reply.requestId(), reply.status(), reply.extras(), reply.key(),
            tls.toString().getBytes(StandardCharsets.US_ASCII));
      }
    }
    return request.replyError(Status.BUSY, "owner " + named + " is not in this node's placement");
  }

  /** True when a CLUSTER_MEMBERS request asks for the TLS port section. */
  public static boolean asksForTlsPorts(Frame request) {
    return request.extra(0, 0) == io.distcache.protocol.ProtocolConstants.MEMBERS_WITH_TLS_PORTS;
  }

  /**
   * An OK CLUSTER_MEMBERS reply followed by its TLS port section: count u16 (the members'), then
   * one TLS port u16 per member in the list's order, 0 when unknown.
   */
  public Frame withTlsPorts(Frame membersReply) {
    if (membersReply.status() != Status.OK) {
      return membersReply;
    }
    List<MemberStatus> members = GossipCodec.decodeStatuses(membersReply.value());
    byte[] list = membersReply.value();
    ByteBuffer b = ByteBuffer.allocate(list.length + 2 + 2 * members.size());
    b.put(list).putShort((short) members.size());
    for (MemberStatus s : members) {
      b.putShort((short) tlsPort(s.member()));
    }
    return new Frame(membersReply.opcode(), membersReply.flags(), membersReply.requestId(), membersReply.status(),
        membersReply.extras(), membersReply.key(), b.array());
  }
}
