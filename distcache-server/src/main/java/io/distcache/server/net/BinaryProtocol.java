package io.distcache.server.net;

import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.cluster.Router;
import io.netty.channel.ChannelPipeline;

/** Installs the binary protocol: frame decoder, frame encoder, then the request handler. */
public final class BinaryProtocol implements ProtocolInstaller {
  private static final FrameEncoder ENCODER = new FrameEncoder();

  private final Router router;
  private final int maxFrameBytes;

  /**
   * @param router serves every decoded request
   * @param maxFrameBytes larger frames are answered TOO_LARGE and the connection closed
   */
  public BinaryProtocol(Router router, int maxFrameBytes) {
    if (router == null) {
      throw new IllegalArgumentException("router is required");
    }
    if (maxFrameBytes < ProtocolConstants.HEADER_BYTES) {
      throw new IllegalArgumentException(
          "maxFrameBytes " + maxFrameBytes + " is below the header size " + ProtocolConstants.HEADER_BYTES);
    }
    this.router = router;
    this.maxFrameBytes = maxFrameBytes;
  }

  @Override
  public void install(ChannelPipeline pipeline) {
    pipeline.addLast("frameDecoder", new FrameDecoder(maxFrameBytes));
    pipeline.addLast("frameEncoder", ENCODER);
    pipeline.addLast("binaryHandler", new BinaryRequestHandler(router));
  }
}
