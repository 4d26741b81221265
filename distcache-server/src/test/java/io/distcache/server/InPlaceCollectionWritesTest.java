package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Transaction;

/**
 * Large hashes and sets written where the store keeps them (Store.editPacked, edited in place)
 * behave as any write to everything around the store: a replica holds the same collection, entry
 * for entry and version for version, and WATCH sees such a write and aborts the transaction.
 */
class InPlaceCollectionWritesTest {
  private final ClusterFixture cluster = new ClusterFixture(1, ReplicationMode.SYNC);
  private final ClusterFixture single = new ClusterFixture(0, ReplicationMode.SYNC);

  @AfterEach
  void tearDown() {
    cluster.close();
    single.close();
  }

  @Test
  void inPlaceWrites_onALargeHashAndSet_reachTheReplica_asTheOwnerHoldsThem() {
    cluster.cluster(2);
    String h = "{ip}hash";
    String s = "{ip}set";
    Placement p = cluster.nodes.get(0).membership().placement();
    Member owner = p.owner(KeySlot.of(ClusterFixture.b(h)));
    DistCacheNode ownerNode = cluster.nodeOf(owner);
    DistCacheNode replicaNode = cluster.nodeOf(p.replicas(KeySlot.of(ClusterFixture.b(h))).get(0));
    LinkedHashMap<String, String> hash = new LinkedHashMap<>();
    LinkedHashSet<String> set = new LinkedHashSet<>();
    try (Jedis j = new Jedis("127.0.0.1", ownerNode.port())) {
      for (int i = 0; i < 600; i++) { // past 128 and several rebuilds, most writes in place
        j.hset(h, "field-" + i, "value-" + i);
        hash.put("field-" + i, "value-" + i);
        j.sadd(s, "member-" + i);
        set.add("member-" + i);
      }
      for (int i = 0; i < 600; i += 7) {
        j.hset(h, "field-" + i, "VALUE-" + i); // same length
        hash.put("field-" + i, "VALUE-" + i);
        j.hset(h, "field-" + (i + 1), "longer-value-" + i); // a length change: the field moves last
        hash.remove("field-" + (i + 1));
        hash.put("field-" + (i + 1), "longer-value-" + i);
        assertThat(j.hdel(h, "field-" + (i + 2))).isEqualTo(1);
        hash.remove("field-" + (i + 2));
        assertThat(j.srem(s, "member-" + i)).isEqualTo(1);
        set.remove("member-" + i);
      }
      assertThat(j.hincrBy(h, "counter", 41)).isEqualTo(41);
      assertThat(j.hincrBy(h, "counter", 1)).isEqualTo(42); // 41 -> 42: the same length, in place
      hash.put("counter", "42");
      assertThat(j.hgetAll(h)).isEqualTo(hash);
    }
    // sync replication: every write above was acknowledged by the replica before its reply
    for (String key : List.of(h, s)) {
      TypedEntry mine = ownerNode.store().peekEntry(ClusterFixture.b(key));
      TypedEntry theirs = replicaNode.store().peekEntry(ClusterFixture.b(key));
      // The same elements in the same order; the bytes may differ where the copies compacted their
      // dead runs at different edits (a replica replays a large collection's edits, not its bytes).
      assertThat(elements(theirs)).as(key).isEqualTo(elements(mine));
      assertThat(theirs.version()).as(key).isEqualTo(mine.version());
    }
    Map<Bytes, byte[]> replicated = CollectionCodec.decodeHash(replicaNode.store().peekEntry(ClusterFixture.b(h)).value());
    Map<String, String> got = new LinkedHashMap<>();
    replicated.forEach((k, v) -> got.put(new String(k.b()), new String(v)));
    assertThat(new ArrayList<>(got.keySet())).isEqualTo(new ArrayList<>(hash.keySet()));
    assertThat(got).isEqualTo(hash);
    List<String> members = new ArrayList<>();
    CollectionCodec.decodeSet(replicaNode.store().peekEntry(ClusterFixture.b(s)).value()).keySet()
        .forEach(m -> members.add(new String(m.b())));
    assertThat(members).containsExactlyElementsOf(set);
  }

