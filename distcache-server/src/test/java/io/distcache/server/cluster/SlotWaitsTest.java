package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SlotWaitsTest {
  private volatile boolean servable;
  private volatile boolean ours = true;
  private final List<String> executed = new CopyOnWriteArrayList<>();
  private SlotWaits waits;

  private SlotWaits waits(long waitMillis) {
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> {
      executed.add(new String(r.value(), StandardCharsets.UTF_8));
      return java.util.concurrent.CompletableFuture.completedFuture(r.replyOk());
    }, r -> r.replyError(Status.TRY_AGAIN, "moving"), waitMillis);
    return waits;
  }

  @AfterEach
  void close() {
    waits.close();
  }

  private static Frame set(String value) {
    return Frame.request(Opcode.SET, 0, "k".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void waiters_runInArrivalOrderOnceTheSlotIsServable_andNewcomersQueueBehindThem() {
    SlotWaits w = waits(10_000);
    CompletableFuture<Frame> first = w.enqueue(7, set("1"));
    assertThat(w.busy(7)).isTrue();
    assertThat(w.busy(8)).isFalse();
    CompletableFuture<Frame> second = w.enqueue(7, set("2"));

    servable = true;

    await().atMost(Duration.ofSeconds(5)).until(() -> first.isDone() && second.isDone());
    assertThat(first.join().status()).isEqualTo(Status.OK);
    assertThat(second.join().status()).isEqualTo(Status.OK);
    assertThat(executed).containsExactly("1", "2");
    await().atMost(Duration.ofSeconds(5)).until(() -> !w.busy(7));
  }

  @Test
  void aWaiterPastItsDeadline_isAnsweredTryAgainAndNeverRun() {
    SlotWaits w = waits(20);
    CompletableFuture<Frame> waiting = w.enqueue(7, set("late"));

    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);

    assertThat(waiting.join().status()).isEqualTo(Status.TRY_AGAIN);
    servable = true;
    assertThat(executed).isEmpty();
  }

  @Test
  void aPeersForward_expiresAtItsShorterDeadline_evenBehindAClientsRequest_whichGoesOnWaiting() {
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> {
      executed.add(new String(r.value(), StandardCharsets.UTF_8));
      return CompletableFuture.completedFuture(r.replyOk());
    }, r -> r.replyError(Status.TRY_AGAIN, "moving"), 20, 60_000);
    CompletableFuture<Frame> direct = waits.enqueue(7, set("client"));
    CompletableFuture<Frame> forwarded = waits.enqueue(7, set("peer").withFlags(io.distcache.protocol.Flags.FORWARDED));

    // Its sender gives up after its forward timeout: it must hear TRY_AGAIN (not applied) before that.
    await().atMost(Duration.ofSeconds(5)).until(forwarded::isDone);
    assertThat(forwarded.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(direct).isNotDone();

    servable = true;
    await().atMost(Duration.ofSeconds(5)).until(direct::isDone);
    assertThat(direct.join().status()).isEqualTo(Status.OK);
    assertThat(executed).containsExactly("client");
  }

  @Test
  void aSlotThisNodeLost_answersItsWaitersAtOnce() {
    SlotWaits w = waits(60_000);
    CompletableFuture<Frame> waiting = w.enqueue(7, set("x"));

    ours = false;

    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);
    assertThat(waiting.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(executed).isEmpty();
  }

  @Test
  void close_answersEveryWaiterTryAgain() {
    SlotWaits w = waits(60_000);
    CompletableFuture<Frame> waiting = w.enqueue(7, set("x"));

    w.close();

    assertThat(waiting.join().status()).isEqualTo(Status.TRY_AGAIN);
  }
  @Test
  void aWaiterNotAppliedYet_holdsTheOnesBehindIt_untilItCompletes() {
    HeldReply script = new HeldReply(); // a script on its lane: applied when it completes
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> {
      String v = new String(r.value(), StandardCharsets.UTF_8);
      executed.add(v);
      return v.equals("script") ? script : CompletableFuture.completedFuture(r.replyOk());
    }, r -> r.replyError(Status.TRY_AGAIN, "moving"), 60_000);
    CompletableFuture<Frame> first = waits.enqueue(7, set("script"));
    CompletableFuture<Frame> second = waits.enqueue(7, set("after"));
    assertThat(HeldReply.holds(first)).as("a waiter's reply holds its connection's next requests").isTrue();

    servable = true;
    await().atMost(Duration.ofSeconds(5)).until(() -> executed.contains("script"));
    // The drain stops behind the request that is not applied yet; the next one stays queued.
    assertThat(waits.busy(7)).isTrue();
    assertThat(executed).containsExactly("script");
    assertThat(second).isNotDone();

    script.complete(set("script").replyOk());
    await().atMost(Duration.ofSeconds(5)).until(second::isDone);
    assertThat(executed).containsExactly("script", "after");
    assertThat(first.join().status()).isEqualTo(Status.OK);
  }

  private volatile SlotWaits.Fate fate = SlotWaits.Fate.WAIT;
  private final List<String> passedOn = new CopyOnWriteArrayList<>();

  /** A SlotWaits whose waiters, once the slot is not ours, meet {@code fate}; passed-on ones answer OK. */
  private SlotWaits routed() {
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> {
      executed.add(new String(r.value(), StandardCharsets.UTF_8));
      return CompletableFuture.completedFuture(r.replyOk());
    }, r -> r.replyError(Status.TRY_AGAIN, "moving"), (slot, r, untilOwned, mark, waited) -> fate, r -> {
      passedOn.add(new String(r.value(), StandardCharsets.UTF_8));
      return CompletableFuture.completedFuture(r.replyOk());
    }, 60_000, 60_000);
    return waits;
  }

  @Test
  void aSlotThisNodeLost_whoseWaitersTheRouterPassesOn_sendsThemOnInOrder_noneRefused() {
    SlotWaits w = routed();
    fate = SlotWaits.Fate.PASS_ON;
    CompletableFuture<Frame> first = w.enqueue(7, set("1"));
    CompletableFuture<Frame> second = w.enqueue(7, set("2").withFlags(io.distcache.protocol.Flags.FORWARDED), true);
    CompletableFuture<Frame> third = w.enqueue(7, set("3"));

    ours = false; // a join's placement gave the slot to the member that learned it

    await().atMost(Duration.ofSeconds(5)).until(() -> first.isDone() && second.isDone() && third.isDone());
    assertThat(List.of(first.join(), second.join(), third.join())).allSatisfy(r -> assertThat(r.status()).isEqualTo(Status.OK));
    assertThat(passedOn).containsExactly("1", "2", "3");
    assertThat(executed).isEmpty();
    await().atMost(Duration.ofSeconds(5)).until(() -> !w.busy(7));
  }

  @Test
  void aWaiterTheRouterCannotPlaceYet_waitsOn_andIsPassedOnOnceItCan() {
    SlotWaits w = routed();
    fate = SlotWaits.Fate.WAIT; // the guard has not processed the placement that took the slot away
    CompletableFuture<Frame> waiting = w.enqueue(7, set("x").withFlags(io.distcache.protocol.Flags.FORWARDED));
    ours = false;

    // Refused at once before the router decided (the TRYAGAIN a client saw during a join).
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !waiting.isDone());
    assertThat(w.busy(7)).isTrue();

    fate = SlotWaits.Fate.PASS_ON; // the guard caught up: this node handed the slot over
    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);
    assertThat(waiting.join().status()).isEqualTo(Status.OK);
    assertThat(passedOn).containsExactly("x");
  }

  @Test
  void aWaiterPassedOn_neverOvertakesOneAheadOfItThatWaitsOn() {
    java.util.Map<String, SlotWaits.Fate> fates = new java.util.concurrent.ConcurrentHashMap<>();
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> CompletableFuture.completedFuture(r.replyOk()),
        r -> r.replyError(Status.TRY_AGAIN, "moving"),
        (slot, r, untilOwned, mark, waited) -> fates.getOrDefault(new String(r.value(), StandardCharsets.UTF_8), SlotWaits.Fate.PASS_ON),
        r -> {
          passedOn.add(new String(r.value(), StandardCharsets.UTF_8));
          return CompletableFuture.completedFuture(r.replyOk());
        }, 60_000, 60_000);
    fates.put("ahead", SlotWaits.Fate.WAIT);
    CompletableFuture<Frame> ahead = waits.enqueue(7, set("ahead"), true);
    CompletableFuture<Frame> behind = waits.enqueue(7, set("behind"));
    ours = false;

    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !behind.isDone());
    assertThat(passedOn).isEmpty();

    fates.put("ahead", SlotWaits.Fate.PASS_ON);
    await().atMost(Duration.ofSeconds(5)).until(() -> ahead.isDone() && behind.isDone());
    assertThat(passedOn).containsExactly("ahead", "behind");
  }

  @Test
  void aWaiterTheRouterRefuses_isAnsweredTryAgainAtOnce_andThoseBehindItMayGoOn() {
    SlotWaits w = routed();
    fate = SlotWaits.Fate.REFUSE;
    CompletableFuture<Frame> refused = w.enqueue(7, set("x").withFlags(io.distcache.protocol.Flags.FORWARDED));
    ours = false;

    await().atMost(Duration.ofSeconds(5)).until(refused::isDone);
    assertThat(refused.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(passedOn).isEmpty();
    assertThat(executed).isEmpty();
  }

  @Test
  void whileWaitersPassedOnAreBeingSent_theSlotStaysBusy_soANewcomerQueuesBehindThem() throws Exception {
    java.util.concurrent.CountDownLatch sending = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch letGo = new java.util.concurrent.CountDownLatch(1);
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> CompletableFuture.completedFuture(r.replyOk()),
        r -> r.replyError(Status.TRY_AGAIN, "moving"), (slot, r, untilOwned, mark, waited) -> SlotWaits.Fate.PASS_ON,
        r -> {
          sending.countDown();
          try {
            letGo.await(); // a send that takes a while (the peer bus's queue)
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          passedOn.add(new String(r.value(), StandardCharsets.UTF_8));
          return CompletableFuture.completedFuture(r.replyOk());
        }, 60_000, 60_000);
    CompletableFuture<Frame> first = waits.enqueue(7, set("1"), true);
    ours = false;
    assertThat(sending.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

    assertThat(waits.busy(7)).as("the queue is gone, but its requests are still on their way").isTrue();
    CompletableFuture<Frame> newcomer = waits.enqueue(7, set("2"), true);
    letGo.countDown();

    await().atMost(Duration.ofSeconds(5)).until(() -> first.isDone() && newcomer.isDone());
    assertThat(passedOn).containsExactly("1", "2");
    await().atMost(Duration.ofSeconds(5)).until(() -> !waits.busy(7));
  }

  @Test
  void theRoutersMark_andHowLongTheRequestWaited_reachItsDecision() {
    java.util.List<long[]> seen = new CopyOnWriteArrayList<>();
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> CompletableFuture.completedFuture(r.replyOk()),
        r -> r.replyError(Status.TRY_AGAIN, "moving"), (slot, r, untilOwned, mark, waited) -> {
          seen.add(new long[] {mark, waited});
          return waited >= java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100) ? SlotWaits.Fate.REFUSE : SlotWaits.Fate.WAIT;
        }, r -> CompletableFuture.completedFuture(r.replyOk()), 60_000, 60_000);
    CompletableFuture<Frame> waiting = waits.enqueue(7, set("x"), true, 5);
    ours = false;

    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);
    assertThat(waiting.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(seen).allSatisfy(m -> assertThat(m[0]).isEqualTo(5));
    assertThat(seen.get(seen.size() - 1)[1]).isGreaterThanOrEqualTo(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100));
  }

  @Test
  void aDecisionThatFails_refusesTheWaiter_andLeavesTheSlotFree() {
    waits = new SlotWaits(slot -> servable, slot -> ours, r -> CompletableFuture.completedFuture(r.replyOk()),
        r -> r.replyError(Status.TRY_AGAIN, "moving"), (slot, r, untilOwned, mark, waited) -> {
          throw new IllegalStateException("boom");
        }, r -> CompletableFuture.completedFuture(r.replyOk()), 60_000, 60_000);
    CompletableFuture<Frame> waiting = waits.enqueue(7, set("x"), true);
    ours = false;

    await().atMost(Duration.ofSeconds(5)).until(waiting::isDone);
    assertThat(waiting.join().status()).isEqualTo(Status.TRY_AGAIN);
    await().atMost(Duration.ofSeconds(5)).until(() -> !waits.busy(7));
  }
}
