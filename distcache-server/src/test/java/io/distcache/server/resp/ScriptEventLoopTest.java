package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.DistCacheNode;
import io.distcache.server.NodeAccess;
import io.distcache.server.OneLoopNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A running script stalls its own client and the commands that must wait for it, never an event
 * loop: every connection here is on the node's one event loop, so a command waiting for the script
 * on the loop would leave the others unanswered (the clients' read timeouts and the Awaitility
 * bounds only turn that hang into a failure; nothing here is timed).
 */
class ScriptEventLoopTest {
  private DistCacheNode node;
  private Jedis admin;

  @BeforeEach
  void start() {
    node = OneLoopNode.start();
    admin = jedis();
    admin.configSet("busy-reply-threshold", OneLoopNode.NEVER_BUSY_MILLIS);
  }

  @AfterEach
  void stop() {
    admin.close();
    node.close(); // also stops a script a test left running (one that wrote cannot be killed)
  }

  /** A Jedis connection, connected and set up (it sends nothing more until used). */
  private Jedis jedis() {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", node.port()),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(30_000).build());
    j.ping();
    return j;
  }

  /** A raw connection that sent {@code args} as one command (arguments as given, spaces included). */
  private Socket raw(String... args) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(30_000);
    if (args.length > 0) {
      send(s, args);
    }
    return s;
  }

  private static void send(Socket s, String... args) throws IOException {
    s.getOutputStream().write(command(args));
  }

  private static byte[] command(String... args) {
    StringBuilder sb = new StringBuilder("*").append(args.length).append("\r\n");
    for (String a : args) {
      sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Sends {@code args} on {@code s} and returns once the node has read it (it counts every byte it reads). */
  private void sendAndAwaitRead(Socket s, String... args) throws IOException {
    sendAndAwaitRead(s, command(args));
  }

  private void sendAndAwaitRead(Socket s, byte[] bytes) throws IOException {
    long before = NodeAccess.netBytesIn(node);
    s.getOutputStream().write(bytes);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.netBytesIn(node) >= before + bytes.length);
  }

  /** Starts {@code body}, a script that loops, on its own raw connection; returns once the node runs it. */
  private Socket loopingScript(String body, String... keys) throws IOException {
    String[] args = new String[3 + keys.length];
    args[0] = "EVAL";
    args[1] = body;
    args[2] = Integer.toString(keys.length);
    System.arraycopy(keys, 0, args, 3, keys.length);
    Socket s = raw(args);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.scripts(node).running());
    return s;
  }

  /**
   * Sends FUNCTION STATS (allow_busy) on {@code third}, whose event loop is every connection's, and
   * checks it was answered while the script still runs; a loop held by a waiting command would leave
   * it unanswered (the client's read timeout then fails the test).
   */
  private void answeredWhileTheScriptRuns(Jedis third) {
    assertThat(third.functionStats().getEngines()).containsKey("LUA");
    assertThat(NodeAccess.scripts(node).running()).as("the script still runs").isTrue();
  }

  /** What each command, sent while the script runs, answers once it ended (the node holds k = v). */
  private static final Map<String, String> AFTER_THE_SCRIPT = Map.of(
      "GET k", "$1\r\nv\r\n",
      "DBSIZE", ":1\r\n",
      "SCAN 0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n",
      "WATCH k", "+OK\r\n",
      "PING", "+PONG\r\n");

  @ParameterizedTest
  @ValueSource(strings = {"GET k", "DBSIZE", "SCAN 0", "WATCH k", "PING"})
  void commandWaitingForAScript_otherConnectionsOnItsLoop_answeredWhileTheScriptRuns(String waiting) throws Exception {
    admin.set("k", "v");
    try (Jedis third = jedis(); Socket waiter = raw(); Socket script = loopingScript("while true do end")) {
      // The node has read the command: before, it waited for the script on the event loop itself.
      sendAndAwaitRead(waiter, waiting.split(" "));
      // Another connection on that loop is answered while the script still runs.
      answeredWhileTheScriptRuns(third);
      assertThat(third.scriptKill()).isEqualTo("OK");
      assertThat(RespTestServer.read(script, "\r\n")).startsWith("-ERR Script killed by user with SCRIPT KILL");
      // The waiting command ran after the script, with its usual reply.
      String expected = AFTER_THE_SCRIPT.get(waiting);
      assertThat(RespTestServer.read(waiter, expected)).isEqualTo(expected);
    }
  }

  @Test
  void commandsPipelinedBehindAWaitingCommand_answeredInOrderAfterTheScript() throws Exception {
    admin.set("k", "v");
    try (Jedis third = jedis(); Socket waiter = raw(); Socket script = loopingScript("while true do end")) {
      sendAndAwaitRead(waiter, concat(command("SET", "k", "w"), command("PING"), command("GET", "k"),
          command("ECHO", "x")));
      answeredWhileTheScriptRuns(third);
      assertThat(third.scriptKill()).isEqualTo("OK");
      String expected = "+OK\r\n+PONG\r\n$1\r\nw\r\n$1\r\nx\r\n";
      assertThat(RespTestServer.read(waiter, expected)).isEqualTo(expected);
      RespTestServer.read(script, "\r\n");
    }
  }

  @Test
  void commandWaitingForAScript_pastTheBusyThreshold_answeredBusy() throws Exception {
    admin.set("k", "v");
    try (Socket waiter = raw(); Socket script = loopingScript("while true do end")) {
      sendAndAwaitRead(waiter, "GET", "k");
      // The threshold lowered while the GET waits (CONFIG SET would wait too: the node's own setter).
      NodeAccess.scripts(node).busyThresholdMillis(0);
      String busy = "-" + io.distcache.server.cluster.ScriptHost.BUSY_MESSAGE + "\r\n";
      assertThat(RespTestServer.read(waiter, "\r\n")).isEqualTo(busy);
      send(waiter, "SCRIPT", "KILL");
      assertThat(RespTestServer.read(waiter, "+OK\r\n")).isEqualTo("+OK\r\n");
      RespTestServer.read(script, "\r\n");
    }
  }

  @Test
  void blockedPop_wokenByARunningScriptsWrite_leavesItsLoopFree() throws Exception {
    try (Jedis third = jedis(); Socket popper = raw("BZPOPMIN", "z", "0")) {
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> admin.clientList().contains("cmd=bzpopmin"));
      // The script's ZADD wakes the popper, whose pop must wait for the script: not on the loop.
      try (Socket script = loopingScript("redis.call('zadd', KEYS[1], 1, 'm') while true do end", "z")) {
        answeredWhileTheScriptRuns(third);
        // It wrote, so it cannot be killed (the node's close, AfterEach, stops it); said at once.
        assertThatThrownBy(third::scriptKill).hasMessageStartingWith("UNKILLABLE");
      }
    }
  }

  @Test
  void commandsPipelinedBehindTheConnectionsOwnExecWithAScript_runAfterIt_neverBusy() throws Exception {
    admin.configSet("busy-reply-threshold", "0"); // every other client is answered BUSY at once
    try (Jedis third = jedis(); Socket client = raw()) {
      sendAndAwaitRead(client, concat(command("MULTI"), command("EVAL", "while true do end", "0"), command("EXEC"),
          command("ECHO", "x"), command("PING")));
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.scripts(node).running());
      assertThatThrownBy(third::ping).hasMessageStartingWith("BUSY ");
      assertThat(third.scriptKill()).isEqualTo("OK");
      String replies = RespTestServer.read(client, "+PONG\r\n");
      assertThat(replies).startsWith("+OK\r\n+QUEUED\r\n*1\r\n-ERR Script killed by user with SCRIPT KILL")
          .endsWith(".\r\n$1\r\nx\r\n+PONG\r\n").doesNotContain("BUSY");
    }
  }

  // ---- compiling off the event loop ----

  @Test
  void scriptLoad_whileCompiling_otherConnectionsOnItsLoopAnswered_nextCommandsWaitInOrder() throws Exception {
    java.util.concurrent.CountDownLatch compilerBusy = new java.util.concurrent.CountDownLatch(1);
    // Stands in for a long compile (a 2.4 MB body took 2 s): the compiler's one thread is taken.
    java.util.concurrent.CompletableFuture<Object> blocker =
        ScriptCompilerTest.occupy(NodeAccess.resp(node).scriptCompiler(), compilerBusy);
    String body = "return 'loaded'";
    String sha = ScriptCache.sha1Hex(body.getBytes(StandardCharsets.UTF_8));
    try (Jedis third = jedis(); Socket loader = raw()) {
      // SCRIPT LOAD, then EVALSHA of it and PING pipelined behind it, on one connection.
      sendAndAwaitRead(loader, concat(command("SCRIPT", "LOAD", body), command("EVALSHA", sha, "0"), command("PING")));
      // The loop is free while the body waits for the compiler: the same loop answers another connection.
      assertThat(third.ping()).isEqualTo("PONG");
      assertThat(third.scriptExists(sha)).as("not compiled yet").isFalse();
      assertThat(loader.getInputStream().available()).as("SCRIPT LOAD waits for its compile").isZero();
      compilerBusy.countDown();
      String expected = "$40\r\n" + sha + "\r\n$6\r\nloaded\r\n+PONG\r\n";
      assertThat(RespTestServer.read(loader, expected)).isEqualTo(expected);
    } finally {
      compilerBusy.countDown();
      blocker.join();
    }
  }

  @Test
  void evalAndExec_ofBodiesNotCached_compiledOffTheLoop_repliesInOrder() throws Exception {
    java.util.concurrent.CountDownLatch compilerBusy = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CompletableFuture<Object> blocker =
        ScriptCompilerTest.occupy(NodeAccess.resp(node).scriptCompiler(), compilerBusy);
    try (Jedis third = jedis(); Socket client = raw()) {
      sendAndAwaitRead(client, concat(command("EVAL", "return redis.call('set', KEYS[1], 'a')['ok']", "1", "k"),
          command("GET", "k"), command("MULTI"), command("EVAL", "return redis.call('get', KEYS[1])", "1", "k"),
          command("SCRIPT", "LOAD", "return 2"), command("EVAL", "return +", "0"), command("EXEC"), command("ECHO", "x")));
      assertThat(third.ping()).isEqualTo("PONG");
      assertThat(client.getInputStream().available()).as("EVAL waits for its compile").isZero();
      compilerBusy.countDown();
      String upToExec = "$2\r\nOK\r\n$1\r\na\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n";
      String exec = "*3\r\n$1\r\na\r\n$40\r\n" + ScriptCache.sha1Hex("return 2".getBytes(StandardCharsets.UTF_8))
          + "\r\n-ERR Error compiling script";
      assertThat(RespTestServer.read(client, "$1\r\nx\r\n")).startsWith(upToExec + exec).endsWith("\r\n$1\r\nx\r\n");
    } finally {
      compilerBusy.countDown();
      blocker.join();
    }
  }

  @Test
  void functionLoad_pipelinedFcall_findsTheFunction() throws Exception {
    String library = "#!lua name=lib\nredis.register_function('f', function() return 'f ran' end)";
    try (Socket client = raw()) {
      send(client, "FUNCTION", "LOAD", library);
      send(client, "FCALL", "f", "0");
      String expected = "$3\r\nlib\r\n$5\r\nf ran\r\n";
      assertThat(RespTestServer.read(client, "\r\n$5\r\nf ran\r\n")).isEqualTo(expected);
    }
  }

  private static byte[] concat(byte[]... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
