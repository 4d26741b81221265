package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A copy slower than the stuck time (a large slot set) must still end. The replica asks again
 * with the same token (so the running copy's COPIED still counts) and the owner runs one copy per
 * replica and token. Before, each re-ask took a new token, voiding the running copy's COPIED, and
 * each new copy was voided the same way 10 s later: a learner with a copy longer than 10 s never
 * joined, and its owner copied everything again every 10 s (found in review).
 */
class SlowCopyTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final long STUCK = TimeUnit.SECONDS.toNanos(10);

  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  /** The replica's clock in the tests built on {@link #firstAsk}. */
  private final AtomicLong nanos = new AtomicLong(TimeUnit.HOURS.toNanos(1));

  @AfterEach
  void stop() {
    timer.shutdownNow();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Replica B's requester after its first request for A's slots was answered: the requests A got, the token, a slot. */
  private record FirstAsk(ReplicaSyncRequester replica, List<Frame> asked, long token, int slot) {}

  /**
   * B drops its copies of A's slots and its request is answered: OK, except the request numbered
   * {@code refusedNumber} (from 1; 0 for none), answered TRY_AGAIN. B's clock is {@link #nanos}.
   */
  private FirstAsk firstAsk(int refusedNumber) {
    List<Frame> asked = new CopyOnWriteArrayList<>();
    Peers peers = TestPeers.answering((to, request) -> {
      asked.add(request);
      return CompletableFuture.completedFuture(asked.size() == refusedNumber
          ? request.replyError(Status.TRY_AGAIN, "this node's placement differs") : request.replyOk());
    });
    ReplicaSyncRequester replica = new ReplicaSyncRequester(() -> placement, () -> B, peers, timer, nanos::get);
    int slot = dropCopiesOfASlots(replica);
    await().atMost(Duration.ofSeconds(10)).until(() -> asked.size() == 1 && replica.pendingSlots() == 0);
    return new FirstAsk(replica, asked, asked.get(0).extras()[2], slot);
  }

  /** B's copies of A's slots are dropped: B asks A for them. Returns the first such slot. */
  private int dropCopiesOfASlots(ReplicaSyncRequester replica) {
    long[] slots = new long[KeySlot.SLOTS / 64];
    int slot = -1;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (placement.owns(A, s) && placement.isReplica(B, s)) {
        slots[s >>> 6] |= 1L << s;
        slot = slot < 0 ? s : slot;
      }
    }
    replica.dropped(slots);
    return slot;
  }

  @Test
  void replica_asksAgainWithTheSameToken_soTheSlowCopysEndStillCounts() {
    FirstAsk f = firstAsk(0);
    ReplicaSyncRequester replica = f.replica();
    List<Frame> asked = f.asked();
    long token = f.token();
    int slot = f.slot();

    nanos.addAndGet(STUCK - 1);
    replica.askAgainIfStuck(s -> true, STUCK);
    assertThat(asked).as("not stuck yet").hasSize(1);

    nanos.addAndGet(1);
    replica.askAgainIfStuck(s -> true, STUCK);
    assertThat(asked).hasSize(2);
    assertThat(asked.get(1).extras()[2]).as("the same token").isEqualTo(token);
    assertThat(asked.get(1).value()).isEqualTo(asked.get(0).value());
    replica.askAgainIfStuck(s -> true, STUCK);
    assertThat(asked).as("asked again only a stuck time later").hasSize(2);

    // The first (slow) copy ends now: its COPIED counts.
    replica.copied(slot, token);
    assertThat(replica.whole(slot)).isTrue();
  }

  /**
   * A re-ask the owner refuses (its placement differed for a moment) is asked again shortly, with
   * the same token, like a first request, not only a stuck time later (each such refusal cost a
   * learner another 10 s; a reviewer).
   */
  @Test
  void replica_aRefusedReAsk_isAskedAgainShortly_withTheSameToken() {
    FirstAsk f = firstAsk(2);
    nanos.addAndGet(STUCK);
    f.replica().askAgainIfStuck(s -> true, STUCK); // refused
    await().atMost(Duration.ofSeconds(10)).until(() -> f.asked().size() == 3 && f.replica().pendingSlots() == 0);
    assertThat(f.asked().get(2).extras()[2]).as("the same token").isEqualTo(f.token());
    assertThat(f.asked().get(2).value()).isEqualTo(f.asked().get(0).value());
    f.replica().copied(f.slot(), f.token());
    assertThat(f.replica().whole(f.slot())).isTrue();
  }

  /**
   * The replica answered -1 to a stream its owner still used after the replica was emptied: copies
   * it asked for since may have lost their COPIED with that link, so they are asked again shortly
   * with the same token (a falsely suspected joiner waited 10 s for the stuck-copy re-ask); a
   * slot whose copy is whole is not.
   */
  @Test
  void replica_aLostStream_asksItsOwnersCopiesAgainShortly_withTheSameToken() {
    FirstAsk f = firstAsk(0);
    int slot = f.slot();
    f.replica().copied(slot, f.token()); // this one's copy ended whole
    f.replica().streamLost(s -> true);
    await().atMost(Duration.ofSeconds(10)).until(() -> f.asked().size() == 2 && f.replica().pendingSlots() == 0);
    assertThat(f.asked().get(1).extras()[2]).as("the same token").isEqualTo(f.token());
    byte[] again = f.asked().get(1).value();
    assertThat(again[slot >>> 3] & (1 << (slot & 7))).as("the whole slot is not asked again").isZero();
    byte[] first = f.asked().get(0).value().clone();
    first[slot >>> 3] &= (byte) ~(1 << (slot & 7));
    assertThat(again).as("every other slot is").isEqualTo(first);
  }

  @Test
  void replica_oneOwnersAnswer_doesNotAskAgainOfAnOwnerWhoseAnswerIsOnItsWay() throws Exception {
    Member c = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
    Placement three = Placement.of(1, List.of(A, B, c), 64, 1);
    List<Frame> toA = new CopyOnWriteArrayList<>();
    List<Frame> toC = new CopyOnWriteArrayList<>();
    CompletableFuture<Frame> fromC = new CompletableFuture<>();
    Peers peers = TestPeers.answering((to, request) -> {
      if (to.equals(c.address())) {
        toC.add(request);
        return fromC;
      }
      toA.add(request);
      return CompletableFuture.completedFuture(request.replyOk());
    });
    ReplicaSyncRequester replica = new ReplicaSyncRequester(() -> three, () -> B, peers, timer);
    long[] slots = new long[KeySlot.SLOTS / 64];
    int ofC = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (three.isReplica(B, s)) {
        slots[s >>> 6] |= 1L << s;
        ofC += three.owner(s).equals(c) ? 1 : 0;
      }
    }
    assertThat(ofC).as("B replicates slots of both owners").isPositive();
    int cSlots = ofC;
    replica.dropped(slots);
    // A answers at once, which runs the requester again while C's answer is still on its way.
    await().atMost(Duration.ofSeconds(10)).until(() -> toA.size() == 1 && replica.pendingSlots() == cSlots);
    // A's answer queued another run on the requester's timer (one thread, tasks of equal time in
    // order): once a task queued now has run, that run has too. Before, it asked C again (a second
    // full copy) while C's answer was on its way.
    timer.submit(() -> { }).get(10, TimeUnit.SECONDS);
    assertThat(toC).hasSize(1);
    fromC.complete(toC.get(0).replyOk());
    await().atMost(Duration.ofSeconds(10)).until(() -> replica.pendingSlots() == 0);
    assertThat(toC).hasSize(1);
    assertThat(toA).hasSize(1);
  }

  @Test
  void owner_nodeLocalWalk_isAnsweredWhileACopyWaitsForItsReplica() throws Exception {
    Store store = new ReferenceStore(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
    LocalExecutor local = new LocalExecutor(store);
    byte[] value = new byte[2048];
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    int owned = 0;
    for (int i = 0; owned < 3000; i++) {
      String k = "k" + i;
      int s = KeySlot.of(b(k));
      if (placement.owns(A, s) && placement.isReplica(B, s)) {
        local.execute(Frame.request(Opcode.SET, 0, b(k), value));
        bits[s >>> 3] |= (byte) (1 << (s & 7));
        owned++;
      }
    }
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch copyWaits = new CountDownLatch(1);
    Peers peers = TestPeers.answering((to, request) -> {
      if (request.op() != Opcode.REPLICATE) {
        return CompletableFuture.completedFuture(request.replyOk());
      }
      copyWaits.countDown();
      int n = EffectCodec.decode(request.value()).size();
      return CompletableFuture.supplyAsync(() -> {
        try {
          release.await(); // the replica acknowledges nothing: the copy stops at its window
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return request.replyOk(request.extras()[1] + n - 1);
      });
    });
    Replicator owner = new Replicator(store, () -> placement, () -> A, peers, ReplicationMode.SYNC, local::execute);
    try {
      owner.placementChanged(placement);
      assertThat(owner.syncRequested(Frame.request(Opcode.REPLICA_SYNC, 0, B.id().getBytes(StandardCharsets.US_ASCII),
          bits, placement.epoch(), placement.fingerprint(), 5L)).status()).isEqualTo(Status.OK);
      assertThat(copyWaits.await(10, TimeUnit.SECONDS)).isTrue();
      // Before, DBSIZE's walk queued behind the whole copy (minutes at a low --copy-share).
      Frame size = owner.ownedKeyspace(Frame.request(Opcode.SIZE, 0, null, null), placement)
          .get(10, TimeUnit.SECONDS);
      assertThat(size.extras()[0]).isEqualTo(owned);
    } finally {
      release.countDown();
      owner.close();
      store.close();
    }
  }

  /** The stream from number 1 has no gap up to the COPIED effect of {@code token}. */
  private static boolean everythingBeforeTheEndOf(long token, java.util.NavigableMap<Long, Effect> received) {
    long expected = 1;
    for (Map.Entry<Long, Effect> e : received.entrySet()) {
      if (e.getKey() != expected) {
        return false;
      }
      if (e.getValue().isCopied() && e.getValue().copiedToken() == token) {
        return true;
      }
      expected++;
    }
    return false;
  }

  @Test
  void owner_runsOneCopyPerReplicaAndToken() throws Exception {
    Store store = new ReferenceStore(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
    LocalExecutor local = new LocalExecutor(store);
    // Values large enough that the copy passes its 4 MiB window and waits for the replica's acks,
    // which the replica holds back until the second request has been answered.
    byte[] value = new byte[2048];
    List<String> keys = new ArrayList<>();
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    for (int i = 0; keys.size() < 3000; i++) {
      String k = "k" + i;
      int s = KeySlot.of(b(k));
      if (placement.owns(A, s) && placement.isReplica(B, s)) {
        assertThat(local.execute(Frame.request(Opcode.SET, 0, b(k), value)).status()).isEqualTo(Status.OK);
        keys.add(k);
        bits[s >>> 3] |= (byte) (1 << (s & 7));
      }
    }
    CountDownLatch release = new CountDownLatch(1);
    // By sequence number: batches are answered concurrently, in any order.
    java.util.concurrent.ConcurrentSkipListMap<Long, Effect> received = new java.util.concurrent.ConcurrentSkipListMap<>();
    Peers peers = TestPeers.answering((to, request) -> {
      if (request.op() != Opcode.REPLICATE) {
        return CompletableFuture.completedFuture(request.replyOk());
      }
      List<Effect> effects = EffectCodec.decode(request.value());
      return CompletableFuture.supplyAsync(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        long first = request.extras()[1];
        for (int i = 0; i < effects.size(); i++) {
          received.putIfAbsent(first + i, effects.get(i));
        }
        return request.replyOk(request.extras()[1] + effects.size() - 1);
      });
    });
    Replicator owner = new Replicator(store, () -> placement, () -> A, peers, ReplicationMode.SYNC, local::execute);
    try {
      owner.placementChanged(placement);
      Frame sync = Frame.request(Opcode.REPLICA_SYNC, 0, B.id().getBytes(StandardCharsets.US_ASCII), bits,
          placement.epoch(), placement.fingerprint(), 99L);
      assertThat(owner.syncRequested(sync).status()).isEqualTo(Status.OK);
      assertThat(owner.syncRequested(sync).status()).as("asked again while copying").isEqualTo(Status.OK);
      // Copies run one at a time, in the order asked: a copy of one empty slot under another token,
      // asked last, ends after any copy asked before it, on the same stream.
      byte[] other = new byte[KeySlot.SLOTS / 8];
      for (int s = 0; ; s++) {
        if (placement.owns(A, s) && placement.isReplica(B, s) && (bits[s >>> 3] & (1 << (s & 7))) == 0) {
          other[s >>> 3] |= (byte) (1 << (s & 7));
          break;
        }
      }
      assertThat(owner.syncRequested(Frame.request(Opcode.REPLICA_SYNC, 0, B.id().getBytes(StandardCharsets.US_ASCII),
          other, placement.epoch(), placement.fingerprint(), 100L)).status()).isEqualTo(Status.OK);
      release.countDown();
      await().atMost(Duration.ofSeconds(30)).until(() -> everythingBeforeTheEndOf(100L, received));
      Map<String, Integer> copiesOfKey = new HashMap<>();
      for (Effect e : received.values()) {
        if (e.isCopied() && e.copiedToken() == 100L) {
          break;
        }
        if (!e.isCopied()) {
          copiesOfKey.merge(new String(e.key(), StandardCharsets.UTF_8), 1, Integer::sum);
        }
      }
      assertThat(copiesOfKey).hasSize(keys.size());
      assertThat(copiesOfKey.values()).as("each key copied once").containsOnly(1);
    } finally {
      owner.close();
      store.close();
    }
  }
}
