package io.distcache.server.cluster;

import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.membership.MembershipSnapshot;
import java.util.Optional;

/**
 * What the Redis protocol's CLUSTER and INFO commands report about the cluster, as this node sees
 * it. Every method is non-blocking and safe from any thread.
 */
public interface ClusterView {

  /** The member list, or empty before membership has started. */
  Optional<MembershipSnapshot> snapshot();

  /** The current placement (slot to owner, epoch); empty before membership has started. */
  Placement placement();

  /** This node's member, or null before membership has started. */
  Member self();

  /** The member that owns {@code key}: this node when the placement is empty or has only us. */
  Member owner(byte[] key);

  /** Requests this node forwarded to an owner since it started. */
  long forwardedRequests();

  /**
   * Clients' requests whose owner could not be connected to, since start: held for the slot's next
   * owner, then routed there, and answered BUSY at the end of the forward timeout (UnsentForwards).
   */
  default long[] unsentForwards() {
    return new long[3];
  }

  /** READONLY reads this node answered from its replica copies since it started. */
  default long replicaReads() {
    return 0;
  }

  /**
   * False while this node may not serve any slot because it has not heard from a peer within its
   * lease (it is cut off, or was stalled): CLUSTER INFO then says cluster_state:fail.
   */
  default boolean leaseHeld() {
    return true;
  }

  /**
   * Keys of the slots this node owns (DBSIZE on a cluster connection): its store also holds its
   * replica copies of other owners' slots, which INFO keyspace counts too. -1 when not known.
   */
  default long ownedKeys() {
    return -1;
  }

  /** INFO replication's lines (CRLF-terminated), starting with role and connected_slaves. */
  default String replicationInfo() {
    return "role:master\r\nconnected_slaves:0\r\n";
  }

  /** Membership messages this node sent to peers since it started. */
  default long messagesSent() {
    return 0;
  }

  /** Membership messages this node received from peers (requests and replies) since it started. */
  default long messagesReceived() {
    return 0;
  }
}
