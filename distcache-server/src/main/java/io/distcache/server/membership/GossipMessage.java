package io.distcache.server.membership;

import io.distcache.protocol.cluster.Member;
import java.util.List;
import java.util.Objects;

/**
 * The messages of the membership protocol. Every message names its sender (the advertised address
 * travels inside, because the connection's remote address is an ephemeral port), and most carry
 * piggybacked member updates: that is how news spreads without extra traffic. The encoding is in
 * {@link GossipCodec}.
 */
public sealed interface GossipMessage {

  Member sender();

  /** Member statuses carried along: piggybacked news, or the full list for a {@link Sync}. */
  List<MemberStatus> updates();

  /** "Are you alive?" sent to {@code targetId}; answered with an {@link Ack} of the same seq. */
  record Ping(Member sender, long seq, String targetId, List<MemberStatus> updates) implements GossipMessage {
    public Ping {
      Objects.requireNonNull(sender, "sender");
      Objects.requireNonNull(targetId, "targetId");
      updates = List.copyOf(updates);
    }
  }

  /** "I am": the answer to a ping, or an intermediary relaying the target's answer to a {@link PingReq}. */
  record Ack(Member sender, long seq, List<MemberStatus> updates) implements GossipMessage {
    public Ack {
      Objects.requireNonNull(sender, "sender");
      updates = List.copyOf(updates);
    }
  }

  /** "Ping {@code target} for me": the indirect probe, for when the direct one went unanswered. */
  record PingReq(Member sender, long seq, Member target, List<MemberStatus> updates) implements GossipMessage {
    public PingReq {
      Objects.requireNonNull(sender, "sender");
      Objects.requireNonNull(target, "target");
      updates = List.copyOf(updates);
    }
  }

  /**
   * The sender's full member list (anti-entropy and join). A request ({@code reply} false) is
   * answered with the receiver's full list ({@code reply} true).
   */
  record Sync(Member sender, boolean reply, List<MemberStatus> updates) implements GossipMessage {
    public Sync {
      Objects.requireNonNull(sender, "sender");
      updates = List.copyOf(updates);
    }
  }

  /** Updates pushed without waiting for a ping to ride on (graceful leave); no answer. */
  record Gossip(Member sender, List<MemberStatus> updates) implements GossipMessage {
    public Gossip {
      Objects.requireNonNull(sender, "sender");
      updates = List.copyOf(updates);
    }
  }
}
