package io.distcache.client;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/*
 * Design: one immutable snapshot of what a node said about the cluster, with the placement (slot
 * to owner) built from it exactly as the nodes build theirs (the same owning members and virtual
 * nodes, Placement.of), so that owner(key) here is the nodes' owner(key). Readers take it from a
 * volatile field without locks.
 *
 * The placement is the expensive part (16,384 ring lookups), so an update whose owning members
 * and virtual nodes are unchanged keeps it (moved to the new epoch when that differs) and only
 * replaces the member list (states, incarnations): a periodic refresh of a quiet cluster builds
 * nothing.
 *
 * Over TLS the client asks for the members' TLS ports too (MemberList.tlsPorts): members keep
 * their node addresses (the placement and its fingerprint are built from those, as on the nodes),
 * and owner(key) and ownerAddresses() give the TLS address to dial; a NOT_OWNER naming a TLS
 * address is a member's (isMemberAddress). A member whose TLS port the node did not know (it had
 * not shaken hands with it yet, or the member has no --tls-port) is never dialled at its node
 * port: owner(key) is null for its keys (they go to any node, which forwards them), it is not in
 * ownerAddresses(), and everyOwnerAddress(), which a scan needs whole, refuses until it is known.
 *
 * A reply without an epoch (a node older than slots) still gives a placement, at epoch 0, flagged
 * epochKnown = false so that ClusterRouting never compares it with one that has an epoch.
 */

/** The cluster as one node reported it: every member, and the placement of those that own keys. */
final class Topology {
  private final MemberList list;
  private final Placement placement;
  private final Map<String, ClusterMember> byId;
  private final Set<Address> addresses;
  /** Over TLS: where to dial each member that has a TLS port (its id to host:tls port); else empty. */
  private final Map<String, Address> tlsById;

  private Topology(MemberList list, Placement placement) {
    this.list = list;
    this.placement = placement;
    Map<String, ClusterMember> ids = new HashMap<>();
    Set<Address> all = new HashSet<>();
    Map<String, Address> tls = new HashMap<>();
    for (ClusterMember m : list.members()) {
      ids.put(m.id(), m);
      all.add(new Address(m.host(), m.port()));
      Integer tlsPort = list.tlsPorts().get(m.id());
      if (tlsPort != null) {
        Address a = new Address(m.host(), tlsPort);
        tls.put(m.id(), a);
        all.add(a);
      }
    }
    this.byId = Map.copyOf(ids);
    this.addresses = Set.copyOf(all);
    this.tlsById = Map.copyOf(tls);
  }

  /**
   * Where this client reaches {@code m}: over TLS (the client asked for the ports) its TLS address,
   * null when the node did not know it; its node address otherwise.
   */
  private Address dial(Member m) {
    return list.overTls() ? tlsById.get(m.id()) : m.address();
  }

  static Topology of(MemberList list) {
    return new Topology(list, Placement.of(list.epochKnown() ? list.epoch() : 0, list.owners(), list.learners(),
        list.departing(), list.virtualNodes(), list.replicas()));
  }

  /**
   * {@code next} as a topology, reusing this one's placement when the owners did not change.
   *
   * @throws IllegalArgumentException when the reply's epoch is negative (the codec refuses those)
   */
  Topology update(MemberList next) {
    if (next.virtualNodes() == list.virtualNodes() && next.owners().equals(list.owners())
        && next.learners().equals(list.learners()) && next.departing().equals(list.departing())) {
      long epoch = next.epochKnown() ? next.epoch() : 0;
      return new Topology(next, epoch == placement.epoch() ? placement : placement.withEpoch(epoch));
    }
    return of(next);
  }

  /** True when both have the same owning members and virtual nodes (so the same owner for every slot). */
  boolean sameOwners(Topology other) {
    return other != null && other.placement.fingerprint() == placement.fingerprint()
        && other.placement.members().equals(placement.members());
  }

  /** False when the node that sent it is older than slots and named no epoch. */
  boolean epochKnown() {
    return list.epochKnown();
  }

  /** The placement epoch (0 when unknown). */
  long epoch() {
    return placement.epoch();
  }

  List<ClusterMember> members() {
    return list.members();
  }

  /** True when some member of the list (in any state) has this id. */
  boolean knows(String id) {
    return byId.containsKey(id);
  }

  /** True when some member of the list (in any state) advertises this address (node or TLS). */
  boolean isMemberAddress(Address address) {
    return addresses.contains(address);
  }

  Placement placement() {
    return placement;
  }

  /**
   * The owner's address (its TLS address over TLS), or null when no member owns keys or (over TLS)
   * the owner's TLS port is not known.
   */
  Address owner(byte[] key) {
    return placement.isEmpty() ? null : dial(placement.ownerOf(key));
  }

  /** The member that owns the key, or null when no member owns keys. */
  ClusterMember ownerMember(byte[] key) {
    return placement.isEmpty() ? null : byId.get(placement.ownerOf(key).id());
  }

  /**
   * Addresses of the members that own keys, in member id order; over TLS only those whose TLS port
   * is known.
   */
  List<Address> ownerAddresses() {
    List<Address> out = new ArrayList<>(placement.size());
    for (Member m : placement.members()) {
      Address a = dial(m);
      if (a != null) {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * Addresses of every member that owns keys, in member id order (the order a cluster scan walks
   * them).
   *
   * @throws DistCacheUnavailableException (not applied, so retried) when, over TLS, a member's TLS
   *     port is not known: a scan without it would miss its keys
   */
  List<Address> everyOwnerAddress() {
    List<Address> out = new ArrayList<>(placement.size());
    for (Member m : placement.members()) {
      Address a = dial(m);
      if (a == null) {
        throw new DistCacheUnavailableException(io.distcache.protocol.Status.BUSY, "member " + m
            + " cannot be reached over TLS: the node did not know its TLS port yet", null, true);
      }
      out.add(a);
    }
    return out;
  }

  @Override
  public String toString() {
    return "Topology{" + placement + (list.epochKnown() ? "" : " (epoch unknown)") + ", members=" + list.members() + "}";
  }
}
