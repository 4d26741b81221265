package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.FieldExpirySweeper;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.FieldExpiryIndex;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.distcache.server.tracking.TrackingStore;
import io.distcache.server.tracking.TrackingTable;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Active expiry of hash fields through the store's index, on a manual clock: fields go without
 * being read, the key with its last field, with "hexpired"/"del", tracking invalidations and INFO's
 * expired_subkeys and subexpiry; the index follows every write, bounds each step, falls back to a
 * walk when full, and is fed by replicated values so a promoted replica sweeps what it received.
 */
class HashActiveExpiryTest {
  private static final long T0 = 1_700_000_000_000L;
  private final ManualClock clock = new ManualClock(T0);
  private final TrackingTable table = new TrackingTable();
  private final Store store = new TrackingStore(
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)), table);
  private final LocalExecutor executor = new LocalExecutor(store);
  private final LocalRouter router = new LocalRouter(executor);
  private final RespContext context =
      RespContext.builder(router, store).clock(clock).version("test").tracking(table, null).build();
  private final RespChannel resp = new RespChannel(context);
  private final RespChannel sub = new RespChannel(context);
  private final AtomicBoolean primary = new AtomicBoolean(true);
  private final FieldExpirySweeper sweeper = new FieldExpirySweeper(store, router, key -> primary.get());
  private final FieldExpiryIndex index = store.fieldExpiryIndex();

  {
    executor.pubSub(context.pubSub(), context.keyspaceEvents());
  }

  @AfterEach
  void tearDown() {
    sweeper.close();
    resp.close();
    sub.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String events(String... keyAndEvent) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < keyAndEvent.length; i += 2) {
      String ch = "__keyspace@0__:" + keyAndEvent[i];
      String e = keyAndEvent[i + 1];
      sb.append("*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$").append(ch.length()).append("\r\n").append(ch)
          .append("\r\n$").append(e.length()).append("\r\n").append(e).append("\r\n");
    }
    return sb.toString();
  }

  private String info(String section) {
    return send("INFO " + section);
  }

  @Test
  void fieldsExpireWithoutBeingRead_andTheKeyGoesWithItsLastField() {
    send("HSET h a 1 b 2", "HPEXPIRE h 100 FIELDS 2 a b");
    send("HSET g a 1 b 2", "HPEXPIRE g 100 FIELDS 1 a");
    send("HSET plain x y");
    assertThat(info("keyspace")).contains(",subexpiry=2\r\n");
    assertThat(info("stats")).contains("expired_subkeys:0\r\n");
    assertThat(sweeper.sweepOnce()).as("nothing is due yet").isZero();

    clock.advanceMillis(100);
    assertThat(sweeper.sweepOnce()).isEqualTo(2);
    // Read the store directly: no command touched the hashes.
    assertThat(store.exists(b("h"))).as("its last field went, so the key went").isFalse();
    Map<Bytes, Long> ttl = new HashMap<>();
    assertThat(CollectionCodec.decodeHash(store.peekEntry(b("g")).value(), ttl)).containsOnlyKeys(new Bytes(b("b")));
    assertThat(ttl).isEmpty();
    assertThat(info("keyspace")).contains("db0:keys=2,").contains(",subexpiry=0\r\n");
    assertThat(info("stats")).contains("expired_subkeys:3\r\n");
    assertThat(sweeper.sweepOnce()).as("nothing left").isZero();
  }

  @Test
  void sweep_publishesHexpiredAndDel_andInvalidatesTrackedKeys() {
    send("CONFIG SET notify-keyspace-events Kgh");
    send("HSET h a 1", "HSET g a 1 b 2", "HPEXPIRE h 50 FIELDS 1 a", "HPEXPIRE g 50 FIELDS 1 a");
    sub.send("HELLO 3", "CLIENT TRACKING ON", "HGET g a", "HGET h a", "PSUBSCRIBE __keyspace@0__:*");
    assertThat(sub.output()).isEmpty();

    clock.advanceMillis(50);
    sweeper.sweepOnce();
    String out = sub.output();
    // Due at the same time, g sorts before h; each write invalidates the key a tracking client read.
    assertThat(out).contains(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ng\r\n")
        .contains(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nh\r\n");
    String published = out.replaceAll(">2\r\n\\$10\r\ninvalidate\r\n\\*1\r\n\\$1\r\n[gh]\r\n", "")
        .replace("*4\r\n$8\r\npmessage", ">4\r\n$8\r\npmessage");
    assertThat(published).isEqualTo(events("g", "hexpired", "h", "hexpired", "h", "del")
        .replace("*4\r\n$8\r\npmessage", ">4\r\n$8\r\npmessage"));
  }

  /**
   * A write on a large hash (the timed indexed layout) after some of its fields' times came
   * removes them in its own edit, before its command (a reaped field counts as new for HSET), with
   * the decoding path's events and count, and writes the bound of the fields left.
   */
  @Test
  void largeHash_aWriteAfterFieldsExpired_removesThemInItsEdit_withTheirEventsAndCount() {
    send("CONFIG SET notify-keyspace-events Kgh");
    StringBuilder hset = new StringBuilder("HSET big");
    for (int i = 0; i < 200; i++) {
      hset.append(" f").append(i).append(" v").append(i);
    }
    send(hset.toString(), "HPEXPIRE big 100 FIELDS 2 f1 f2");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    sub.output();
    clock.advanceMillis(100);

    assertThat(send("HSET big f1 again", "HLEN big", "HGET big f2", "HGET big f1")).isEqualTo(":1\r\n:199\r\n$-1\r\n$5\r\nagain\r\n");
    assertThat(sub.output()).isEqualTo(events("big", "hexpired", "big", "hset"));
    assertThat(info("stats")).contains("expired_subkeys:2\r\n");
    assertThat(index.timeOf(b("big"))).as("no field time left: out of the index").isZero();
    assertThat(PackedIndex.isIndexed(store.peekEntry(b("big")).value())).isTrue();
    assertThat(send("HDEL big f2 f3")).as("f2 went with its time, f3 is there").isEqualTo(":1\r\n");
  }

  @Test
  void index_followsEveryWrite() {
    send("HSET h a 1 b 2", "HPEXPIRE h 500 FIELDS 1 a", "HPEXPIRE h 300 FIELDS 1 b");
    assertThat(index.timeOf(b("h"))).isEqualTo(T0 + 300);
    send("HPERSIST h FIELDS 1 b");
    assertThat(index.timeOf(b("h"))).isEqualTo(T0 + 500);
    send("PEXPIRE h 200", "HSET h c 3");
    assertThat(index.timeOf(b("h"))).as("the key's own expiry comes first").isEqualTo(T0 + 200);
    send("HPERSIST h FIELDS 1 a");
    assertThat(index.timeOf(b("h"))).as("no field time left").isZero();
    send("HSETEX h PX 100 FIELDS 1 a 1", "RENAME h r", "COPY r c");
    assertThat(index.timeOf(b("h"))).isZero();
    assertThat(index.timeOf(b("r"))).isEqualTo(T0 + 100);
    assertThat(index.timeOf(b("c"))).isEqualTo(T0 + 100);
    send("DEL r", "SET c string");
    assertThat(index.timeOf(b("r"))).isZero();
    send("FLUSHALL");
    assertThat(index.size()).isZero();
  }

  @Test
  void aHashLeavingTheStore_leavesTheIndex_andAStaleEntryIsDroppedWhenDue() {
    send("HSET h a 1", "HPEXPIRE h 100 FIELDS 1 a", "SET h string");
    assertThat(index.timeOf(b("h"))).as("SET over the hash takes its entry out").isZero();
    send("HSET k a 1", "HPEXPIRE k 100 FIELDS 1 a", "PEXPIRE k 50"); // its key expires unread
    index.retryAt(b("gone"), T0 + 100); // as a walk leaves for a reap whose key then went
    clock.advanceMillis(100);
    assertThat(sweeper.sweepOnce()).isZero();
    assertThat(index.size()).isZero();
    assertThat(store.typeOf(b("h"))).isEqualTo(ValueType.STRING);
  }

  @Test
  void eachStep_isBounded_andTheRestComesNextStep() {
    int hashes = 250;
    for (int i = 0; i < hashes; i++) {
      send("HSETEX h" + i + " PX 10 FIELDS 1 a 1");
    }
    clock.advanceMillis(10);
    int first = sweeper.sweepOnce();
    assertThat(first).isLessThan(hashes).isPositive();
    assertThat(first + sweeper.sweepOnce()).isEqualTo(hashes);
    assertThat(store.size()).isZero();
  }

  @Test
  void aFullIndex_fallsBackToTheWalk_andIsCompleteAgainAfterAWholeWalk() {
    index.maxBytes(0);
    send("HSET h a 1 b 2", "HPEXPIRE h 100 FIELDS 1 a", "HSET later a 1", "HPEXPIRE later 100000 FIELDS 1 a");
    assertThat(index.size()).isZero();
    assertThat(index.incomplete()).isTrue();
    clock.advanceMillis(100);
    assertThat(sweeper.sweepOnce()).as("found by the walk").isEqualTo(1);
    assertThat(store.peekEntry(b("h")).value()).isEqualTo(CollectionCodec.encodeHash(
        new LinkedHashMap<>(Map.of(new Bytes(b("b")), b("2")))));
    assertThat(index.incomplete()).as("the walk could not index 'later'").isTrue();

    index.maxBytes(1L << 20);
    sweeper.sweepOnce();
    assertThat(index.incomplete()).isFalse();
    assertThat(index.timeOf(b("later"))).isEqualTo(T0 + 100_000);
  }

  @Test
  void aReapTheWalkSentAndLost_isRetriedFromTheIndex_afterTheWalkEnded() {
    index.maxBytes(0);
    send("HSET h a 1 b 2", "HPEXPIRE h 100 FIELDS 1 a");
    assertThat(index.incomplete()).isTrue();
    index.maxBytes(1L << 20);
    AtomicBoolean lose = new AtomicBoolean(true);
    // a router that loses HREAP while `lose` is set: never answered, never run
    FieldExpirySweeper lossy = new FieldExpirySweeper(store, request -> lose.get()
        ? new java.util.concurrent.CompletableFuture<>() : router.route(request), key -> true);
    try {
      clock.advanceMillis(100);
      assertThat(lossy.sweepOnce()).as("the walk found it and sent HREAP").isEqualTo(1);
      assertThat(index.incomplete()).as("the whole walk ended with nothing refused").isFalse();
      assertThat(index.timeOf(b("h"))).isEqualTo(T0 + 100 + FieldExpirySweeper.RETRY_MILLIS);

      lose.set(false);
      clock.advanceMillis(FieldExpirySweeper.RETRY_MILLIS);
      assertThat(lossy.sweepOnce()).isEqualTo(1);
      assertThat(CollectionCodec.decodeHash(store.peekEntry(b("h")).value())).containsOnlyKeys(new Bytes(b("b")));
      assertThat(index.size()).isZero();
    } finally {
      lossy.close();
    }
  }

  @Test
  void aReplicaIndexesWhatItReceives_butOnlyThePrimarySweeps() {
    Map<Bytes, byte[]> fields = new LinkedHashMap<>();
    fields.put(new Bytes(b("a")), b("1"));
    fields.put(new Bytes(b("b")), b("2"));
    byte[] payload = CollectionCodec.encodeHash(fields, Map.of(new Bytes(b("a")), T0 + 100));
    store.applyReplicated(b("h"), ValueType.HASH, payload, Store.NO_EXPIRY, 7);
    assertThat(index.timeOf(b("h"))).as("a replicated effect feeds the index").isEqualTo(T0 + 100);

    primary.set(false);
    clock.advanceMillis(100);
    assertThat(sweeper.sweepOnce()).as("a replica leaves it to its primary").isZero();
    assertThat(store.peekEntry(b("h")).value()).isEqualTo(payload);

    primary.set(true); // promoted
    clock.advanceMillis(FieldExpirySweeper.RETRY_MILLIS);
    assertThat(sweeper.sweepOnce()).isEqualTo(1);
    assertThat(CollectionCodec.decodeHash(store.peekEntry(b("h")).value())).containsOnlyKeys(new Bytes(b("b")));
  }
}
