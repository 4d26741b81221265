package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.SortedSetOption;
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

  /** A raw connection that sent {@code commands}; read with {@link #read}. */
  private Socket raw(String... commands) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
    s.setSoTimeout(10_000);
    s.getOutputStream().write(RespChannel.encode(commands).getBytes(StandardCharsets.ISO_8859_1));
    return s;
  }

  /** Reads until what arrived ends with {@code end} (or the socket's timeout fails the test). */
  private static String read(Socket s, String end) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[1024];
    while (!out.toString(StandardCharsets.ISO_8859_1).endsWith(end)) {
      int n = in.read(chunk);
      if (n < 0) {
        break;
      }
      out.write(chunk, 0, n);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
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
    try (Socket s = raw("BZPOPMIN k 0.05", "BZMPOP 0.05 2 k j MIN COUNT 3", "HELLO 3", "BZPOPMAX k 0.01",
        "BZMPOP 0.01 1 k MAX")) {
      String got = read(s, "_\r\n_\r\n");
      assertThat(got).startsWith("*-1\r\n*-1\r\n%7\r\n").endsWith("*0\r\n_\r\n_\r\n");
    }
    assertThat(other.bzpopmin(0.01, "k")).isNull();
    assertThat(other.bzmpop(0.01, SortedSetOption.MIN, "k")).isNull();
    assertThat(blockedClients()).isZero();
  }

  @Test
  void disconnectWhileParked_unparks_andPopsNothing() throws IOException {
    Socket s = raw("BZPOPMIN k 0");
    await().atMost(WAIT).until(() -> blockedClients() == 1);
    s.close();
    await().atMost(WAIT).until(() -> blockedClients() == 0);
    other.zadd("k", 1, "m");
    assertThat(other.zcard("k")).isEqualTo(1);
  }

  @Test
  void commandsPipelinedAfterABlockedPop_runAfterItAnswers() throws IOException {
    // Redis runs nothing of a blocked client: the ZADD behind the pop cannot wake it.
    try (Socket s = raw("BZPOPMIN k 0.1", "ZADD k 1 m", "ZCARD k")) {
      assertThat(read(s, "*-1\r\n:1\r\n:1\r\n")).isEqualTo("*-1\r\n:1\r\n:1\r\n");
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
    try (Socket s = raw("BZPOPMIN k -1", "BZPOPMIN k x", "BZPOPMIN k inf", "BZPOPMIN k 1e20", "BZMPOP x 1 k MIN",
        "BZMPOP 0 0 k MIN", "BZMPOP 0 1 k FOO", "BZMPOP 0 1 k MIN COUNT 0", "BZPOPMIN k")) {
      String expected = "-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n"
          + "-ERR timeout is negative\r\n-ERR timeout is negative\r\n-ERR timeout is not a float or out of range\r\n"
          + "-ERR numkeys should be greater than 0\r\n-ERR syntax error\r\n-ERR count should be greater than 0\r\n"
          + "-ERR wrong number of arguments for 'bzpopmin' command\r\n";
      assertThat(read(s, expected)).isEqualTo(expected);
    }
  }

  @Test
  void commandInfo_blockingFlagAndCategory() {
    assertThat(other.aclCat("blocking")).contains("bzpopmin", "bzpopmax", "bzmpop");
    assertThat(other.aclCat("sortedset")).contains("zunionstore", "zmpop", "bzmpop", "zrangestore");
    // COMMAND INFO's categories agree with ACL CAT (qa2: @blocking was missing there).
    assertThat(other.commandInfo("bzpopmin").get("bzpopmin").getAclCategories()).contains("@blocking");
  }
}
