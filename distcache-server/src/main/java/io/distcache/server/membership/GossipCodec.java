package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: membership messages arrive from the network, so decoding trusts nothing. Every string
 * length and list count is checked against its limit and against the bytes that remain before
 * anything is allocated; a bad byte anywhere gives a MalformedGossipException naming what was
 * wrong, never a crash or an allocation larger than the input. Strings are printable ASCII (ids
 * and host names are), one byte per character, checked by the value types' constructors.
 *
 * Layout, big-endian:
 *   message  = format u8 (1), type u8, sender member, body
 *   member   = id length u8, id bytes, host length u8, host bytes, port u16
 *   status   = member, state u8 (0 ALIVE, 1 SUSPECT, 2 DEAD, 3 LEFT; plus 0x10 while the member is
 *              joining, see MemberStatus.joining), incarnation u64
 *   statuses = count u16, status...
 *   PING     (1) = seq u64, target id length u8, target id, statuses
 *   ACK      (2) = seq u64, statuses
 *   PING_REQ (3) = seq u64, target member, statuses
 *   SYNC     (4) = flags u8 (bit 0: reply), statuses
 *   GOSSIP   (5) = statuses
 */

/** The compact binary form of {@link GossipMessage}s, carried in CLUSTER_GOSSIP frames. */
public final class GossipCodec {
  public static final int FORMAT = 1;
  /**
   * Most statuses in one membership message. A full sync carries every member that owns keys
   * (and as many tombstones as fit), so this is also the largest cluster: {@link
   * MemberTable#MAX_LIVE_MEMBERS} members. Small on purpose: one forged message can name at most
   * this many members, and the engine admits new ones at a bounded rate.
   */
  public static final int MAX_STATUSES = 64;
  /** Most statuses in a bare list (CLUSTER_MEMBERS): the member table, tombstones included. */
  public static final int MAX_LISTED = 256;

  private static final int TYPE_PING = 1;
  private static final int TYPE_ACK = 2;
  private static final int TYPE_PING_REQ = 3;
  private static final int TYPE_SYNC = 4;
  private static final int TYPE_GOSSIP = 5;
  private static final int MIN_MEMBER_BYTES = 1 + 1 + 1 + 1 + 2;
  private static final int MIN_STATUS_BYTES = MIN_MEMBER_BYTES + 1 + 8;
  private static final MemberState[] STATES = MemberState.values();
  /** Set in a status's state byte while the member is joining (learning its slots). */
  static final int JOINING_BIT = 0x10;
  /** Set in a status's state byte while the member is departing (handing its copies over before it leaves). */
  static final int DEPARTING_BIT = 0x20;

  private GossipCodec() {}

  public static byte[] encode(GossipMessage message) {
    if (message.updates().size() > MAX_STATUSES) {
      throw new IllegalArgumentException(
          "message carries " + message.updates().size() + " statuses, the limit is " + MAX_STATUSES);
    }
    ByteBuffer b = ByteBuffer.allocate(encodedLength(message));
    b.put((byte) FORMAT);
    if (message instanceof GossipMessage.Ping p) {
      b.put((byte) TYPE_PING);
      putMember(b, p.sender());
      b.putLong(p.seq());
      putString(b, p.targetId());
    } else if (message instanceof GossipMessage.Ack a) {
      b.put((byte) TYPE_ACK);
      putMember(b, a.sender());
      b.putLong(a.seq());
    } else if (message instanceof GossipMessage.PingReq r) {
      b.put((byte) TYPE_PING_REQ);
      putMember(b, r.sender());
      b.putLong(r.seq());
      putMember(b, r.target());
    } else if (message instanceof GossipMessage.Sync sync) {
      b.put((byte) TYPE_SYNC);
      putMember(b, sync.sender());
      b.put((byte) (sync.reply() ? 1 : 0));
    } else {
      b.put((byte) TYPE_GOSSIP);
      putMember(b, message.sender());
    }
    putStatuses(b, message.updates());
    return b.array();
  }

  private static void putStatuses(ByteBuffer b, List<MemberStatus> statuses) {
    b.putShort((short) statuses.size());
    for (MemberStatus s : statuses) {
      putMember(b, s.member());
      // Departing only matters while the member owns: a LEFT or DEAD status goes without the bit,
      // which clients older than it refuse as a malformed state (a reviewer).
      boolean departing = s.departing() && s.state().ownsKeys();
      b.put((byte) (s.state().ordinal() | (s.joining() ? JOINING_BIT : 0) | (departing ? DEPARTING_BIT : 0)));
      b.putLong(s.incarnation());
    }
  }

  /** A bare status list (the value of a CLUSTER_MEMBERS response): count u16, statuses. */
  public static byte[] encodeStatuses(List<MemberStatus> statuses) {
    if (statuses.size() > MAX_LISTED) {
      throw new IllegalArgumentException("status count " + statuses.size() + " exceeds the limit " + MAX_LISTED);
    }
    int n = 2;
    for (MemberStatus s : statuses) {
      n += memberLength(s.member()) + 1 + 8;
    }
    ByteBuffer b = ByteBuffer.allocate(n);
    putStatuses(b, statuses);
    return b.array();
  }

