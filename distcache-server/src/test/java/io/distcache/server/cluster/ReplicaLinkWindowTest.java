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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The window between a placement being installed and the replicator hearing of it (its listener
 * runs after the holder's value changed): a learner that the new placement names must already get
 * the owner's writes and full copies then. Before the fix, a copy to a learner asked for in that
 * window skipped every entry and could still end with COPIED once the replicator caught up, so the
 * learner took over slots it had never received (MembershipChangesIT lost acknowledged writes, CI).
 */
class ReplicaLinkWindowTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member L = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement before = Placement.of(1, List.of(A, B), 64, 1);
  private final Placement learning = Placement.of(2, List.of(A, B), List.of(L), 64, 1);
  private final AtomicReference<Placement> placement = new AtomicReference<>(before);
  /** When set, the copy thread's next read of the placement sees {@link #before} (once). */
  private final java.util.concurrent.atomic.AtomicBoolean movedAwayForTheFirstCopyPage =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** When set, the next read of the placement still sees it, and the learner is installed right after (once). */
  private final java.util.concurrent.atomic.AtomicBoolean learnerArrivesAfterTheNextRead =
      new java.util.concurrent.atomic.AtomicBoolean();

  private Placement placement() {
    if (learnerArrivesAfterTheNextRead.compareAndSet(true, false)) {
      Placement now = placement.get();
      placement.set(learning);
      return now;
    }
    if (Thread.currentThread().getName().equals("distcache-replica-copy")
        && movedAwayForTheFirstCopyPage.compareAndSet(true, false)) {
      return before;
    }
    return placement.get();
  }
  /** Every effect the learner received, in stream order. */
  private final List<Effect> toLearner = new CopyOnWriteArrayList<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() == Opcode.REPLICATE) {
      List<Effect> effects = EffectCodec.decode(request.value());
      if (to.equals(L.address())) {
        synchronized (toLearner) {
          // A resent batch repeats numbers already received: keep each number once.
          long first = request.extras()[1];
          for (int i = 0; i < effects.size(); i++) {
            if (first + i > toLearner.size()) {
              toLearner.add(effects.get(i));
            }
          }
        }
      }
      return CompletableFuture.completedFuture(request.replyOk(request.extras()[1] + effects.size() - 1));
    }
    return CompletableFuture.completedFuture(request.replyOk());
  });
  private final Replicator replicator = new Replicator(store, this::placement, () -> A, peers, ReplicationMode.SYNC,
      local::execute);

  @AfterEach
  void close() {
    replicator.close();
    store.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** True for the slots the learner learns from A: A owns them and L learns them under {@code learning}. */
  private boolean learnedFromA(int slot) {
    return learning.owns(A, slot) && learning.isLearner(L, slot);
  }

  /** Stores {@code count} keys of slots the learner learns from A; their names. */
  private List<String> storeKeysLearnedFromA(int count) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; keys.size() < count; i++) {
      String k = "k" + i;
      if (learnedFromA(KeySlot.of(b(k)))) {
        assertThat(local.execute(Frame.request(Opcode.SET, 0, b(k), b("v" + i))).status()).isEqualTo(Status.OK);
        keys.add(k);
      }
    }
    return keys;
  }

  @Test
  void flush_whileALearnerArrives_sendsItsDeletesToTheLearnerToo() {
    List<String> keys = storeKeysLearnedFromA(200);
    replicator.placementChanged(before);
    // The FLUSH starts under `before`; the learner is installed at once after (its copy, on the copy
    // thread, may then send a key's state before the FLUSH reaches the key).
    learnerArrivesAfterTheNextRead.set(true);
    assertThat(replicator.flush(Frame.request(Opcode.FLUSH, 0, null, null), before).join().status())
        .isEqualTo(Status.OK);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Set<String> deleted = new HashSet<>();
      for (Effect e : toLearner) {
        if (e.isDelete()) {
          deleted.add(new String(e.key(), StandardCharsets.UTF_8));
        }
      }
      assertThat(deleted).as("deletes the learner got").containsAll(keys);
    });
  }

  /** The placement with the learner is installed; the replicator has not heard of it yet. */
  private void installWithoutTellingTheReplicator() {
    replicator.placementChanged(before);
    placement.set(learning);
  }

  @Test
  void copyAskedForBeforeTheReplicatorHearsOfTheLearner_sendsEveryEntryBeforeCopied() {
    List<String> keys = new ArrayList<>();
    long[] slots = new long[KeySlot.SLOTS / 64];
    for (int i = 0; keys.size() < 3000; i++) {
      String k = "k" + i;
      int slot = KeySlot.of(b(k));
      if (learnedFromA(slot)) {
        assertThat(local.execute(Frame.request(Opcode.SET, 0, b(k), b("v" + i))).status()).isEqualTo(Status.OK);
        keys.add(k);
        slots[slot >>> 6] |= 1L << slot;
      }
    }
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    int asked = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if ((slots[s >>> 6] & (1L << s)) != 0) {
        bits[s >>> 3] |= (byte) (1 << (s & 7));
        asked++;
      }
    }
    installWithoutTellingTheReplicator();
    long token = 42;
    Frame sync = Frame.request(Opcode.REPLICA_SYNC, 0, L.id().getBytes(StandardCharsets.US_ASCII), bits,
        learning.epoch(), learning.fingerprint(), token);
    assertThat(replicator.syncRequested(sync).status()).isEqualTo(Status.OK);

    int slotCount = asked;
    await().atMost(Duration.ofSeconds(20)).until(() -> toLearner.stream().filter(Effect::isCopied).count() == slotCount);
    Set<String> received = new HashSet<>();
    for (Effect e : toLearner) {
      if (e.isCopied()) {
        // Every key of the slot arrived before the slot's COPIED.
        for (String k : keys) {
          if (KeySlot.of(b(k)) == e.copiedSlot()) {
            assertThat(received).as("%s before COPIED of slot %d", k, e.copiedSlot()).contains(k);
          }
        }
        assertThat(e.copiedToken()).isEqualTo(token);
      } else {
        received.add(new String(e.key(), StandardCharsets.UTF_8));
      }
    }
    assertThat(received).containsAll(keys);
  }

  @Test
  void writeBeforeTheReplicatorHearsOfTheLearner_reachesTheLearner() {
    String key = null;
    for (int i = 0; key == null; i++) {
      if (learnedFromA(KeySlot.of(b("w" + i)))) {
        key = "w" + i;
      }
    }
    installWithoutTellingTheReplicator();
    Frame reply = replicator.execute(Frame.request(Opcode.SET, 0, b(key), b("new")), placement.get()).join();
    assertThat(reply.status()).isEqualTo(Status.OK);
    String k = key;
    await().atMost(Duration.ofSeconds(10)).until(() -> toLearner.stream()
        .anyMatch(e -> !e.isCopied() && new String(e.key(), StandardCharsets.UTF_8).equals(k)));
  }

  @Test
  void copyWhosePlacementMovesAwayAndBack_endsOnlyTheSlotsItCopiedWhole() {
    List<String> keys = storeKeysLearnedFromA(3000);
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    for (String k : keys) {
      int s = KeySlot.of(b(k));
      bits[s >>> 3] |= (byte) (1 << (s & 7));
    }
    replicator.placementChanged(learning);
    placement.set(learning);
    // The copy's first page runs under a placement without the learner (it moved away), the rest
    // under the learner's again: the first page's slots have holes and must not end with COPIED.
    movedAwayForTheFirstCopyPage.set(true);
    Frame sync = Frame.request(Opcode.REPLICA_SYNC, 0, L.id().getBytes(StandardCharsets.US_ASCII), bits,
        learning.epoch(), learning.fingerprint(), 7L);
    assertThat(replicator.syncRequested(sync).status()).isEqualTo(Status.OK);
    // Copies run one at a time in the order asked, on the same ordered stream: once the COPIED of a
    // copy of one empty slot asked after it arrives, every COPIED the first copy sent is in.
    byte[] other = new byte[KeySlot.SLOTS / 8];
    for (int s = 0; ; s++) {
      if (learnedFromA(s) && (bits[s >>> 3] & (1 << (s & 7))) == 0) {
        other[s >>> 3] |= (byte) (1 << (s & 7));
        break;
      }
    }
    assertThat(replicator.syncRequested(Frame.request(Opcode.REPLICA_SYNC, 0, L.id().getBytes(StandardCharsets.US_ASCII),
        other, learning.epoch(), learning.fingerprint(), 8L)).status()).isEqualTo(Status.OK);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> toLearner.stream().anyMatch(e -> e.isCopied() && e.copiedToken() == 8L));

    Set<String> received = new HashSet<>();
    int ended = 0;
    for (Effect e : toLearner) {
      if (e.isCopied() && e.copiedToken() == 8L) {
        break;
      }
      if (e.isCopied()) {
        ended++;
        for (String k : keys) {
          if (KeySlot.of(b(k)) == e.copiedSlot()) {
            assertThat(received).as("%s before COPIED of slot %d", k, e.copiedSlot()).contains(k);
          }
        }
      } else {
        received.add(new String(e.key(), StandardCharsets.UTF_8));
      }
    }
    assertThat(ended).as("slots ended whole").isPositive();
    assertThat(received).as("keys sent").isNotEmpty().hasSizeLessThan(keys.size());
  }
}
