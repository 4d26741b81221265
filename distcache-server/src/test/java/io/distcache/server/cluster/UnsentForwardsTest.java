package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.bus.NotSentException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Forwards that could not be sent: held in their first order until their slot's owner changes. */
class UnsentForwardsTest {
  private static final Member X = new Member("x".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member Y = new Member("y".repeat(40), new Address("127.0.0.1", 7002));
  private static final int SLOT = 42;

  private final SlotForwards inFlight = new SlotForwards();
  private final AtomicReference<Member> owner = new AtomicReference<>(X);
  /** What happened, in order: "resend VALUE", "expired VALUE", "waiter". */
  private final List<String> events = new CopyOnWriteArrayList<>();
  /** How the new owner answers a held request sent to it; OK at once unless a test says otherwise. */
  private volatile Function<Frame, CompletableFuture<Frame>> newOwner = r -> CompletableFuture.completedFuture(r.replyOk());
  /** Whether X, the old owner, takes connections again (a moment's failure, not a death). */
  private volatile boolean xUp;
  private final UnsentForwards unsent = new UnsentForwards(inFlight, s -> owner.get(), (request, slot) -> {
    if (owner.get() == X && !xUp) {
      events.add("probe " + text(request));
      return CompletableFuture.failedFuture(new NotSentException("X still refuses"));
    }
    events.add("resend " + text(request));
    return newOwner.apply(request);
  }, (request, slot, to, error, heldMillis, ownerChanged) -> {
    events.add("expired " + text(request));
    return CompletableFuture.completedFuture(request.replyError(Status.BUSY, "held " + heldMillis));
  });
  private final NotSentException refused = new NotSentException("refused");

  private static Frame set(String value) {
    return Frame.request(Opcode.SET, 0, "k".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
  }

  private static String text(Frame f) {
    return new String(f.value(), StandardCharsets.UTF_8);
  }

  /** A forward to X counted as in flight, with the sequence number the router takes before sending. */
  private long sent() {
    assertThat(inFlight.sendOrWait(SLOT, X)).isNull();
    return unsent.nextSequence();
  }

  /** A request routed to X while others are held: counted, then held behind them. */
  private CompletableFuture<Frame> joined(String value) {
    assertThat(inFlight.sendOrWait(SLOT, X)).isNull();
    CompletableFuture<Frame> reply = unsent.join(SLOT, X, set(value));
    assertThat(reply).as("joins the held ones").isNotNull();
    return reply;
  }

  @Test
  void failuresComingBackOutOfOrder_goToTheNewOwnerOneAtATimeInTheOrderSent_beforeWhatWaitedForThem() {
    long first = sent();
    long second = sent();
    CompletableFuture<Frame> secondReply = new CompletableFuture<>();
    CompletableFuture<Frame> firstReply = new CompletableFuture<>();
    List<CompletableFuture<Frame>> answers = new ArrayList<>();
    newOwner = r -> {
      CompletableFuture<Frame> a = new CompletableFuture<>();
      answers.add(a);
      return a;
    };
    // The second's failure comes back first; the owner changes while the first is still on its way.
    assertThat(unsent.hold(SLOT, X, second, set("2"), refused, false, secondReply)).isTrue();
    owner.set(Y);
    unsent.poke(SLOT);
    CompletableFuture<Void> waiter = inFlight.sendOrWait(SLOT, Y); // a later request, for the new owner
    assertThat(waiter).as("a request for the new owner waits for the held ones").isNotNull();
    waiter.thenRun(() -> events.add("waiter"));
    assertThat(events).as("nothing goes while a forward to the old owner may still fail").isEmpty();

    assertThat(unsent.hold(SLOT, X, first, set("1"), refused, false, firstReply)).isTrue();
    assertThat(events).as("one at a time: the second waits for the first's answer").containsExactly("resend 1");

    answers.get(0).complete(set("1").replyOk());
    assertThat(events).containsExactly("resend 1", "resend 2");
    assertThat(firstReply.join().status()).isEqualTo(Status.OK);
    assertThat(waiter).as("what waited goes after every held one has its answer").isNotDone();

    answers.get(1).complete(set("2").replyOk());
    assertThat(events).containsExactly("resend 1", "resend 2", "waiter");
    assertThat(secondReply.join().status()).isEqualTo(Status.OK);
    assertThat(inFlight.count(SLOT, X)).isZero();
    assertThat(unsent.holding()).isZero();
  }

  @Test
  void aRequestRoutedToTheOldOwnerWhileOthersAreHeld_joinsThemUnsent() {
    long first = sent();
    CompletableFuture<Frame> firstReply = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, first, set("1"), refused, false, firstReply)).isTrue();
    CompletableFuture<Frame> joined = joined("2");

    owner.set(Y);
    unsent.placementChanged(Runnable::run);

    assertThat(events).containsExactly("resend 1", "resend 2");
    assertThat(joined.join().status()).isEqualTo(Status.OK);
    assertThat(inFlight.count(SLOT, X)).isZero();
    assertThat(inFlight.slotsInFlight()).isZero();
  }

