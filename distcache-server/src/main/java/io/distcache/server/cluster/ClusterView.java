package io.distcache.server.cluster;

import io.distcache.protocol.cluster.HashRing;
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

  /** The current ring; empty before membership has started. */
  HashRing ring();

  /** The member that owns {@code key}: this node when the ring is empty or has only us. */
  Member owner(byte[] key);

  /** Requests this node forwarded to an owner since it started. */
  long forwardedRequests();
}
