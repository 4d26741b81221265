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
}