  @Test
  void theNewOwnerRefusesOrIsNotReady_theHeldRequestIsTriedAgainUntilItTakesIt() {
    long seq = sent();
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    List<String> answers = new CopyOnWriteArrayList<>(List.of("refuse", "tryagain", "ok"));
    newOwner = r -> switch (answers.remove(0)) {
      case "refuse" -> CompletableFuture.failedFuture(new NotSentException("refused too"));
      case "tryagain" -> CompletableFuture.completedFuture(r.replyError(Status.TRY_AGAIN, "moving here"));
      default -> CompletableFuture.completedFuture(r.replyOk());
    };
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, reply)).isTrue();
    owner.set(Y);
    unsent.placementChanged(Runnable::run);

    await().atMost(Duration.ofSeconds(10)).until(reply::isDone);
    assertThat(reply.join().status()).isEqualTo(Status.OK);
    assertThat(events).containsExactly("resend 1", "resend 1", "resend 1");
    assertThat(inFlight.slotsInFlight()).isZero();
  }

  @Test
  void aHeldRequestServedOnTheScriptLane_holdsBackTheRestOfItsBatchUntilItIsDone() {
    long seq = sent();
    CompletableFuture<Frame> first = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, seq, set("0"), refused, false, first)).isTrue();
    CompletableFuture<Frame> script = joined("1");
    CompletableFuture<Frame> after = joined("2");
    HeldReply lane = new HeldReply(); // an EVAL served here: its reply comes from the script lane
    newOwner = r -> text(r).equals("1") ? lane : CompletableFuture.completedFuture(r.replyOk());

    owner.set(Y);
    unsent.placementChanged(Runnable::run);

    assertThat(events).as("the first alone, then the batch stops at the script").containsExactly("resend 0", "resend 1");
    assertThat(after).isNotDone();
    lane.complete(set("1").replyOk());
    assertThat(events).containsExactly("resend 0", "resend 1", "resend 2");
    assertThat(script.join().status()).isEqualTo(Status.OK);
    assertThat(after.join().status()).isEqualTo(Status.OK);
    assertThat(inFlight.slotsInFlight()).isZero();
  }

  @Test
  void aReadWithNothingHeldBeforeIt_isNotHeld() {
    long seq = sent();
    assertThat(unsent.hold(SLOT, X, seq, set("r"), refused, true, new CompletableFuture<>()))
        .as("a read alone goes to a replica at once").isFalse();
    assertThat(unsent.holding()).isZero();
  }

  @Test
  void theOwnerNeverChanges_everyHeldRequestIsAnsweredWhenTheFirstOnesWaitEnds_thenRequestsAreSentAgain() {
    unsent.waitFor(Duration.ofMillis(300));
    long seq = sent();
    CompletableFuture<Frame> first = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, first)).isTrue();
    // Requests keep coming for the slot (a live owner after a moment's connect failure): they do not
    // keep the slot held for ever.
    List<CompletableFuture<Frame>> later = List.of(joined("2"), joined("3"));

    await().atMost(Duration.ofSeconds(10)).until(() -> first.isDone() && later.stream().allMatch(CompletableFuture::isDone));
    assertThat(first.join().status()).isEqualTo(Status.BUSY);
    assertThat(later).allSatisfy(r -> assertThat(r.join().status()).isEqualTo(Status.BUSY));
    assertThat(events).filteredOn(e -> !e.startsWith("probe ")).containsExactly("expired 1", "expired 2", "expired 3");
    assertThat(events).as("the owner was tried again meanwhile, with the first request alone").contains("probe 1")
        .doesNotContain("probe 2", "probe 3");
    assertThat(inFlight.slotsInFlight()).isZero();
    assertThat(inFlight.sendOrWait(SLOT, X)).isNull();
    assertThat(unsent.join(SLOT, X, set("4"))).as("the next request is sent, not held").isNull();
  }

  @Test
  void theOwnerTakesConnectionsAgain_theHeldRequestsGoToItInOrder_firstAloneThenTheRest() {
    long seq = sent();
    CompletableFuture<Frame> first = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, first)).isTrue();
    List<CompletableFuture<Frame>> later = List.of(joined("2"), joined("3"));
    xUp = true; // a moment's connect failure: X is alive

    await().atMost(Duration.ofSeconds(10)).until(() -> first.isDone() && later.stream().allMatch(CompletableFuture::isDone));
    assertThat(first.join().status()).isEqualTo(Status.OK);
    assertThat(later).allSatisfy(r -> assertThat(r.join().status()).isEqualTo(Status.OK));
    assertThat(events).filteredOn(e -> !e.startsWith("probe ")).containsExactly("resend 1", "resend 2", "resend 3");
    assertThat(inFlight.slotsInFlight()).isZero();
  }

  @Test
  void noWait_holdsNothing() {
    unsent.waitFor(Duration.ZERO);
    long seq = sent();
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, new CompletableFuture<>())).isFalse();
  }
}
