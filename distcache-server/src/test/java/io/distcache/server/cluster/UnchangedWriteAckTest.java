package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A request that changed no key, in SYNC mode, waits for what its replicas were already sent: its
 * reply may rest on an earlier write whose effect a replica has not confirmed yet (a reviewer).
 */
class UnchangedWriteAckTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7651));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7652));

  private final Store store = Stores.create(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  /** REPLICATE batches the replica has not answered yet (it is slow: a GC pause, a full link). */
  private final List<Runnable> unanswered = new ArrayList<>();
  private volatile boolean slow;
  private final io.distcache.server.bus.Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() != Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    int n = EffectCodec.decode(request.value()).size();
    Frame ok = request.replyOk(request.extras()[1] + n - 1);
    // Under the list's lock, as answerAll turns slow off: a batch sent by the link's thread while
    // the test answers the held ones is either held and answered there, or answered here.
    synchronized (unanswered) {
      if (!slow) {
        return CompletableFuture.completedFuture(ok);
      }
      CompletableFuture<Frame> f = new CompletableFuture<>();
      unanswered.add(() -> f.complete(ok));
      return f;
    }
  });
  private final Replicator replicator = new Replicator(store, () -> placement, () -> A, peers, ReplicationMode.SYNC,
      local::execute);

  @AfterEach
  void close() throws Exception {
    synchronized (unanswered) {
      unanswered.forEach(Runnable::run);
    }
    replicator.close();
    store.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A key named {@code name} in the first slot that A owns and B replicates. */
  private String keyReplicatedToB(String name) {
    return TestKeys.replicatedBy(placement, A, B, 0, name);
  }

  private CompletableFuture<Frame> sets(String key, int command, String member) {
    return replicator.execute(Frame.request(Opcode.SETS, 0, b(key), ListCodec.encodeValues(List.of(b(member))),
        (long) command), placement);
  }

  /** Client 1's SADD waits for the replica; client 2's identical SADD (or client 1's retry) must too. */
  @Test
  void saddOfAMemberWhoseAddIsUnconfirmed_waitsForTheReplica() {
    replicator.placementChanged(placement);
    String set = keyReplicatedToB("s");
    assertThat(sets(set, SetRequests.SADD, "x").join().status()).isEqualTo(io.distcache.protocol.Status.OK);
    hold();
    CompletableFuture<Frame> first = sets(set, SetRequests.SADD, "m");
    assertThat(first).as("the SADD that added m waits for the replica").isNotDone();
    CompletableFuture<Frame> second = sets(set, SetRequests.SADD, "m");
    // m is on the owner alone: if the owner fails now, the promoted replica has no m, yet this
    // SADD was acknowledged (a retry after BUSY gets the same).
    assertThat(second).as("an acknowledged SADD whose member is on the owner only").isNotDone();

    answerAll();
    assertThat(second.join().extras()[0]).as("answered once the replica confirmed: m was there").isZero();
    assertThat(first.join().extras()[0]).isEqualTo(1);
  }

  /** The replica holds back its answers from now on. */
  private void hold() {
    synchronized (unanswered) {
      slow = true;
    }
  }

  /** The replica answers what it held back, and every batch from now on at once. */
  private void answerAll() {
    List<Runnable> now;
    synchronized (unanswered) {
      slow = false;
      now = new ArrayList<>(unanswered);
      unanswered.clear();
    }
    now.forEach(Runnable::run);
  }

  /** With the replica caught up, a read or a write that changed nothing is answered at once. */
  @Test
  void aReadOrAnUnchangedWrite_withTheReplicaCaughtUp_isAnsweredAtOnce() {
    replicator.placementChanged(placement);
    String set = keyReplicatedToB("q");
    assertThat(sets(set, SetRequests.SADD, "m").join().status()).isEqualTo(io.distcache.protocol.Status.OK);
    hold(); // a batch sent now would be held: none is
    assertThat(sets(set, SetRequests.SADD, "m")).as("SADD of a member present").isDone();
    assertThat(sets(set, SetRequests.SREM, "absent")).as("SREM of a member absent").isDone();
  }

  /** Client 1's SREM waits; client 2's SREM of the same member (0 here) must not confirm its absence early. */
  @Test
  void sremOfAMemberWhoseRemovalIsUnconfirmed_waitsForTheReplica() {
    replicator.placementChanged(placement);
    String set = keyReplicatedToB("r");
    assertThat(sets(set, SetRequests.SADD, "x").join().status()).isEqualTo(io.distcache.protocol.Status.OK);
    assertThat(sets(set, SetRequests.SADD, "m").join().status()).isEqualTo(io.distcache.protocol.Status.OK);
    hold();
    CompletableFuture<Frame> first = sets(set, SetRequests.SREM, "m");
    assertThat(first).isNotDone();
    CompletableFuture<Frame> second = sets(set, SetRequests.SREM, "m");
    // the replica still holds m: after a failover it comes back, though this SREM was answered
    assertThat(second).as("an acknowledged SREM whose removal is on the owner only").isNotDone();

    answerAll();
    assertThat(second.join().extras()[0]).isZero();
    assertThat(first.join().extras()[0]).isEqualTo(1);
  }
}
