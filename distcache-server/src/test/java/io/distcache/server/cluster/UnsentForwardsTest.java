package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
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
  private final UnsentForwards unsent = new UnsentForwards(inFlight, s -> owner.get(), request -> {
    events.add("resend " + text(request));
    return CompletableFuture.completedFuture(request.replyOk());
  }, (request, to, error, heldMillis) -> {
    events.add("expired " + text(request));
    return CompletableFuture.completedFuture(request.replyError(Status.BUSY, "held " + heldMillis));
  });
  private final ConnectException refused = new ConnectException("refused");

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

  @Test
  void failuresComingBackOutOfOrder_areRoutedAgainInTheOrderSent_beforeWhatWaitedForThem() {
    long first = sent();
    long second = sent();
    CompletableFuture<Frame> secondReply = new CompletableFuture<>();
    CompletableFuture<Frame> firstReply = new CompletableFuture<>();
    // The second's failure comes back first; the owner changes while the first is still on its way.
    assertThat(unsent.hold(SLOT, X, second, set("2"), refused, false, secondReply)).isTrue();
    owner.set(Y);
    unsent.poke(SLOT);
    CompletableFuture<Void> waiter = inFlight.sendOrWait(SLOT, Y); // a later request, for the new owner
    assertThat(waiter).as("a request for the new owner waits for the held ones").isNotNull();
    waiter.thenRun(() -> events.add("waiter"));
    assertThat(events).as("nothing goes while a forward to the old owner may still fail").isEmpty();

    assertThat(unsent.hold(SLOT, X, first, set("1"), refused, false, firstReply)).isTrue();

    assertThat(events).containsExactly("resend 1", "resend 2", "waiter");
    assertThat(firstReply.join().status()).isEqualTo(Status.OK);
    assertThat(secondReply.join().status()).isEqualTo(Status.OK);
    assertThat(inFlight.count(SLOT, X)).isZero();
    assertThat(unsent.holding()).isZero();
  }

  @Test
  void aRequestRoutedToTheOldOwnerWhileOthersAreHeld_joinsThemUnsent() {
    long first = sent();
    CompletableFuture<Frame> firstReply = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, first, set("1"), refused, false, firstReply)).isTrue();
    assertThat(inFlight.sendOrWait(SLOT, X)).isNull(); // the router counts it, then asks to join
    CompletableFuture<Frame> joined = unsent.join(SLOT, X, set("2"));
    assertThat(joined).isNotNull();

    owner.set(Y);
    unsent.placementChanged(Runnable::run);

    assertThat(events).containsExactly("resend 1", "resend 2");
    assertThat(joined.join().status()).isEqualTo(Status.OK);
    assertThat(inFlight.count(SLOT, X)).isZero();
  }

  @Test
  void aReadWithNothingHeldBeforeIt_isNotHeld() {
    long seq = sent();
    assertThat(unsent.hold(SLOT, X, seq, set("r"), refused, true, new CompletableFuture<>()))
        .as("a read alone goes to a replica at once").isFalse();
    assertThat(unsent.holding()).isZero();
  }

  @Test
  void theOwnerNeverChanges_theHeldRequestIsAnsweredAtTheEndOfItsWait_notSent() {
    unsent.waitFor(Duration.ofMillis(100));
    long seq = sent();
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, reply)).isTrue();

    await().atMost(Duration.ofSeconds(10)).until(reply::isDone);
    assertThat(reply.join().status()).isEqualTo(Status.BUSY);
    assertThat(events).containsExactly("expired 1");
    assertThat(inFlight.count(SLOT, X)).isZero();
    assertThat(inFlight.slotsInFlight()).isZero();
  }

  @Test
  void noWait_holdsNothing() {
    unsent.waitFor(Duration.ZERO);
    long seq = sent();
    assertThat(unsent.hold(SLOT, X, seq, set("1"), refused, false, new CompletableFuture<>())).isFalse();
  }
}
