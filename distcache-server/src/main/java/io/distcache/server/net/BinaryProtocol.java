package io.distcache.server.net;

import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.cluster.Router;
import io.netty.channel.ChannelPipeline;

/** Installs the binary protocol: frame decoder, frame encoder, then the request handler. */
public final class BinaryProtocol implements ProtocolInstaller {
  private static final FrameEncoder ENCODER = new FrameEncoder();

  private final Router router;
  private final int maxFrameBytes;
  /** Null: no peer handshake on this server (PEER_HELLO is refused as any client frame). */
  private final PeerAccess peers;
  private final LogLimiter misuseLog = new LogLimiter();
  /** Null: no authentication on this server. */
  private io.distcache.server.security.Users users;
  private boolean protectedMode;
  /** Null: clients on TLS are told node ports. */
  private io.distcache.server.cluster.TlsEndpoints tlsEndpoints;

  /**
   * @param router serves every decoded request
   * @param maxFrameBytes larger frames are answered TOO_LARGE and the connection closed
   */
  public BinaryProtocol(Router router, int maxFrameBytes) {
    this(router, maxFrameBytes, null);
  }

  /**
   * @param router serves every decoded request
   * @param maxFrameBytes larger frames are answered TOO_LARGE and the connection closed
   * @param peers how peer handshakes are accepted; null for a server without a cluster bus
   */
  public BinaryProtocol(Router router, int maxFrameBytes, PeerAccess peers) {
    if (router == null) {
      throw new IllegalArgumentException("router is required");
    }
    if (maxFrameBytes < ProtocolConstants.HEADER_BYTES) {
      throw new IllegalArgumentException(
          "maxFrameBytes " + maxFrameBytes + " is below the header size " + ProtocolConstants.HEADER_BYTES);
    }
    this.router = router;
    this.maxFrameBytes = maxFrameBytes;
    this.peers = peers;
  }

  /**
   * Client connections authenticate (Opcode.AUTH) and are checked against {@code users}, with the
   * Redis protocol's rules; {@code protectedMode}: refuse remote clients while default has no password.
   */
  public BinaryProtocol withUsers(io.distcache.server.security.Users users, boolean protectedMode) {
    this.users = users;
    this.protectedMode = protectedMode;
    return this;
  }

  /** Clients connected over TLS are told members' TLS addresses (NOT_OWNER, CLUSTER_MEMBERS on request). */
  public BinaryProtocol withTlsEndpoints(io.distcache.server.cluster.TlsEndpoints endpoints) {
    this.tlsEndpoints = endpoints;
    return this;
  }

  private io.distcache.server.tracking.TrackingTable trackingTable;
  private io.distcache.server.tracking.ClusterTracking clusterTracking;

  /** Client connections may turn invalidation tracking on (Opcode.TRACKING) against {@code table}. */
  public BinaryProtocol withTracking(io.distcache.server.tracking.TrackingTable table,
      io.distcache.server.tracking.ClusterTracking cluster) {
    this.trackingTable = table;
    this.clusterTracking = cluster;
    return this;
  }

  /** Null: the node runs no scripts. */
  private io.distcache.server.cluster.ScriptHost scripts;

  /** Requests that would wait for a script holding the node wait off the event loops (BinaryRequestHandler). */
  public BinaryProtocol withScripts(io.distcache.server.cluster.ScriptHost scripts) {
    this.scripts = scripts;
    return this;
  }

  @Override
  public void install(ChannelPipeline pipeline) {
    pipeline.addLast("frameDecoder", new MeteredFrameDecoder(maxFrameBytes));
    pipeline.addLast("frameEncoder", ENCODER);
    if (peers != null) {
      pipeline.addLast("peerGate", new PeerGate(peers, false, null));
    }
    pipeline.addLast("binaryHandler", new BinaryRequestHandler(router, BinaryRequestHandler.MAX_IN_FLIGHT, misuseLog)
        .withUsers(users, protectedMode).withTlsEndpoints(tlsEndpoints).withTracking(trackingTable, clusterTracking)
        .withScripts(scripts));
  }

  @Override
  public boolean installPeerOnly(ChannelPipeline pipeline, String rejection) {
    if (peers == null) {
      return false;
    }
    pipeline.addLast("frameDecoder", new MeteredFrameDecoder(maxFrameBytes));
    pipeline.addLast("frameEncoder", ENCODER);
    pipeline.addLast("peerGate", new PeerGate(peers, true, rejection));
    pipeline.addLast("binaryHandler", new BinaryRequestHandler(router, BinaryRequestHandler.MAX_IN_FLIGHT, misuseLog)
        .withScripts(scripts));
    return true;
  }
}