  /** SPOP, SMOVE and writes of more than 16 names, edited in place (issue 13), ship what the owner holds. */
  @Test
  void spopSmoveAndManyNameWrites_inPlace_reachTheReplica_asTheOwnerHoldsThem() {
    cluster.cluster(2);
    String a = "{pop}a";
    String b = "{pop}b";
    String h = "{pop}h";
    Placement p = cluster.nodes.get(0).membership().placement();
    Member owner = p.owner(KeySlot.of(ClusterFixture.b(a)));
    DistCacheNode ownerNode = cluster.nodeOf(owner);
    DistCacheNode replicaNode = cluster.nodeOf(p.replicas(KeySlot.of(ClusterFixture.b(a))).get(0));
    try (Jedis j = new Jedis("127.0.0.1", ownerNode.port())) {
      for (int i = 0; i < 1000; i += 100) {
        String[] members = new String[100];
        Map<String, String> fields = new HashMap<>();
        for (int k = 0; k < 100; k++) {
          members[k] = "m" + (i + k);
          fields.put("f" + (i + k), "v" + (i + k));
        }
        j.sadd(a, members);
        j.sadd(b, "b" + i, "b" + (i + 1), "b" + (i + 2));
        j.hset(h, fields);
      }
      for (int i = 0; i < 20; i++) {
        assertThat(j.spop(a)).isNotNull();
        assertThat(j.spop(a, 3)).hasSize(3);
        j.smove(a, b, "m" + (500 + i));
        String[] names = new String[17];
        for (int k = 0; k < 17; k++) {
          names[k] = "m" + (100 + 17 * i + k);
        }
        j.srem(a, names);
        for (int k = 0; k < 17; k++) {
          names[k] = "f" + (100 + 17 * i + k);
        }
        assertThat(j.hdel(h, names)).isEqualTo(17);
      }
    }
    for (String key : List.of(a, b, h)) {
      TypedEntry mine = ownerNode.store().peekEntry(ClusterFixture.b(key));
      TypedEntry theirs = replicaNode.store().peekEntry(ClusterFixture.b(key));
      // The same elements in the same order; the bytes may differ where the copies compacted their
      // dead runs at different edits (a replica replays a large collection's edits, not its bytes).
      assertThat(elements(theirs)).as(key).isEqualTo(elements(mine));
      assertThat(theirs.version()).as(key).isEqualTo(mine.version());
    }
  }

  /** A hash's fields and values, or a set's members, in the order the payload holds them. */
  private static List<String> elements(TypedEntry e) {
    List<String> out = new java.util.ArrayList<>();
    if (e.type() == io.distcache.protocol.ValueType.HASH) {
      io.distcache.server.store.CollectionCodec.decodeHash(e.value())
          .forEach((f, v) -> out.add(text(f.b()) + "=" + text(v)));
    } else {
      io.distcache.server.store.CollectionCodec.decodeSet(e.value()).keySet().forEach(m -> out.add(text(m.b())));
    }
    return out;
  }

  private static String text(byte[] b) {
    return new String(b, java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void watch_onALargeHashWrittenInPlace_abortsTheTransaction() {
    DistCacheNode node = single.start();
    Map<String, String> fields = new HashMap<>();
    for (int i = 0; i < 1000; i++) {
      fields.put("f" + i, "v" + i);
    }
    try (Jedis watcher = new Jedis("127.0.0.1", node.port()); Jedis writer = new Jedis("127.0.0.1", node.port())) {
      writer.hset("big", fields);
      writer.hset("big", "f1", "w1"); // in place from here on
      watcher.watch("big");
      writer.hset("big", "f2", "w2"); // a same-length replacement where it lies
      Transaction t = watcher.multi();
      t.hget("big", "f2");
      assertThat(t.exec()).as("the transaction saw the write and was aborted").isNull();

      watcher.watch("big");
      writer.hset("big", "brand-new", "x"); // an append
      t = watcher.multi();
      t.hlen("big");
      assertThat(t.exec()).isNull();

      watcher.watch("big");
      writer.hset("big", "f3", "v3"); // unchanged value: Redis counts it a write, and so does the store
      t = watcher.multi();
      t.hlen("big");
      assertThat(t.exec()).isNull();

      watcher.watch("big");
      t = watcher.multi();
      t.hget("big", "f2");
      assertThat(t.exec()).as("nothing wrote meanwhile").containsExactly("w2");
    }
  }
}
