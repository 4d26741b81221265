package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DrainingRouterTest {
  private static final Frame GET = Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)).withRequestId(3);

  @Test
  void route_localReply_notCountedInFlight() {
    DrainingRouter router = new DrainingRouter(r -> CompletableFuture.completedFuture(r.replyOk()));

    assertThat(router.route(GET).join().status()).isEqualTo(Status.OK);
    assertThat(router.inFlight()).isZero();
    assertThat(router.drain(0, 0)).isZero();
  }

  @Test
  void drain_forwardedRequestPending_waitsUntilItCompletes_andKeepsRoutingNewRequests() {
    CompletableFuture<Frame> pending = new CompletableFuture<>();
    AtomicInteger routed = new AtomicInteger();
    DrainingRouter router = new DrainingRouter(r -> {
      routed.incrementAndGet();
      return r.requestId() == 3 ? pending : CompletableFuture.completedFuture(r.replyOk());
    });
    router.route(GET);
    assertThat(router.inFlight()).isEqualTo(1);

    CompletableFuture<Integer> drained = CompletableFuture.supplyAsync(() -> router.drain(10_000, 0));
    // A request arriving while the node drains is routed (by then to the new owner), not refused.
    Frame later = Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)).withRequestId(4);
    assertThat(router.route(later).join().status()).isEqualTo(Status.OK);
    assertThat(routed).hasValue(2);
    assertThat(drained).isNotDone();
    pending.complete(GET.replyOk());

    assertThat(drained).succeedsWithin(Duration.ofSeconds(5)).isEqualTo(0);
  }

  @Test
  void drain_aRequestHeldBackBehindAHeldWrite_countsUntilItIsRouted() {
    DrainingRouter router = new DrainingRouter(r -> CompletableFuture.completedFuture(r.replyOk()));
    Runnable routedLater = router.deferred();
    assertThat(router.inFlight()).isEqualTo(1);
    assertThat(router.drain(20, 0)).as("not drained while it waits to be routed").isEqualTo(1);

    routedLater.run();
    routedLater.run(); // counted once, whatever path runs it

    assertThat(router.inFlight()).isZero();
    assertThat(router.drain(0, 0)).isZero();
  }

  @Test
  void drain_requestNeverCompletes_givesUpAfterTimeoutAndReportsIt() {
    DrainingRouter router = new DrainingRouter(r -> new CompletableFuture<>());
    router.route(GET);

    assertThat(router.drain(50, 0)).isEqualTo(1);
  }

  @Test
  void drain_withQuietPeriod_endsOnlyOncePeersForwardedNothingForThatLong() {
    DrainingRouter router = new DrainingRouter(r -> CompletableFuture.completedFuture(r.replyOk()));
    Frame forwarded = GET.withFlags(io.distcache.protocol.Flags.FORWARDED);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger sent = new AtomicInteger();
    // A peer that keeps forwarding: the drain must outlast the quiet period while it does.
    CompletableFuture<Integer> drained = CompletableFuture.supplyAsync(() -> router.drain(60_000, 300));
    Thread peer = new Thread(() -> {
      while (!stop.get()) {
        router.route(forwarded).join();
        sent.incrementAndGet();
        java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(20));
      }
    });
    peer.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> sent.get() >= 50); // about 1 s of traffic
    assertThat(drained).as("a peer forwarded within the quiet period").isNotDone();
    stop.set(true);

    assertThat(drained).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(0);
  }

  @Test
  void drain_plainRequestsOnly_doNotExtendTheQuietPeriod() {
    DrainingRouter router = new DrainingRouter(r -> CompletableFuture.completedFuture(r.replyOk()));
    CompletableFuture<Integer> drained = CompletableFuture.supplyAsync(() -> router.drain(60_000, 100));
    AtomicInteger answered = new AtomicInteger();
    // A client of this very node keeps sending: it is served, and the drain still ends.
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      if (router.route(GET).join().status() == Status.OK) {
        answered.incrementAndGet();
      }
      return drained.isDone();
    });

    assertThat(drained.join()).isZero();
    assertThat(answered.get()).isPositive();
  }
}
