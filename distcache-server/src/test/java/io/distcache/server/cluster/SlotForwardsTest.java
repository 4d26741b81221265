package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SlotForwardsTest {
  private static final Member OLD = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member NEW = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private final SlotForwards forwards = new SlotForwards();

  @Test
  void sameOwner_neverWaits_andTheSlotIsForgottenOnceEveryForwardIsAnswered() {
    assertThat(forwards.sendOrWait(7, OLD)).isNull();
    assertThat(forwards.sendOrWait(7, OLD)).isNull();
    forwards.answered(7);
    forwards.answered(7);
    assertThat(forwards.slotsInFlight()).isZero();
  }

  @Test
  void newOwner_waitsUntilEveryForwardToTheOldOneIsAnswered_thenGoes() {
    assertThat(forwards.sendOrWait(7, OLD)).isNull();
    assertThat(forwards.sendOrWait(7, OLD)).isNull();

    CompletableFuture<Void> wait = forwards.sendOrWait(7, NEW);
    assertThat(wait).as("a request to the slot's new owner must not overtake one held by the old").isNotNull();
    assertThat(forwards.sendOrWait(8, NEW)).as("another slot does not wait").isNull();
    forwards.answered(7);
    assertThat(wait).isNotDone();
    forwards.answered(7);
    assertThat(wait).isDone();

    assertThat(forwards.sendOrWait(7, NEW)).isNull();
    assertThat(forwards.sendOrWait(7, OLD)).as("and back: waits for the new owner's").isNotNull();
  }
  @Test
  void pending_whileAForwardIsInFlight_completesOnceItIsAnswered() {
    assertThat(forwards.pending(7)).as("nothing in flight: serve at once").isNull();
    assertThat(forwards.sendOrWait(7, OLD)).isNull();

    CompletableFuture<Void> pending = forwards.pending(7);
    assertThat(pending).as("this node became the owner while a forward to the old one is on its way").isNotNull();
    assertThat(forwards.pending(8)).isNull();
    forwards.answered(7);
    assertThat(pending).isDone();
    assertThat(forwards.pending(7)).isNull();
  }

  @Test
  void anyPending_isNullOnlyWhenNoSlotHasAForwardInFlight() {
    assertThat(forwards.anyPending()).isNull();
    assertThat(forwards.sendOrWait(7, OLD)).isNull();
    assertThat(forwards.sendOrWait(9, NEW)).isNull();

    CompletableFuture<Void> first = forwards.anyPending();
    assertThat(first).isNotNull();
    forwards.answered(7);
    forwards.answered(9);
    assertThat(first).isDone();
    assertThat(forwards.anyPending()).as("every slot answered").isNull();
  }
}
