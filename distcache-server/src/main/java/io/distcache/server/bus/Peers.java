package io.distcache.server.bus;

import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * How a node reaches the other members: one request frame out, its reply frame back. Membership
 * messages and forwarded requests both go through here and nowhere else, so the cluster bus (its
 * connections, handshake and limits) is one implementation of this interface.
 */
public interface Peers extends AutoCloseable {

  /**
   * Sends {@code request} to the member at {@code to}. The future completes with the reply (any
   * status) or exceptionally when the peer cannot be reached, the connection is lost or no reply
   * comes within the request timeout. Never blocks.
   */
  CompletableFuture<Frame> send(Address to, Frame request);

  /**
   * Closes connections to every address not in {@code keep} (the admitted members and the seeds).
   * The bus also refuses to dial any other address from then on, so no message can make the node
   * connect where it names.
   */
  void retainOnly(Set<Address> keep);

  /** Closes every connection; later sends fail. */
  @Override
  void close();
}
