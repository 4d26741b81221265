package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * How the hold of an owner a learner takes no slot from ends (an "empty" hold: nothing is held,
 * the writes of the slots the learner would replicate wait for it, FLUSH waits): on the learner's
 * join, its leaving the placement, or its cancel of the round the hold answers; never on a timer
 * (see MigrationCancels). A FLUSH shows whether the hold is there: refused after waiting 1.5 s for
 * it to end while it stands, applied at once when there is none.
 */
class EmptyMigrationHoldTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  /** One ring point each: L takes slots from one owner and only replicates the other's. */
  private final Placement joining = Placement.of(2, List.of(A, B), List.of(L), 1, 1);
  private final Member owner = ownerLTakesNothingFrom();
  private final AtomicReference<Placement> placement = new AtomicReference<>(joining);
  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final Replicator replicator = new Replicator(store, placement::get, () -> owner, TestPeers.applyingAll(),
      ReplicationMode.SYNC, new LocalExecutor(store)::execute);

  EmptyMigrationHoldTest() {
    replicator.placementChanged(Placement.empty(), joining);
  }

  @AfterEach
  void close() {
    replicator.close();
    store.close();
  }

  private Member ownerLTakesNothingFrom() {
    for (Member m : List.of(A, B)) {
      boolean learned = false;
      boolean taken = false;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if (joining.owns(m, s) && joining.isLearner(L, s)) {
          learned = true;
          taken |= joining.wouldOwn(L, s);
        }
      }
      if (learned && !taken) {
        return m;
      }
    }
    throw new AssertionError("no owner whose slots L only replicates in " + joining);
  }

  private Frame migratePrepare(long kind, long round) {
    return replicator.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0,
        L.id().getBytes(StandardCharsets.US_ASCII), null, joining.epoch(), joining.fingerprint(), kind, round)).join();
  }

  private Frame prepare(long round) {
    return migratePrepare(0, round);
  }

  private Frame cancel(long round) {
    return migratePrepare(ProtocolConstants.MIGRATE_CANCEL, round);
  }

  private CompletableFuture<Frame> flush() {
    return flush(joining);
  }

  private CompletableFuture<Frame> flush(Placement sentUnder) {
    return replicator.flush(Frame.request(Opcode.FLUSH, 0, null, null), sentUnder);
  }

  private static void assertRuns(CompletableFuture<Frame> flushed) {
    await().atMost(Duration.ofSeconds(10)).until(flushed::isDone);
    assertThat(flushed.join().status()).isEqualTo(Status.OK);
  }

  /** The hold stands: a FLUSH waits for it (1.5 s), then is refused, unapplied. */
  private static void assertRefused(CompletableFuture<Frame> flushed) {
    await().atMost(Duration.ofSeconds(10)).until(flushed::isDone);
    assertThat(flushed.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(flushed.join().valueText()).contains("moving to a joining member");
  }

  @Test
  void emptyHold_endsWhenItsLearnerLeavesThePlacement() {
    assertThat(prepare(1).status()).isEqualTo(Status.OK);
    assertRefused(flush()); // the learner may still join on the strength of the OK

    // The learner crashed, or lost its cancel and stopped: membership declares it dead.
    Placement gone = Placement.of(3, List.of(A, B), List.of(), 1, 1);
    placement.set(gone);
    replicator.placementChanged(joining, gone);
    assertRuns(flush(gone));
  }

  @Test
  void cancel_ofAnEarlierRound_leavesTheHoldOfALaterOne() {
    assertThat(prepare(1).status()).isEqualTo(Status.OK);
    assertThat(prepare(2).status()).as("round 1's cancel was lost; round 2 asks again").isEqualTo(Status.OK);
    assertThat(cancel(1).status()).as("round 1's cancel, sent again, arrives late").isEqualTo(Status.OK);

    assertRefused(flush()); // round 2's hold stands: the learner may join on it
    assertThat(cancel(2).status()).isEqualTo(Status.OK);
    assertRuns(flush());
  }

  @Test
  void prepare_ofARoundCancelledAlready_isRefused_andALaterRoundIsAccepted() {
    // Round 3's cancel overtook its prepare (sent on a new connection after the first one dropped).
    assertThat(cancel(3).status()).isEqualTo(Status.OK);
    Frame late = prepare(3);
    assertThat(late.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(late.valueText()).contains("round 3").contains("cancelled already");
    assertRuns(flush());

    assertThat(prepare(4).status()).isEqualTo(Status.OK);
    assertThat(cancel(4).status()).isEqualTo(Status.OK);
    assertRuns(flush());
  }

  @Test
  void prepare_withAnUnknownKindOrANegativeRound_isBadRequest() {
    Frame unknown = migratePrepare(7, 1);
    assertThat(unknown.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(unknown.valueText()).contains("got 7 and 1");
    assertThat(migratePrepare(0, -1).status()).isEqualTo(Status.BAD_REQUEST);
    assertRuns(flush());
  }
}
