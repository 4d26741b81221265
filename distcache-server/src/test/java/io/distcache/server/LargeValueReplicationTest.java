package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.cluster.ReplicationMode;
import io.distcache.server.store.TypedEntry;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * Large RESP SETs, whose value goes from the connection's buffer straight into the owner's store
 * (BufferedValue), reach the replicas byte for byte: the replicator ships what the store holds.
 * Sync replication, so each write is on the replica before the client hears OK. Written on the
 * owner (served locally from the buffer) and on the other node (forwarded, with a copy of the value).
 */
class LargeValueReplicationTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024)
        .membership(ClusterTest.FAST).replicas(1).replication(ReplicationMode.SYNC).joinAddresses(join).start();
    nodes.add(n);
    return n;
  }

  private void awaitSettled() {
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      long fp = nodes.get(0).membership().placement().fingerprint();
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(nodes.size());
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
        assertThat(n.membership().placement().fingerprint()).isEqualTo(fp);
        assertThat(n.membership().guard().settled()).isTrue();
        assertThat(n.membership().guard().leaseHeld(n.membership().placement())).isTrue();
      }
    });
  }

  private DistCacheNode node(Member m) {
    return nodes.stream().filter(n -> m.equals(n.membership().self())).findFirst().orElseThrow();
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 31 + seed);
    }
    return v;
  }

  /** A key owned by {@code owner} (and so replicated by the other of the two nodes). */
  private static byte[] keyOwnedBy(DistCacheNode owner, String prefix) {
    for (int i = 0; ; i++) {
      byte[] k = (prefix + i).getBytes(StandardCharsets.UTF_8);
      if (owner.membership().placement().owner(KeySlot.of(k)).equals(owner.membership().self())) {
        return k;
      }
    }
  }

  private void assertOnOwnerAndReplica(byte[] key, byte[] value) {
    int slot = KeySlot.of(key);
    DistCacheNode owner = node(nodes.get(0).membership().placement().owner(slot));
    TypedEntry own = owner.store().peekEntry(key);
    assertThat(own).isNotNull();
    assertThat(own.value()).isEqualTo(value);
    List<Member> replicas = nodes.get(0).membership().placement().replicas(slot);
    assertThat(replicas).isNotEmpty();
    for (Member r : replicas) {
      TypedEntry copy = node(r).store().peekEntry(key);
      assertThat(copy).as("replica of %s", new String(key, StandardCharsets.UTF_8)).isNotNull();
      assertThat(copy.value()).isEqualTo(value);
      assertThat(copy.version()).isEqualTo(own.version());
      assertThat(copy.expireAtMillis()).isEqualTo(own.expireAtMillis());
    }
  }

  private long editsShipped() {
    long n = 0;
    for (DistCacheNode node : nodes) {
      try (Jedis j = new Jedis("127.0.0.1", node.port())) {
        n += Long.parseLong(j.info("replication").replaceAll("(?s).*replication_edits_shipped:(\\d+).*", "$1"));
      }
    }
    return n;
  }

  /**
   * APPEND, SETRANGE, SETBIT and BITFIELD of a large string, on the owner and forwarded, reach the
   * replica as the ranges they wrote (EDIT_STRING; a BITFIELD's fields as one edit), not the whole value, and the replica holds the owner's bytes,
   * version and expiry; suffixes of every size the decoder hands over differently (an array, a
   * slice of the read buffer, a streamed bulk) included.
   */
  @Test
  void appendsSetRangesAndBitWrites_ofALargeString_shipAsEdits_andTheReplicaHoldsTheOwnersBytes() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    byte[] local = keyOwnedBy(a, "edit-local");
    byte[] forwarded = keyOwnedBy(b, "edit-forwarded");
    long before = editsShipped();
    int writes = 0;
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      for (byte[] key : List.of(local, forwarded)) {
        java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
        byte[] start = value(300_000, 9);
        assertThat(j.setex(key, 1000, start)).isEqualTo("OK");
        expected.writeBytes(start);
        for (int i = 0; i < 20; i++) {
          byte[] suffix = value(i % 5 == 0 ? 40_000 : i % 3 == 0 ? 2_000 : 1 + i, i);
          assertThat(j.append(key, suffix)).isEqualTo(expected.size() + suffix.length);
          expected.writeBytes(suffix);
          writes++;
        }
        // APPEND of nothing writes no range (a replica refuses an empty one): the value ships whole
        assertThat(j.append(key, new byte[0])).isEqualTo(expected.size());
        byte[] now = expected.toByteArray();
        byte[] patch = value(3_000, 77);
        System.arraycopy(patch, 0, now, 1_000, patch.length);
        assertThat(j.setrange(key, 1_000, patch)).isEqualTo(now.length);
        long past = now.length + 10;
        now = java.util.Arrays.copyOf(now, (int) past + 1);
        now[(int) past] = 'z';
        assertThat(j.setrange(key, past, new byte[] {'z'})).isEqualTo(now.length);
        writes += 2;
        // SETBIT and BITFIELD write their bytes through SETRANGE's path: one range, or one per field
        boolean bit = (now[5] & 0x80) != 0;
        assertThat(j.setbit(key, 8L * 5, !bit)).isEqualTo(bit); // a change: written
        now[5] ^= (byte) 0x80;
        byte[][] fields = java.util.stream.Stream.of("SET", "u8", "80", "255", "INCRBY", "u8", "8000", "1", "SET",
            "u16", "24", "258").map(f -> f.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        assertThat(j.bitfield(key, fields)).containsExactly((long) (now[10] & 0xFF), (long) ((now[1000] & 0xFF) + 1 & 0xFF),
            (long) ((now[3] & 0xFF) << 8 | now[4] & 0xFF));
        now[10] = (byte) 255;
        now[1000] = (byte) (now[1000] + 1);
        now[3] = 1;
        now[4] = 2;
        writes += 2;
        assertOnOwnerAndReplica(key, now);
        assertThat(j.get(key)).isEqualTo(now);
      }
    }
    assertThat(editsShipped() - before).as("every APPEND, SETRANGE, SETBIT and BITFIELD shipped as one edit").isEqualTo(writes);
  }

  private static long replOffset(Jedis j) {
    return Long.parseLong(j.info("replication").replaceAll("(?s).*master_repl_offset:(\\d+).*", "$1"));
  }

  /**
   * Reads whose opcode also carries writes (GETBIT and SETBIT are both BITS, HGET and HSET both
   * HASH, a transaction or a script may only read), and writes that change nothing, ship no effect
   * to the replica: each shipped the key's whole value before (an HGET of a large hash, a GETBIT of
   * a large bitmap). The first real write after them ships one.
   */
  @Test
  void readsAndWritesThatChangeNothing_shipNoEffect() {
    DistCacheNode a = start();
    start(a);
    awaitSettled();
    String tag = "{" + new String(keyOwnedBy(a, "t"), StandardCharsets.UTF_8) + "}";
    byte[] tagged = (tag + "x").getBytes(StandardCharsets.UTF_8);
    assertThat(a.membership().placement().owner(KeySlot.of(tagged))).isEqualTo(a.membership().self());
    String str = tag + "s";
    String hash = tag + "h";
    String set = tag + "m";
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      j.set(str.getBytes(StandardCharsets.UTF_8), value(300_000, 3));
      for (int i = 0; i < 200; i++) {
        j.hset(hash, "f" + i, "v" + i);
        j.sadd(set, "m" + i);
      }
      long before = replOffset(j);
      boolean bit = j.getbit(str, 100);
      assertThat(j.bitcount(str, 0, 10)).isPositive();
      assertThat(j.bitpos(str, true)).isGreaterThanOrEqualTo(0);
      assertThat(j.setbit(str, 100, bit)).isEqualTo(bit); // the bit it holds: no change
      assertThat(j.hget(hash, "f7")).isEqualTo("v7");
      assertThat(j.hlen(hash)).isEqualTo(200);
      assertThat(j.hsetnx(hash, "f7", "other")).isZero();
      assertThat(j.sismember(set, "m9")).isTrue();
      assertThat(j.sadd(set, "m9")).isZero();
      assertThat(j.set(str, "short", redis.clients.jedis.params.SetParams.setParams().nx())).isNull();
      assertThat(j.eval("return redis.call('HGET', KEYS[1], 'f8')", 1, hash)).isEqualTo("v8");
      redis.clients.jedis.Transaction t = j.multi();
      t.hget(hash, "f1");
      t.scard(set);
      assertThat(t.exec()).containsExactly("v1", 200L);
      assertThat(replOffset(j)).as("no effect shipped by reads and unchanged writes").isEqualTo(before);

      assertThat(j.hset(hash, "f7", "new")).isZero();
      assertThat(replOffset(j)).as("a change ships one effect").isEqualTo(before + 1);
      // A key absent here may still be on the replica (evictions are not replicated): its DEL
      // goes out, so it cannot come back after a failover.
      byte[] gone = (tag + "evicted").getBytes(StandardCharsets.UTF_8);
      DistCacheNode replica = node(a.membership().placement().replicas(KeySlot.of(gone)).get(0));
      replica.store().applyReplicated(gone, io.distcache.protocol.ValueType.STRING, value(10, 1),
          io.distcache.server.store.Store.NO_EXPIRY, 1);
      assertThat(j.del(gone)).isZero();
      assertThat(replOffset(j)).isEqualTo(before + 2);
      await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> assertThat(replica.store().peekEntry(gone)).isNull());
    }
  }

  @Test
  void largeSets_onTheOwnerAndForwarded_replicaReadsBackByteIdentical() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    byte[] local = keyOwnedBy(a, "local");
    byte[] localEx = keyOwnedBy(a, "local-ex");
    byte[] forwarded = keyOwnedBy(b, "forwarded");
    byte[] v1 = value(300_000, 1);
    byte[] v2 = value(70_000, 2);
    byte[] v3 = value(1 << 20, 3);

    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      assertThat(j.set(local, v1)).isEqualTo("OK");
      assertThat(j.setex(localEx, 100, v2)).isEqualTo("OK");
      assertThat(j.set(forwarded, v3)).isEqualTo("OK"); // b owns it: a forwards the request
      assertThat(j.get(forwarded)).isEqualTo(v3);
    }

    assertOnOwnerAndReplica(local, v1);
    assertOnOwnerAndReplica(localEx, v2);
    assertOnOwnerAndReplica(forwarded, v3);
  }

  @Test
  void pipelinedSetsLargerThanThePeerBacklog_throughANonOwner_areAllAcknowledgedAndStored() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    // Six 6 MiB values back to back: 36 MiB, over the 8 MiB a peer link buffers unsent. They once
    // got BUSY "write buffer full" (a tester's 16 MiB SETs through a non-owner); they queue now.
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      keys.add(keyOwnedBy(b, "big" + i + "-"));
      values.add(value(6 << 20, i));
    }
    List<Object> replies;
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      Pipeline p = j.pipelined();
      for (int i = 0; i < keys.size(); i++) {
        p.set(keys.get(i), values.get(i));
      }
      replies = new ArrayList<>(p.syncAndReturnAll());
      // A build machine at load 30-50 can make a member look dead for a moment after the wait
      // above: its slots then answer TRYAGAIN (not applied) until the placement settles again.
      // Those SETs are sent again, one by one; any other answer is a failure.
      for (int i = 0; i < replies.size(); i++) {
        int k = i;
        if (String.valueOf(replies.get(i)).startsWith("TRYAGAIN")) {
          await().atMost(ClusterTest.DEADLINE).until(() -> {
            try {
              replies.set(k, j.set(keys.get(k), values.get(k)));
            } catch (redis.clients.jedis.exceptions.JedisDataException e) {
              replies.set(k, e.getMessage());
            }
            return !String.valueOf(replies.get(k)).startsWith("TRYAGAIN");
          });
        }
      }
    }
    assertThat(replies).as("every SET acknowledged").containsOnly("OK");
    for (int i = 0; i < keys.size(); i++) {
      assertThat(b.store().peekEntry(keys.get(i)).value()).isEqualTo(values.get(i));
    }
  }

  @Test
  void pipelinedLargeSetsAndGets_onTheOwner_answerInOrder_andReachTheReplica() {
    DistCacheNode a = start();
    start(a);
    awaitSettled();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      keys.add(keyOwnedBy(a, "p" + i + "-"));
      values.add(value(40_000 + i * 37_000, i));
    }

    List<Object> replies;
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      Pipeline p = j.pipelined();
      for (int i = 0; i < keys.size(); i++) {
        p.set(keys.get(i), values.get(i));
        p.get(keys.get(i));
      }
      replies = p.syncAndReturnAll();
    }

    for (int i = 0; i < keys.size(); i++) {
      assertThat(replies.get(2 * i)).isEqualTo("OK");
      assertThat((byte[]) replies.get(2 * i + 1)).isEqualTo(values.get(i));
      assertOnOwnerAndReplica(keys.get(i), values.get(i));
    }
  }

  @Test
  void largeMsetGetsetAndSetGet_onTheOwnerAndSplitAcrossOwners_answerAsRedis_andReachTheReplicas() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    byte[] a1 = keyOwnedBy(a, "a1-");
    byte[] a2 = keyOwnedBy(a, "a2-");
    byte[] b1 = keyOwnedBy(b, "b1-");
    byte[] v1 = value(200_000, 4);
    byte[] v2 = value(50_000, 5);
    byte[] v3 = value(1 << 20, 6);
    byte[] v4 = value(80_000, 7);

    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      assertThat(j.mset(a1, v1, a2, v2)).isEqualTo("OK"); // a owns both: served from the buffers
      assertThat(j.mset(a2, v3, b1, v1)).isEqualTo("OK"); // split: b's part forwarded
      assertThat(j.msetnx(a1, v2, b1, v2)).isZero(); // both exist: nothing written
      assertThat(j.getSet(a1, v4)).isEqualTo(v1);
      assertThat(j.setGet(b1, v2)).isEqualTo(v1); // b owns it: forwarded with a copy
      assertThat(j.mget(a1, a2, b1)).containsExactly(v4, v3, v2);
    }

    assertOnOwnerAndReplica(a1, v4);
    assertOnOwnerAndReplica(a2, v3);
    assertOnOwnerAndReplica(b1, v2);
  }

  /**
   * Values from 1 KiB below 32 KiB (RespDecoder.SLICE_BULK_BYTES up: slices of the read buffer into
   * the owner's store) set on the owner, forwarded, split across owners by MSET and pipelined 16 at
   * a time, reach the replicas byte for byte.
   */
  @Test
  void smallSlicedValues_onTheOwnerForwardedSplitAndPipelined_reachTheReplicas() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    int[] lengths = {1023, 1024, 4096, 32767};
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      for (int i = 0; i < lengths.length; i++) {
        byte[] local = keyOwnedBy(a, "s-local" + i + "-");
        byte[] forwarded = keyOwnedBy(b, "s-forwarded" + i + "-");
        byte[] other = keyOwnedBy(a, "s-other" + i + "-");
        byte[] v = value(lengths[i], 20 + i);
        byte[] w = value(lengths[i], 30 + i);
        assertThat(j.set(local, v)).isEqualTo("OK");
        assertThat(j.setex(forwarded, 100, v)).isEqualTo("OK"); // b owns it: a forwards the request
        assertThat(j.mset(other, w, forwarded, w)).isEqualTo("OK"); // split: b's part forwarded
        keys.addAll(List.of(local, forwarded, other));
        values.addAll(List.of(v, w, w));
      }
      Pipeline p = j.pipelined();
      for (int i = 0; i < 16; i++) {
        byte[] k = i % 2 == 0 ? keyOwnedBy(a, "s-p" + i + "-") : keyOwnedBy(b, "s-p" + i + "-");
        byte[] v = value(1024 + 64 * i, 40 + i);
        p.set(k, v);
        keys.add(k);
        values.add(v);
      }
      assertThat(p.syncAndReturnAll()).hasSize(16).containsOnly("OK");
    }

    for (int i = 0; i < keys.size(); i++) {
      assertOnOwnerAndReplica(keys.get(i), values.get(i));
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void largeAppendSetrangeGetdelAndGetex_onTheOwnerAndForwarded_answerAsRedis_andReachTheReplicas() {
    DistCacheNode a = start();
    DistCacheNode b = start(a);
    awaitSettled();
    byte[] grown = keyOwnedBy(a, "grown-");
    byte[] ranged = keyOwnedBy(a, "ranged-");
    byte[] gone = keyOwnedBy(a, "gone-");
    byte[] remote = keyOwnedBy(b, "remote-");
    byte[] v1 = value(300_000, 8);
    byte[] v2 = value(90_000, 9);
    byte[] v3 = value(500_000, 10);

    byte[] expectedGrown = v1;
    byte[] expectedRanged = java.util.Arrays.copyOf(v3, 600_000);
    System.arraycopy(v2, 0, expectedRanged, 510_000, v2.length);
    System.arraycopy(v2, 0, expectedRanged, 20_000, v2.length);
    try (Jedis j = new Jedis("127.0.0.1", a.port())) {
      assertThat(j.append(grown, v1)).isEqualTo(300_000L);
      for (int i = 0; i < 5; i++) { // the first outgrows the value's buffer, the rest fit its room
        byte[] suffix = value(40_000 + i, i);
        expectedGrown = concat(expectedGrown, suffix);
        assertThat(j.append(grown, suffix)).isEqualTo(expectedGrown.length);
        assertOnOwnerAndReplica(grown, expectedGrown);
      }
      assertThat(j.set(ranged, v3)).isEqualTo("OK");
      assertThat(j.setrange(ranged, 510_000, v2)).isEqualTo(600_000L); // past the end: zeros between
      assertThat(j.setrange(ranged, 20_000, v2)).isEqualTo(600_000L); // inside: in place
      assertThat(j.set(gone, v2)).isEqualTo("OK");
      assertThat(j.setGet(gone, v3)).isEqualTo(v2);
      assertThat(j.getEx(gone, redis.clients.jedis.params.GetExParams.getExParams().ex(100))).isEqualTo(v3);
      assertOnOwnerAndReplica(gone, v3);
      assertThat(j.getDel(gone)).isEqualTo(v3);
      assertThat(j.set(remote, v1)).isEqualTo("OK"); // b owns it: forwarded, answered in the frame
      assertThat(j.append(remote, v2)).isEqualTo(390_000L);
      assertThat(j.getDel(remote)).isEqualTo(concat(v1, v2));
    }

    assertOnOwnerAndReplica(grown, expectedGrown);
    assertOnOwnerAndReplica(ranged, expectedRanged);
    for (DistCacheNode n : nodes) {
      assertThat(n.store().peekEntry(gone)).as("GETDEL reached the replica").isNull();
      assertThat(n.store().peekEntry(remote)).isNull();
    }
  }
}
