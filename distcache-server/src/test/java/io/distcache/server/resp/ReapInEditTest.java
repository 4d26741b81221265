package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.EditJournal;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A write on a large hash with field times that removes expired fields in its own edit
 * (HashRequests.edit) against the decoding path, found by a reviewer: a write refused after such a
 * reap still removes them for good, with their events and count, as the decoding path does; and a
 * replica replaying the edits gets the owner's raised bound (the BOUND call), so its field-expiry
 * index does not put the hash due after every replayed edit.
 */
class ReapInEditTest {
  private static final long T0 = 1_700_000_000_000L;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A node: store, executor with pub/sub, a client and a subscriber. */
  private static final class Node implements AutoCloseable {
    final Store store;
    final RespChannel resp;
    final RespChannel sub;

    Node(ManualClock clock, int maxValue, int maxFields) {
      store = Stores.create(new StoreConfig(256L * 1024 * 1024, maxValue, EvictionPolicy.NOEVICTION, clock));
      LocalExecutor executor = new LocalExecutor(store, ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, maxFields);
      RespContext context = RespContext.builder(new LocalRouter(executor), store).clock(clock).version("test").build();
      executor.pubSub(context.pubSub(), context.keyspaceEvents());
      resp = new RespChannel(context);
      sub = new RespChannel(context);
    }

    @Override
    public void close() {
      resp.close();
      sub.close();
      store.close();
    }
  }

  private static void largeHash(Node n, String key, int fields, int timed, int valueBytes) {
    String v = "v".repeat(valueBytes);
    for (int i = 0; i < fields; i += 50) {
      StringBuilder hset = new StringBuilder("HSET " + key);
      for (int j = i; j < Math.min(fields, i + 50); j++) {
        hset.append(" p").append(j).append(' ').append(v);
      }
      n.resp.send(hset.toString());
    }
    StringBuilder exp = new StringBuilder("HPEXPIRE " + key + " 100 FIELDS " + timed);
    for (int i = 0; i < timed; i++) {
      exp.append(" p").append(i);
    }
    n.resp.send(exp.toString());
  }

  private static String expiredSubkeys(Node n) {
    String info = n.resp.send("INFO stats");
    int at = info.indexOf("expired_subkeys:");
    return info.substring(at, info.indexOf("\r\n", at));
  }

  /**
   * A write refused for the field limit (--max-collection-elements) after fields expired: the
   * decoding path (more than 32 expired) removes them, publishes "hexpired" and counts them before
   * the command fails; the edit path (at most 32) does none of it.
   */
  @ParameterizedTest
  @ValueSource(ints = {5, 40})
  void refusedForTheFieldLimit_afterAReap_sameEventsAndCountAsTheDecodingPath(int expired) {
    ManualClock clock = new ManualClock(T0);
    try (Node n = new Node(clock, 1024 * 1024, 200)) {
      largeHash(n, "big", 200, expired, 2);
      n.resp.send("CONFIG SET notify-keyspace-events Kgh");
      n.sub.send("PSUBSCRIBE __keyspace@0__:*");
      n.sub.output();
      clock.advanceMillis(100);
      StringBuilder hset = new StringBuilder("HSET big");
      for (int i = 0; i <= expired; i++) {
        hset.append(" new").append(i).append(" x");
      }
      assertThat(n.resp.send(hset.toString())).as("one past the limit after the reap").startsWith("-ERR");
      assertThat(n.sub.output()).as("events, %d expired", expired).contains("hexpired");
      assertThat(expiredSubkeys(n)).as("INFO, %d expired", expired).isEqualTo("expired_subkeys:" + expired);
    }
  }

