package io.distcache.client;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/*
 * Design: one immutable snapshot of what a node said about the cluster, with the placement (slot
 * to owner) built from it exactly as the nodes build theirs (same members and virtual nodes), so
 * that owner(key) here is the nodes' owner(key). Readers take it from a volatile field without locks.
 *
 * Two lists describe "the same cluster" when their key-owning members (id and address) and
 * virtual nodes are equal; then the ring is kept and only the member list (states, incarnations)
 * is replaced, so a periodic refresh of an unchanged cluster builds no placement.
 */

/** The cluster as one node reported it: every member, and the ring of those that own keys. */
final class Topology {
  private final MemberList list;
  private final Set<Member> owners;
  private final Placement ring;
  private final Map<String, ClusterMember> byId;

  private Topology(MemberList list, Set<Member> owners, Placement ring) {
    this.list = list;
    this.owners = owners;
    this.ring = ring;
    Map<String, ClusterMember> ids = new HashMap<>();
    for (ClusterMember m : list.members()) {
      ids.put(m.id(), m);
    }
    this.byId = Map.copyOf(ids);
  }

  static Topology of(MemberList list) {
    Set<Member> owners = Set.copyOf(list.owners());
    return new Topology(list, owners, Placement.of(list.version(), owners, list.virtualNodes()));
  }

  /** {@code next} as a topology, reusing this one's ring when the owners did not change. */
  Topology update(MemberList next) {
    Set<Member> nextOwners = next.owners();
    if (nextOwners.equals(owners) && next.virtualNodes() == list.virtualNodes()) {
      return new Topology(next, owners, ring);
    }
    return of(next);
  }

  /** True when both have the same key-owning members and virtual nodes (so the same owners). */
  boolean sameRing(Topology other) {
    return other != null && other.ring == ring;
  }

  List<ClusterMember> members() {
    return list.members();
  }

  Placement ring() {
    return ring;
  }

  /** The owner's address, or null when no member owns keys. */
  Address owner(byte[] key) {
    return ring.isEmpty() ? null : ring.ownerOf(key).address();
  }

  /** The member that owns the key, or null when no member owns keys. */
  ClusterMember ownerMember(byte[] key) {
    return ring.isEmpty() ? null : byId.get(ring.ownerOf(key).id());
  }

  /** Addresses of the members that own keys. */
  List<Address> ownerAddresses() {
    List<Address> out = new ArrayList<>(owners.size());
    for (Member m : ring.members()) {
      out.add(m.address());
    }
    return out;
  }

  @Override
  public String toString() {
    return "Topology{version=" + list.version() + ", members=" + list.members() + "}";
  }
}
