package io.distcache.server.membership;

import io.distcache.protocol.cluster.Member;
import java.util.List;
import java.util.Optional;

/**
 * An immutable view of the member list at one moment, from one node's point of view. The version
 * rises by one with every change this node applies; it is local to the node (two nodes with the
 * same members may have different versions).
 *
 * @param version this node's change counter
 * @param self the member this node is
 * @param members every member this node knows, including itself and recent DEAD and LEFT ones, by id
 */
public record MembershipSnapshot(long version, Member self, List<MemberStatus> members) {
  public MembershipSnapshot {
    members = List.copyOf(members);
  }

  /** The members that own keys (ALIVE or SUSPECT), by id: what the ring is built from. */
  public List<Member> ringMembers() {
    return members.stream().filter(MemberStatus::owns).map(MemberStatus::member).toList();
  }

  /** The members ALIVE or SUSPECT that are still joining: they learn slots, own none yet. */
  public List<Member> learners() {
    return members.stream().filter(s -> s.state().ownsKeys() && s.joining()).map(MemberStatus::member).toList();
  }

  /** The owning members that are departing (handing their copies over before they leave). */
  public List<Member> departing() {
    return members.stream().filter(s -> s.owns() && s.departing()).map(MemberStatus::member).toList();
  }

  public Optional<MemberStatus> status(String memberId) {
    return members.stream().filter(s -> s.id().equals(memberId)).findFirst();
  }

  /** The state of the member with this id, or empty when unknown. */
  public Optional<MemberState> state(String memberId) {
    return status(memberId).map(MemberStatus::state);
  }
}
