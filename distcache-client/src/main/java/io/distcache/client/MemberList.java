package io.distcache.client;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A decoded CLUSTER_MEMBERS reply: the node's placement epoch and fingerprint, its virtual nodes
 * per member, and every member it knows with its state.
 *
 * @param epoch the node's placement epoch; meaningless when {@code epochKnown} is false
 * @param virtualNodes virtual nodes per member on the node's ring
 * @param epochKnown false for a reply with two extras (a node older than slots), which names a
 *     per-node ring version instead of a comparable epoch, and no fingerprint
 * @param fingerprint the node's {@code Placement.fingerprint()}; meaningless when {@code epochKnown} is false
 * @param members every member the node knows
 * @param replicas replicas per slot in the node's placement (the fourth extra; 0 when absent), part
 *     of its fingerprint
 * @param tlsPorts each member's TLS port by id, when the client asked (it connects over TLS) and
 *     the node knows it; members keep their node addresses, which the fingerprint covers
 * @param overTls the reply carried the TLS port section (the client asked: it connects over TLS);
 *     a member missing from {@code tlsPorts} is then one the client cannot dial
 */
record MemberList(long epoch, int virtualNodes, boolean epochKnown, long fingerprint, List<ClusterMember> members,
    int replicas, java.util.Map<String, Integer> tlsPorts, boolean overTls) {

  MemberList {
    members = List.copyOf(members);
    tlsPorts = java.util.Map.copyOf(tlsPorts);
  }

  /** Without TLS ports (a reply to a client that did not ask for them). */
  MemberList(long epoch, int virtualNodes, boolean epochKnown, long fingerprint, List<ClusterMember> members,
      int replicas) {
    this(epoch, virtualNodes, epochKnown, fingerprint, members, replicas, java.util.Map.of(), false);
  }

  /** The same list with each member's TLS port by id (known ones only), as a TLS client's. */
  MemberList withTlsPorts(java.util.Map<String, Integer> ports) {
    return new MemberList(epoch, virtualNodes, epochKnown, fingerprint, members, replicas, ports, true);
  }

  MemberList(long epoch, int virtualNodes, boolean epochKnown, long fingerprint, List<ClusterMember> members) {
    this(epoch, virtualNodes, epochKnown, fingerprint, members, 0);
  }

  /** A reply without an epoch or a fingerprint, as older nodes send. */
  static MemberList withoutEpoch(long version, int virtualNodes, List<ClusterMember> members) {
    return new MemberList(version, virtualNodes, false, 0, members);
  }

  /** The members that own keys (ALIVE or SUSPECT), as ring members. */
  Set<Member> owners() {
    return where(ClusterMember::ownsKeys);
  }

  /** The members joining: in the placement as learners, owning nothing yet. */
  Set<Member> learners() {
    return where(m -> m.state().ownsKeys() && m.joining());
  }

  /** The owning members that are departing: their slots have extra replicas in the placement. */
  Set<Member> departing() {
    return where(m -> m.ownsKeys() && m.departing());
  }

  private Set<Member> where(java.util.function.Predicate<ClusterMember> test) {
    Set<Member> out = new HashSet<>();
    for (ClusterMember m : members) {
      if (test.test(m)) {
        out.add(new Member(m.id(), new Address(m.host(), m.port())));
      }
    }
    return out;
  }

  /** True when a member with this id is in the list, in any state. */
  boolean knows(String id) {
    for (ClusterMember m : members) {
      if (m.id().equals(id)) {
        return true;
      }
    }
    return false;
  }
}
