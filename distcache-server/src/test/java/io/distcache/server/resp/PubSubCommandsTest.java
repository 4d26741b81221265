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

/** Pub/sub commands with Redis's exact replies: two connections sharing one node context. */
class PubSubCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);
  private final RespContext context =
      RespContext.builder(new LocalRouter(executor), store).clock(clock).version("test").build();
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

  private static String push3(String kind, String a, String b) {
    return "*3\r\n$" + kind.length() + "\r\n" + kind + "\r\n$" + a.length() + "\r\n" + a + "\r\n$" + b.length()
        + "\r\n" + b + "\r\n";
  }

  private static String confirm(String kind, String channel, int count) {
    return "*3\r\n$" + kind.length() + "\r\n" + kind + "\r\n$" + channel.length() + "\r\n" + channel + "\r\n:" + count
        + "\r\n";
  }

  @Test
  void publish_channelTooCostlyForThePatterns_refusedAndDeliveredToNobody() {
    byte[] channel = "a".repeat(65536).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(sub.send("PSUBSCRIBE *" + "a".repeat(498) + "b")).startsWith("*3\r\n$10\r\npsubscribe\r\n");
    assertThat(pub.call("PUBLISH".getBytes(java.nio.charset.StandardCharsets.US_ASCII), channel, new byte[] {'m'}))
        .isEqualTo("-ERR matching the channel (65536 bytes) against this node's 1 patterns needs more than 16777216"
            + " steps, the limit per message; the message was not published\r\n");
    assertThat(sub.output()).isEmpty();
  }

  @Test
  void subscribe_publish_unsubscribe_redisReplies() {
    assertThat(sub.send("SUBSCRIBE news sport")).isEqualTo(confirm("subscribe", "news", 1) + confirm("subscribe", "sport", 2));
    assertThat(pub.send("PUBLISH news hello")).isEqualTo(":1\r\n");
    assertThat(sub.output()).isEqualTo(push3("message", "news", "hello"));
    assertThat(pub.send("PUBLISH weather rain")).isEqualTo(":0\r\n");
    assertThat(sub.output()).isEmpty();
    assertThat(sub.send("SUBSCRIBE news")).isEqualTo(confirm("subscribe", "news", 2));
    assertThat(sub.send("UNSUBSCRIBE news")).isEqualTo(confirm("unsubscribe", "news", 1));
    assertThat(pub.send("PUBLISH news again")).isEqualTo(":0\r\n");
    assertThat(sub.output()).isEmpty();
  }

  @Test
  void subscriberWhoseBufferCannotGrow_isDisconnected_thePublisherGoesOn() {
    assertThat(sub.send("SUBSCRIBE news")).isEqualTo(confirm("subscribe", "news", 1));
    // The node's direct memory is spent: the next buffer for this subscriber cannot be allocated.
    sub.channel.config().setAllocator(new io.netty.buffer.AbstractByteBufAllocator(false) {
      @Override
      public boolean isDirectBufferPooled() {
        return false;
      }

      @Override
      protected io.netty.buffer.ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("Direct buffer memory");
      }

      @Override
      protected io.netty.buffer.ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        throw new OutOfMemoryError("Direct buffer memory");
      }
    });

    assertThat(pub.send("PUBLISH news hello")).isEqualTo(":1\r\n");
    sub.channel.runPendingTasks();

    assertThat(sub.channel.isActive()).as("the subscriber that could not be written to is closed").isFalse();
    assertThat(pub.send("PUBLISH news again")).isEqualTo(":0\r\n");
    assertThat(pub.send("PING")).isEqualTo("+PONG\r\n");
  }

  @Test
  void unsubscribe_everything_thenNothingLeft_answersNullChannel() {
    sub.send("SUBSCRIBE a b", "PSUBSCRIBE p*");
    assertThat(sub.send("UNSUBSCRIBE")).isEqualTo(confirm("unsubscribe", "a", 2) + confirm("unsubscribe", "b", 1));
    assertThat(sub.send("UNSUBSCRIBE")).isEqualTo("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n");
    assertThat(sub.send("PUNSUBSCRIBE")).isEqualTo(confirm("punsubscribe", "p*", 0));
    assertThat(sub.send("PUNSUBSCRIBE")).isEqualTo("*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribed mode: any command runs again.
    assertThat(sub.send("GET k")).isEqualTo("$-1\r\n");
  }

  @Test
  void patternAndChannel_matchingSameMessage_bothDelivered_countedTwice() {
    sub.send("SUBSCRIBE news.tech", "PSUBSCRIBE news.*");
    assertThat(pub.send("PUBLISH news.tech up")).isEqualTo(":2\r\n");
    assertThat(sub.output()).isEqualTo(push3("message", "news.tech", "up")
        + "*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$2\r\nup\r\n");
    assertThat(pub.send("PUBSUB NUMPAT", "PUBSUB NUMSUB news.tech other", "PUBSUB CHANNELS", "PUBSUB CHANNELS x*"))
        .isEqualTo(":1\r\n*4\r\n$9\r\nnews.tech\r\n:1\r\n$5\r\nother\r\n:0\r\n*1\r\n$9\r\nnews.tech\r\n*0\r\n");
  }

  @Test
  void globPatterns_redisSyntax() {
    sub.send("PSUBSCRIBE h?llo h[^e]y [a-c]x \\*lit");
    assertThat(pub.send("PUBLISH hallo 1", "PUBLISH hoy 2", "PUBLISH hey 3", "PUBLISH bx 4", "PUBLISH *lit 5",
        "PUBLISH xlit 6")).isEqualTo(":1\r\n:1\r\n:0\r\n:1\r\n:1\r\n:0\r\n");
  }

  @Test
  void subscribedMode_resp2_refusesOtherCommands_pingIsPushShaped() {
    sub.send("SUBSCRIBE c");
    assertThat(sub.send("GET k")).isEqualTo("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING"
        + " / QUIT / RESET are allowed in this context\r\n");
    assertThat(sub.send("CLIENT ID")).startsWith("-ERR Can't execute 'client|id'");
    assertThat(sub.send("PING", "PING x")).isEqualTo("*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
    assertThat(sub.send("NOSUCH")).startsWith("-ERR unknown command 'NOSUCH'");
    assertThat(sub.send("RESET")).isEqualTo("+RESET\r\n");
    assertThat(pub.send("PUBLISH c m")).isEqualTo(":0\r\n");
    assertThat(sub.send("GET k")).isEqualTo("$-1\r\n");
  }

  @Test
  void resp3_pushesInterleaveWithReplies() {
    sub.send("HELLO 3");
    assertThat(sub.send("SUBSCRIBE c")).isEqualTo(">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
    pub.send("PUBLISH c one");
    assertThat(sub.output()).isEqualTo(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\none\r\n");
    // Any command runs in RESP3 while subscribed; a message published meanwhile is a push among the replies.
    assertThat(sub.send("SET k v", "PUBLISH c two", "GET k")).isEqualTo("+OK\r\n:1\r\n$1\r\nv\r\n"
        + ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\ntwo\r\n");
    assertThat(sub.send("PING")).isEqualTo("+PONG\r\n");
    assertThat(sub.send("UNSUBSCRIBE x")).isEqualTo(">3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:1\r\n");
    assertThat(sub.send("UNSUBSCRIBE", "UNSUBSCRIBE")).isEqualTo(">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n"
        + ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    assertThat(sub.send("PUBSUB NUMSUB c")).isEqualTo("%1\r\n$1\r\nc\r\n:0\r\n");
  }

  @Test
  void shardChannels_ssubscribeSpublish() {
    assertThat(sub.send("SSUBSCRIBE {s}a {s}b")).isEqualTo(confirm("ssubscribe", "{s}a", 1) + confirm("ssubscribe", "{s}b", 2));
    assertThat(pub.send("SPUBLISH {s}a hi", "PUBLISH {s}a no")).isEqualTo(":1\r\n:0\r\n");
    assertThat(sub.output()).isEqualTo(push3("smessage", "{s}a", "hi"));
    assertThat(pub.send("PUBSUB SHARDCHANNELS *a", "PUBSUB SHARDNUMSUB {s}a"))
        .isEqualTo("*1\r\n$4\r\n{s}a\r\n*2\r\n$4\r\n{s}a\r\n:1\r\n");
    assertThat(sub.send("SUNSUBSCRIBE")).isEqualTo(confirm("sunsubscribe", "{s}a", 1) + confirm("sunsubscribe", "{s}b", 0));
    assertThat(sub.send("GET k")).isEqualTo("$-1\r\n");
  }

  @Test
  void errors_arityAndBadPattern() {
    assertThat(sub.send("SUBSCRIBE")).isEqualTo("-ERR wrong number of arguments for 'subscribe' command\r\n");
    assertThat(sub.send("PUBLISH c")).isEqualTo("-ERR wrong number of arguments for 'publish' command\r\n");
    assertThat(sub.send("PUBSUB NOPE")).isEqualTo("-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n");
    assertThat(sub.send("PUBSUB NUMPAT x")).isEqualTo("-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
    assertThat(sub.send("PSUBSCRIBE " + "*a".repeat(300)))
        .isEqualTo("-ERR pattern of 600 bytes is longer than the limit of 512 bytes\r\n");
    assertThat(sub.call(b("SUBSCRIBE"), b("ok"), new byte[64 * 1024 + 1]))
        .isEqualTo("-ERR channel name of 65537 bytes is longer than the limit of 65536 bytes\r\n");
    assertThat(pub.send("PUBSUB NUMSUB ok")).isEqualTo("*2\r\n$2\r\nok\r\n:0\r\n"); // nothing subscribed
    assertThat(pub.call(b("PUBLISH"), new byte[64 * 1024 + 1], b("m")))
        .isEqualTo("-ERR channel name of 65537 bytes is longer than the limit of 65536 bytes\r\n");
    // An unterminated class is matched as Redis does (the pattern's end closes it), not refused.
    sub.send("PSUBSCRIBE [abc");
    assertThat(pub.send("PUBLISH b x")).isEqualTo(":1\r\n");
  }

  @Test
  void clientList_showsSubscriptions_infoCounts() {
    sub.send("SUBSCRIBE a b", "PSUBSCRIBE p*");
    assertThat(sub.send("RESET")).isEqualTo("+RESET\r\n");
    sub.send("SUBSCRIBE a b", "PSUBSCRIBE p*");
    String list = pub.send("CLIENT LIST");
    assertThat(list).contains("flags=P db=0 sub=2 psub=1 ssub=0");
    assertThat(pub.send("CLIENT LIST TYPE pubsub")).contains("sub=2 psub=1").doesNotContain("sub=0 psub=0");
    assertThat(pub.send("CLIENT LIST TYPE normal")).contains("sub=0 psub=0").doesNotContain("sub=2");
    String info = pub.send("INFO");
    assertThat(info).contains("pubsub_clients:1\r\n", "pubsub_channels:2\r\n", "pubsub_patterns:1\r\n",
        "pubsubshard_channels:0\r\n", "client_output_buffer_limit_disconnections:0\r\n");
  }

  @Test
  void closedSubscriber_isForgotten() {
    sub.send("SUBSCRIBE a");
    sub.close();
    assertThat(pub.send("PUBLISH a x", "PUBSUB NUMSUB a")).isEqualTo(":0\r\n*2\r\n$1\r\na\r\n:0\r\n");
  }

  @Test
  void notifyKeyspaceEvents_configSetGet_redisFlags() {
    assertThat(pub.send("CONFIG GET notify-keyspace-events")).isEqualTo("*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n");
    assertThat(pub.send("CONFIG SET notify-keyspace-events KEA")).isEqualTo("+OK\r\n");
    assertThat(pub.send("CONFIG GET notify-keyspace-events")).contains("$3\r\nAKE\r\n");
    assertThat(pub.send("CONFIG SET notify-keyspace-events Egx")).isEqualTo("+OK\r\n");
    assertThat(pub.send("CONFIG GET notify-keyspace-events")).contains("$3\r\ngxE\r\n");
    assertThat(pub.send("CONFIG SET notify-keyspace-events Q")).isEqualTo("-ERR CONFIG SET failed (possibly related to"
        + " argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n");
    assertThat(pub.send("CONFIG GET notify-keyspace-events")).contains("$3\r\ngxE\r\n");
  }

  /** The pmessages of PSUBSCRIBE __keyspace@0__:* for {@code events}, each {key, event}. */
  private static String keyspaceMessages(String[][] events) {
    StringBuilder expected = new StringBuilder();
    for (String[] e : events) {
      String ch = "__keyspace@0__:" + e[0];
      expected.append("*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$").append(ch.length()).append("\r\n")
          .append(ch).append("\r\n$").append(e[1].length()).append("\r\n").append(e[1]).append("\r\n");
    }
    return expected.toString();
  }

  @Test
  void keyspaceEvents_writes_publishKeyspaceAndKeyevent() {
    pub.send("CONFIG SET notify-keyspace-events KA");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    pub.send("SET k v EX 100", "INCR n", "APPEND k x", "EXPIRE k 50", "PERSIST k", "RENAME k k2", "DEL k2 missing",
        "HSET h f 1", "HDEL h f", "SADD s a", "SREM s a", "GET n");
    String[][] events = {{"k", "set"}, {"k", "expire"}, {"n", "incrby"}, {"k", "append"}, {"k", "expire"},
        {"k", "persist"}, {"k", "rename_from"}, {"k2", "rename_to"}, {"k2", "del"}, {"h", "hset"}, {"h", "hdel"},
        {"h", "del"}, {"s", "sadd"}, {"s", "srem"}, {"s", "del"}};
    assertThat(sub.output()).isEqualTo(keyspaceMessages(events));
  }

  @Test
  void keyspaceEvents_sortedSets_classZ_asRedis() {
    pub.send("CONFIG SET notify-keyspace-events Kz");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    // The sequence and its events were taken from redis-server 7.0.
    pub.send("ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z CH 5 a", "ZINCRBY z 1 a", "ZADD z NX INCR 1 a", "ZREM z x",
        "ZREM z a", "ZADD z 3 c 4 d 5 e", "ZREMRANGEBYSCORE z 3 3", "ZREMRANGEBYRANK z 0 0", "ZADD z 0 p 0 q",
        "ZREMRANGEBYLEX z [p [p", "ZPOPMIN z", "ZPOPMAX z 5", "ZPOPMIN z", "SET str v");
    String expected = "";
    for (String e : new String[] {"zadd", "zadd", "zincr", "zrem", "zadd", "zremrangebyscore", "zremrangebyrank", "zadd",
        "zpopmin", "zpopmax"}) {
      expected += "*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$16\r\n__keyspace@0__:z\r\n$" + e.length()
          + "\r\n" + e + "\r\n";
    }
    assertThat(sub.output()).as("class z only: no del (class g), no set (class $)").isEqualTo(expected);
    pub.send("CONFIG SET notify-keyspace-events Kzg", "ZADD y 0 a 0 b", "ZREMRANGEBYLEX y - +");
    assertThat(sub.output()).endsWith("$14\r\nzremrangebylex\r\n" + "*4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*"
        + "\r\n$16\r\n__keyspace@0__:y\r\n$3\r\ndel\r\n");
  }

  @Test
  void keyspaceEvents_sortedSetStoreFormsAndZmpop_asRedis() {
    pub.send("CONFIG SET notify-keyspace-events KEzg");
    sub.send("PSUBSCRIBE __keyevent@0__:*");
    // The sequence and its events were taken from redis-server 7.0.15.
    pub.send("ZADD a 1 x 2 y", "ZUNIONSTORE d 1 a", "ZINTERSTORE d 2 a nokey", "ZDIFFSTORE e 1 a", "ZRANGESTORE f a 0 0",
        "ZRANGESTORE f a 5 6", "ZMPOP 2 nokey a MAX COUNT 5", "ZUNION 1 e", "ZINTERSTORE g 1 nokey");
    String expected = "";
    String[][] events = {{"zadd", "a"}, {"zunionstore", "d"}, {"del", "d"}, {"zdiffstore", "e"}, {"zrangestore", "f"},
        {"del", "f"}, {"zpopmax", "a"}, {"del", "a"}};
    for (String[] e : events) {
      String ch = "__keyevent@0__:" + e[0];
      expected += "*4\r\n$8\r\npmessage\r\n$16\r\n__keyevent@0__:*\r\n$" + ch.length() + "\r\n" + ch + "\r\n$"
          + e[1].length() + "\r\n" + e[1] + "\r\n";
    }
    assertThat(sub.output()).isEqualTo(expected);
  }

  @Test
  void keyspaceEvents_smoveAndSpop_asRedis() {
    pub.send("CONFIG SET notify-keyspace-events Kgs");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    // The sequence and its events were taken from redis-server 7.0.15: no "sadd" on a destination
    // that held the member already, nothing for an SPOP that popped nothing.
    assertThat(pub.send("SADD src a b", "SADD dst a", "SMOVE src dst a", "SMOVE src dst b", "SPOP nokey",
        "SPOP nokey 3", "SADD s1 x y", "SPOP s1 0", "SMOVE dst dst a", "SMOVE nosrc dst a", "SPOP s1 5"))
        .startsWith(":2\r\n:1\r\n:1\r\n:1\r\n$-1\r\n*0\r\n:2\r\n*0\r\n:1\r\n:0\r\n*2\r\n");
    String[][] events = {{"src", "sadd"}, {"dst", "sadd"}, {"src", "srem"}, {"src", "srem"}, {"src", "del"},
        {"dst", "sadd"}, {"s1", "sadd"}, {"s1", "spop"}, {"s1", "del"}};
    assertThat(sub.output()).isEqualTo(keyspaceMessages(events));
  }

  @Test
  void keyspaceEvents_classN_multiKeyWritesCreatingKeys_asRedis() {
    pub.send("SET old 1", "SET str{x} v", "SADD src{x} a b", "SET dst{x} w", "SET c{x} w", "SADD full{x} q");
    pub.send("CONFIG SET notify-keyspace-events KAn");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    // The sequence and its events were taken from redis-server 7.0.15 (KEAn, PSUBSCRIBE '__key*__:*'):
    // "new" right before the event that creates the key; once for a key MSET names twice; RENAME's
    // and COPY's destination is new even when one was there (Redis deletes it and adds it anew);
    // RENAME of a key to itself sends nothing.
    assertThat(pub.send("SMOVE src{x} smd{x} a", "SMOVE src{x} smd{x} b", "MSET old 2 m1 1 m1 2",
        "MSETNX m2 1 m3 2", "RENAME str{x} rn{x}", "RENAME rn{x} dst{x}", "RENAME dst{x} dst{x}", "COPY dst{x} cp{x}",
        "COPY dst{x} c{x} REPLACE", "SINTERSTORE full{x} nokey{x}", "SINTERSTORE empty{x} nokey{x}"))
        .isEqualTo(":1\r\n:1\r\n+OK\r\n:1\r\n+OK\r\n+OK\r\n+OK\r\n:1\r\n:1\r\n:0\r\n:0\r\n");
    String[][] events = {{"src{x}", "srem"}, {"smd{x}", "new"}, {"smd{x}", "sadd"}, {"src{x}", "srem"},
        {"src{x}", "del"}, {"smd{x}", "sadd"}, {"old", "set"}, {"m1", "new"}, {"m1", "set"}, {"m1", "set"},
        {"m2", "new"}, {"m2", "set"}, {"m3", "new"}, {"m3", "set"}, {"rn{x}", "new"}, {"str{x}", "rename_from"},
        {"rn{x}", "rename_to"}, {"dst{x}", "new"}, {"rn{x}", "rename_from"}, {"dst{x}", "rename_to"},
        {"cp{x}", "new"}, {"cp{x}", "copy_to"}, {"c{x}", "new"}, {"c{x}", "copy_to"}, {"full{x}", "del"}};
    assertThat(sub.output()).isEqualTo(keyspaceMessages(events));
  }

  @Test
  void keyspaceEvents_bitopAndBitfield_asRedis() {
    pub.send("SET d1 x", "SET k abc");
    pub.send("CONFIG SET notify-keyspace-events KA");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    // From redis-server 7.0.15: an empty BITOP result sends "del" only for a destination that was
    // there; BITFIELD sends one "setbit" when a SET or INCRBY changed the value, none for GETs or
    // for a SET of the value the field held.
    pub.send("BITOP OR d0 nokey", "BITOP OR d1 nokey", "BITFIELD k GET u8 0", "BITFIELD k SET u8 0 97",
        "BITFIELD k SET u8 0 98 INCRBY u8 8 1", "BITFIELD k OVERFLOW FAIL INCRBY u2 0 5", "BITFIELD nk SET u8 0 0");
    String[][] events = {{"d1", "del"}, {"k", "setbit"}, {"nk", "setbit"}};
    assertThat(sub.output()).isEqualTo(keyspaceMessages(events));
  }

  @Test
  void keyspaceEvents_bitfieldCreatingGrowingOrChangingBack_asRedis() {
    pub.send("SETBIT z 7 0", "SET g a");
    pub.send("CONFIG SET notify-keyspace-events KAn");
    sub.send("PSUBSCRIBE __keyspace@0__:*");
    // From redis-server 7.0.15 (bench/keyspace-events.py, KEAn): a write makes the value long
    // enough first, so OVERFLOW FAIL on a missing key creates it ("new", no "setbit"); a value
    // created or grown counts every write that ran as a change; a field changed and changed back
    // sends "setbit"; a value only grown (every write failed) sends nothing.
    assertThat(pub.send("BITFIELD f1 OVERFLOW FAIL INCRBY u2 100 5",
        "BITFIELD f2 OVERFLOW FAIL SET u2 100 5 INCRBY u8 200 1", "BITFIELD z SET u8 0 255 SET u8 0 0",
        "BITFIELD z INCRBY u8 0 1 INCRBY u8 0 255", "BITFIELD z OVERFLOW FAIL INCRBY u2 16 5 SET u8 0 0",
        "BITFIELD g OVERFLOW FAIL INCRBY u2 100 5", "BITFIELD z SET u8 0 0", "BITFIELD nk GET u8 0", "STRLEN f1",
        "STRLEN f2", "STRLEN z", "STRLEN g", "EXISTS nk")).isEqualTo("*1\r\n$-1\r\n*2\r\n$-1\r\n:1\r\n"
            + "*2\r\n:0\r\n:255\r\n*2\r\n:1\r\n:0\r\n*2\r\n$-1\r\n:0\r\n*1\r\n$-1\r\n*1\r\n:0\r\n*1\r\n:0\r\n"
            + ":13\r\n:26\r\n:3\r\n:13\r\n:0\r\n");
    String[][] events = {{"f1", "new"}, {"f2", "new"}, {"f2", "setbit"}, {"z", "setbit"}, {"z", "setbit"},
        {"z", "setbit"}};
    assertThat(sub.output()).isEqualTo(keyspaceMessages(events));
  }

  @Test
  void keyspaceEvents_keyeventOnly_classFiltered() {
    pub.send("CONFIG SET notify-keyspace-events E$");
    sub.send("SUBSCRIBE __keyevent@0__:set __keyevent@0__:del");
    pub.send("SET a 1", "DEL a", "MSET b 2 c 3");
    assertThat(sub.output()).isEqualTo(push3("message", "__keyevent@0__:set", "a")
        + push3("message", "__keyevent@0__:set", "b") + push3("message", "__keyevent@0__:set", "c"));
    assertThat(pub.call(b("CONFIG"), b("SET"), b("notify-keyspace-events"), b(""))).isEqualTo("+OK\r\n");
    pub.send("SET a 1");
    assertThat(sub.output()).isEmpty();
  }

  @Test
  void keyspaceEvents_newAndKeymiss_classesNAndM() {
    pub.send("SET old 1");
    pub.send("CONFIG SET notify-keyspace-events Enm");
    sub.send("SUBSCRIBE __keyevent@0__:new __keyevent@0__:keymiss");
    pub.send("SET a 1", "SET a 2", "SET old 3", "HSET h f 1", "HSET h g 2", "SADD s x", "INCR n", "GET nothere", "GET a",
        "HGET h f", "DEL a", "SET a 4");
    assertThat(sub.output()).isEqualTo(push3("message", "__keyevent@0__:new", "a")
        + push3("message", "__keyevent@0__:new", "h") + push3("message", "__keyevent@0__:new", "s")
        + push3("message", "__keyevent@0__:new", "n") + push3("message", "__keyevent@0__:keymiss", "nothere")
        + push3("message", "__keyevent@0__:new", "a"));
    // 'A' does not include them, as in Redis.
    pub.send("CONFIG SET notify-keyspace-events EA");
    pub.send("SET b 1", "GET missing");
    assertThat(sub.output()).doesNotContain("__keyevent@0__:new", "keymiss");
  }

  @Test
  void clientOutputBufferLimit_configGetSet() {
    assertThat(pub.send("CONFIG GET client-output-buffer-limit")).isEqualTo(
        "*2\r\n$26\r\nclient-output-buffer-limit\r\n$39\r\nnormal 0 0 0 pubsub 33554432 8388608 60\r\n");
    assertThat(pub.call(b("CONFIG"), b("SET"), b("client-output-buffer-limit"), b("pubsub 1mb 256kb 10")))
        .isEqualTo("+OK\r\n");
    assertThat(context.outputLimit().hardBytes()).isEqualTo(1 << 20);
    assertThat(context.outputLimit().softBytes()).isEqualTo(256 << 10);
    assertThat(context.outputLimit().softSeconds()).isEqualTo(10);
    assertThat(pub.call(b("CONFIG"), b("SET"), b("client-output-buffer-limit"), b("replica 1 1 1")))
        .startsWith("-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - distcache"
            + " sets only the pubsub class");
    assertThat(pub.call(b("CONFIG"), b("SET"), b("client-output-buffer-limit"), b("pubsub 1x 1 1")))
        .startsWith("-ERR CONFIG SET failed");
  }

  /** PUBSUB CHANNELS past the frame limit is refused, as KEYS is; a narrower pattern still answers. */
  @Test
  void pubsubChannels_pastTheFrameLimit_isRefused_aNarrowerPatternAnswers() {
    RespContext small = RespContext.builder(new LocalRouter(executor), store).clock(clock).version("test")
        .limits(new RespLimits(4096, 1024, 4096, 8192)).build();
    try (RespChannel subscriber = new RespChannel(small); RespChannel asker = new RespChannel(small)) {
      for (int i = 0; i < 4; i++) {
        subscriber.send("SUBSCRIBE " + "c".repeat(3000) + i);
      }
      assertThat(asker.send("PUBSUB CHANNELS"))
          .isEqualTo("-ERR PUBSUB CHANNELS matched more than 8192 bytes of channels, the limit; give a narrower pattern\r\n");
      assertThat(asker.send("PUBSUB CHANNELS *1")).startsWith("*1\r\n$3001\r\n");
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
  }
}
