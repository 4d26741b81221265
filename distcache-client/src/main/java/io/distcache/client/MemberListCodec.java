package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/*
 * Design: the reply comes from the network, so nothing in it is trusted: every count and length
 * is checked against the bytes that remain before anything is allocated or read, and each error
 * names the member, the field and both numbers. A malformed reply turns into one
 * DistCacheException; the caller keeps its previous view (or plain mode) rather than routing by
 * half a list.
 */

/** Reads a CLUSTER_MEMBERS reply (layout in {@link io.distcache.protocol.Opcode#CLUSTER_MEMBERS}). */
final class MemberListCodec {
  /** Set in a member's state byte while it is joining (learning its slots, owning none). */
  private static final int JOINING_BIT = 0x10;
  /** Set in a member's state byte while it is departing (its slots gain copies before it leaves). */
  private static final int DEPARTING_BIT = 0x20;
  private static final ClusterMember.State[] STATES = ClusterMember.State.values();
  /** Per member at least: id length, one id byte, host length, one host byte, port, state, incarnation. */
  private static final int MIN_MEMBER_BYTES = 1 + 1 + 1 + 1 + 2 + 1 + 8;

  private MemberListCodec() {}

  /**
   * The member list of an OK reply.
   *
   * @throws MalformedException naming what is wrong when the reply is malformed
   */
  static MemberList decode(Frame reply) {
    long[] extras = reply.extras();
    if (extras.length < 2) {
      throw malformed("expected 3 extras (placement epoch, virtual nodes, fingerprint), got " + extras.length);
    }
    long epoch = extras[0];
    long virtualNodes = extras[1];
    if (virtualNodes < 1 || virtualNodes > HashRing.MAX_VIRTUAL_NODES) {
      throw malformed("virtual nodes " + virtualNodes + " is outside 1.." + HashRing.MAX_VIRTUAL_NODES);
    }
    // Two extras: a node older than slots, whose first extra is a per-node ring version that
    // cannot be compared across nodes. More than three: a newer node; the first three keep their meaning.
    boolean epochKnown = extras.length >= 3;
    if (epochKnown && epoch < 0) {
      throw malformed("placement epoch " + epoch + " is negative");
    }
    // A fourth extra: replicas per slot, which the fingerprint covers (0 when absent).
    long replicas = extras.length >= 4 ? extras[3] : 0;
    if (replicas < 0 || replicas > Placement.MAX_REPLICAS) {
      throw malformed("replicas " + replicas + " is outside 0.." + Placement.MAX_REPLICAS);
    }
    Reader in = new Reader(reply.value());
    List<ClusterMember> members = decodeMembers(in);
    java.util.Map<String, Integer> tlsPorts = in.remaining() > 0 ? decodeTlsPorts(in, members) : null;
    Set<String> ids = new HashSet<>();
    for (ClusterMember m : members) {
      if (!ids.add(m.id())) {
        throw malformed("member id " + m.id() + " appears twice");
      }
    }
    MemberList list = epochKnown
        ? new MemberList(epoch, (int) virtualNodes, true, extras[2], members, (int) replicas)
        : MemberList.withoutEpoch(epoch, (int) virtualNodes, members);
    return tlsPorts == null ? list : list.withTlsPorts(tlsPorts);
  }

  /** The member list of a reply's value (nothing may follow it). */
  static List<ClusterMember> decodeMembers(byte[] bytes) {
    Reader in = new Reader(bytes);
    List<ClusterMember> out = decodeMembers(in);
    if (in.remaining() > 0) {
      throw malformed(in.remaining() + " trailing bytes after " + out.size() + " members");
    }
    return out;
  }

  /**
   * The TLS port section after the list (sent when asked, ProtocolConstants.MEMBERS_WITH_TLS_PORTS):
   * count u16, equal to the list's, then a port u16 per member in its order, 0 when unknown.
   */
  private static java.util.Map<String, Integer> decodeTlsPorts(Reader in, List<ClusterMember> members) {
    int count = in.u16("TLS port count");
    if (count != members.size()) {
      throw malformed("TLS port count " + count + " is not the member count " + members.size());
    }
    if ((long) count * 2 != in.remaining()) {
      throw malformed("TLS port section of " + count + " ports needs " + count * 2 + " bytes, " + in.remaining()
          + " remain");
    }
    java.util.Map<String, Integer> out = new java.util.HashMap<>();
    for (ClusterMember m : members) {
      int port = in.u16("TLS port of " + m.id());
      if (port != 0) {
        out.put(m.id(), port);
      }
    }
    return out;
  }

  private static List<ClusterMember> decodeMembers(Reader in) {
    int count = in.u16("member count");
    if ((long) count * MIN_MEMBER_BYTES > in.remaining()) {
      throw malformed("member count " + count + " needs at least " + (long) count * MIN_MEMBER_BYTES
          + " bytes, but only " + in.remaining() + " remain");
    }
    List<ClusterMember> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String where = "member " + i;
      String id = in.ascii(where + " id");
      String host = in.ascii(where + " host");
      int port = in.u16(where + " port");
      int raw = in.u8(where + " state");
      long incarnation = in.u64(where + " incarnation");
      boolean joining = (raw & JOINING_BIT) != 0;
      boolean departing = (raw & DEPARTING_BIT) != 0;
      int state = raw & ~(JOINING_BIT | DEPARTING_BIT);
      if (state >= STATES.length) {
        throw malformed(where + " state " + raw + " is not one of 0..3 (ALIVE, SUSPECT, DEAD, LEFT), plus "
            + JOINING_BIT + " while joining, " + DEPARTING_BIT + " while departing");
      }
      try {
        // The same checks the nodes apply: printable ASCII, bounded lengths, a real port.
        new Member(id, new Address(host, port));
      } catch (IllegalArgumentException e) {
        throw malformed(where + ": " + e.getMessage());
      }
      out.add(new ClusterMember(id, host, port, STATES[state], incarnation, joining, departing));
    }
    return out;
  }

  private static MalformedException malformed(String why) {
    return new MalformedException("CLUSTER_MEMBERS reply is malformed: " + why);
  }

  /** A reply that does not follow the layout; the message says where and why. */
  static final class MalformedException extends DistCacheException {
    private static final long serialVersionUID = 1L;

    MalformedException(String message) {
      super(null, message);
    }
  }

  /** Big-endian reads that check the remaining length first. */
  private static final class Reader {
    private final byte[] bytes;
    private int pos;

    Reader(byte[] bytes) {
      this.bytes = bytes;
    }

    int remaining() {
      return bytes.length - pos;
    }

    private void need(int n, String what) {
      if (n > remaining()) {
        throw malformed(what + " needs " + n + " bytes at offset " + pos + ", but only " + remaining() + " remain");
      }
    }

    int u8(String what) {
      need(1, what);
      return bytes[pos++] & 0xFF;
    }

    int u16(String what) {
      need(2, what);
      int v = ((bytes[pos] & 0xFF) << 8) | (bytes[pos + 1] & 0xFF);
      pos += 2;
      return v;
    }

    long u64(String what) {
      need(8, what);
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (bytes[pos + i] & 0xFF);
      }
      pos += 8;
      return v;
    }

    /** A u8 length, then that many ASCII bytes. */
    String ascii(String what) {
      int length = u8(what + " length");
      need(length, what + " (length " + length + ")");
      String s = new String(bytes, pos, length, StandardCharsets.US_ASCII);
      pos += length;
      return s;
    }
  }
}
