package io.distcache.server.bus;

import io.distcache.client.FrameClient;
import io.distcache.protocol.Frame;
import io.distcache.protocol.cluster.Address;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** {@link Peers} over the client SDK's pooled, multiplexed {@link FrameClient}. */
public final class FrameClientPeers implements Peers {
  private final FrameClient client;

  public FrameClientPeers(FrameClient client) {
    this.client = client;
  }

  @Override
  public CompletableFuture<Frame> send(Address to, Frame request) {
    return client.send(to, request);
  }

  @Override
  public void retainOnly(Set<Address> keep) {
    client.retainOnly(keep);
  }

  @Override
  public void close() {
    client.close();
  }
}
