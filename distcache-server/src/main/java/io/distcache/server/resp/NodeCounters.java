package io.distcache.server.resp;

/** The node's network counters, for INFO (the network layer keeps them; the Redis layer only reads them). */
public interface NodeCounters {
  /** Bytes read from every connection since start. */
  long netInputBytes();

  /** Bytes written to every connection since start. */
  long netOutputBytes();

  /** Connections refused at the connection limit since start. */
  long rejectedConnections();

  /** The connection limit (maxclients). */
  long maxClients();

  /** Cluster bus connections open now, this node's links to its peers and theirs to it (cluster_connections). */
  default long clusterConnections() {
    return 0;
  }

  /** Counters that stay 0, for a context without a network (tests of the command layer). */
  NodeCounters NONE = new NodeCounters() {
    @Override
    public long netInputBytes() {
      return 0;
    }

    @Override
    public long netOutputBytes() {
      return 0;
    }

    @Override
    public long rejectedConnections() {
      return 0;
    }

    @Override
    public long maxClients() {
      return 0;
    }
  };
}
