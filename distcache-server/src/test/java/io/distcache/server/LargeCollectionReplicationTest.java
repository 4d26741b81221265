package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.TypedEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;

/**
 * Large hashes and sets (PackedIndex's layout) edited many times replicate as edits (EffectCodec's
 * EDIT kinds), not whole values, and the replica's copy is the owner's: the same fields, members
 * and order, the same version and expiry, and the same after a failover.
 */
class LargeCollectionReplicationTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  /** A hash tag whose slot {@code owner} owns. */
  private static String tagOwnedBy(Placement p, DistCacheNode owner) {
    for (int i = 0; ; i++) {
      String tag = "{big" + i + "}";
      if (p.owner(KeySlot.of(tag.getBytes(StandardCharsets.UTF_8))).equals(owner.membership().self())) {
        return tag;
      }
    }
  }

  /** HGETALL or SMEMBERS as the node answers it, in its order. */
  private static List<String> read(Jedis j, String command, String key) {
    List<String> out = new ArrayList<>();
    for (Object o : (List<?>) j.sendCommand(Protocol.Command.valueOf(command), key)) {
      out.add(new String((byte[]) o, StandardCharsets.UTF_8));
    }
    return out;
  }

  /** A hash's fields and values, or a set's members, in the order {@code node}'s store holds them. */
  private static List<String> elements(DistCacheNode node, String key) {
    TypedEntry e = node.store().peekEntry(key.getBytes(StandardCharsets.UTF_8));
    List<String> out = new ArrayList<>();
    if (e == null) {
      return out;
    }
    if (e.type() == io.distcache.protocol.ValueType.HASH) {
      CollectionCodec.decodeHash(e.value()).forEach((f, v) -> {
        out.add(new String(f.b(), StandardCharsets.UTF_8));
        out.add(new String(v, StandardCharsets.UTF_8));
      });
    } else {
      CollectionCodec.decodeSet(e.value()).keySet().forEach(m -> out.add(new String(m.b(), StandardCharsets.UTF_8)));
    }
    return out;
  }

  private static long edits(Jedis j) {
    return Long.parseLong(j.info("replication").replaceAll("(?s).*replication_edits_shipped:(\\d+).*", "$1"));
  }

  @Test
  void largeHashAndSet_editedManyTimes_readBackIdenticallyOnTheReplica_andAfterAFailover() {
    cluster.cluster(3);
    Placement p = cluster.nodes.get(0).membership().placement();
    DistCacheNode owner = cluster.nodes.get(0);
    String tag = tagOwnedBy(p, owner);
    int slot = KeySlot.of(tag.getBytes(StandardCharsets.UTF_8));
    String hash = tag + "h";
    String set = tag + "s";
    Random random = new Random(11);
    try (Jedis w = new Jedis("127.0.0.1", owner.port())) {
      for (int i = 0; i < 400; i += 50) {
        java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
        String[] members = new String[50];
        for (int f = i; f < i + 50; f++) {
          fields.put("field" + f, "value" + f);
          members[f - i] = "member" + f;
        }
        w.hset(hash, fields);
        w.sadd(set, members);
      }
      w.pexpire(hash, 600_000);
      w.pexpire(set, 600_000);
      for (int i = 0; i < 600; i++) {
        int n = random.nextInt(500);
        switch (random.nextInt(7)) {
          case 0 -> w.hset(hash, "field" + n, "v".repeat(random.nextInt(20)));
          case 1 -> w.hdel(hash, "field" + n, "field" + random.nextInt(500));
          case 2 -> w.hincrBy(hash, "counter" + random.nextInt(5), random.nextInt(1000));
          case 3 -> w.sadd(set, "member" + n, "member" + random.nextInt(500));
          case 4 -> w.srem(set, "member" + n);
          case 5 -> w.spop(set);
          default -> {
            if (i % 100 == 0) {
              w.pexpire(set, 600_000 + i); // an expiry-only change between edits
            } else {
              w.hsetnx(hash, "field" + n, "nx");
            }
          }
        }
      }
    }
    long shipped = 0;
    for (DistCacheNode n : cluster.live()) {
      try (Jedis j = new Jedis("127.0.0.1", n.port())) {
        shipped += edits(j);
      }
    }
    assertThat(shipped).as("effects shipped as edits").isGreaterThan(300);
    // On a loaded machine a member may have been suspected meanwhile: read the copies the settled placement names.
    cluster.awaitSettled();
    Placement now = cluster.live().get(0).membership().placement();
    owner = cluster.nodeOf(now.owner(slot));
    DistCacheNode replica = cluster.nodeOf(now.replicas(slot).get(0));
    DistCacheNode o = owner;
    List<String> ownHash = elements(o, hash);
    List<String> ownSet = elements(o, set);
    assertThat(ownHash.size()).isGreaterThan(2 * 128);
    assertThat(ownSet.size()).isGreaterThan(128);
    // READONLY serves string reads only (Opcode.readOnly), so the copy is read where it lies.
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(elements(replica, hash)).containsExactlyElementsOf(ownHash);
      assertThat(elements(replica, set)).containsExactlyElementsOf(ownSet);
    });
    try (Jedis w = new Jedis("127.0.0.1", owner.port())) {
      assertThat(read(w, "HGETALL", hash)).containsExactlyElementsOf(ownHash);
      assertThat(read(w, "SMEMBERS", set)).containsExactlyElementsOf(ownSet);
    }
    for (String key : List.of(hash, set)) {
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      TypedEntry own = owner.store().peekEntry(k);
      TypedEntry copy = replica.store().peekEntry(k);
      assertThat(copy.version()).as("version of %s", key).isEqualTo(own.version());
      assertThat(copy.expireAtMillis()).as("expiry of %s", key).isEqualTo(own.expireAtMillis()).isPositive();
    }

    cluster.kill(owner);
    cluster.awaitSettled();
    DistCacheNode next = cluster.nodeOf(cluster.live().get(0).membership().placement().owner(slot));
    try (Jedis j = new Jedis("127.0.0.1", next.port())) {
      await().atMost(ClusterTest.DEADLINE).untilAsserted(() ->
          assertThat(read(j, "HGETALL", hash)).containsExactlyElementsOf(ownHash));
      assertThat(read(j, "SMEMBERS", set)).containsExactlyElementsOf(ownSet);
      // and edits go on from the promoted copy
      j.hset(hash, "after", "failover");
      assertThat(j.hget(hash, "after")).isEqualTo("failover");
      assertThat(j.hlen(hash)).isEqualTo(ownHash.size() / 2 + 1);
    }
  }

  /** A hash's field times as {@code node}'s store holds them (field -> absolute Unix ms). */
  private static java.util.Map<String, Long> times(DistCacheNode node, String key) {
    TypedEntry e = node.store().peekEntry(key.getBytes(StandardCharsets.UTF_8));
    java.util.Map<CollectionCodec.Bytes, Long> got = new java.util.HashMap<>();
    if (e != null) {
      CollectionCodec.decodeHash(e.value(), got);
    }
    java.util.Map<String, Long> out = new java.util.HashMap<>();
    got.forEach((f, at) -> out.put(new String(f.b(), StandardCharsets.UTF_8), at));
    return out;
  }

  /**
   * A large hash with field times (kept indexed with its times, PackedIndex.VERSION_TIMED): its
   * HSET, HDEL, HINCRBY, HEXPIRE and HPERSIST replicate as edits too (the time calls among them),
   * and the replica holds the owner's fields, order and times.
   */
  @Test
  void largeHashWithFieldTimes_editedManyTimes_replicatesAsEdits_withItsTimes() {
    cluster.cluster(3);
    DistCacheNode owner = cluster.nodes.get(0);
    Placement p = owner.membership().placement();
    String hash = tagOwnedBy(p, owner) + "timed";
    int slot = KeySlot.of(hash.getBytes(StandardCharsets.UTF_8));
    Random random = new Random(17);
    long shippedBefore;
    try (Jedis w = new Jedis("127.0.0.1", owner.port())) {
      shippedBefore = edits(w);
      java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
      for (int f = 0; f < 300; f++) {
        fields.put("field" + f, "value" + f);
      }
      w.hset(hash, fields);
      w.hpexpire(hash, 600_000, "field1", "field2", "field3");
      for (int i = 0; i < 400; i++) {
        int n = random.nextInt(350);
        switch (random.nextInt(5)) {
          case 0 -> w.hset(hash, "field" + n, "v".repeat(random.nextInt(20)));
          case 1 -> w.hdel(hash, "field" + n);
          case 2 -> w.hincrBy(hash, "counter" + n % 5, 9); // 9 -> 18 ... -> 108: changes of length, the time kept
          case 3 -> w.hpexpire(hash, 600_000 + random.nextInt(60_000), "field" + n, "counter" + n % 5);
          default -> w.hpersist(hash, "field" + n);
        }
      }
    }
    cluster.awaitSettled();
    Placement now = cluster.live().get(0).membership().placement();
    DistCacheNode o = cluster.nodeOf(now.owner(slot));
    DistCacheNode replica = cluster.nodeOf(now.replicas(slot).get(0));
    try (Jedis j = new Jedis("127.0.0.1", o.port())) {
      assertThat(edits(j) - shippedBefore).as("effects shipped as edits").isGreaterThan(200);
    }
    List<String> ownHash = elements(o, hash);
    java.util.Map<String, Long> ownTimes = times(o, hash);
    assertThat(ownHash.size()).isGreaterThan(2 * 128);
    assertThat(ownTimes).as("fields with times").hasSizeGreaterThan(10);
    assertThat(io.distcache.server.store.PackedIndex.isIndexed(o.store().peekEntry(
        hash.getBytes(StandardCharsets.UTF_8)).value())).as("kept indexed with its times").isTrue();
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      assertThat(elements(replica, hash)).containsExactlyElementsOf(ownHash);
      assertThat(times(replica, hash)).isEqualTo(ownTimes);
    });
  }
}
