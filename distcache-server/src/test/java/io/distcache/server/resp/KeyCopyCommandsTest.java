package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** RENAME, RENAMENX, COPY, TOUCH, OBJECT and MEMORY USAGE with Redis's replies and errors, on one node. */
class KeyCopyCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  @Test
  void rename_movesValueAndExpiry() {
    send("SET a 1 PX 5000");
    assertThat(send("RENAME a b", "GET a", "GET b", "PTTL b")).isEqualTo("+OK\r\n$-1\r\n$1\r\n1\r\n:5000\r\n");
    assertThat(send("RENAME nokey b")).isEqualTo("-ERR no such key\r\n");
    assertThat(send("RENAME b b", "GET b")).isEqualTo("+OK\r\n$1\r\n1\r\n");
    send("SET c 2");
    assertThat(send("RENAME b c", "GET c", "PTTL c")).as("the destination is replaced, expiry included")
        .isEqualTo("+OK\r\n$1\r\n1\r\n:5000\r\n");
  }

  @Test
  void renamenx() {
    send("SET a 1", "SET c 2");
    assertThat(send("RENAMENX a c", "RENAMENX a a", "RENAMENX a d", "GET d", "EXISTS a"))
        .isEqualTo(":0\r\n:0\r\n:1\r\n$1\r\n1\r\n:0\r\n");
    assertThat(send("RENAMENX nokey x")).isEqualTo("-ERR no such key\r\n");
  }

  @Test
  void copy_withReplaceAndDb() {
    send("SET s v EX 100", "SET d old");
    assertThat(send("COPY s d", "COPY s d REPLACE", "GET d", "TTL d", "GET s"))
        .isEqualTo(":0\r\n:1\r\n$1\r\nv\r\n:100\r\n$1\r\nv\r\n");
    assertThat(send("COPY nokey x", "COPY s n DB 0")).isEqualTo(":0\r\n:1\r\n");
    assertThat(send("COPY s s")).isEqualTo("-ERR source and destination objects are the same\r\n");
    assertThat(send("COPY s x DB 1")).isEqualTo("-ERR DB index is out of range\r\n");
    assertThat(send("COPY s x FOO")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void touch_countsPresentKeysEachTimeNamed() {
    send("SET a 1", "SET b 2");
    assertThat(send("TOUCH a b nokey a")).isEqualTo(":3\r\n");
  }

  @Test
  void object_encodingFreqRefcountHelp() {
    send("SET i 12345", "SET e hello", "SET n -0", "SET r " + "x".repeat(45));
    assertThat(send("OBJECT ENCODING i", "OBJECT ENCODING e", "OBJECT ENCODING n", "OBJECT ENCODING r",
        "OBJECT ENCODING nokey")).isEqualTo("$3\r\nint\r\n$6\r\nembstr\r\n$6\r\nembstr\r\n$3\r\nraw\r\n$-1\r\n");
    assertThat(send("OBJECT FREQ i")).isEqualTo("-" + KeyCopyCommands.NO_LFU + "\r\n");
    assertThat(send("OBJECT FREQ nokey", "OBJECT REFCOUNT e", "OBJECT REFCOUNT nokey"))
        .isEqualTo("$-1\r\n:1\r\n$-1\r\n");
    assertThat(send("OBJECT FOO i")).isEqualTo("-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n");
    assertThat(send("OBJECT HELP")).startsWith("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  }

  @Test
  void objectIdletime_countsSecondsSinceTheLastUse_onTheInjectedClock() {
    send("SET k v");
    assertThat(send("OBJECT IDLETIME k")).isEqualTo(":0\r\n");
    clock.advanceMillis(7_500);
    assertThat(send("OBJECT IDLETIME k", "OBJECT IDLETIME k")).as("asking is not a use").isEqualTo(":7\r\n:7\r\n");
    assertThat(send("EXISTS k", "TTL k", "TYPE k", "OBJECT ENCODING k", "OBJECT IDLETIME k"))
        .as("EXISTS, TTL, TYPE do not count as uses (Redis's LOOKUP_NOTOUCH)").endsWith(":7\r\n");
    send("GET k");
    assertThat(send("OBJECT IDLETIME k")).as("a read resets it").isEqualTo(":0\r\n");
    clock.advanceMillis(3_000);
    send("TOUCH k");
    assertThat(send("OBJECT IDLETIME k")).as("TOUCH resets it").isEqualTo(":0\r\n");
    clock.advanceMillis(4_000);
    send("SET k w");
    assertThat(send("OBJECT IDLETIME k")).as("a write resets it").isEqualTo(":0\r\n");
    assertThat(send("OBJECT IDLETIME nokey")).isEqualTo("$-1\r\n");
    assertThat(send("OBJECT IDLETIME")).isEqualTo("-ERR wrong number of arguments for 'object|idletime' command\r\n");
  }

  @Test
  void objectIdletime_underAnLfuPolicy_answersRedisError_andAgainAfterSwitchingBack() {
    send("SET k v");
    clock.advanceMillis(5_000);
    store.reconfigure(store.config().withPolicy(EvictionPolicy.VOLATILE_LFU));
    assertThat(send("OBJECT IDLETIME k")).isEqualTo("-" + KeyCopyCommands.NO_IDLETIME + "\r\n");
    assertThat(KeyCopyCommands.NO_IDLETIME).isEqualTo("ERR An LFU maxmemory policy is selected, idle time not "
        + "tracked. Please note that when switching between policies at runtime LRU and LFU data will take some "
        + "time to adjust.");
    assertThat(send("OBJECT IDLETIME nokey")).as("a missing key is nil first, as in Redis").isEqualTo("$-1\r\n");
    store.reconfigure(store.config().withPolicy(EvictionPolicy.VOLATILE_TTL));
    assertThat(send("OBJECT IDLETIME k")).as("the entry's clock survived the LFU period").isEqualTo(":5\r\n");
  }

  @Test
  void memoryUsage_byTheEntryLayout() {
    send("SET e hello", "SET t hello EX 100");
    // flags 1 + version 8 + use field 3 + two length varints 2 + key 1 + value 5 + index share 11;
    // expiry adds 8
    assertThat(send("MEMORY USAGE e", "MEMORY USAGE t", "MEMORY USAGE e SAMPLES 0", "MEMORY USAGE nokey"))
        .isEqualTo(":31\r\n:39\r\n:31\r\n$-1\r\n");
    assertThat(send("MEMORY USAGE e SAMPLES -1")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("MEMORY USAGE e FOO 1")).isEqualTo("-ERR syntax error\r\n");
  }

  @Test
  void insideATransaction() {
    send("SET e v");
    assertThat(send("MULTI", "RENAME e e2", "COPY e2 e3", "TOUCH e2 e3", "EXEC")).isEqualTo(
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:1\r\n:2\r\n");
  }
}
