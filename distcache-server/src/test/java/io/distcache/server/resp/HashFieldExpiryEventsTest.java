package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.FieldExpirySweeper;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Keyspace events of hash field expiry: hexpire, hpersist, hdel for a past time, hexpired, and del for the key. */
class HashFieldExpiryEventsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);
  private final LocalRouter router = new LocalRouter(executor);
  private final RespContext context = RespContext.builder(router, store).clock(clock).version("test").build();
  private final RespChannel sub = new RespChannel(context);
  private final RespChannel pub = new RespChannel(context);

  {
    executor.pubSub(context.pubSub(), context.keyspaceEvents());
  }

  @AfterEach
  void tearDown() {
    sub.close();
    pub.close();
    store.close();
  }

  private static String events(String... keyAndEvent) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < keyAndEvent.length; i += 2) {
      String ch = "__keyspace@0__:" + keyAndEvent[i];
      String e = keyAndEvent[i + 1];
      sb.append("*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$").append(ch.length()).append("\r\n").append(ch)
          .append("\r\n$").append(e.length()).append("\r\n").append(e).append("\r\n");
    }
    return sb.toString();
  }

  @Test
  void commands_publishRedisEvents() {
    pub.send("CONFIG SET notify-keyspace-events Kgh");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    pub.send("HSET h a 1 b 2", "HEXPIRE h 100 FIELDS 2 a nofield", "HEXPIRE h 100 NX FIELDS 1 a",
        "HPERSIST h FIELDS 1 a", "HPERSIST h FIELDS 1 a", "HTTL h FIELDS 1 a", "HEXPIRE h 0 FIELDS 1 a",
        "HEXPIRE h 0 FIELDS 1 b");
    // A condition that held for no field, an HPERSIST of a field without expiry and HTTL publish nothing.
    assertThat(sub.output()).isEqualTo(events("h", "hset", "h", "hexpire", "h", "hpersist", "h", "hdel", "h", "hdel",
        "h", "del"));
  }

  @Test
  void redis8Commands_publishRedisEvents() {
    pub.send("CONFIG SET notify-keyspace-events Kgh");
    pub.send("HSET h a 1 b 2 c 3");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    pub.send("HGETEX h FIELDS 1 a", "HGETEX h EX 10 FIELDS 1 a", "HGETEX h PERSIST FIELDS 2 a b",
        "HGETEX h PERSIST FIELDS 1 b", "HGETEX h PX 0 FIELDS 1 a", "HGETDEL h FIELDS 1 nofield", "HGETDEL h FIELDS 2 b c");
    assertThat(sub.output()).isEqualTo(events("h", "hexpire", "h", "hpersist", "h", "hdel", "h", "hdel", "h", "del"));
  }

  @Test
  void expiredFields_publishHexpired_whenAWriteOrTheSweepRemovesThem() {
    pub.send("CONFIG SET notify-keyspace-events Kgh");
    pub.send("HSET h a 1 b 2", "HPEXPIRE h 10 FIELDS 1 a", "HSET g x 1", "HPEXPIRE g 10 FIELDS 1 x");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    clock.advanceMillis(10);
    pub.send("HGET h a", "HLEN g");
    assertThat(sub.output()).as("reads only hide expired fields").isEmpty();
    pub.send("HSET h c 3");
    assertThat(sub.output()).isEqualTo(events("h", "hexpired", "h", "hset"));
    try (FieldExpirySweeper sweeper = new FieldExpirySweeper(store, router, key -> true)) {
      assertThat(sweeper.sweepOnce()).isEqualTo(1);
    }
    assertThat(sub.output()).isEqualTo(events("g", "hexpired", "g", "del"));
  }
}
