package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
/**
 * How the membership engine reaches other nodes. Best effort: a message may be lost, delayed or
 * reordered, and the protocol is built to live with that. When the receiving engine answers (its
 * {@link MembershipEngine#onMessage} returns a reply), the transport hands the reply to the sending
 * engine's {@code onMessage}; the binary protocol carries the message in a CLUSTER_GOSSIP request
 * and the reply in its response.
 *
 * <p>Must not block and must not call back into the engine before returning: the engine calls it
 * with its lock held.
 */
@FunctionalInterface
public interface GossipTransport {

  void send(Address to, GossipMessage message);
}
