package io.distcache.client;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A decoded CLUSTER_MEMBERS reply: the node's ring version, its virtual nodes per member, and
 * every member it knows with its state.
 */
record MemberList(long version, int virtualNodes, List<ClusterMember> members) {

  MemberList {
    members = List.copyOf(members);
  }

  /** The members that own keys (ALIVE or SUSPECT), as ring members. */
  Set<Member> owners() {
    Set<Member> owners = new HashSet<>();
    for (ClusterMember m : members) {
      if (m.state().ownsKeys()) {
        owners.add(new Member(m.id(), new Address(m.host(), m.port())));
      }
    }
    return owners;
  }
}
