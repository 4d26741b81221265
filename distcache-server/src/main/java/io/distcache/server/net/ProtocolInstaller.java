package io.distcache.server.net;

import io.netty.channel.ChannelPipeline;

/**
 * Puts one protocol's handlers on a connection's pipeline, once its first byte has told which
 * protocol the client speaks. The handlers are added last; the bytes already read (including the
 * first) are passed to them right after this returns.
 */
@FunctionalInterface
public interface ProtocolInstaller {

  void install(ChannelPipeline pipeline);

  /**
   * For a connection over --max-connections whose first frame is a peer handshake (PEER_HELLO):
   * installs handlers that accept only that handshake. Returns false when this protocol has no
   * peers (the connection is then refused as any other).
   */
  default boolean installPeerOnly(ChannelPipeline pipeline, String rejection) {
    return false;
  }
}
