package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.GossipMessage;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A membership message that changes the placement is handled on the membership loop, not on the
 * event loop that read it. Installing a placement walks every slot once per listener; on the event
 * loop, with one loop per node (a 2-core machine), every request of every connection waited for it:
 * 100-250 ms per change and node during a join under load (docs/BENCHMARKS.md, nineteenth
 * session). Here a listener holds the install until the test lets it go, on a node with one
 * event loop: a client's PING must be answered meanwhile, and the peer's message once it is done.
 */
class GossipOffEventLoopTest {
  private static final Duration DEADLINE = ClusterTest.DEADLINE;

  private DistCacheNode node;
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void tearDown() {
    release.countDown();
    if (node != null) {
      node.close();
    }
  }

  @Test
  void placementChangedByAPeersMessage_installBlocked_requestsOnTheOneEventLoopAreStillAnswered() throws Exception {
    node = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.PATIENT) // the invented member below is never declared dead meanwhile
        .ioThreads(1)
        .start();
    AtomicReference<String> installedOn = new AtomicReference<>();
    node.membership().placements().addListener((before, after) -> {
      if (after.size() > 1) {
        installedOn.set(Thread.currentThread().getName());
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    // A member nothing listens for (its port is 1): admitted ALIVE, so the node's placement gains an owner.
    Member other = new Member(String.format("%040x", 0xFA4E001L), new Address("127.0.0.1", 1));
    byte[] hello = GossipCodec.encode(new GossipMessage.Gossip(other,
        List.of(new MemberStatus(other, MemberState.ALIVE, 0))));

    try (PeerSession peer = PeerSession.open(node.port());
        FrameClient client = FrameClient.builder().requestTimeout(DEADLINE.multipliedBy(2)).build()) {
      assertThat(peer.handshake(null).status()).isEqualTo(Status.OK);
      peer.raw().send(Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, hello).withRequestId(1));
      await().atMost(DEADLINE).until(() -> installedOn.get() != null);

      CompletableFuture<Frame> pong = client.send(new Address("127.0.0.1", node.port()),
          Frame.request(Opcode.PING, null));

      await().atMost(DEADLINE).until(pong::isDone);
      assertThat(pong.join().status()).isEqualTo(Status.OK);
      assertThat(installedOn.get()).startsWith("distcache-membership");
      release.countDown();
      Frame answer = peer.raw().read();
      assertThat(answer.status()).isEqualTo(Status.OK);
      assertThat(answer.extras()[1]).as("the reply carries the installed placement")
          .isEqualTo(node.membership().placement().fingerprint());
    }
  }
}
