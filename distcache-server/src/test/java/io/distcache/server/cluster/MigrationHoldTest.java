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
import io.distcache.server.bus.Peers;
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
 * The owner's side of a learner taking slots over (MIGRATE_PREPARE): held writes are never applied
 * here once the learner may own their slot, also after the hold expires; a cancel serves them again.
 */
class MigrationHoldTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement learning = Placement.of(1, List.of(A, B), List.of(L), 64, 0);
  private final AtomicReference<Placement> placement = new AtomicReference<>(learning);
  /** Every peer applies whatever REPLICATE batch it gets. */
  private final Peers peers = TestPeers.applyingAll();
  /** The replicator's clock (when a hold began). */
  private final java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
  private final Replicator replicator = new Replicator(store, placement::get, () -> A, peers, ReplicationMode.SYNC,
      local::execute, nanos::get);
  private final byte[] moving = keyOf(s -> learning.owns(A, s) && learning.wouldOwn(L, s));

  MigrationHoldTest() {
    replicator.placementChanged(learning);
    replicator.onRelease(r -> CompletableFuture.completedFuture(local.execute(r)));
  }

  @AfterEach
  void close() {
    replicator.close();
    store.close();
  }

  private static byte[] keyOf(java.util.function.IntPredicate slot) {
    for (int i = 0; ; i++) {
      byte[] k = ("k" + i).getBytes(StandardCharsets.UTF_8);
      if (slot.test(KeySlot.of(k))) {
        return k;
      }
    }
  }

  private CompletableFuture<Frame> set(String value) {
    return replicator.execute(Frame.request(Opcode.SET, 0, moving, value.getBytes(StandardCharsets.UTF_8)),
        placement.get());
  }

  private Frame prepare(long... more) {
    long[] extras = new long[2 + more.length];
    extras[0] = learning.epoch();
    extras[1] = learning.fingerprint();
    System.arraycopy(more, 0, extras, 2, more.length);
    return replicator.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0,
        L.id().getBytes(StandardCharsets.US_ASCII), null, extras)).join();
  }

  @Test
  void expiredHold_refusesTheSlotsWritesUnapplied_untilTheLearnerCancels() {
    assertThat(set("before").join().status()).isEqualTo(Status.OK);
    assertThat(prepare().status()).isEqualTo(Status.OK);
    CompletableFuture<Frame> held = set("held");
    assertThat(held).isNotDone();

    await().atMost(Duration.ofSeconds(15)).until(held::isDone);
    assertThat(held.join().status()).isEqualTo(Status.TRY_AGAIN);
    // The learner may still take the slot over on the strength of its OK: nothing is applied here.
    Frame after = set("after expiry").join();
    assertThat(after.status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(after.valueText()).contains("not applied");
    assertThat(store.get(moving)).isEqualTo("before".getBytes(StandardCharsets.UTF_8));

    assertThat(prepare(ProtocolConstants.MIGRATE_CANCEL).status()).isEqualTo(Status.OK);
    assertThat(set("after cancel").join().status()).isEqualTo(Status.OK);
    assertThat(store.get(moving)).isEqualTo("after cancel".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void expiredHold_endsWhenTheLearnerJoins_laterWritesGoItsWay() {
    assertThat(prepare().status()).isEqualTo(Status.OK);
    CompletableFuture<Frame> held = set("held");
    await().atMost(Duration.ofSeconds(15)).until(held::isDone);
    assertThat(set("refused").join().status()).isEqualTo(Status.TRY_AGAIN);

    Placement joined = Placement.of(2, List.of(A, B, L), List.of(), 64, 0);
    placement.set(joined);
    replicator.placementChanged(joined);

    assertThat(set("after join").join().status()).as("not held any more").isEqualTo(Status.OK);
  }

  @Test
  void cancel_servesTheHeldWritesHere() {
    assertThat(prepare().status()).isEqualTo(Status.OK);
    CompletableFuture<Frame> held = set("held");
    assertThat(HeldReply.holds(held)).as("the connection's next requests wait for it (HeldReply)").isTrue();

    assertThat(prepare(ProtocolConstants.MIGRATE_CANCEL).status()).isEqualTo(Status.OK);

    await().atMost(Duration.ofSeconds(5)).until(held::isDone);
    assertThat(held.join().status()).isEqualTo(Status.OK);
    assertThat(store.get(moving)).isEqualTo("held".getBytes(StandardCharsets.UTF_8));
  }

  private CompletableFuture<Frame> flush(Replicator r) {
    return r.flush(Frame.request(Opcode.FLUSH, 0, null, null), learning);
  }

  @Test
  void flush_waitsWhileSlotsAreHeldForTheLearner_andRunsWhenItCancels() {
    assertThat(set("before").join().status()).isEqualTo(Status.OK);
    assertThat(prepare().status()).isEqualTo(Status.OK);

    CompletableFuture<Frame> flushed = flush(replicator);
    assertThat(flushed).as("its deletes would reach the learner after it owns the slots").isNotDone();
    assertThat(store.get(moving)).isNotNull();

    assertThat(prepare(ProtocolConstants.MIGRATE_CANCEL).status()).isEqualTo(Status.OK);
    await().atMost(Duration.ofSeconds(5)).until(flushed::isDone);
    assertThat(flushed.join().status()).isEqualTo(Status.OK);
    assertThat(store.get(moving)).isNull();
  }

  @Test
  void flush_whoseSlotsMovedWhileItWaited_isRefused_unapplied() {
    assertThat(set("before").join().status()).isEqualTo(Status.OK);
    assertThat(prepare().status()).isEqualTo(Status.OK);
    CompletableFuture<Frame> flushed = flush(replicator);

    Placement joined = Placement.of(2, List.of(A, B, L), List.of(), 64, 0);
    placement.set(joined);
    replicator.placementChanged(joined);

    await().atMost(Duration.ofSeconds(5)).until(flushed::isDone);
    assertThat(flushed.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(flushed.join().valueText()).contains("not applied");
    assertThat(store.get(moving)).as("the client is told to flush again, now on the new owners").isNotNull();
  }

  @Test
  void prepare_whileAFlushIsDeleting_isRefused_andAcceptedAfterIt() throws Exception {
    java.util.concurrent.CountDownLatch scanning = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    // The flush's first scan waits for the test: the flush is then under way, its deletes not all appended.
    Store slowScan = (Store) java.lang.reflect.Proxy.newProxyInstance(Store.class.getClassLoader(),
        new Class<?>[] {Store.class}, (proxy, method, args) -> {
          if (method.getName().equals("scan") && scanning.getCount() > 0) {
            scanning.countDown();
            release.await();
          }
          try {
            return method.invoke(store, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
    Replicator r = new Replicator(slowScan, placement::get, () -> A, peers, ReplicationMode.SYNC, local::execute);
    try {
      r.placementChanged(learning);
      CompletableFuture<Frame> flushed = flush(r);
      assertThat(scanning.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

      Frame refused = r.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0,
          L.id().getBytes(StandardCharsets.US_ASCII), null, learning.epoch(), learning.fingerprint())).join();
      assertThat(refused.status()).isEqualTo(Status.TRY_AGAIN);
      assertThat(refused.valueText()).contains("a FLUSH is running");

      release.countDown();
      assertThat(flushed.get(10, java.util.concurrent.TimeUnit.SECONDS).status()).isEqualTo(Status.OK);
      Frame accepted = r.prepareMigration(Frame.request(Opcode.MIGRATE_PREPARE, 0,
          L.id().getBytes(StandardCharsets.US_ASCII), null, learning.epoch(), learning.fingerprint())).join();
      assertThat(accepted.status()).isEqualTo(Status.OK);
    } finally {
      release.countDown();
      r.close();
    }
  }

  @Test
  void forwardedWriteHeldPastTheForwardWait_isAnsweredTryAgain_andNotSentToTheLearner() {
    assertThat(prepare().status()).isEqualTo(Status.OK);
    CompletableFuture<Frame> forwarded = replicator.execute(Frame.request(Opcode.SET, 0, moving,
        "forwarded".getBytes(StandardCharsets.UTF_8)).withFlags(io.distcache.protocol.Flags.FORWARDED), placement.get());
    assertThat(forwarded).isNotDone();
    nanos.addAndGet(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(ClusterRouter.WAIT_MILLIS));
    CompletableFuture<Frame> own = set("own");

    assertThat(replicator.expireForwardedHolds()).isZero();
    assertThat(forwarded.join().status()).isEqualTo(Status.TRY_AGAIN);
    assertThat(own).as("a client's own write stays held").isNotDone();

    Placement joined = Placement.of(2, List.of(A, B, L), List.of(), 64, 0);
    placement.set(joined);
    replicator.placementChanged(joined);
    assertThat(own.join().status()).isEqualTo(Status.OK);
    assertThat(store.get(moving)).as("sent on by onRelease (here: applied locally), the forward never")
        .isEqualTo("own".getBytes(StandardCharsets.UTF_8));
  }
}
