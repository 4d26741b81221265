package io.distcache.server.cluster;

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
 *   CLUSTER_MEMBERS asking for it  a section of TLS ports after the member list (request extras
 *                                  [MEMBERS_WITH_TLS_PORTS], from any connection),
 *                                  so the Java client keeps member identities (node ports, which
 *                                  the placement fingerprint covers) and dials the TLS ports
 *
 * A member whose TLS port this node has not learned yet (in the first protocol round after it
 * joined, or a member without --tls-port) is shown at its node port: the best this node knows.
 * Plain connections see exactly what they saw before.
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

  /** Where a TLS client reaches {@code m}: its TLS port when known, else its node port. */
  public Address forTls(Member m) {
    int p = tlsPort(m);
    return p == 0 ? m.address() : new Address(m.address().host(), p);
  }

  /** The port a client reaches {@code m} on: its TLS port for a TLS client (when known). */
  public int clientPort(Member m, boolean tlsClient) {
    return tlsClient ? forTls(m).port() : m.address().port();
  }

  /**
   * A NOT_OWNER reply with the owner's TLS address in place of its node address (other replies,
   * and an owner that is not in the placement, unchanged).
   */
  public Frame forTlsClient(Frame reply) {
    if (reply.status() != Status.NOT_OWNER) {
      return reply;
    }
    String named = reply.valueText();
    for (Member m : placement.get().members()) {
      if (m.address().toString().equals(named)) {
        Address tls = forTls(m);
        if (tls.equals(m.address())) {
          return reply;
        }
        return new Frame(reply.opcode(), reply.flags(), reply.requestId(), reply.status(), reply.extras(), reply.key(),
            tls.toString().getBytes(StandardCharsets.US_ASCII));
      }
    }
    return reply;
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
