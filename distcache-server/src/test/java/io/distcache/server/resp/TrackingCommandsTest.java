package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.distcache.server.tracking.TrackingStore;
import io.distcache.server.tracking.TrackingTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** CLIENT TRACKING and friends with Redis's exact replies and invalidation messages. */
class TrackingCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final TrackingTable table = new TrackingTable();
  private final Store store = new TrackingStore(
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)), table);
  private final LocalExecutor executor = new LocalExecutor(store);
  private final RespContext context = RespContext.builder(new LocalRouter(executor), store).clock(clock)
      .version("test").tracking(table, null).build();
  private final RespChannel a = new RespChannel(context);
  private final RespChannel b = new RespChannel(context);

  @AfterEach
  void tearDown() {
    a.close();
    b.close();
    store.close();
    small.close();
  }

  private static String invalidate3(String... keys) {
    StringBuilder sb = new StringBuilder(">2\r\n$10\r\ninvalidate\r\n*" + keys.length + "\r\n");
    for (String k : keys) {
      sb.append('$').append(k.length()).append("\r\n").append(k).append("\r\n");
    }
    return sb.toString();
  }

  private void resp3(RespChannel c) {
    c.send("HELLO 3");
  }

  @Test
  void resp3_readThenOtherClientWrites_onePushPerRead() {
    resp3(a);
    assertThat(a.send("CLIENT TRACKING ON")).isEqualTo("+OK\r\n");
    b.send("SET k v1");
    assertThat(a.send("GET k")).isEqualTo("$2\r\nv1\r\n");
    assertThat(b.send("SET k v2")).isEqualTo("+OK\r\n");
    assertThat(a.output()).isEqualTo(invalidate3("k"));
    // The key left the table with that message: a second write sends nothing until it is read again.
    b.send("SET k v3");
    assertThat(a.output()).isEmpty();
    a.send("GET k");
    b.send("DEL k");
    assertThat(a.output()).isEqualTo(invalidate3("k"));
  }

  @Test
  void sortedSetRead_thenZaddByAnother_invalidates() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    b.send("ZADD z 1 m");
    assertThat(a.send("ZSCORE z m")).isEqualTo(",1\r\n");
    b.send("ZINCRBY z 2 m");
    assertThat(a.output()).isEqualTo(invalidate3("z"));
    a.send("ZRANGE z 0 -1");
    b.send("ZPOPMIN z");
    assertThat(a.output()).as("the key removed with its last member").isEqualTo(invalidate3("z"));
  }

  @Test
  void sortedSetStoreFormsAndZmpop_invalidateTheKeysTheyWrite() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    b.send("ZADD src 1 m", "ZADD d 5 x");
    assertThat(a.send("ZRANGE d 0 -1")).isEqualTo("*1\r\n$1\r\nx\r\n");
    b.send("ZUNIONSTORE d 1 src");
    assertThat(a.output()).isEqualTo(invalidate3("d"));
    a.send("ZUNION 1 src");
    b.send("ZMPOP 2 nokey src MIN");
    assertThat(a.output()).as("a ZUNION read src; ZMPOP emptied it").isEqualTo(invalidate3("src"));
  }

  @Test
  void info_countsClientsKeysItemsAndPrefixes() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    b.send("CLIENT TRACKING ON BCAST PREFIX p: PREFIX q:");
    a.send("MGET x y");
    try (RespChannel c = new RespChannel(context)) {
      c.send("CLIENT TRACKING ON", "GET x");
      String info = c.send("INFO");
      assertThat(info).contains("tracking_clients:3\r\n").contains("tracking_total_keys:2\r\n")
          .contains("tracking_total_items:3\r\n").contains("tracking_total_prefixes:2\r\n");
    }
  }

  @Test
  void mget_tracksEveryKey_andOwnWriteInvalidatesWithoutNoloop() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    a.send("MGET x y");
    assertThat(a.send("SET y 1")).isEqualTo("+OK\r\n" + invalidate3("y"));
    b.send("INCR x");
    assertThat(a.output()).isEqualTo(invalidate3("x"));
  }

  @Test
  void noloop_ownWritesSendNothing_othersDo() {
    resp3(a);
    a.send("CLIENT TRACKING ON NOLOOP");
    a.send("GET k");
    assertThat(a.send("SET k mine")).isEqualTo("+OK\r\n");
    a.send("GET k");
    b.send("SET k theirs");
    assertThat(a.output()).isEqualTo(invalidate3("k"));
  }

  @Test
  void resp2_redirect_messageOnInvalidateChannel() {
    RespChannel r = b;
    String id = r.send("CLIENT ID").replaceAll("[:\r\n]", "");
    assertThat(r.send("SUBSCRIBE __redis__:invalidate"))
        .isEqualTo("*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n");
    assertThat(a.send("CLIENT TRACKING ON REDIRECT " + id)).isEqualTo("+OK\r\n");
    assertThat(a.send("CLIENT GETREDIR")).isEqualTo(":" + id + "\r\n");
    a.send("GET k");
    try (RespChannel w = new RespChannel(context)) {
      w.send("SET k v");
    }
    assertThat(r.output()).isEqualTo("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n");
    assertThat(a.output()).isEmpty();
  }

  @Test
  void flushall_sendsNullKeys() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    a.send("GET k");
    b.send("FLUSHALL");
    assertThat(a.output()).isEqualTo(">2\r\n$10\r\ninvalidate\r\n_\r\n");
    assertThat(table.size()).isZero();
  }

  @Test
  void bcast_prefixes_matchingWritesOnly_noReadNeeded() {
    resp3(a);
    assertThat(a.send("CLIENT TRACKING ON BCAST PREFIX user: PREFIX obj:")).isEqualTo("+OK\r\n");
    b.send("SET user:1 x", "SET other y", "SET obj:7 z");
    assertThat(a.output()).isEqualTo(invalidate3("user:1") + invalidate3("obj:7"));
    assertThat(a.send("CLIENT TRACKINGINFO")).isEqualTo("%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n"
        + "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$5\r\nuser:\r\n$4\r\nobj:\r\n");
  }

  @Test
  void optin_onlyAfterCachingYes_forTheNextCommandOnly() {
    resp3(a);
    a.send("CLIENT TRACKING ON OPTIN");
    a.send("GET plain");
    assertThat(a.send("CLIENT CACHING YES")).isEqualTo("+OK\r\n");
    a.send("GET cached");
    a.send("GET after");
    b.send("SET plain 1", "SET cached 1", "SET after 1");
    assertThat(a.output()).isEqualTo(invalidate3("cached"));
  }

  @Test
  void optout_cachingNoSkipsTheNextCommand() {
    resp3(a);
    a.send("CLIENT TRACKING ON OPTOUT");
    a.send("CLIENT CACHING NO");
    assertThat(a.send("CLIENT TRACKINGINFO")).contains("$6\r\noptout\r\n$10\r\ncaching-no\r\n");
    // TRACKINGINFO was the next command and spent the flag, as in Redis: set it again.
    a.send("CLIENT CACHING NO");
    a.send("GET skipped");
    a.send("GET tracked");
    b.send("SET skipped 1", "SET tracked 1");
    assertThat(a.output()).isEqualTo(invalidate3("tracked"));
  }

  @Test
  void expiry_invalidates() {
    resp3(a);
    b.send("SET k v PX 100");
    a.send("CLIENT TRACKING ON");
    a.send("GET k");
    clock.advanceMillis(200);
    assertThat(b.send("GET k")).isEqualTo("$-1\r\n"); // found expired: removed, readers told
    assertThat(a.output()).isEqualTo(invalidate3("k"));
  }

  @Test
  void fullTable_invalidatesOtherKeysToMakeRoom() {
    table.maxKeys(2);
    resp3(a);
    a.send("CLIENT TRACKING ON");
    a.send("GET k1", "GET k2");
    assertThat(a.output()).isEmpty();
    String out = a.send("GET k3");
    assertThat(table.size()).isEqualTo(2);
    assertThat(out).contains("invalidate").doesNotContain("k3\r\n>");
    b.send("SET k1 x", "SET k2 x", "SET k3 x");
    out += a.output();
    // Three keys read, one made room for another: each is invalidated exactly once.
    assertThat(out.split("invalidate", -1)).hasSize(4);
  }

  @Test
  void tableOverItsByteBound_invalidatesOtherKeysToMakeRoom() {
    // A key's entry counts its bytes, the objects around it and one reader's.
    long one = 1000 + io.distcache.server.tracking.TrackingTable.KEY_COST
        + io.distcache.server.tracking.TrackingTable.ITEM_COST;
    table.maxBytes(2 * one + 500);
    resp3(a);
    a.send("CLIENT TRACKING ON");
    String k1 = "a".repeat(1000);
    String k2 = "b".repeat(1000);
    a.send("GET " + k1, "GET " + k2);
    assertThat(a.output()).isEmpty();
    assertThat(table.bytes()).isEqualTo(2 * one);
    // A third 1000-byte key would pass the bound: another key is invalidated first, this one kept.
    String out = a.send("GET " + "c".repeat(1000));
    assertThat(out).contains("invalidate");
    assertThat(table.size()).isEqualTo(2);
    assertThat(table.bytes()).isEqualTo(2 * one);
    b.send("SET " + k1 + " x", "SET " + k2 + " x");
    assertThat(table.bytes()).isEqualTo(one);
    assertThat(a.send("PING")).contains("PONG");
  }

  /** A key read by a second client costs one more reader's bytes; its change gives all of them back. */
  @Test
  void tableBytes_countEachReaderOfAKey_andAChangeGivesThemAllBack() {
    resp3(a);
    resp3(b);
    a.send("CLIENT TRACKING ON");
    b.send("CLIENT TRACKING ON");
    a.send("GET shared");
    long oneReader = table.bytes();
    assertThat(oneReader).isEqualTo("shared".length() + io.distcache.server.tracking.TrackingTable.KEY_COST
        + io.distcache.server.tracking.TrackingTable.ITEM_COST);
    b.send("GET shared");
    assertThat(table.bytes()).isEqualTo(oneReader + io.distcache.server.tracking.TrackingTable.ITEM_COST);
    a.send("SET shared x");
    assertThat(table.bytes()).isZero();
    assertThat(table.size()).isZero();
  }

  @Test
  void bcastPrefixes_overTheCountPerConnection_areRefused_offGivesTheirBytesBack() {
    resp3(a);
    StringBuilder cmd = new StringBuilder("CLIENT TRACKING ON BCAST");
    for (int i = 0; i < 1000; i++) {
      cmd.append(" PREFIX p").append(i).append(':');
    }
    assertThat(a.send(cmd.toString())).isEqualTo("+OK\r\n");
    StringBuilder more = new StringBuilder("CLIENT TRACKING ON BCAST");
    for (int i = 0; i < 25; i++) {
      more.append(" PREFIX q").append(i).append(':');
    }
    assertThat(a.send(more.toString())).isEqualTo("-ERR 25 more prefixes would follow over 1024 prefixes, the limit per connection\r\n");
    assertThat(context.clientMemory().used()).isPositive();
    b.send("SET p7:x 1");
    assertThat(a.output()).isEqualTo(invalidate3("p7:x"));
    assertThat(a.send("CLIENT TRACKING OFF")).isEqualTo("+OK\r\n");
    assertThat(context.clientMemory().used()).isZero();
  }

  /** A 1 MiB node's context whose store reports to {@code evictionTable}. */
  private final TrackingTable evictionTable = new TrackingTable();
  private final Store small = new TrackingStore(
      Stores.create(new StoreConfig(1024 * 1024, 64 * 1024, EvictionPolicy.ALLKEYS_LRU, clock)), evictionTable);
  private final RespContext smallContext = RespContext.builder(new LocalRouter(new LocalExecutor(small)), small)
      .clock(clock).version("test").tracking(evictionTable, null).build();

  /** Writes 10 KiB values through {@code writer} until {@code victim} is evicted; fails if it never is. */
  private void writeUntilEvicted(RespChannel writer, String victim) {
    String value = "x".repeat(10 * 1024);
    for (int i = 0; i < 10_000 && small.exists(victim.getBytes(java.nio.charset.StandardCharsets.UTF_8)); i++) {
      assertThat(writer.send("SET filler" + i + " " + value)).isEqualTo("+OK\r\n");
    }
    assertThat(small.exists(victim.getBytes(java.nio.charset.StandardCharsets.UTF_8))).as("evicted").isFalse();
  }

  @Test
  void eviction_resp3Reader_getsInvalidatePush() {
    try (RespChannel reader = new RespChannel(smallContext); RespChannel writer = new RespChannel(smallContext)) {
      writer.send("SET victim v");
      resp3(reader);
      assertThat(reader.send("CLIENT TRACKING ON")).isEqualTo("+OK\r\n");
      assertThat(reader.send("GET victim")).isEqualTo("$1\r\nv\r\n");
      writeUntilEvicted(writer, "victim");
      assertThat(reader.output()).isEqualTo(invalidate3("victim"));
    }
  }

  @Test
  void eviction_resp2Redirect_getsInvalidateMessage() {
    try (RespChannel reader = new RespChannel(smallContext); RespChannel redirect = new RespChannel(smallContext);
        RespChannel writer = new RespChannel(smallContext)) {
      writer.send("SET victim v");
      String id = redirect.send("CLIENT ID").replaceAll("[:\r\n]", "");
      redirect.send("SUBSCRIBE __redis__:invalidate");
      assertThat(reader.send("CLIENT TRACKING ON REDIRECT " + id)).isEqualTo("+OK\r\n");
      assertThat(reader.send("GET victim")).isEqualTo("$1\r\nv\r\n");
      writeUntilEvicted(writer, "victim");
      assertThat(redirect.output())
          .isEqualTo("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$6\r\nvictim\r\n");
      assertThat(reader.output()).isEmpty();
    }
  }

  @Test
  void off_andClose_freeTheClient() {
    resp3(a);
    a.send("CLIENT TRACKING ON");
    b.send("CLIENT TRACKING ON BCAST");
    assertThat(table.clients()).isEqualTo(2);
    assertThat(a.send("CLIENT TRACKING OFF")).isEqualTo("+OK\r\n");
    assertThat(a.send("CLIENT GETREDIR")).isEqualTo(":-1\r\n");
    b.close();
    assertThat(table.clients()).isZero();
    assertThat(table.prefixes()).isZero();
  }

  @Test
  void errors_redisTexts() {
    assertThat(a.send("CLIENT TRACKING ON PREFIX a")).isEqualTo("-ERR PREFIX option requires BCAST mode to be enabled\r\n");
    assertThat(a.send("CLIENT TRACKING ON BCAST OPTIN"))
        .isEqualTo("-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n");
    assertThat(a.send("CLIENT TRACKING ON OPTIN OPTOUT")).isEqualTo("-ERR You can't use both OPTIN and OPTOUT\r\n");
    assertThat(a.send("CLIENT TRACKING ON REDIRECT 9999"))
        .isEqualTo("-ERR The client ID you want redirect to does not exist\r\n");
    assertThat(a.send("CLIENT TRACKING ON FOO")).isEqualTo("-ERR syntax error\r\n");
    assertThat(a.send("CLIENT TRACKING MAYBE")).isEqualTo("-ERR syntax error\r\n");
    assertThat(a.send("CLIENT TRACKING")).isEqualTo("-ERR wrong number of arguments for 'client|tracking' command\r\n");
    assertThat(a.send("CLIENT CACHING YES")).isEqualTo("-ERR CLIENT CACHING can be called only when the client is in"
        + " tracking mode with OPTIN or OPTOUT mode enabled\r\n");
    a.send("CLIENT TRACKING ON OPTIN");
    assertThat(a.send("CLIENT CACHING NO"))
        .isEqualTo("-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n");
    assertThat(a.send("CLIENT CACHING MAYBE")).isEqualTo("-ERR syntax error\r\n");
    assertThat(a.send("CLIENT TRACKING ON OPTOUT")).isEqualTo("-ERR You can't switch OPTIN/OPTOUT mode before disabling"
        + " tracking for this client, and then re-enabling it with a different mode.\r\n");
    assertThat(a.send("CLIENT TRACKING ON BCAST")).isEqualTo("-ERR You can't switch BCAST mode on/off before disabling"
        + " tracking for this client, and then re-enabling it with a different mode.\r\n");
    a.send("CLIENT TRACKING OFF");
    assertThat(a.send("CLIENT TRACKING ON OPTOUT")).isEqualTo("+OK\r\n");
    assertThat(a.send("CLIENT CACHING YES"))
        .isEqualTo("-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n");
    a.send("CLIENT TRACKING OFF");
    assertThat(a.send("CLIENT TRACKING ON BCAST PREFIX ab PREFIX a")).isEqualTo("-ERR Prefix 'ab' overlaps with another"
        + " provided prefix 'a'. Prefixes for a single client must not overlap.\r\n");
    a.send("CLIENT TRACKING ON BCAST PREFIX ab");
    assertThat(a.send("CLIENT TRACKING ON BCAST PREFIX abc")).isEqualTo("-ERR Prefix 'abc' overlaps with an existing"
        + " prefix 'ab'. Prefixes for a single client must not overlap.\r\n");
  }

  @Test
  void trackinginfo_offAndRedirect() {
    assertThat(a.send("CLIENT TRACKINGINFO"))
        .isEqualTo("*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n");
    String id = b.send("CLIENT ID").replaceAll("[:\r\n]", "");
    a.send("CLIENT TRACKING ON REDIRECT " + id + " NOLOOP");
    assertThat(a.send("CLIENT TRACKINGINFO")).isEqualTo("*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnoloop\r\n"
        + "$8\r\nredirect\r\n:" + id + "\r\n$8\r\nprefixes\r\n*0\r\n");
    assertThat(a.send("CLIENT LIST ID " + a.send("CLIENT ID").replaceAll("[:\r\n]", "")))
        .contains("flags=t ").contains(" redir=" + id + " ");
  }

  @Test
  void brokenRedirect_resp3ClientIsTold() {
    resp3(a);
    RespChannel r = new RespChannel(context);
    String id = r.send("CLIENT ID").replaceAll("[:\r\n]", "");
    a.send("CLIENT TRACKING ON REDIRECT " + id);
    a.send("GET k");
    r.close();
    b.send("SET k v");
    assertThat(a.output()).isEqualTo(">2\r\n$21\r\ntracking-redir-broken\r\n:" + id + "\r\n");
    assertThat(a.send("CLIENT TRACKINGINFO")).contains("broken_redirect");
  }
}
