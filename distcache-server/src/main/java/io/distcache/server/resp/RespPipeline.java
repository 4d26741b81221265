package io.distcache.server.resp;

import io.netty.channel.ChannelPipeline;

/**
 * Installs the Redis protocol on a connection: the decoder, then the session that executes
 * commands and writes replies. The node's protocol detector calls {@link #install} when the first
 * byte of a connection is not the binary protocol's magic byte, and then re-fires that first buffer.
 */
public final class RespPipeline {
  /** Handler names, for whoever needs to find or replace them. */
  public static final String DECODER = "resp-decoder";
  public static final String SESSION = "resp-session";

  private RespPipeline() {}

  /** Adds the Redis handlers at the end of {@code pipeline}. */
  public static void install(ChannelPipeline pipeline, RespContext context) {
    pipeline.addLast(DECODER, new RespDecoder(context.limits()));
    pipeline.addLast(SESSION, new RespSession(context, context.commands()));
  }
}
