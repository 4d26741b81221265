package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * Multi-key commands (MSET, DEL, MGET, EXISTS of several keys) through a plain connection while
 * some of their keys' owner was just killed (issue 11: requests for a suspected primary's slots
 * wait, bounded by the forward timeout, instead of failing at once). The dead owner's share of
 * each is split by slot and held with the one-key requests of those slots, in the connection's
 * order; reads with nothing held before them are answered by the slots' replicas at once.
 */
class OwnerKilledMultiKeyTest {
  private ClusterFixture cluster;

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      List.copyOf(cluster.live()).forEach(cluster::kill);
      cluster.close();
    }
  }

  /** Keys a and b owned by the doomed member, in two slots, and c owned by another. */
  private record Keys(String a, String b, String c, DistCacheNode doomed) {}

  private Keys keys(int size) {
    cluster.cluster(size);
    DistCacheNode doomed = cluster.nodes.get(size - 1);
    Member dead = doomed.membership().self();
    Placement p = cluster.nodes.get(0).membership().placement();
    List<String> his = new ArrayList<>();
    String other = null;
    for (int i = 0; his.size() < 2 || other == null; i++) {
      String k = "m:" + i;
      int slot = KeySlot.of(ClusterFixture.b(k));
      if (!p.owner(slot).equals(dead)) {
        other = other == null ? k : other;
      } else if (his.isEmpty() || KeySlot.of(ClusterFixture.b(his.get(0))) != slot) {
        his.add(k);
      }
    }
    Keys keys = new Keys(his.get(0), his.get(1), other, doomed);
    for (String k : List.of(keys.a(), keys.b(), keys.c())) {
      assertThat(ClusterFixture.writeOne(cluster.nodes.get(0), k)).as("the first write of %s", k).isNotEmpty();
    }
    return keys;
  }

  /**
   * A pipeline of one-key and multi-key writes and reads whose keys' owner was killed: all
   * acknowledged, each read sees the writes pipelined before it (the MSET's share waited behind
   * the SET held for its slot instead of being refused BUSY), and every node agrees afterwards.
   */
  @Test
  void multiKeyWritesAndReads_forAKilledOwner_areHeldInOrderAndAppliedByTheNewOwners() {
    cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.FAST);
    cluster.forwardTimeout = Duration.ofSeconds(8); // past FAST's detection time and the new owner's lease
    Keys k = keys(4);
    DistCacheNode entry = cluster.nodes.get(1);
    cluster.kill(k.doomed());

    List<Object> replies;
    try (Jedis j = new Jedis("127.0.0.1", entry.port(), 15_000)) {
      Pipeline p = j.pipelined();
      p.set(k.a(), "a1");
      p.mset(k.a(), "a2", k.b(), "b2", k.c(), "c2");
      p.del(k.b(), k.c());
      p.mget(k.a(), k.b(), k.c());
      p.set(k.b(), "b3");
      p.exists(k.a(), k.b(), k.c());
      p.mget(k.a(), k.b(), k.c());
      replies = p.syncAndReturnAll();
      String stats = j.info("stats");
      assertThat(ClusterFixture.counter(stats, "unsent_forwards_held")).as(stats).isPositive();
      assertThat(ClusterFixture.counter(stats, "unsent_forwards_expired")).as(stats).isZero();
    }

    assertThat(replies.get(0)).as("SET a").isEqualTo("OK");
    assertThat(replies.get(1)).as("MSET").isEqualTo("OK");
    assertThat(replies.get(2)).as("DEL b c").isEqualTo(2L);
    assertThat(replies.get(3)).as("MGET after the DEL").isEqualTo(Arrays.asList("a2", null, null));
    assertThat(replies.get(4)).as("SET b").isEqualTo("OK");
    assertThat(replies.get(5)).as("EXISTS").isEqualTo(2L);
    assertThat(replies.get(6)).as("MGET at the end").isEqualTo(Arrays.asList("a2", "b3", null));
    for (DistCacheNode n : cluster.live()) {
      try (Jedis j = new Jedis("127.0.0.1", n.port(), 15_000)) {
        assertThat(j.mget(k.a(), k.b(), k.c())).as("through %d", n.port()).containsExactly("a2", "b3", null);
      }
    }
  }

  /**
   * While the killed owner is only suspected (never declared dead here), an MGET or EXISTS of its
   * keys is answered by their replicas at once, and an MSET of them waits the forward timeout and
   * is then refused, not applied: the keys keep their values on every copy.
   */
  @Test
  void whileTheOwnerIsOnlySuspected_readsOfSeveralKeysComeFromReplicas_andAnExpiredMsetIsNotApplied() {
    cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.PATIENT);
    cluster.forwardTimeout = Duration.ofMillis(800);
    Keys k = keys(4);
    DistCacheNode entry = cluster.nodes.get(1);
    cluster.kill(k.doomed());

    try (Jedis j = new Jedis("127.0.0.1", entry.port(), 15_000)) {
      assertThat(j.mget(k.a(), k.b(), k.c())).containsExactly("v-" + k.a(), "v-" + k.b(), "v-" + k.c());
      assertThat(j.exists(k.a(), k.b(), k.c())).isEqualTo(3L);
      Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> j.mset(k.a(), "x", k.b(), "y"));
      assertThat(refused).as("the MSET").isNotNull();
      assertThat(refused.getMessage()).contains("unreachable").contains("not applied");
      assertThat(j.mget(k.a(), k.b())).as("after the refused MSET").containsExactly("v-" + k.a(), "v-" + k.b());
      assertThat(ClusterFixture.counter(j.info("stats"), "unsent_forwards_expired")).isPositive();
    }
    for (DistCacheNode n : cluster.live()) {
      Placement p = n.membership().placement();
      assertThat(p.members()).as("the killed member is only suspected").contains(k.doomed().membership().self());
    }
  }

  /**
   * MSETNX of a key of the killed owner and one of a live owner, both absent: its check phase must
   * not wait for a successor nor read a replica, since its set phase goes to the owners grouped
   * at the start: it fails, and nothing is written (a reviewer: the live owner's key was written
   * while the command answered BUSY).
   */
  @Test
  void msetnxAcrossALiveAndAKilledOwner_failsAndWritesNothing() {
    cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.PATIENT);
    cluster.forwardTimeout = Duration.ofMillis(800);
    cluster.cluster(4);
    DistCacheNode doomed = cluster.nodes.get(3);
    DistCacheNode entry = cluster.nodes.get(1);
    Placement p = entry.membership().placement();
    String his = null;
    String other = null;
    for (int i = 0; his == null || other == null; i++) {
      String k = "nx:" + i;
      Member o = p.owner(KeySlot.of(ClusterFixture.b(k)));
      if (o.equals(doomed.membership().self())) {
        his = his == null ? k : his;
      } else if (!o.equals(entry.membership().self())) {
        other = other == null ? k : other;
      }
    }
    cluster.kill(doomed);
    try (Jedis j = new Jedis("127.0.0.1", entry.port(), 15_000)) {
      String a = his;
      String b = other;
      Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> j.msetnx(a, "x", b, "y"));
      assertThat(refused).as("the MSETNX").isNotNull();
      assertThat(refused.getMessage()).contains("unreachable");
      assertThat(j.get(b)).as("the live owner's key").isNull();
    }
  }

  /**
   * At the takeover, while the new owner waits out its lease: a pipelined MGET of two of its new
   * slots, then SETs of both keys, then MGET again. The first MGET must read the values from before
   * the SETs (a tester: retried 20 ms later on its own, it read the SETs pipelined after it), and
   * the SETs and the second MGET succeed.
   */
  @Test
  void aPipelinedMgetAtTheTakeover_readsNothingWrittenAfterIt() {
    cluster = new ClusterFixture(1, ReplicationMode.SYNC, ClusterTest.FAST);
    cluster.forwardTimeout = Duration.ofSeconds(8);
    cluster.cluster(4);
    DistCacheNode doomed = cluster.nodes.get(3);
    Placement p = cluster.nodes.get(0).membership().placement();
    String a = null;
    String b = null;
    for (int i = 0; b == null; i++) {
      String k = "t:" + i;
      int slot = KeySlot.of(ClusterFixture.b(k));
      if (!p.owner(slot).equals(doomed.membership().self())) {
        continue;
      }
      if (a == null) {
        a = k;
      } else if (KeySlot.of(ClusterFixture.b(a)) != slot && p.replicas(slot).get(0).equals(p.replicas(KeySlot.of(ClusterFixture.b(a))).get(0))) {
        b = k;
      }
    }
    DistCacheNode entry = cluster.nodeOf(p.replicas(KeySlot.of(ClusterFixture.b(a))).get(0));
    for (String k : List.of(a, b)) {
      assertThat(ClusterFixture.writeOne(entry, k)).as("the first write of %s", k).isNotEmpty();
    }
    cluster.kill(doomed);
    int slotA = KeySlot.of(ClusterFixture.b(a));
    org.awaitility.Awaitility.await().atMost(ClusterTest.DEADLINE).pollInterval(Duration.ofMillis(1)).until(() -> {
      Placement now = entry.membership().placement();
      return now.owner(slotA).equals(entry.membership().self()) && !entry.membership().guard().mayServe(now, slotA);
    });

    List<Object> replies;
    try (Jedis j = new Jedis("127.0.0.1", entry.port(), 15_000)) {
      Pipeline pipe = j.pipelined();
      pipe.mget(a, b);
      pipe.set(a, "new-a");
      pipe.set(b, "new-b");
      pipe.mget(a, b);
      replies = pipe.syncAndReturnAll();
    }
    assertThat(replies.get(0)).as("the MGET sent before the SETs").isEqualTo(List.of("v-" + a, "v-" + b));
    assertThat(replies.subList(1, 3)).as("the SETs").containsOnly("OK");
    assertThat(replies.get(3)).as("the MGET after them").isEqualTo(List.of("new-a", "new-b"));
  }
}
