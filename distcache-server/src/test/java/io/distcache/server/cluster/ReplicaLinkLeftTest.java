package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node that is no longer in its own placement (it left) sends no REPLICATE batch: its owner
 * index would be -1, which every replica answered BAD_REQUEST, resent with a WARN after each
 * graceful leave (two testers).
 */
class ReplicaLinkLeftTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor();
  private final List<Frame> sent = new CopyOnWriteArrayList<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() == Opcode.REPLICATE) {
      sent.add(request);
    }
    return CompletableFuture.completedFuture(request.replyOk(0));
  });
  private final AtomicReference<Placement> placement = new AtomicReference<>(Placement.of(1, List.of(A, B, C), 64, 1));
  private final ReplicaLink link = new ReplicaLink(B, () -> A, placement::get, peers, sender);

  @AfterEach
  void close() {
    link.close();
    sender.shutdownNow();
  }

  @Test
  void aMemberSendsWithItsIndex_oneThatLeftSendsNothing() {
    link.append(new EffectCodec.Effect("k1".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8), 0, 1));
    await().atMost(Duration.ofSeconds(10)).until(() -> sent.size() == 1);
    assertThat(sent.get(0).extras()[3]).isEqualTo(placement.get().members().indexOf(A));

    placement.set(Placement.of(2, List.of(B, C), 64, 1)); // A left
    link.append(new EffectCodec.Effect("k2".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8), 0, 2));
    // The sender thread runs the drain; a marker task queued behind it tells when it has run.
    CompletableFuture<Void> drained = new CompletableFuture<>();
    sender.execute(() -> drained.complete(null));
    drained.join();
    assertThat(sent).hasSize(1);
  }
}
