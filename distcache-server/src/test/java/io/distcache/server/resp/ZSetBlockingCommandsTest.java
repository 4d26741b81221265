package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.SortedSetOption;
import redis.clients.jedis.args.UnblockType;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ClientKillParams;
import redis.clients.jedis.resps.Tuple;
import redis.clients.jedis.util.KeyValue;

/**
 * BZPOPMIN, BZPOPMAX and BZMPOP on a real node with Jedis and raw sockets: answered at once when a
 * key has members, parked without a thread otherwise and woken by another client's write, nil at
 * the timeout, unparked when the client goes away; replies and errors as redis-server 7.0.15's.
 */
class ZSetBlockingCommandsTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final RespTestServer server = new RespTestServer();
  private final Jedis other = new Jedis("127.0.0.1", server.port());
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stop() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
    other.close();
    server.close();
  }

  private long blockedClients() {
    String info = other.info("clients");
    int at = info.indexOf("blocked_clients:");
    return Long.parseLong(info.substring(at + 16, info.indexOf('\r', at)));
  }

  @Test
  void bzpopmin_parkedUntilAnotherClientsZadd_thenAnswersTheMember() throws Exception {
    try (Jedis blocked = new Jedis("127.0.0.1", server.port(), 0)) {
      CompletableFuture<KeyValue<String, Tuple>> popped =
          CompletableFuture.supplyAsync(() -> blocked.bzpopmin(0, "empty", "k"), pool);
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(popped).isNotDone();
      other.zadd("k", 2, "b");
      KeyValue<String, Tuple> kv = popped.get(10, TimeUnit.SECONDS);
      assertThat(kv.getKey()).isEqualTo("k");
      assertThat(kv.getValue()).isEqualTo(new Tuple("b", 2.0));
      assertThat(other.exists("k")).as("its only member popped").isFalse();
      assertThat(blockedClients()).isZero();
    }
  }

  @Test
  void bzmpop_wokenByAStoreForm_popsFromTheKeyThatGotMembers() throws Exception {
    other.zadd("src", 1, "a");
    other.zadd("src", 2, "b");
    try (Jedis blocked = new Jedis("127.0.0.1", server.port(), 0)) {
      var popped = CompletableFuture.supplyAsync(() -> blocked.bzmpop(0, SortedSetOption.MAX, 5, "x", "dst"), pool);
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(other.zunionstore("dst", "src")).isEqualTo(2);
      var kv = popped.get(10, TimeUnit.SECONDS);
      assertThat(kv.getKey()).isEqualTo("dst");
      assertThat(kv.getValue()).containsExactly(new Tuple("b", 2.0), new Tuple("a", 1.0));
    }
  }

  @Test
  void membersAlready_answerAtOnce_asRedis() {
    other.zadd("k", 1, "a");
    other.zadd("k", 3, "c");
    assertThat(other.bzpopmax(0, "nokey", "k").getValue()).isEqualTo(new Tuple("c", 3.0));
    assertThat(other.bzpopmin(0, "k").getValue()).isEqualTo(new Tuple("a", 1.0));
    other.set("str", "v");
    assertThatThrownBy(() -> other.bzpopmin(0, "str"))
        .hasMessage("WRONGTYPE Operation against a key holding the wrong kind of value");
    assertThat(blockedClients()).isZero();
  }

  @Test
  void timeout_answersNil_inRedisShape() throws IOException {
    try (Socket s = server.raw("BZPOPMIN k 0.05", "BZMPOP 0.05 2 k j MIN COUNT 3", "HELLO 3", "BZPOPMAX k 0.01",
        "BZMPOP 0.01 1 k MAX")) {
      String got = RespTestServer.read(s, "_\r\n_\r\n");
      assertThat(got).startsWith("*-1\r\n*-1\r\n%7\r\n").endsWith("*0\r\n_\r\n_\r\n");
    }
    assertThat(other.bzpopmin(0.01, "k")).isNull();
    assertThat(other.bzmpop(0.01, SortedSetOption.MIN, "k")).isNull();
    assertThat(blockedClients()).isZero();
  }

  private long infoClients(String field) {
    String info = other.info("clients");
    int at = info.indexOf(field + ":");
    return Long.parseLong(info.substring(at + field.length() + 1, info.indexOf('\r', at)));
  }

  @Test
  void clientsInTimeoutTable_countsThePopsWithATimeout_untilTheyEnd() throws IOException {
    // Before: a constant 0 (a tester). Redis's timeout table holds the blocked clients with a timeout.
    try (Socket forever = server.raw("BZPOPMIN k 0"); Socket timed = server.raw("BZPOPMAX j 600")) {
      await().atMost(WAIT).until(() -> blockedClients() == 2);
      assertThat(infoClients("clients_in_timeout_table")).isEqualTo(1);
      timed.close();
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(infoClients("clients_in_timeout_table")).isZero();
    }
    await().atMost(WAIT).until(() -> blockedClients() == 0);
    assertThat(infoClients("clients_in_timeout_table")).isZero();
  }

  @Test
  void disconnectWhileParked_unparks_andPopsNothing() throws IOException {
    Socket s = server.raw("BZPOPMIN k 0");
    await().atMost(WAIT).until(() -> blockedClients() == 1);
    s.close();
    await().atMost(WAIT).until(() -> blockedClients() == 0);
    other.zadd("k", 1, "m");
    assertThat(other.zcard("k")).isEqualTo(1);
  }

  @Test
  void commandsPipelinedAfterABlockedPop_runAfterItAnswers() throws IOException {
    // Redis runs nothing of a blocked client: the ZADD behind the pop cannot wake it.
    try (Socket s = server.raw("BZPOPMIN k 0.1", "ZADD k 1 m", "ZCARD k")) {
      assertThat(RespTestServer.read(s, "*-1\r\n:1\r\n:1\r\n")).isEqualTo("*-1\r\n:1\r\n:1\r\n");
    }
  }

  @Test
  void insideMulti_neverBlocks_asRedis() {
    other.zadd("k", 1, "m");
    var tx = other.multi();
    tx.bzpopmin(0, "nokey", "k");
    tx.bzpopmin(0, "k");
    tx.bzmpop(0, SortedSetOption.MIN, "k");
    List<Object> replies = tx.exec();
    assertThat(replies).hasSize(3);
    assertThat(replies.get(1)).isNull();
    assertThat(replies.get(2)).isNull();
    assertThat(blockedClients()).isZero();
  }

  @Test
  void badTimeoutsAndArguments_refusedWithRedisTexts() throws IOException {
    try (Socket s = server.raw("BZPOPMIN k -1", "BZPOPMIN k x", "BZPOPMIN k inf", "BZPOPMIN k 1e20", "BZMPOP x 1 k MIN",
        "BZMPOP 0 0 k MIN", "BZMPOP 0 1 k FOO", "BZMPOP 0 1 k MIN COUNT 0", "BZPOPMIN k")) {
      String expected = "-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n"
          + "-ERR timeout is negative\r\n-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n"
          + "-ERR numkeys should be greater than 0\r\n-ERR syntax error\r\n-ERR count should be greater than 0\r\n"
          + "-ERR wrong number of arguments for 'bzpopmin' command\r\n";
      assertThat(RespTestServer.read(s, expected)).isEqualTo(expected);
    }
  }

  /** {@code n} connections that may block for ever, each BZPOPMIN k 0 in turn once the one before it is parked. */
  private List<CompletableFuture<KeyValue<String, Tuple>>> blockInTurn(List<Jedis> clients) {
    List<CompletableFuture<KeyValue<String, Tuple>>> pops = new ArrayList<>();
    for (Jedis c : clients) {
      pops.add(CompletableFuture.supplyAsync(() -> c.bzpopmin(0, "k"), pool));
      int parked = pops.size();
      await().atMost(WAIT).until(() -> blockedClients() == parked);
    }
    return pops;
  }

  private List<Jedis> connections(int n) {
    List<Jedis> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Jedis("127.0.0.1", server.port(), 0));
    }
    return out;
  }

  @Test
  void clientsBlockedOnOneKey_zaddOfOneMember_servesTheFirstToHaveBlocked() throws Exception {
    List<Jedis> clients = connections(3);
    try {
      List<CompletableFuture<KeyValue<String, Tuple>>> pops = blockInTurn(clients);
      for (int i = 0; i < 3; i++) {
        other.zadd("k", i, "m" + i);
        int left = 2 - i;
        await().atMost(WAIT).until(() -> blockedClients() == left);
        assertThat(pops.get(i).get(10, TimeUnit.SECONDS).getValue()).isEqualTo(new Tuple("m" + i, (double) i));
        for (int later = i + 1; later < 3; later++) {
          assertThat(pops.get(later)).as("client %d blocked after client %d", later, i).isNotDone();
        }
      }
    } finally {
      clients.forEach(Jedis::close);
    }
  }

  @Test
  void clientsBlockedOnOneKey_zaddOfTwoMembers_servesTheFirstTwoInOrder() throws Exception {
    List<Jedis> clients = connections(3);
    try {
      List<CompletableFuture<KeyValue<String, Tuple>>> pops = blockInTurn(clients);
      other.zadd("k", java.util.Map.of("low", 1.0, "high", 2.0));
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(pops.get(0).get(10, TimeUnit.SECONDS).getValue()).isEqualTo(new Tuple("low", 1.0));
      assertThat(pops.get(1).get(10, TimeUnit.SECONDS).getValue()).isEqualTo(new Tuple("high", 2.0));
      assertThat(pops.get(2)).isNotDone();
      assertThat(other.exists("k")).isFalse();
    } finally {
      clients.forEach(Jedis::close);
    }
  }

  @Test
  void blockedClientsThatLeftTheQueue_closedOrUnblocked_areSkipped() throws Exception {
    Socket first = server.raw("BZPOPMIN k 0");
    await().atMost(WAIT).until(() -> blockedClients() == 1);
    List<Jedis> clients = connections(2);
    try {
      long secondId = clients.get(0).clientId();
      List<CompletableFuture<KeyValue<String, Tuple>>> pops = new ArrayList<>();
      for (Jedis c : clients) {
        pops.add(CompletableFuture.supplyAsync(() -> c.bzpopmin(0, "k"), pool));
        int parked = pops.size() + 1;
        await().atMost(WAIT).until(() -> blockedClients() == parked);
      }
      first.close();
      await().atMost(WAIT).until(() -> blockedClients() == 2);
      // CLIENT UNBLOCK ends a wait the way its timeout does.
      assertThat(other.clientUnblock(secondId, UnblockType.TIMEOUT)).isEqualTo(1);
      assertThat(pops.get(0).get(10, TimeUnit.SECONDS)).isNull();
      other.zadd("k", 1, "m");
      assertThat(pops.get(1).get(10, TimeUnit.SECONDS).getValue()).isEqualTo(new Tuple("m", 1.0));
      assertThat(blockedClients()).isZero();
    } finally {
      first.close();
      clients.forEach(Jedis::close);
    }
  }

  @Test
  void clientUnblock_timeout_blockedClientGetsItsTimeoutReply_andTheAnswerIsOne() throws Exception {
    try (Jedis blocked = new Jedis("127.0.0.1", server.port(), 0)) {
      long id = blocked.clientId();
      var popped = CompletableFuture.supplyAsync(() -> blocked.bzmpop(0, SortedSetOption.MIN, "k"), pool);
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(other.clientUnblock(id, UnblockType.TIMEOUT)).isEqualTo(1);
      assertThat(popped.get(10, TimeUnit.SECONDS)).isNull();
      assertThat(blockedClients()).isZero();
      assertThat(other.clientUnblock(id, UnblockType.TIMEOUT)).as("no longer blocked").isZero();
      assertThat(blocked.ping()).isEqualTo("PONG");
    }
  }

  @Test
  void clientUnblock_error_lettuce_blockedClientGetsUnblockedError() throws Exception {
    io.lettuce.core.RedisClient lettuce = io.lettuce.core.RedisClient.create("redis://127.0.0.1:" + server.port());
    try (Jedis blocked = new Jedis("127.0.0.1", server.port(), 0);
        var connection = lettuce.connect()) {
      long id = blocked.clientId();
      CompletableFuture<String> popped = CompletableFuture.supplyAsync(() -> {
        try {
          blocked.bzpopmax(0, "k");
          return "no error";
        } catch (JedisDataException e) {
          return e.getMessage();
        }
      }, pool);
      await().atMost(WAIT).until(() -> blockedClients() == 1);
      assertThat(connection.sync().clientUnblock(id, io.lettuce.core.UnblockType.ERROR)).isEqualTo(1);
      assertThat(popped.get(10, TimeUnit.SECONDS)).isEqualTo("UNBLOCKED client unblocked via CLIENT UNBLOCK");
      assertThat(connection.sync().clientUnblock(other.clientId(), io.lettuce.core.UnblockType.ERROR))
          .as("a client that is not blocked").isZero();
    } finally {
      lettuce.shutdown();
    }
  }

  @Test
  void clientUnblock_badArguments_redisTexts() throws IOException {
    try (Socket s = server.raw("CLIENT UNBLOCK x", "CLIENT UNBLOCK 1 FOO", "CLIENT UNBLOCK 99999 ERROR",
        "CLIENT UNBLOCK", "CLIENT UNBLOCK 1 TIMEOUT x")) {
      String expected = "-ERR value is not an integer or out of range\r\n"
          + "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n:0\r\n"
          + "-ERR wrong number of arguments for 'client|unblock' command\r\n"
          + "-ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.\r\n";
      assertThat(RespTestServer.read(s, expected)).isEqualTo(expected);
    }
  }

  @Test
  void clientUnblock_isAdmin_likeClientKill() {
    other.aclSetUser("plain", "on", "nopass", "+@all", "-@admin");
    try (Jedis plain = new Jedis("127.0.0.1", server.port())) {
      plain.auth("plain", "any");
      assertThatThrownBy(() -> plain.clientUnblock(1, UnblockType.TIMEOUT))
          .hasMessage("NOPERM User plain has no permissions to run the 'client|unblock' command");
      assertThatThrownBy(() -> plain.clientKill(ClientKillParams.clientKillParams().id("1")))
          .hasMessage("NOPERM User plain has no permissions to run the 'client|kill' command");
    }
    assertThat(other.aclCat("admin")).contains("client|unblock");
  }

  @Test
  void commandInfo_blockingFlagAndCategory() {
    assertThat(other.aclCat("blocking")).contains("bzpopmin", "bzpopmax", "bzmpop");
    assertThat(other.aclCat("sortedset")).contains("zunionstore", "zmpop", "bzmpop", "zrangestore");
    // COMMAND INFO's categories agree with ACL CAT (qa2: @blocking was missing there).
    assertThat(other.commandInfo("bzpopmin").get("bzpopmin").getAclCategories()).contains("@blocking");
  }
}