  /** As above for the value limit (--max-value): the decoding path saves the reap before its put fails. */
  @ParameterizedTest
  @ValueSource(ints = {5, 40})
  void refusedForTheValueLimit_afterAReap_sameEventsAndCountAsTheDecodingPath(int expired) {
    ManualClock clock = new ManualClock(T0);
    try (Node n = new Node(clock, 1024 * 1024, ProtocolConstants.MAX_COLLECTION_ELEMENTS)) {
      largeHash(n, "big", 200, expired, 4000);
      n.resp.send("CONFIG SET notify-keyspace-events Kgh");
      n.sub.send("PSUBSCRIBE __keyspace@0__:*");
      n.sub.output();
      clock.advanceMillis(100);
      String reply = n.resp.send("HSET big huge " + "y".repeat(450_000));
      assertThat(reply).as("too large after the reap").startsWith("-");
      assertThat(n.sub.output()).as("events, %d expired", expired).contains("hexpired");
      assertThat(expiredSubkeys(n)).as("INFO, %d expired", expired).isEqualTo("expired_subkeys:" + expired);
    }
  }

  private static void replicate(Store owner, Store replica, EditJournal journal, String key) {
    Store.EntryHead head = owner.peekHead(b(key));
    if (head == null) {
      replica.delete(b(key));
      return;
    }
    EditJournal.Edit edit = journal.edit(b(key), head.version(), head.expireAtMillis());
    if (edit != null) {
      Store.ReplicatedEdit done = replica.applyReplicatedEdit(b(key), ValueType.HASH, edit.baseVersion(),
          edit.version(), edit.expireAtMillis(), edit.ops());
      assertThat(done).as("replica's replay of %s", edit.ops()).isIn(Store.ReplicatedEdit.APPLIED, Store.ReplicatedEdit.ALREADY_APPLIED);
      return;
    }
    Store.EntryHead rh = replica.peekHead(b(key));
    if (rh == null || rh.version() != head.version()) {
      replica.applyReplicated(b(key), ValueType.HASH, owner.peekEntry(b(key)).value(), head.expireAtMillis(),
          head.version());
    }
  }

  /**
   * A replica of a large timed hash whose owner keeps reaping in its edits: the replayed calls
   * carry the owner's raised bound, so the replica indexes the hash when the owner does, not at a
   * stale time at or before now after every replayed edit (each of which made the replica's sweep
   * look at the whole hash on every tick).
   */
  @Test
  void replica_staleBound_makesItsSweepCopyTheHashEveryTick() {
    ManualClock clock = new ManualClock(T0);
    try (Node owner = new Node(clock, 64 * 1024 * 1024, ProtocolConstants.MAX_COLLECTION_ELEMENTS);
        Node replica = new Node(clock, 64 * 1024 * 1024, ProtocolConstants.MAX_COLLECTION_ELEMENTS);
        io.distcache.server.cluster.FieldExpirySweeper replicaSweeper = new io.distcache.server.cluster.FieldExpirySweeper(
            replica.store, new LocalRouter(new LocalExecutor(replica.store)), key -> false)) {
      EditJournal j0 = EditJournal.open();
      largeHash(owner, "h", 10_000, 0, 1000);
      j0.close();
      replicate(owner.store, replica.store, j0, "h");
      // fields expiring all the time: one every 10 ms
      for (int i = 0; i < 400; i++) {
        EditJournal j = EditJournal.open();
        owner.resp.send("HPEXPIRE h " + (100 + 10 * i) + " FIELDS 1 p" + i);
        j.close();
        replicate(owner.store, replica.store, j, "h");
      }
      clock.advanceMillis(150);
      int staleTicks = 0;
      for (int step = 0; step < 50; step++) {
        clock.advanceMillis(20); // two fields expire
        EditJournal j = EditJournal.open();
        owner.resp.send("HSET h w" + step + " x");
        j.close();
        assertThat(j.edit(b("h"), owner.store.peekHead(b("h")).version(), 0)).as("shipped as calls").isNotNull();
        replicate(owner.store, replica.store, j, "h");
        long now = clock.millis();
        assertThat(owner.store.fieldExpiryIndex().timeOf(b("h"))).as("owner's due").isGreaterThan(now);
        if (replica.store.fieldExpiryIndex().timeOf(b("h")) <= now) {
          staleTicks++;
        }
        replicaSweeper.sweepOnce();
        assertThat(replica.store.fieldExpiryIndex().timeOf(b("h"))).as("replica's due, step %d", step)
            .isEqualTo(owner.store.fieldExpiryIndex().timeOf(b("h")));
      }
      assertThat(staleTicks).as("ticks where the replica's index said the hash was due though no field was").isZero();
    }
  }
}
