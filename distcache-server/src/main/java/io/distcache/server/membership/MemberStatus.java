package io.distcache.server.membership;

import io.distcache.protocol.cluster.Member;
import java.util.Objects;

/**
 * One member as some node sees it: the unit of gossip and of snapshots. The incarnation is a
 * counter only the member itself raises, to refute a suspicion about it; among statuses of one
 * member, a higher incarnation is newer news.
 */
public record MemberStatus(Member member, MemberState state, long incarnation) {
  public MemberStatus {
    Objects.requireNonNull(member, "member");
    Objects.requireNonNull(state, "state");
    if (incarnation < 0) {
      throw new IllegalArgumentException("incarnation " + incarnation + " is negative");
    }
  }

  public String id() {
    return member.id();
  }

  @Override
  public String toString() {
    return member + " " + state + "#" + incarnation;
  }
}
