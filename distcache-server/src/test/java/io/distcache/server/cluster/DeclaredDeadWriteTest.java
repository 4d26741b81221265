package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
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
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A sync write whose owner hears it was declared dead before the replica confirmed it. The owner
 * empties its store then, and the replica, once on a placement where the sender owns nothing,
 * confirms the effect without applying it (ReplicaApplier skips it): acknowledged, the write would
 * be held by no node (found with bench/stall-rounds.sh: reads gave nil for an acknowledged SET).
 */
class DeclaredDeadWriteTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));

  /** REPLICATE batches sent to B, answered when the test says. */
  private final List<Frame> toB = new CopyOnWriteArrayList<>();
  private final List<CompletableFuture<Frame>> replies = new CopyOnWriteArrayList<>();
  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final Placement p = Placement.of(1, List.of(A, B), List.of(), 64, 1);
  private final Replicator owner;

  DeclaredDeadWriteTest() {
    LocalExecutor executor = new LocalExecutor(store);
    owner = new Replicator(store, () -> p, () -> A, TestPeers.answering((to, request) -> {
      if (request.op() != Opcode.REPLICATE) {
        return CompletableFuture.completedFuture(request.replyOk());
      }
      CompletableFuture<Frame> reply = new CompletableFuture<>();
      toB.add(request);
      replies.add(reply);
      return reply;
    }), ReplicationMode.SYNC, executor::execute);
    owner.placementChanged(Placement.empty(), p);
  }

  @AfterEach
  void close() throws Exception {
    owner.close();
    store.close();
  }

  /** A SET of a key A owns, its effect sent to B and not confirmed yet. */
  private CompletableFuture<Frame> setWaitingForB() {
    byte[] key = TestKeys.inSlot(firstSlotOf(A));
    CompletableFuture<Frame> reply = owner.execute(Frame.request(Opcode.SET, 0, key, b("v")), p);
    await().atMost(Duration.ofSeconds(10)).until(() -> !toB.isEmpty());
    assertThat(reply).isNotDone();
    return reply;
  }

  /** B confirms every effect sent so far (as it does when it skips them). */
  private void bConfirms() {
    for (int i = 0; i < toB.size(); i++) {
      Frame batch = toB.get(i);
      int n = EffectCodec.decode(batch.value()).size();
      replies.get(i).complete(batch.replyOk(batch.extras()[1] + n - 1));
    }
  }

  private int firstSlotOf(Member m) {
    for (int s = 0; ; s++) {
      if (p.owns(m, s)) {
        return s;
      }
    }
  }

  @Test
  void syncWrite_confirmedByItsReplica_isAcknowledged() {
    CompletableFuture<Frame> reply = setWaitingForB();
    bConfirms();
    assertThat(reply.join().status()).isEqualTo(Status.OK);
  }

  @Test
  void syncWrite_ownerDeclaredDeadBeforeTheReplicaConfirmed_isNotAcknowledged() {
    CompletableFuture<Frame> reply = setWaitingForB();
    owner.emptying(); // this node hears it was declared dead; its store is emptied next
    store.flush();
    bConfirms();
    Frame answer = reply.join();
    assertThat(answer.status()).as("a write no node holds is never acknowledged").isEqualTo(Status.BUSY);
    assertThat(answer.valueText()).contains("declared the node dead");
  }

  @Test
  void emptying_everyCopyStopsBeingCurrent_beforeTheStoreIsEmptied() {
    int slot = firstSlotOf(B); // a slot A replicates for B
    assertThat(owner.current(slot)).isTrue();
    owner.emptying();
    assertThat(owner.current(slot)).as("READONLY reads of it stop before the store empties").isFalse();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
