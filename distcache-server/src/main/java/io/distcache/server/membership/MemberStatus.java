package io.distcache.server.membership;

import io.distcache.protocol.cluster.Member;
import java.util.Objects;

/**
 * One member as some node sees it: the unit of gossip and of snapshots. The incarnation is a
 * counter only the member itself raises, to refute a suspicion about it; among statuses of one
 * member, a higher incarnation is newer news. {@code joining}: the member is still learning the
 * slots it will hold (it owns none yet); only the member changes it, always with a new
 * incarnation, so it is a function of (member, incarnation) and others copy it into what they
 * say about the member (SUSPECT, DEAD). {@code departing}: the member is handing its copies over
 * before it leaves (a graceful leave): it still owns and replicates what it did, and its slots gain
 * the copies the placement without it names (Placement, "Departing members"); the same rules as
 * joining (only the member sets it, with a new incarnation; others copy it).
 */
public record MemberStatus(Member member, MemberState state, long incarnation, boolean joining, boolean departing) {
  /** A status of a member that is neither joining nor departing. */
  public MemberStatus(Member member, MemberState state, long incarnation) {
    this(member, state, incarnation, false, false);
  }

  /** A status of a member that is not departing. */
  public MemberStatus(Member member, MemberState state, long incarnation, boolean joining) {
    this(member, state, incarnation, joining, false);
  }

  public MemberStatus {
    Objects.requireNonNull(member, "member");
    Objects.requireNonNull(state, "state");
    if (incarnation < 0) {
      throw new IllegalArgumentException("incarnation " + incarnation + " is negative");
    }
  }

  /** ALIVE or SUSPECT, and done joining: it owns slots. */
  public boolean owns() {
    return state.ownsKeys() && !joining;
  }

  public String id() {
    return member.id();
  }

  @Override
  public String toString() {
    return member + " " + state + (joining ? " joining" : "") + (departing ? " departing" : "") + "#" + incarnation;
  }
}
