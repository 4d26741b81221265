package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.net.RawClient;
import io.distcache.server.store.StoredEntry;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** Replication between in-JVM nodes (--replicas 1): effects reach the replicas, in order, before a sync ack. */
class ReplicationTest {
  private final FirewallPeers.Firewall firewall = new FirewallPeers.Firewall();
  private final List<DistCacheNode> nodes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    // Heal first: a node that closes behind a dropped link waits out its hand-off (--shutdown-timeout).
    firewall.clear();
    for (DistCacheNode n : nodes) {
      n.close();
    }
  }

  private DistCacheNode start(ReplicationMode mode, DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    FirewallPeers[] wrapped = new FirewallPeers[1];
    DistCacheNode n = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST)
        .replicas(1)
        .replication(mode)
        .joinAddresses(join)
        .peersDecorator(p -> wrapped[0] = new FirewallPeers(p, firewall))
        .start();
    nodes.add(n);
    wrapped[0].self(address(n));
    return n;
  }

  private List<DistCacheNode> cluster(int size, ReplicationMode mode) {
    DistCacheNode first = start(mode);
    for (int i = 1; i < size; i++) {
      start(mode, first);
    }
    awaitSettled(size);
    return nodes;
  }

  private void awaitSettled(int size) {
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      long fp = nodes.get(0).membership().placement().fingerprint();
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(size);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().placement().fingerprint()).isEqualTo(fp);
        assertThat(n.membership().guard().settled()).isTrue();
        assertThat(n.membership().guard().leaseHeld(n.membership().placement())).isTrue();
      }
    });
  }

  private static Address address(DistCacheNode n) {
    return new Address("127.0.0.1", n.port());
  }

  private DistCacheNode node(Member m) {
    return nodes.stream().filter(n -> m.equals(n.membership().self())).findFirst().orElseThrow();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A key whose slot {@code owner} owns and {@code replica} replicates. */
  private static byte[] keyOf(Placement p, DistCacheNode owner, DistCacheNode replica, String prefix) {
    for (int i = 0; ; i++) {
      byte[] k = b(prefix + i);
      int s = KeySlot.of(k);
      if (p.owner(s).equals(owner.membership().self()) && p.isReplica(replica.membership().self(), s)) {
        return k;
      }
    }
  }

  private static Frame call(RawClient c, Frame request) {
    c.send(request.withRequestId(1));
    return c.read();
  }

  /** The replica holds what the owner holds: value, version and absolute expiry, or nothing. */
  private void assertReplicaMatchesOwner(byte[] key) {
    Placement p = nodes.get(0).membership().placement();
    int slot = KeySlot.of(key);
    io.distcache.server.store.TypedEntry owner = node(p.owner(slot)).store().peekEntry(key);
    for (Member r : p.replicas(slot)) {
      io.distcache.server.store.TypedEntry copy = node(r).store().peekEntry(key);
      if (owner == null) {
        assertThat(copy).as("replica of deleted %s", new String(key, StandardCharsets.UTF_8)).isNull();
      } else {
        assertThat(copy).as("replica of %s", new String(key, StandardCharsets.UTF_8)).isNotNull();
        assertThat(copy.value()).isEqualTo(owner.value());
        assertThat(copy.version()).isEqualTo(owner.version());
        assertThat(copy.expireAtMillis()).isEqualTo(owner.expireAtMillis());
      }
    }
  }

  @Test
  void sync_everyAcknowledgedWrite_isOnTheReplicaAlready_withTheOwnersVersionAndExpiry() {
    cluster(3, ReplicationMode.SYNC);
    DistCacheNode entry = nodes.get(0);
    List<byte[]> keys = new ArrayList<>();
    try (RawClient c = new RawClient(entry.port())) {
      for (int i = 0; i < 150; i++) {
        byte[] k = b("key:" + i);
        keys.add(k);
        long[] ttl = i % 3 == 0 ? new long[] {60_000} : new long[0];
        assertThat(call(c, Frame.request(Opcode.SET, 0, k, b("v" + i), ttl)).status()).isEqualTo(Status.OK);
        assertReplicaMatchesOwner(k); // sync: on the replica before the client heard OK
      }
      for (int i = 0; i < 5; i++) {
        assertThat(call(c, Frame.request(Opcode.INCREMENT, 0, b("counter"), null, 3)).status()).isEqualTo(Status.OK);
      }
      assertReplicaMatchesOwner(b("counter"));
      assertThat(call(c, Frame.request(Opcode.APPEND, 0, b("key:1"), b("+more"))).status()).isEqualTo(Status.OK);
      assertReplicaMatchesOwner(b("key:1"));
      for (int i = 0; i < 150; i += 2) {
        assertThat(call(c, Frame.request(Opcode.DELETE, 0, keys.get(i), null)).status()).isEqualTo(Status.OK);
        assertReplicaMatchesOwner(keys.get(i));
      }
      assertThat(call(c, Frame.request(Opcode.EXPIRE, 0, b("key:3"), null, 120_000, 0)).status()).isEqualTo(Status.OK);
      assertReplicaMatchesOwner(b("key:3"));
    }
    for (byte[] k : keys) {
      assertReplicaMatchesOwner(k);
    }
    try (Jedis j = new Jedis("127.0.0.1", entry.port())) {
      String info = j.info("replication");
      assertThat(info).contains("role:master\r\nconnected_slaves:2\r\n", "replication_mode:sync", "replicas:1");
    }
  }

  /**
   * ZADD (its flags), ZINCRBY and ZREM build a large sorted set's new payload from the stored one
   * (ZsetEdit) instead of decoding it: the replica must hold the owner's bytes after each.
   */
  @Test
  void sync_largeSortedSetWrites_leaveTheReplicaWithTheOwnersBytes() {
    cluster(2, ReplicationMode.SYNC);
    byte[] key = b("board");
    java.util.Random rnd = new java.util.Random(14);
    try (Jedis j = new Jedis("127.0.0.1", nodes.get(0).port())) {
      java.util.Map<String, Double> start = new java.util.HashMap<>();
      for (int i = 0; i < 400; i++) {
        start.put("player:" + i, (double) (i % 50)); // ties, ordered by member bytes
      }
      j.zadd("board", start);
      assertReplicaMatchesOwner(key);
      for (int i = 0; i < 200; i++) {
        String member = "player:" + rnd.nextInt(450); // about 1 in 9 new
        double score = rnd.nextInt(60) - 5 + (rnd.nextBoolean() ? 0.5 : 0);
        switch (i % 6) {
          case 0 -> j.zadd("board", score, member);
          case 1 -> j.zadd("board", score, member, redis.clients.jedis.params.ZAddParams.zAddParams().xx().gt());
          case 2 -> j.zadd("board", score, member, redis.clients.jedis.params.ZAddParams.zAddParams().nx());
          case 3 -> j.zincrby("board", score, member);
          case 4 -> j.zrem("board", member, "player:" + rnd.nextInt(450));
          default -> j.zadd("board", java.util.Map.of(member, score, "new:" + i, -score));
        }
        assertReplicaMatchesOwner(key); // sync: on the replica before the reply
      }
      assertThat(j.zcard("board")).isGreaterThan(300);
    }
  }

  /**
   * ZREMRANGEBYSCORE/RANK/LEX, ZPOPMIN/MAX, ZMPOP and BZPOPMIN build a large sorted set's new payload
   * from the stored one (ZsetRanges: two bulk copies around the removed run) instead of decoding it:
   * the replica must hold the owner's bytes after each, the key's expiry kept, and lose the key
   * with the owner when the last member goes. The replies are the counts Redis gives on this set.
   */
  @Test
  void sync_largeSortedSetRemovals_leaveTheReplicaWithTheOwnersBytes() {
    cluster(2, ReplicationMode.SYNC);
    byte[] key = b("board");
    java.util.Map<String, Double> start = new java.util.HashMap<>();
    try (Jedis j = new Jedis("127.0.0.1", nodes.get(0).port())) {
      for (int i = 0; i < 400; i++) {
        start.put(String.format("p%03d", i), (double) (i % 40)); // ties, ordered by member bytes
      }
      j.zadd("board", start);
      j.pexpire("board", 3_600_000);
      assertReplicaMatchesOwner(key);
      assertThat(j.zremrangeByScore("board", "(10", "12")).isEqualTo(20); // 11 and 12, ten members each
      assertReplicaMatchesOwner(key);
      assertThat(j.zremrangeByRank("board", 5, 9)).isEqualTo(5);
      assertThat(j.zremrangeByRank("board", -3, -1)).isEqualTo(3);
      assertThat(j.zremrangeByScore("board", "39", "+inf")).isEqualTo(7); // p039..p399 by 40, 3 of them ranked last
      assertReplicaMatchesOwner(key);
      assertThat(j.zpopmin("board", 3)).hasSize(3);
      assertThat(j.zpopmax("board")).isNotNull();
      assertReplicaMatchesOwner(key);
      assertThat(j.zmpop(redis.clients.jedis.args.SortedSetOption.MAX, 4, "board").getValue()).hasSize(4);
      assertThat(j.bzpopmin(1, "board")).isNotNull();
      assertReplicaMatchesOwner(key);
      j.zadd("lex", java.util.Map.of("a", 0.0, "b", 0.0, "c", 0.0, "d", 0.0));
      assertThat(j.zremrangeByLex("lex", "(a", "[c")).isEqualTo(2);
      assertReplicaMatchesOwner(b("lex"));
      long left = j.zcard("board");
      assertThat(left).isEqualTo(400 - 20 - 5 - 3 - 7 - 3 - 1 - 4 - 1);
      assertThat(j.pttl("board")).as("the expiry kept through every removal").isPositive();
      assertThat(j.zremrangeByRank("board", 0, -1)).isEqualTo(left);
      assertReplicaMatchesOwner(key); // gone on both
      assertThat(j.exists("board")).isFalse();
    }
  }

  @Test
  void flushOnEveryNode_emptiesEveryCopy() {
    cluster(3, ReplicationMode.SYNC);
    try (RawClient c = new RawClient(nodes.get(1).port())) {
      for (int i = 0; i < 200; i++) {
        assertThat(call(c, Frame.request(Opcode.SET, 0, b("f" + i), b("x"))).status()).isEqualTo(Status.OK);
      }
    }
    long copies = nodes.stream().mapToLong(n -> n.store().size()).sum();
    assertThat(copies).isEqualTo(400); // every key on its owner and one replica

    for (DistCacheNode n : nodes) {
      try (RawClient c = new RawClient(n.port())) {
        assertThat(call(c, Frame.request(Opcode.FLUSH, null)).status()).isEqualTo(Status.OK);
      }
    }

    for (DistCacheNode n : nodes) {
      assertThat(n.store().size()).as("keys left on %s", n.membership().self()).isZero();
    }
  }

  @Test
  void async_replicasFollowInOrder_evenWhenTheLinkDelaysAndReorders() {
    cluster(3, ReplicationMode.ASYNC);
    Placement p = nodes.get(0).membership().placement();
    DistCacheNode owner = nodes.get(0);
    DistCacheNode replica = node(p.replicas(KeySlot.of(keyOf(p, owner, nodes.get(1), "a"))).get(0));
    byte[] hot = keyOf(p, owner, replica, "hot");
    byte[] gone = keyOf(p, owner, replica, "gone");
    // Every frame to the replica goes out 0-30 ms late on a thread pool: batches may arrive out of order.
    firewall.set(address(owner), address(replica), FirewallPeers.Action.DELAY, Duration.ofMillis(15));
    try (RawClient c = new RawClient(owner.port())) {
      for (int i = 0; i < 300; i++) {
        assertThat(call(c, Frame.request(Opcode.SET, 0, hot, b("v" + i))).status()).isEqualTo(Status.OK);
        assertThat(call(c, Frame.request(Opcode.SET, 0, gone, b("g" + i))).status()).isEqualTo(Status.OK);
        if (i % 7 == 0) {
          assertThat(call(c, Frame.request(Opcode.DELETE, 0, gone, null)).status()).isEqualTo(Status.OK);
        }
      }
      assertThat(call(c, Frame.request(Opcode.DELETE, 0, gone, null)).status()).isEqualTo(Status.OK);
    }

    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(replica.store().get(hot)).isEqualTo(b("v299"));
      assertThat(replica.store().peekEntry(hot).version()).isEqualTo(owner.store().peekEntry(hot).version());
      assertThat(replica.store().get(gone)).isNull();
    });
    try (Jedis j = new Jedis("127.0.0.1", owner.port())) {
      assertThat(j.info("replication")).contains("replication_mode:async", "replication_lag_effects:0");
    }
  }

  @Test
  void sync_replicaCutOff_writeWaitsUntilItIsDeclaredDead_thenIsAcknowledged() {
    cluster(3, ReplicationMode.SYNC);
    Placement p = nodes.get(0).membership().placement();
    DistCacheNode owner = nodes.get(0);
    DistCacheNode replica = nodes.get(2);
    byte[] key = keyOf(p, owner, replica, "cut");
    firewall.isolate(address(replica), List.of(address(owner), address(nodes.get(1))));

    try (RawClient c = new RawClient(owner.port())) {
      Frame reply = call(c, Frame.request(Opcode.SET, 0, key, b("after")));

      assertThat(reply.status()).isEqualTo(Status.OK);
      // acknowledged only once the replica was no longer a live replica of the slot
      assertThat(owner.membership().placement().contains(replica.membership().self())).isFalse();
    }
    assertThat(owner.store().get(key)).isEqualTo(b("after"));
  }

  @Test
  void replicate_fromAClientConnection_refused() {
    cluster(2, ReplicationMode.SYNC);
    try (RawClient c = new RawClient(nodes.get(0).port())) {
      Frame reply = call(c, Frame.request(Opcode.REPLICATE, 0, null, new byte[] {0, 0}, 1, 1, 1, 0));
      assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
      assertThat(reply.valueText()).contains("REPLICATE is accepted only on a peer connection");
    }
  }
}
