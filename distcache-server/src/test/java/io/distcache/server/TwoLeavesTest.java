package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.net.RawClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two graceful leaves (SIGTERM) that overlap, on 5 members with --replicas 1 (sync), under a
 * client that keeps rewriting and deleting keys through a member that stays: at the same moment,
 * the second as the first becomes departing, the second as the first's LEFT lands, the higher id
 * first, and the first made slow (its wait for a member that does not answer its leave's ping,
 * or for its extras' copies) so the second's wait for it runs out and the second leaves first,
 * and five rounds of two leaves 0-1.2 s apart with two joins between. After both: every acknowledged write reads back through every member left, a deleted key stays
 * deleted, no older value, and the owner and replica of each key's slot both hold its last state.
 * None of these lost anything before the fix below either. What did: the higher id departing
 * first, the lower one's leave beginning then (by id alone it did not wait, so both departed),
 * and a third member dying as the first's LEFT landed (ClusterRouter.goesFirst).
 */
class TwoLeavesTest {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TwoLeavesTest.class);
  // A suspicion timeout of 3 s, not FAST's 1 s: on a loaded machine a member was declared dead
  // while the cluster formed, rejoined as a learner and owned nothing when its leave began.
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC,
      ClusterTest.FAST.withSuspicionTimeout(Duration.ofSeconds(3)));

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  private static final int KEYS = 1500;

  /**
   * 5 members in id order (started one after another: ids begin with the start time); the last
   * two get {@code firstTimeout} and {@code secondTimeout} as --shutdown-timeout.
   */
  private List<DistCacheNode> fiveMembers(Duration firstTimeout, Duration secondTimeout) {
    DistCacheNode seed = cluster.start();
    cluster.start(seed);
    cluster.start(seed);
    cluster.shutdownTimeout = firstTimeout;
    cluster.start(seed);
    cluster.shutdownTimeout = secondTimeout;
    cluster.start(seed);
    cluster.shutdownTimeout = null;
    cluster.awaitSettled();
    List<DistCacheNode> nodes = List.copyOf(cluster.nodes);
    List<String> ids = nodes.stream().map(n -> n.membership().self().id()).toList();
    assertThat(ids).as("members started in id order").isSorted();
    return nodes;
  }

  /** Starts {@code n}'s graceful stop (what SIGTERM does) on a thread of its own. */
  private Thread stopAsync(DistCacheNode n) {
    cluster.stopped.add(n);
    Thread t = new Thread(n::close, "test-sigterm-" + n.port());
    t.start();
    return t;
  }

  /** Spins (no sleep) until {@code condition} holds, at most a minute. */
  private static void spinUntil(BooleanSupplier condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waited a minute").isNegative();
      Thread.onSpinWait();
    }
  }

  private static boolean departing(DistCacheNode watcher, DistCacheNode n) {
    Member m = n.membership().self();
    return watcher.membership().snapshot().map(s -> s.departing().contains(m)).orElse(false);
  }

  /**
   * Under a Mutator through the first member: stops {@code first}, then {@code second} once
   * {@code between} holds; once both have exited and the writer made one more pass, checks.
   */
  private void leaveTwo(List<DistCacheNode> n, DistCacheNode first, BooleanSupplier between, DistCacheNode second)
      throws InterruptedException {
    Map<String, String> expected = cluster.writeEvery(KEYS);
    try (Mutator m = new Mutator(n.get(0), expected)) {
      m.awaitRounds(1);
      Thread a = stopAsync(first);
      spinUntil(between);
      Thread b = stopAsync(second);
      a.join();
      b.join();
      m.awaitRounds(1);
    }
    assertSettledAndIntact(expected);
  }

  @Test
  void twoStoppedAtTheSameMoment_underWrites_nothingLostNothingStale() throws Exception {
    List<DistCacheNode> n = fiveMembers(null, null);
    leaveTwo(n, n.get(3), () -> true, n.get(4));
  }

  @Test
  void secondStoppedAsTheFirstBecomesDeparting_underWrites_nothingLostNothingStale() throws Exception {
    List<DistCacheNode> n = fiveMembers(null, null);
    leaveTwo(n, n.get(3), () -> departing(n.get(0), n.get(3)), n.get(4));
  }

  @Test
  void secondStoppedAsTheFirstsLeftLands_underWrites_nothingLostNothingStale() throws Exception {
    List<DistCacheNode> n = fiveMembers(null, null);
    Member first = n.get(3).membership().self();
    // The moment a survivor drops the first: the second is now the replica of slots it never held.
    leaveTwo(n, n.get(3), () -> !n.get(0).membership().placement().contains(first), n.get(4));
  }

  @Test
  void higherIdStoppedFirst_lowerIdWhileItDeparts_underWrites_nothingLostNothingStale() throws Exception {
    List<DistCacheNode> n = fiveMembers(null, null);
    // The lower id waits for the one already departing (goesFirst), which does not wait for it.
    leaveTwo(n, n.get(4), () -> departing(n.get(0), n.get(4)), n.get(3));
  }

  @Test
  void firstSlowBeforeDeparting_secondsWaitRunsOut_underWrites_nothingLostNothingStale() throws Exception {
    // The first waits about 4 s for a survivor that never answers its leave's ping (verdict time
    // plus the takeover wait); the second waits for it at most half of its 4 s, then goes first.
    List<DistCacheNode> n = fiveMembers(null, Duration.ofSeconds(4));
    cluster.firewall.dropOpcode(ClusterFixture.address(n.get(3)), ClusterFixture.address(n.get(1)), Opcode.PING);
    leaveTwo(n, n.get(3), () -> true, n.get(4));
  }

  @Test
  void firstSlowWhileDeparting_secondsWaitRunsOut_underWrites_nothingLostNothingStale() throws Exception {
    // The first's REPLICA_LACKS get no answer: it stays departing for a third of its 12 s; the
    // second waits for it at most half of its 4 s, then hands off and leaves under a placement
    // where both depart.
    List<DistCacheNode> n = fiveMembers(Duration.ofSeconds(12), Duration.ofSeconds(4));
    for (int i = 0; i < 3; i++) {
      cluster.firewall.dropOpcode(ClusterFixture.address(n.get(3)), ClusterFixture.address(n.get(i)),
          Opcode.REPLICA_LACKS);
    }
    leaveTwo(n, n.get(3), () -> departing(n.get(0), n.get(3)), n.get(4));
  }

  @Test
  void rounds_secondStoppedAtGrowingOffsets_twoJoinBetween_underWrites_nothingLostNothingStale() throws Exception {
    // The second leave starts 0..1.2 s after the first (through the first's departing, copies, hold
    // and LEFT), with either id first; two members join after each round to keep five.
    List<DistCacheNode> n = fiveMembers(null, null);
    DistCacheNode entry = n.get(0);
    Map<String, String> expected = cluster.writeEvery(KEYS);
    long[] offsetsMillis = {0, 150, 400, 800, 1200};
    try (Mutator m = new Mutator(entry, expected)) {
      for (int round = 0; round < offsetsMillis.length; round++) {
        List<DistCacheNode> others = cluster.live().stream().filter(x -> x != entry).toList();
        DistCacheNode first = round % 2 == 0 ? others.get(0) : others.get(others.size() - 1);
        DistCacheNode second = others.get(1 + round % 2);
        m.awaitRounds(1);
        Thread a = stopAsync(first);
        long at = System.nanoTime() + offsetsMillis[round] * 1_000_000;
        spinUntil(() -> System.nanoTime() - at >= 0);
        Thread b = stopAsync(second);
        a.join();
        b.join();
        cluster.awaitSettled();
        m.awaitRounds(1);
        assertIntactNow(expected, m);
        cluster.start(entry);
        cluster.start(entry);
        cluster.awaitSettled();
      }
    }
    assertSettledAndIntact(expected);
  }

  /** As assertSettledAndIntact's reads, while the mutator runs: each key's state now or a later one. */
  private void assertIntactNow(Map<String, String> expected, Mutator m) {
    m.pause();
    try {
      assertSettledAndIntact(expected);
    } finally {
      m.resume();
    }
  }

  @Test
  void secondDeparting_firstsLeftLands_thenTheNewOwnerDies_nothingLost() throws Exception {
    // After the first's LEFT, the second (still departing) is the first replica of slots whose
    // owner is a survivor, and it has not copied them yet; the extra that holds them whole is
    // second in line. The owner dies at that moment.
    List<DistCacheNode> n = fiveMembers(null, null);
    Map<String, String> expected = cluster.writeEvery(KEYS);
    Member first = n.get(3).membership().self();
    Member second = n.get(4).membership().self();
    Placement before = n.get(0).membership().placement();
    List<Member> after = before.members().stream().filter(m -> !m.equals(first)).toList();
    Placement onceFirstLeft = Placement.of(1, after, List.of(), List.of(second), before.virtualNodes(), 1);
    DistCacheNode victim = null;
    int exposed = 0;
    for (DistCacheNode c : List.of(n.get(1), n.get(2))) {
      int count = 0;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if (before.owns(first, s) && onceFirstLeft.owns(c.membership().self(), s)
            && onceFirstLeft.replicas(s).get(0).equals(second)) {
          count++;
        }
      }
      if (count > exposed) {
        exposed = count;
        victim = c;
      }
    }
    assertThat(exposed).as("slots of the first whose next owner has the second as first replica").isPositive();
    DistCacheNode dies = victim;
    Thread b = stopAsync(n.get(4));
    spinUntil(() -> departing(n.get(0), n.get(4)));
    Thread a = stopAsync(n.get(3));
    spinUntil(() -> !n.get(0).membership().placement().contains(first));
    cluster.kill(dies);
    a.join();
    b.join();
    cluster.awaitSettled();
    await().atMost(Duration.ofSeconds(60)).until(() -> cluster.noneRefused(expected));
    assertSettledAndIntact(expected);
  }

  private void assertSettledAndIntact(Map<String, String> expected) {
    cluster.awaitSettled();
    // Every key's last acknowledged state through every member left: the value, or none if deleted.
    for (DistCacheNode node : cluster.live()) {
      try (RawClient c = new RawClient(node.port())) {
        List<String> keys = new ArrayList<>(KEYS);
        for (int i = 0; i < KEYS; i++) {
          keys.add("k:" + i);
        }
        List<Frame> replies = ClusterFixture.getAll(c, keys);
        for (int i = 0; i < KEYS; i++) {
          String k = keys.get(i);
          Frame r = replies.get(i);
          String want = expected.get(k);
          assertThat(r.status()).as("GET %s through %s: %s (slot %d), expected %s", k, node.port(), r.valueText(),
              KeySlot.of(ClusterFixture.b(k)), want).isEqualTo(want == null ? Status.NOT_FOUND : Status.OK);
          if (want != null) {
            assertThat(r.valueText()).as("GET %s through %s", k, node.port()).isEqualTo(want);
          }
        }
      }
    }
    // And on both copies the placement names: no slot served or replicated without its data.
    Placement p = cluster.live().get(0).membership().placement();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (int i = 0; i < KEYS; i++) {
        String k = "k:" + i;
        int slot = KeySlot.of(ClusterFixture.b(k));
        List<Member> copies = new ArrayList<>(p.replicas(slot));
        copies.add(p.owner(slot));
        String want = expected.get(k);
        for (Member m : copies) {
          byte[] held = cluster.nodeOf(m).store().get(ClusterFixture.b(k));
          assertThat(held == null ? null : new String(held, java.nio.charset.StandardCharsets.UTF_8))
              .as("copy of %s on %s", k, m.address()).isEqualTo(want);
        }
      }
    });
  }

  /**
   * Rewrites every key k:0..KEYS-1 through {@code entry} in rounds, deleting every third, each
   * write retried until acknowledged (the same value again, so a write that failed but was applied
   * changes nothing), and keeps {@code expected} at each key's last acknowledged state (removed when
   * deleted). Errors are counted, not failures: a leave may refuse a write it cannot place.
   */
  static final class Mutator implements AutoCloseable {
    final List<String> errors = new CopyOnWriteArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private volatile int rounds;
    private final java.util.concurrent.Semaphore running = new java.util.concurrent.Semaphore(1);
    private final Thread thread;

    Mutator(DistCacheNode entry, Map<String, String> expected) {
      thread = new Thread(() -> {
        try (RawClient c = new RawClient(entry.port())) {
          for (int round = 1; !stop.get(); round++) {
            for (int i = 0; i < KEYS && !stop.get(); i++) {
              String k = "k:" + i;
              boolean delete = (i + round) % 3 == 0;
              String v = "r" + round + "-" + k;
              running.acquireUninterruptibly();
              while (true) {
                Frame r = ClusterFixture.call(c, delete ? Frame.request(Opcode.DELETE, ClusterFixture.b(k))
                    : Frame.request(Opcode.SET, 0, ClusterFixture.b(k), ClusterFixture.b(v)));
                if (r.status() == Status.OK || delete && r.status() == Status.NOT_FOUND) {
                  break;
                }
                errors.add(k + ": " + r.status() + " " + r.valueText());
              }
              if (delete) {
                expected.remove(k);
              } else {
                expected.put(k, v);
              }
              running.release();
            }
            rounds = round;
          }
        }
      }, "test-mutator");
      thread.start();
    }

    /** Stops writing once the write under way is acknowledged (the checks then read a still keyspace). */
    void pause() {
      running.acquireUninterruptibly();
    }

    void resume() {
      running.release();
    }

    /** Waits until {@code more} whole rounds over the keys have ended from now. */
    void awaitRounds(int more) {
      int target = rounds + more;
      await().atMost(Duration.ofSeconds(120)).until(() -> rounds >= target || !thread.isAlive());
      assertThat(thread.isAlive()).as("mutator alive").isTrue();
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      thread.join();
      log.info("mutator: {} error replies {}", errors.size(), errors.stream().limit(5).toList());
    }
  }
}
