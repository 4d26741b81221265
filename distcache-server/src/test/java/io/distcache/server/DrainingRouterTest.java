package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DrainingRouterTest {
  private static final Frame GET = Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)).withRequestId(3);

  @Test
  void route_localReply_notCountedInFlight() {
    DrainingRouter router = new DrainingRouter(r -> CompletableFuture.completedFuture(r.replyOk()));

    assertThat(router.route(GET).join().status()).isEqualTo(Status.OK);
    assertThat(router.inFlight()).isZero();
    assertThat(router.drain(0)).isZero();
  }

  @Test
  void drain_forwardedRequestPending_waitsUntilItCompletes() {
    CompletableFuture<Frame> pending = new CompletableFuture<>();
    DrainingRouter router = new DrainingRouter(r -> pending);
    router.route(GET);
    assertThat(router.inFlight()).isEqualTo(1);

    CompletableFuture<Integer> drained = CompletableFuture.supplyAsync(() -> router.drain(10_000));
    await().atMost(Duration.ofSeconds(5)).until(() -> router.route(GET).join().status() == Status.BUSY);
    assertThat(drained).isNotDone();
    pending.complete(GET.replyOk());

    assertThat(drained).succeedsWithin(Duration.ofSeconds(5)).isEqualTo(0);
  }

  @Test
  void drain_requestNeverCompletes_givesUpAfterTimeoutAndReportsIt() {
    DrainingRouter router = new DrainingRouter(r -> new CompletableFuture<>());
    router.route(GET);

    assertThat(router.drain(50)).isEqualTo(1);
  }

  @Test
  void route_afterDrainStarted_answersBusyWithoutRouting() {
    AtomicInteger routed = new AtomicInteger();
    DrainingRouter router =
        new DrainingRouter(
            r -> {
              routed.incrementAndGet();
              return CompletableFuture.completedFuture(r.replyOk());
            });
    router.drain(0);

    Frame reply = router.route(GET).join();

    assertThat(reply.status()).isEqualTo(Status.BUSY);
    assertThat(reply.requestId()).isEqualTo(3);
    assertThat(reply.valueText()).isEqualTo("node is shutting down");
    assertThat(routed).hasValue(0);
  }
}
