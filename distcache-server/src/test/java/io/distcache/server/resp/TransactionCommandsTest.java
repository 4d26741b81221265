package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** MULTI, EXEC, DISCARD, WATCH and UNWATCH with Redis's replies and errors, on one node. */
class TransactionCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);
  private final LocalRouter router = new LocalRouter(executor);
  // Scripts compile on the caller's thread: each command is answered by the time send() returns.
  private final RespContext context = withScripts(RespContext.builder(router, store).clock(clock).version("test")
      .compileExecutor(Runnable::run).build());
  private final RespChannel resp = new RespChannel(context);
  private final RespChannel other = new RespChannel(context);

  /** The context with the executor's scripts (a script runs on the caller's thread behind a LocalRouter). */
  private RespContext withScripts(RespContext c) {
    c.installScripts(executor.scripts());
    return c;
  }

  @AfterEach
  void tearDown() {
    resp.close();
    other.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  /** Sends one command given as its arguments (a script body has spaces). */
  private String call(String... args) {
    byte[][] bytes = new byte[args.length][];
    for (int i = 0; i < args.length; i++) {
      bytes[i] = args[i].getBytes(StandardCharsets.UTF_8);
    }
    return resp.call(bytes);
  }

  private static String sha(String body) {
    return ScriptCache.sha1Hex(body.getBytes(StandardCharsets.UTF_8));
  }

  private byte[] value(String key) {
    return store.get(key.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void queuesThenRunsEveryCommandInOrder() {
    assertThat(send("MULTI")).isEqualTo("+OK\r\n");
    assertThat(send("SET a 1", "INCR a", "GET a", "PING", "MGET a nope", "DEL a")).isEqualTo(
        "+QUEUED\r\n".repeat(6));
    assertThat(value("a")).as("nothing runs before EXEC").isNull();
    assertThat(send("EXEC")).isEqualTo("*6\r\n+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n*2\r\n$1\r\n2\r\n$-1\r\n:1\r\n");
    assertThat(send("EXEC")).isEqualTo("-ERR EXEC without MULTI\r\n");
  }

  @Test
  void fullNodeUnderNoeviction_execRefusedWhole_nothingApplied() {
    assertThat(send("CONFIG SET maxmemory-policy noeviction")).isEqualTo("+OK\r\n");
    byte[] big = new byte[256 * 1024];
    java.util.Arrays.fill(big, (byte) 'x');
    String refused = null;
    for (int i = 0; i < 1_000 && refused == null; i++) {
      String reply = call("SET", "fill" + i, new String(big, StandardCharsets.ISO_8859_1));
      if (!reply.equals("+OK\r\n")) {
        refused = reply;
      }
    }
    assertThat(refused).as("the store filled up").startsWith("-OOM");
    String half = "y".repeat(256 * 1024); // as large as the SET the store just refused
    assertThat(send("MULTI", "SET p small")).isEqualTo("+OK\r\n+QUEUED\r\n");
    assertThat(call("SET", "q", half)).isEqualTo("+QUEUED\r\n");
    assertThat(send("EXEC")).isEqualTo("-EXECABORT Transaction discarded because of: " + RespErrors.OOM + "\r\n");
    assertThat(value("p")).as("nothing of the transaction was applied").isNull();
    // A transaction that fits still runs.
    assertThat(send("DEL fill0", "MULTI", "SET p small", "EXEC")).isEqualTo(":1\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
  }

  @Test
  void emptyTransaction_answersEmptyArray() {
    assertThat(send("MULTI", "EXEC")).isEqualTo("+OK\r\n*0\r\n");
  }

  @Test
  void queueingError_execAbortsAndNothingIsApplied() {
    assertThat(send("MULTI", "SET a 1")).isEqualTo("+OK\r\n+QUEUED\r\n");
    assertThat(send("NOSUCH x")).isEqualTo("-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    assertThat(send("GET")).isEqualTo("-ERR wrong number of arguments for 'get' command\r\n");
    assertThat(send("SET b 2")).isEqualTo("+QUEUED\r\n");
    assertThat(send("EXEC")).isEqualTo("-EXECABORT Transaction discarded because of previous errors.\r\n");
    assertThat(value("a")).isNull();
    assertThat(value("b")).isNull();
    assertThat(send("EXEC")).as("the transaction is over").isEqualTo("-ERR EXEC without MULTI\r\n");
  }

  @Test
  void runtimeErrors_failOnlyTheirCommand() {
    store.put("s".getBytes(StandardCharsets.UTF_8), "abc".getBytes(StandardCharsets.UTF_8));
    assertThat(send("MULTI", "INCR s", "SET x 1 EX 0", "SET a 1", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n"
        + "+QUEUED\r\n*3\r\n-ERR value is not an integer or out of range\r\n"
        + "-ERR invalid expire time in 'set' command\r\n+OK\r\n");
    assertThat(value("a")).isEqualTo("1".getBytes(StandardCharsets.UTF_8));
    assertThat(value("x")).isNull();
  }

  @Test
  void nestingDiscardAndWatchInsideMulti_redisErrors() {
    assertThat(send("DISCARD")).isEqualTo("-ERR DISCARD without MULTI\r\n");
    assertThat(send("MULTI", "MULTI")).isEqualTo("+OK\r\n-ERR MULTI calls can not be nested\r\n");
    assertThat(send("WATCH a")).isEqualTo("-ERR WATCH inside MULTI is not allowed\r\n");
    assertThat(send("SET a 1", "DISCARD")).isEqualTo("+QUEUED\r\n+OK\r\n");
    assertThat(value("a")).isNull();
    // Neither nesting nor WATCH flags the transaction, as in Redis.
    assertThat(send("MULTI", "MULTI", "WATCH a", "SET a 1", "EXEC")).isEqualTo("+OK\r\n"
        + "-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n*1\r\n+OK\r\n");
  }

  @Test
  void wrongArityOfACommandRunAtOnceInsideMulti_flagsTheTransaction_asRedisRejectCommandDoes() {
    // EXEC itself: the transaction is discarded at once.
    assertThat(send("MULTI", "SET a 1", "EXEC WHAT")).isEqualTo("+OK\r\n+QUEUED\r\n"
        + "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    assertThat(send("EXEC")).isEqualTo("-ERR EXEC without MULTI\r\n");
    assertThat(value("a")).isNull();
    // DISCARD, MULTI, WATCH: an error now, EXECABORT at EXEC, nothing run.
    for (String bad : new String[] {"DISCARD x", "MULTI x", "WATCH"}) {
      assertThat(send("MULTI", "SET a 1", bad, "EXEC")).as(bad).startsWith("+OK\r\n+QUEUED\r\n-ERR wrong number of arguments")
          .endsWith("-" + RespErrors.EXECABORT + "\r\n");
      assertThat(value("a")).as(bad).isNull();
    }
  }

  @Test
  void watch_unchangedKey_execRuns() {
    assertThat(send("SET w 1", "WATCH w missing", "MULTI", "INCR w", "EXEC")).isEqualTo(
        "+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n");
  }

  @Test
  void watch_keyWrittenByAnotherClient_execAnswersNullAndRunsNothing() {
    send("SET w 1", "WATCH w");
    assertThat(other.send("SET w 5")).isEqualTo("+OK\r\n");
    assertThat(send("MULTI", "INCR w", "SET z 1", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n+QUEUED\r\n*-1\r\n");
    assertThat(value("w")).isEqualTo("5".getBytes(StandardCharsets.UTF_8));
    assertThat(value("z")).isNull();
    // EXEC unwatched: the next transaction runs.
    assertThat(send("MULTI", "INCR w", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n*1\r\n:6\r\n");
  }

  @Test
  void watch_resp3_nullIsNull() {
    send("HELLO 3", "WATCH w");
    other.send("SET w 5");
    assertThat(send("MULTI", "GET w", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n_\r\n");
  }

  @Test
  void watch_deletedCreatedOrExpiryChanged_failsExec() {
    send("SET d 1", "WATCH d absent t");
    other.send("DEL d");
    assertThat(send("MULTI", "SET r 1", "EXEC")).endsWith("*-1\r\n");

    send("WATCH absent");
    other.send("SET absent 1");
    assertThat(send("MULTI", "SET r 1", "EXEC")).endsWith("*-1\r\n");

    send("SET t 1", "WATCH t");
    other.send("EXPIRE t 100");
    assertThat(send("MULTI", "SET r 1", "EXEC")).endsWith("*-1\r\n");
    assertThat(value("r")).isNull();
  }

  @Test
  void watch_keyThatExpires_failsExec() {
    send("SET e 1 PX 100", "WATCH e");
    clock.advanceMillis(101);
    assertThat(send("MULTI", "SET r 1", "EXEC")).isEqualTo("+OK\r\n+QUEUED\r\n*-1\r\n");
    assertThat(value("r")).isNull();
  }

  @Test
  void watch_flushAll_failsExec() {
    send("SET f 1", "WATCH f");
    other.send("FLUSHALL");
    assertThat(send("MULTI", "SET r 1", "EXEC")).endsWith("*-1\r\n");
  }

  @Test
  void unwatchAndDiscardForgetWatches() {
    send("SET u 1", "WATCH u");
    other.send("SET u 2");
    assertThat(send("UNWATCH", "MULTI", "SET r 1", "EXEC")).isEqualTo("+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
    send("WATCH u");
    other.send("SET u 3");
    assertThat(send("MULTI", "DISCARD", "MULTI", "SET r 2", "EXEC")).endsWith("*1\r\n+OK\r\n");
    send("WATCH u");
    other.send("SET u 4");
    assertThat(send("RESET", "MULTI", "SET r 3", "EXEC")).endsWith("*1\r\n+OK\r\n");
  }

  @Test
  void connectionCommandsInside_answeredInTheArray() {
    assertThat(send("MULTI", "ECHO hi", "SET a 1", "CLIENT SETNAME tx", "EXEC")).isEqualTo(
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n$2\r\nhi\r\n+OK\r\n+OK\r\n");
    assertThat(send("CLIENT GETNAME")).isEqualTo("$2\r\ntx\r\n");
  }

  @Test
  void queueBound_flagsTheTransaction() {
    RespContext small = RespContext.builder(router, store).clock(clock).version("test")
        .limits(new RespLimits(1024, 1024, 1024, 4096)).build();
    try (RespChannel tiny = new RespChannel(small)) {
      tiny.send("MULTI");
      String x = "x".repeat(900);
      assertThat(tiny.send("SET a " + x, "SET b " + x, "SET c " + x, "SET d " + x))
          .isEqualTo("+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n");
      assertThat(tiny.send("SET e " + x)).isEqualTo("-ERR transaction of more than 4096 bytes queued; "
          + "the limit is the node's request size (max frame)\r\n");
      assertThat(tiny.send("EXEC")).startsWith("-EXECABORT");
    }
    assertThat(value("a")).isNull();
  }

  @Test
  void evalInsideMulti_queuedThenRunAtExecInOrder() {
    String incr = "return redis.call('incr', KEYS[1])";
    assertThat(send("MULTI", "SET a 1")).isEqualTo("+OK\r\n+QUEUED\r\n");
    assertThat(call("EVAL", incr, "1", "a")).isEqualTo("+QUEUED\r\n");
    // Not cached yet: resolved at EXEC, after the EVAL before it has cached the script.
    assertThat(call("EVALSHA", sha(incr), "1", "a")).isEqualTo("+QUEUED\r\n");
    assertThat(call("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "a")).isEqualTo("+QUEUED\r\n");
    assertThat(value("a")).as("nothing runs before EXEC").isNull();
    assertThat(send("GET a", "EXEC")).isEqualTo("+QUEUED\r\n*5\r\n+OK\r\n:2\r\n:3\r\n$1\r\n3\r\n$1\r\n3\r\n");
  }

  @Test
  void scriptErrorInsideMulti_failsOnlyItsOwnSlot() {
    store.put("s".getBytes(StandardCharsets.UTF_8), "abc".getBytes(StandardCharsets.UTF_8));
    String bad = "return redis.call('incr', KEYS[1])";
    send("MULTI", "SET a 1");
    call("EVAL", bad, "1", "s");
    call("EVAL", "return +", "0");
    call("EVAL", "return 1", "2", "k");
    assertThat(send("SET b 2", "EXEC")).isEqualTo("+QUEUED\r\n*5\r\n+OK\r\n"
        + "-ERR value is not an integer or out of range script: " + sha(bad) + ", on @user_script:1.\r\n"
        // LuaJ's wording (Redis 7.0.15: "unexpected symbol near '+'", docs/PROTOCOL.md)
        + "-ERR Error compiling script (new function): user_script:1: unexpected symbol 43 (+)\r\n"
        + "-ERR Number of keys can't be greater than number of args\r\n+OK\r\n");
    assertThat(value("a")).isEqualTo("1".getBytes(StandardCharsets.UTF_8));
    assertThat(value("b")).isEqualTo("2".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void evalshaOfAnUnknownScriptInsideMulti_queued_noscriptInItsSlotAtExec() {
    assertThat(send("MULTI", "SET a 1")).isEqualTo("+OK\r\n+QUEUED\r\n");
    assertThat(call("EVALSHA", "f".repeat(40), "1", "a")).isEqualTo("+QUEUED\r\n");
    assertThat(send("INCR a", "EXEC")).isEqualTo("+QUEUED\r\n*3\r\n+OK\r\n"
        + "-NOSCRIPT No matching script. Please use EVAL.\r\n:2\r\n");
  }

  @Test
  void evalWithTooFewArgumentsInsideMulti_execAbortsAndNothingRuns() {
    send("MULTI", "SET a 1");
    assertThat(call("EVAL", "return redis.call('set', 'b', '1')")).isEqualTo(
        "-ERR wrong number of arguments for 'eval' command\r\n");
    call("EVAL", "return redis.call('set', 'c', '1')", "0");
    assertThat(send("EXEC")).isEqualTo("-EXECABORT Transaction discarded because of previous errors.\r\n");
    assertThat(value("a")).isNull();
    assertThat(value("c")).isNull();
  }

  @Test
  void watch_keyChangedBeforeExecOfAScript_nullAndTheScriptDoesNotRun() {
    send("SET w 1", "WATCH w");
    other.send("SET w 2");
    send("MULTI");
    assertThat(call("EVAL", "return redis.call('set', KEYS[1], 'script')", "1", "x")).isEqualTo("+QUEUED\r\n");
    assertThat(send("EXEC")).isEqualTo("*-1\r\n");
    assertThat(value("x")).isNull();
    // Unchanged since WATCH: the script runs, reading the watched key.
    send("WATCH w", "MULTI");
    call("EVAL", "return redis.call('get', KEYS[1])", "1", "w");
    assertThat(send("EXEC")).isEqualTo("*1\r\n$1\r\n2\r\n");
  }

  @Test
  void keylessScriptAloneInsideMulti_runs() {
    send("MULTI");
    call("EVAL", "return {ARGV[1], redis.call('set', 'k', ARGV[1])['ok']}", "0", "v");
    assertThat(send("EXEC")).isEqualTo("*1\r\n*2\r\n$1\r\nv\r\n$2\r\nOK\r\n");
    assertThat(value("k")).as("a single node runs a keyless script on any key").isEqualTo("v".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void queuesOfSeveralConnections_overTheNodeWideBudget_areRefusedUntilOneIsDropped() {
    RespContext shared = RespContext.builder(router, store).clock(clock).version("test").clientMemoryBytes(2500).build();
    try (RespChannel one = new RespChannel(shared); RespChannel two = new RespChannel(shared)) {
      String x = "x".repeat(900);
      one.send("MULTI");
      two.send("MULTI");
      assertThat(one.send("SET a " + x, "SET b " + x)).isEqualTo("+QUEUED\r\n+QUEUED\r\n");
      // Each connection is far within its own bound (the frame size); together they are not.
      assertThat(two.send("SET c " + x)).startsWith("-ERR queueing this command (").contains("(952 bytes) would take").contains("over 2500 bytes, the node's limit (1904 held)");
      assertThat(two.send("EXEC")).startsWith("-EXECABORT");
      assertThat(one.send("DISCARD")).isEqualTo("+OK\r\n");
      assertThat(shared.clientMemory().used()).isZero();
      two.send("MULTI");
      assertThat(two.send("SET c " + x, "EXEC")).isEqualTo("+QUEUED\r\n*1\r\n+OK\r\n");
    }
    assertThat(value("c")).hasSize(900);
  }

  @Test
  void queue_withinTheConnectionsBudget_pastTheNodesHeapBudgets_isRefusedWithTheSharedLimit_untilRoomIsGivenBack() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(2500);
    RespContext shared = RespContext.builder(router, store).clock(clock).version("test").heapBudgets(heap).build();
    try (RespChannel one = new RespChannel(shared)) {
      String x = "x".repeat(900);
      heap.force(600); // another budget's bytes (subscriptions, say)
      one.send("MULTI");
      assertThat(one.send("SET a " + x)).isEqualTo("+QUEUED\r\n");
      assertThat(one.send("SET b " + x)).isEqualTo("-ERR queueing this command (952 bytes) would pass 2500 bytes, the"
          + " node's limit on what its heap budgets hold together (1552 held); retry later\r\n");
      assertThat(shared.clientMemory().used()).as("a refusal changes neither total").isEqualTo(952);
      assertThat(heap.usedBytes()).isEqualTo(1552);
      heap.release(600);
      assertThat(one.send("DISCARD")).isEqualTo("+OK\r\n");
      one.send("MULTI");
      assertThat(one.send("SET a " + x, "SET b " + x)).isEqualTo("+QUEUED\r\n+QUEUED\r\n");
      assertThat(one.send("DISCARD")).isEqualTo("+OK\r\n");
      assertThat(heap.usedBytes()).isZero();
      one.send("MULTI");
      one.send("SET d " + x);
    }
    assertThat(heap.usedBytes()).as("a connection that closes gives back what it held").isZero();
  }

  /** A queued argument counts the heap it takes: under G1, whole regions for a large one. */
  @Test
  void queuedLargeArgument_countsTheHeapItTakes() {
    RespContext shared = RespContext.builder(router, store).clock(clock).version("test")
        .limits(new RespLimits(32 << 20, 1024, 1024, 64 << 20)).build();
    try (RespChannel one = new RespChannel(shared)) {
      one.send("MULTI");
      // just over half a region of this JVM's G1 (the launcher's 1 MiB regions: 512 KiB), or 700 KiB
      int length = ArrayHeap.REGION_BYTES > 0 ? (int) (ArrayHeap.REGION_BYTES / 2) : 700 * 1024;
      byte[] big = new byte[length];
      assertThat(one.call("SET".getBytes(StandardCharsets.UTF_8), "a".getBytes(StandardCharsets.UTF_8), big))
          .isEqualTo("+QUEUED\r\n");
      long expected = "SET".length() + "a".length() + length + 3 * 16 + ArrayHeap.excess(length);
      assertThat(shared.clientMemory().used()).isEqualTo(expected);
      if (ArrayHeap.REGION_BYTES > 0) {
        assertThat(ArrayHeap.excess(length)).as("a humongous array takes a whole region").isPositive();
      }
      assertThat(one.send("DISCARD")).isEqualTo("+OK\r\n");
      assertThat(shared.clientMemory().used()).isZero();
    }
  }

  /**
   * A transaction forwarded to its owner keeps its queue and the batch made of it on the heap until
   * the owner answers: what the queue took from the node's budget stays taken until EXEC's reply.
   */
  @Test
  void forwardedExec_keepsTheQueuesShareUntilTheTransactionAnswers() {
    ScriptedRouter owner = new ScriptedRouter();
    owner.hold(true);
    RespContext forwarding = RespContext.builder(owner, store).clock(clock).version("test")
        .limits(new RespLimits(32 << 20, 1024, 1024, 64 << 20)).build();
    try (RespChannel one = new RespChannel(forwarding)) {
      one.send("MULTI");
      int length = 300 * 1024;
      assertThat(one.call("SET".getBytes(StandardCharsets.UTF_8), "a".getBytes(StandardCharsets.UTF_8),
          new byte[length])).isEqualTo("+QUEUED\r\n");
      long queued = forwarding.clientMemory().used();
      assertThat(queued).isEqualTo("SET".length() + "a".length() + length + 3 * 16 + ArrayHeap.excess(length));

      assertThat(one.send("EXEC")).as("forwarded; the owner has not answered").isEmpty();
      io.distcache.protocol.Frame batch = owner.last();
      assertThat(batch.op()).isEqualTo(io.distcache.protocol.Opcode.TRANSACTION);
      long batchHeap = batch.value().length + ArrayHeap.HEADER + ArrayHeap.excess(batch.value().length);
      assertThat(forwarding.clientMemory().used()).isEqualTo(Math.max(queued, batchHeap));

      owner.pending.get(0).complete(batch.replyValue(io.distcache.protocol.TransactionCodec.encodeReplies(
          java.util.List.of(batch.replyOk()))));
      assertThat(one.output()).isEqualTo("*1\r\n+OK\r\n");
      assertThat(forwarding.clientMemory().used()).isZero();
    }
  }

  /**
   * A batch that holds more heap than its queue (several arguments under half a G1 region that make
   * one batch over it) counts the batch while it waits; a MULTI pipelined behind the EXEC keeps its own share.
   */
  @Test
  void forwardedExec_batchLargerThanItsQueue_countsTheBatch() {
    ScriptedRouter owner = new ScriptedRouter();
    owner.hold(true);
    RespContext forwarding = RespContext.builder(owner, store).clock(clock).version("test")
        .limits(new RespLimits(32 << 20, 1024, 1024, 64 << 20)).build();
    try (RespChannel one = new RespChannel(forwarding)) {
      int length = ArrayHeap.REGION_BYTES > 0 ? (int) (ArrayHeap.REGION_BYTES / 4) : 256 * 1024;
      one.send("MULTI");
      for (String k : new String[] {"a", "b", "c"}) {
        one.call("SET".getBytes(StandardCharsets.UTF_8), k.getBytes(StandardCharsets.UTF_8), new byte[length]);
      }
      long queued = forwarding.clientMemory().used();
      assertThat(one.send("EXEC", "MULTI", "SET d 1")).isEmpty(); // replies wait behind EXEC's
      io.distcache.protocol.Frame batch = owner.requests.get(0);
      long batchHeap = batch.value().length + ArrayHeap.HEADER + ArrayHeap.excess(batch.value().length);
      if (ArrayHeap.REGION_BYTES > 0) {
        assertThat(batchHeap).as("three arguments of a quarter region make a humongous batch").isGreaterThan(queued);
      }
      long next = "SET".length() + "d".length() + "1".length() + 3 * 16;
      long parked = "+OK\r\n+QUEUED\r\n".length(); // the later replies, rendered behind EXEC's
      assertThat(forwarding.clientMemory().used()).isEqualTo(Math.max(queued, batchHeap) + next + parked);

      owner.pending.get(0).complete(batch.replyValue(io.distcache.protocol.TransactionCodec.encodeReplies(
          java.util.List.of(batch.replyOk(), batch.replyOk(), batch.replyOk()))));
      assertThat(one.output()).isEqualTo("*3\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n");
      assertThat(forwarding.clientMemory().used()).as("the second MULTI's queue only").isEqualTo(next);
      one.send("DISCARD");
      assertThat(forwarding.clientMemory().used()).isZero();
    }
  }

  /** A connection closed while its EXEC waits gives everything back, and the late reply gives back nothing more. */
  @Test
  void forwardedExec_connectionClosedBeforeTheReply_givesItsShareBackOnce() {
    ScriptedRouter owner = new ScriptedRouter();
    owner.hold(true);
    RespContext forwarding = RespContext.builder(owner, store).clock(clock).version("test").build();
    RespChannel one = new RespChannel(forwarding);
    RespChannel two = new RespChannel(forwarding);
    one.send("MULTI", "SET a 1");
    assertThat(one.send("EXEC")).isEmpty();
    two.send("MULTI", "SET b 2");
    one.close();
    long twoHolds = forwarding.clientMemory().used();
    assertThat(twoHolds).as("the second connection's queue, the first gave all it held back").isEqualTo(
        "SET".length() + "b".length() + "2".length() + 3 * 16);
    io.distcache.protocol.Frame batch = owner.requests.get(0);
    owner.pending.get(0).complete(batch.replyValue(io.distcache.protocol.TransactionCodec.encodeReplies(
        java.util.List.of(batch.replyOk()))));
    one.output();
    assertThat(forwarding.clientMemory().used()).isEqualTo(twoHolds);
    two.close();
    assertThat(forwarding.clientMemory().used()).isZero();
  }

  @Test
  void watch_overTheBytesPerConnection_isRefused_andClosingGivesTheBudgetBack() {
    RespContext small = RespContext.builder(router, store).clock(clock).version("test")
        .limits(new RespLimits(1024, 1024, 1024, 4096)).build();
    RespChannel tiny = new RespChannel(small);
    String k = "k".repeat(1000);
    int each = 1001 + TransactionCommands.WATCHED_KEY_OVERHEAD; // a key's bytes and what holding it costs
    assertThat(tiny.send("WATCH " + k + "1 " + k + "2 " + k + "3")).isEqualTo("+OK\r\n");
    assertThat(tiny.send("WATCH " + k + "5")).isEqualTo("-ERR WATCH of " + each + " more bytes of keys would watch"
        + " over 4096 bytes, the limit per connection (the node's request size)\r\n");
    assertThat(small.clientMemory().used()).isEqualTo(3 * each);
    assertThat(tiny.send("UNWATCH", "WATCH " + k + "5")).isEqualTo("+OK\r\n+OK\r\n");
    assertThat(small.clientMemory().used()).isEqualTo(each);
    tiny.close();
    assertThat(small.clientMemory().used()).isZero();
  }
}
