package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
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
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A replica keeps its copy through a failover (its owner left or died and another replica took the
 * slot over). A copy it had asked for and that was not whole yet is asked of the new owner at once,
 * with the same token, not only once it is STUCK_COPY_NANOS old (a reviewer: a member killed while
 * departing left its extras' half-made copies waiting 10 s, the slot with one whole copy).
 */
class FailoverCopyAskTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));

  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement before = Placement.of(1, List.of(A, B, C), 64, 2);
  private final Placement after = Placement.of(2, List.of(B, C), 64, 2);
  private final AtomicReference<Placement> placement = new AtomicReference<>(before);
  private final AtomicLong nanos = new AtomicLong(TimeUnit.HOURS.toNanos(1));
  /** The REPLICA_SYNC requests B sent, and to whom; every owner accepts and streams nothing. */
  private final List<Map.Entry<Address, Frame>> asked = new CopyOnWriteArrayList<>();
  private final Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() == Opcode.REPLICA_SYNC) {
      asked.add(Map.entry(to, request));
    }
    return CompletableFuture.completedFuture(request.replyOk());
  });
  private final Replicator replica = new Replicator(store, placement::get, () -> B, peers, ReplicationMode.SYNC,
      local::execute, nanos::get);

  @AfterEach
  void close() {
    replica.close();
    store.close();
  }

  private static boolean has(byte[] map, int slot) {
    return (map[slot >>> 3] & (1 << (slot & 7))) != 0;
  }

  @Test
  void copyNotWholeWhenItsOwnerGoes_isAskedOfTheNewOwnerAtOnce_withTheSameToken() {
    replica.placementChanged(Placement.empty(), before);
    long[] dropped = new long[KeySlot.SLOTS / 64];
    int moved = -1;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (before.owns(A, s)) {
        dropped[s >>> 6] |= 1L << s;
        if (moved < 0 && after.owns(C, s)) {
          moved = s;
        }
      }
    }
    assertThat(moved).as("a slot of A's that C takes over, B staying its replica").isNotNegative();
    replica.slotsDropped(dropped);
    await().atMost(Duration.ofSeconds(10)).until(() -> asked.size() == 1);
    assertThat(asked.get(0).getKey()).isEqualTo(A.address());
    long token = asked.get(0).getValue().extras()[2];

    placement.set(after);
    replica.placementChanged(before, after);

    int slot = moved;
    await().atMost(Duration.ofSeconds(10)).until(() -> asked.stream().anyMatch(e -> e.getKey().equals(C.address())));
    Frame again = asked.stream().filter(e -> e.getKey().equals(C.address())).findFirst().orElseThrow().getValue();
    assertThat(has(again.value(), slot)).isTrue();
    assertThat(again.extras()[2]).as("the same token").isEqualTo(token);
    assertThat(again.extras()[1]).isEqualTo(after.fingerprint());
  }
}