  /** @throws MalformedGossipException when the bytes are not one well-formed status list */
  public static List<MemberStatus> decodeStatuses(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      List<MemberStatus> out = getStatuses(b, MAX_LISTED);
      if (b.hasRemaining()) {
        throw new MalformedGossipException(b.remaining() + " trailing bytes after the status list");
      }
      return out;
    } catch (BufferUnderflowException e) {
      throw new MalformedGossipException("status list truncated after " + b.position() + " of " + bytes.length + " bytes");
    } catch (IllegalArgumentException e) {
      throw new MalformedGossipException(e.getMessage());
    }
  }

  /** @throws MalformedGossipException when the bytes are not one well-formed message */
  public static GossipMessage decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    try {
      int format = b.get() & 0xFF;
      if (format != FORMAT) {
        throw new MalformedGossipException("format " + format + " is not supported, expected " + FORMAT);
      }
      int type = b.get() & 0xFF;
      Member sender = getMember(b, "sender");
      GossipMessage m = switch (type) {
        case TYPE_PING -> {
          long seq = b.getLong();
          String target = getString(b, "target id", Member.MAX_ID_LENGTH);
          yield new GossipMessage.Ping(sender, seq, target, getStatuses(b, MAX_STATUSES));
        }
        case TYPE_ACK -> new GossipMessage.Ack(sender, b.getLong(), getStatuses(b, MAX_STATUSES));
        case TYPE_PING_REQ -> {
          long seq = b.getLong();
          Member target = getMember(b, "target");
          yield new GossipMessage.PingReq(sender, seq, target, getStatuses(b, MAX_STATUSES));
        }
        case TYPE_SYNC -> {
          int flags = b.get() & 0xFF;
          if ((flags & ~1) != 0) {
            throw new MalformedGossipException("sync flags 0x" + Integer.toHexString(flags) + " has unknown bits");
          }
          yield new GossipMessage.Sync(sender, flags == 1, getStatuses(b, MAX_STATUSES));
        }
        case TYPE_GOSSIP -> new GossipMessage.Gossip(sender, getStatuses(b, MAX_STATUSES));
        default -> throw new MalformedGossipException("message type " + type + " is unknown");
      };
      if (b.hasRemaining()) {
        throw new MalformedGossipException(b.remaining() + " trailing bytes after the message");
      }
      return m;
    } catch (BufferUnderflowException e) {
      throw new MalformedGossipException("message truncated after " + b.position() + " of " + bytes.length + " bytes");
    } catch (IllegalArgumentException e) {
      // A value type rejected a field (bad port, empty id, control character, ...).
      throw new MalformedGossipException(e.getMessage());
    }
  }

  private static int encodedLength(GossipMessage message) {
    int n = 2 + memberLength(message.sender());
    if (message instanceof GossipMessage.Ping p) {
      n += 8 + 1 + p.targetId().length();
    } else if (message instanceof GossipMessage.Ack) {
      n += 8;
    } else if (message instanceof GossipMessage.PingReq r) {
      n += 8 + memberLength(r.target());
    } else if (message instanceof GossipMessage.Sync) {
      n += 1;
    }
    n += 2;
    for (MemberStatus s : message.updates()) {
      n += memberLength(s.member()) + 1 + 8;
    }
    return n;
  }

  private static int memberLength(Member m) {
    return 1 + m.id().length() + 1 + m.address().host().length() + 2;
  }

  private static void putMember(ByteBuffer b, Member m) {
    putString(b, m.id());
    putString(b, m.address().host());
    b.putShort((short) m.address().port());
  }

  private static void putString(ByteBuffer b, String s) {
    if (s.length() > 255) {
      throw new IllegalArgumentException("string length " + s.length() + " exceeds the limit 255");
    }
    b.put((byte) s.length());
    b.put(s.getBytes(StandardCharsets.US_ASCII));
  }

  private static Member getMember(ByteBuffer b, String what) {
    String id = getString(b, what + " id", Member.MAX_ID_LENGTH);
    String host = getString(b, what + " host", Address.MAX_HOST_LENGTH);
    int port = b.getShort() & 0xFFFF;
    return new Member(id, new Address(host, port));
  }

  private static String getString(ByteBuffer b, String what, int limit) {
    int len = b.get() & 0xFF;
    if (len > limit) {
      throw new MalformedGossipException(what + " length " + len + " exceeds the limit " + limit);
    }
    if (len > b.remaining()) {
      throw new MalformedGossipException(what + " length " + len + " exceeds the " + b.remaining() + " bytes left");
    }
    byte[] bytes = new byte[len];
    b.get(bytes);
    for (int i = 0; i < len; i++) {
      if (bytes[i] <= 0x20 || bytes[i] >= 0x7F) {
        throw new MalformedGossipException(what + " contains the byte 0x" + Integer.toHexString(bytes[i] & 0xFF) + " at " + i);
      }
    }
    return new String(bytes, StandardCharsets.US_ASCII);
  }

  private static List<MemberStatus> getStatuses(ByteBuffer b, int limit) {
    int count = b.getShort() & 0xFFFF;
    if (count > limit) {
      throw new MalformedGossipException("status count " + count + " exceeds the limit " + limit);
    }
    if ((long) count * MIN_STATUS_BYTES > b.remaining()) {
      throw new MalformedGossipException("status count " + count + " does not fit in the " + b.remaining() + " bytes left");
    }
    List<MemberStatus> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      Member m = getMember(b, "status " + i);
      int raw = b.get() & 0xFF;
      boolean joining = (raw & JOINING_BIT) != 0;
      boolean departing = (raw & DEPARTING_BIT) != 0;
      int state = raw & ~(JOINING_BIT | DEPARTING_BIT);
      if (state >= STATES.length) {
        throw new MalformedGossipException("status " + i + ": state " + state + " is unknown");
      }
      long incarnation = b.getLong();
      if (incarnation < 0) {
        throw new MalformedGossipException("status " + i + ": incarnation " + incarnation + " is negative");
      }
      out.add(new MemberStatus(m, STATES[state], incarnation, joining, departing));
    }
    return out;
  }

  /** The bytes are not a well-formed membership message; the peer gets BAD_REQUEST. */
  public static final class MalformedGossipException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MalformedGossipException(String message) {
      super(message, null, false, false);
    }
  }
}
