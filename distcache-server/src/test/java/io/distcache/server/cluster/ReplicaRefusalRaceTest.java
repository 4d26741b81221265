package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Writes racing a refused REPLICATE batch (ReplicaRefusalTest has the refusal itself): a write
 * appended to the refused link after its slots were listed and before it closed reached no stream
 * and was not copied again (answered BUSY), and one appended after it closed was dropped and
 * answered OK (a reviewer: 92 of 8,000 in a race). Every write must reach the replica or have its
 * slot copied again.
 */
class ReplicaRefusalRaceTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Store store = TestStores.reference(closing);
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  private volatile String poisoned;
  private final List<Effect> applied = new ArrayList<>();
  private volatile boolean blockInRefused;
  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() != Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    List<Effect> effects = EffectCodec.decode(request.value());
    for (Effect e : effects) {
      if (!e.isMarker() && new String(e.key(), StandardCharsets.UTF_8).equals(poisoned)) {
        return CompletableFuture.completedFuture(request.replyError(Status.BAD_REQUEST, "malformed"));
      }
    }
    synchronized (applied) {
      applied.addAll(effects);
    }
    return CompletableFuture.completedFuture(request.replyOk(request.extras()[1] + effects.size() - 1));
  });
  private final Replicator replicator = new Replicator(store, this::placement, () -> A, peers, ReplicationMode.SYNC,
      local::execute);

  private Placement placement() {
    if (blockInRefused) {
      for (StackTraceElement f : Thread.currentThread().getStackTrace()) {
        if (f.getMethodName().equals("refused")) {
          blockInRefused = false;
          entered.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          break;
        }
      }
    }
    return placement;
  }

  @AfterEach
  void close() throws Exception {
    release.countDown();
    replicator.close();
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private String keyReplicatedToB(int nth, String name) {
    return TestKeys.replicatedBy(placement, A, B, nth, name);
  }

  private Frame set(String key, String value) {
    return replicator.execute(Frame.request(Opcode.SET, 0, b(key), b(value)), placement).join();
  }

  @Test
  void aWriteOfAnotherSlotDuringTheRefusal_reachesTheReplicaOrItsSlotIsCopiedAgain() throws Exception {
    replicator.placementChanged(placement);
    poisoned = keyReplicatedToB(0, "bad");
    String good = keyReplicatedToB(1, "good");
    int goodSlot = KeySlot.of(b(good));
    assertThat(goodSlot).isNotEqualTo(KeySlot.of(b(poisoned)));
    assertThat(set(good, "v0").status()).isEqualTo(Status.OK);

    blockInRefused = true;
    AtomicReference<Frame> refusedReply = new AtomicReference<>();
    Thread t1 = new Thread(() -> refusedReply.set(set(poisoned, "x")));
    t1.start();
    entered.await();
    // Inside Replicator.refused: the refused link is not closed yet; a write of another slot goes on it.
    AtomicReference<Frame> goodReply = new AtomicReference<>();
    Thread t2 = new Thread(() -> goodReply.set(set(good, "v1")));
    t2.start();
    Awaitility.await().until(() -> t2.getState() == Thread.State.WAITING || t2.getState() == Thread.State.TERMINATED);
    release.countDown();
    t1.join();
    t2.join();
    // Later writes of other keys flow on the new link.
    assertThat(set(keyReplicatedToB(2, "later"), "z").status()).isEqualTo(Status.OK);
    synchronized (applied) {
      boolean goodV1 = applied.stream().anyMatch(e -> !e.isMarker() && new String(e.key(), StandardCharsets.UTF_8)
          .equals(good) && java.util.Arrays.equals(e.value(), b("v1")));
      boolean releasedGoodSlot = applied.stream().anyMatch(e -> e.isReleased() && e.copiedSlot() == goodSlot);
      // The owner holds v1: the replica must get it, or drop the slot and copy it again, never keep v0.
      assertThat(goodV1 || releasedGoodSlot).as("replica has v1 or will be re-copied").isTrue();
    }
  }

  @Test
  void writesRacingRefusals_eachReachesTheReplicaOrItsSlotIsCopiedAgain() throws Exception {
    replicator.placementChanged(placement);
    poisoned = keyReplicatedToB(0, "bad");
    int okMissing = 0;
    int busyMissing = 0;
    int iterations = 0;
    java.util.Random rnd = new java.util.Random(1);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
    for (int n = 1; n < 2000; n++) {
      iterations++;
      String g = keyReplicatedToB(10 + n, "g");
      int slot = KeySlot.of(b(g));
      int start;
      synchronized (applied) {
        start = applied.size();
      }
      long spin = rnd.nextInt(60_000);
      java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
      java.util.concurrent.Future<Frame> w = pool.submit(() -> {
        go.await();
        long until = System.nanoTime() + spin;
        while (System.nanoTime() < until) {
          Thread.onSpinWait();
        }
        return set(g, "v");
      });
      go.await();
      set(poisoned, "x");
      Frame r = w.get();
      // a write behind it on the stream: what was queued has been sent once it is confirmed
      set(keyReplicatedToB(1 + (n % 9), "flush"), "f");
      boolean got;
      boolean rel;
      synchronized (applied) {
        List<Effect> tail = applied.subList(start, applied.size());
        got = tail.stream().anyMatch(e -> !e.isMarker() && new String(e.key(), StandardCharsets.UTF_8).equals(g));
        rel = tail.stream().anyMatch(e -> e.isReleased() && e.copiedSlot() == slot);
      }
      if (!got && !rel) {
        if (r.status() == Status.OK) {
          okMissing++;
        } else {
          busyMissing++;
        }
      }
    }
    pool.shutdown();
    assertThat(iterations).isPositive();
    assertThat(okMissing).as("writes answered OK, never on the replica nor copied again").isZero();
    assertThat(busyMissing).as("writes answered BUSY, never on the replica nor copied again").isZero();
  }
}
