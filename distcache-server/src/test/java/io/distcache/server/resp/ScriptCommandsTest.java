package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT against a real node through Jedis, with the replies
 * and error texts Redis 7 gives (checked side by side with Debian's redis-server 7.0.15).
 */
class ScriptCommandsTest {
  private static RespTestServer server;
  private Jedis jedis;
  private Jedis other;

  @BeforeAll
  static void start() {
    server = new RespTestServer();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void connect() {
    jedis = connection();
    other = connection();
    jedis.flushAll();
    jedis.scriptFlush();
    jedis.configSet("busy-reply-threshold", "5000");
  }

  @AfterEach
  void disconnect() {
    jedis.close();
    other.close();
  }

  private static Jedis connection() {
    return new Jedis(new HostAndPort("127.0.0.1", server.port()),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(30_000).build());
  }

  private static String sha(String body) {
    return ScriptCache.sha1Hex(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private String error(String script, int numKeys, String... args) {
    List<String> all = new ArrayList<>(Arrays.asList(args));
    try {
      jedis.eval(script, numKeys, all.toArray(new String[0]));
    } catch (JedisDataException e) {
      return e.getMessage();
    }
    throw new AssertionError("no error from " + script);
  }

  @Test
  void eval_luaToRedisConversions() {
    assertThat(jedis.eval("return {1,2,3.7,'x',false,true,nil,4}")).isEqualTo(Arrays.asList(1L, 2L, 3L, "x", null, 1L));
    assertThat(jedis.eval("return 3.99")).isEqualTo(3L);
    assertThat(jedis.eval("return -3.99")).isEqualTo(-3L);
    assertThat(jedis.eval("return 'hello'")).isEqualTo("hello");
    assertThat(jedis.eval("return nil")).isNull();
    assertThat(jedis.eval("return false")).isNull();
    assertThat(jedis.eval("return true")).isEqualTo(1L);
    assertThat(jedis.eval("return {ok='FINE'}")).isEqualTo("FINE");
    assertThat(jedis.eval("return redis.status_reply('FINE')")).isEqualTo("FINE");
    assertThat(jedis.eval("return {{1,{2}},'a'}")).isEqualTo(List.of(List.of(1L, List.of(2L)), "a"));
    assertThat(error("return redis.error_reply('My Error')", 0)).isEqualTo("My Error");
    assertThat(error("return {err='x'}", 0)).isEqualTo("x");
  }

  @Test
  void eval_keysAndArgv() {
    assertThat(jedis.eval("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", 2, "k1", "k2", "a1", "a2"))
        .isEqualTo(List.of("k1", "k2", "a1", 2L, 2L));
  }

  @Test
  void eval_redisToLuaConversions() {
    jedis.set("s", "abc");
    jedis.hset("h", "f", "v");
    assertThat(jedis.eval("return redis.call('get', KEYS[1])", 1, "s")).isEqualTo("abc");
    assertThat(jedis.eval("return type(redis.call('get', KEYS[1]))", 1, "missing")).isEqualTo("boolean");
    assertThat(jedis.eval("return redis.call('set', KEYS[1], 'x')['ok']", 1, "s")).isEqualTo("OK");
    assertThat(jedis.eval("return redis.call('incr', KEYS[1]) + 1", 1, "n")).isEqualTo(2L);
    assertThat(jedis.eval("return redis.call('hgetall', KEYS[1])", 1, "h")).isEqualTo(List.of("f", "v"));
    assertThat(jedis.eval("redis.setresp(3); return redis.call('hgetall', KEYS[1])['map']['f']", 1, "h"))
        .isEqualTo("v");
    assertThat(jedis.eval("redis.setresp(3); return type(redis.call('get', KEYS[1]))", 1, "missing")).isEqualTo("nil");
    assertThat(jedis.eval("local t = redis.pcall('incr', KEYS[1]); return t['err']", 1, "s"))
        .isEqualTo("ERR value is not an integer or out of range");
  }

  @Test
  void errors_redisTexts() {
    jedis.set("s", "abc");
    assertThat(error("return redis.call('nosuch')", 0))
        .isEqualTo("ERR Unknown Redis command called from script script: " + sha("return redis.call('nosuch')")
            + ", on @user_script:1.");
    assertThat(error("return redis.pcall('nosuch')", 0)).isEqualTo("ERR Unknown Redis command called from script");
    assertThat(error("return redis.pcall('incr', KEYS[1])", 1, "s")).isEqualTo("ERR value is not an integer or out of range");
    assertThat(error("return redis.call('incr', KEYS[1])", 1, "s"))
        .isEqualTo("ERR value is not an integer or out of range script: " + sha("return redis.call('incr', KEYS[1])")
            + ", on @user_script:1.");
    assertThat(error("error('boom')", 0))
        .isEqualTo("ERR user_script:1: boom script: " + sha("error('boom')") + ", on @user_script:1.");
    assertThat(error("error({err='MY boom'})", 0))
        .isEqualTo("MY boom script: " + sha("error({err='MY boom'})") + ", on @user_script:1.");
    assertThat(error("return redis.call('get')", 0)).startsWith("ERR Wrong number of args calling Redis command from script script: ");
    assertThat(error("return redis.call()", 0)).startsWith("ERR Please specify at least one argument for this redis lib call script: ");
    assertThat(error("return redis.call({})", 0)).startsWith("ERR Lua redis lib command arguments must be strings or integers script: ");
    assertThat(error("return redis.call('multi')", 0)).startsWith("ERR This Redis command is not allowed from script script: ");
    assertThat(error("return redis.setresp(4)", 0))
        .isEqualTo("ERR RESP version must be 2 or 3. script: " + sha("return redis.setresp(4)") + ", on @user_script:1.");
    assertThat(error("return 1 +", 0)).startsWith("ERR Error compiling script (new function): user_script:1: ");
    assertThat(error("local x = 1\nreturn redis.call('nosuch')", 0)).endsWith(", on @user_script:2.");
    StringBuilder locals = new StringBuilder(); // Lua allows 200 locals per function; luaj fails on the 201st with an NPE
    for (int i = 0; i <= 200; i++) {
      locals.append("local a").append(i).append(" = 1 ");
    }
    assertThat(error(locals + "return 1", 0)).isEqualTo("ERR Error compiling script (new function): the script passes a"
        + " limit of Lua's compiler (200 local variables or 255 upvalues in one function, or too many constants)");
  }

  @Test
  void readOnlyScript_write_refused() {
    String script = "return redis.call('set', KEYS[1], '1')";
    assertThatThrownBy(() -> jedis.evalReadonly(script, List.of("a"), List.of()))
        .hasMessage("ERR Write commands are not allowed from read-only scripts. script: " + sha(script)
            + ", on @user_script:1.");
    assertThat(jedis.exists("a")).isFalse();
    jedis.set("a", "v");
    assertThat(jedis.evalReadonly("return redis.call('get', KEYS[1])", List.of("a"), List.of())).isEqualTo("v");
    assertThat(jedis.eval("#!lua flags=no-writes\nreturn redis.pcall('set', KEYS[1], '2')['err']", 1, "a"))
        .isEqualTo("ERR Write commands are not allowed from read-only scripts.");
  }

  @Test
  void numberOfKeys_errors() {
    assertThatThrownBy(() -> jedis.sendCommand(Protocol.Command.EVAL, "return 1", "-1"))
        .hasMessage("ERR Number of keys can't be negative");
    assertThatThrownBy(() -> jedis.sendCommand(Protocol.Command.EVAL, "return 1", "2", "a"))
        .hasMessage("ERR Number of keys can't be greater than number of args");
    assertThatThrownBy(() -> jedis.sendCommand(Protocol.Command.EVAL, "return 1", "x"))
        .hasMessage("ERR value is not an integer or out of range");
  }

  @Test
  void scriptLoad_evalsha_exists_flush() {
    String body = "return redis.call('incrby', KEYS[1], ARGV[1])";
    String sha = jedis.scriptLoad(body);
    assertThat(sha).isEqualTo(sha(body));
    assertThat(jedis.scriptExists(sha, "ffffffffffffffffffffffffffffffffffffffff")).containsExactly(true, false);
    assertThat(jedis.evalsha(sha, 1, "n", "5")).isEqualTo(5L);
    assertThat(jedis.evalsha(sha.toUpperCase(java.util.Locale.ROOT), 1, "n", "5")).isEqualTo(10L);
    assertThat(jedis.evalshaReadonly(jedis.scriptLoad("return redis.call('get', KEYS[1])"), List.of("n"), List.of()))
        .isEqualTo("10");
    assertThat(jedis.scriptFlush()).isEqualTo("OK");
    assertThat(jedis.scriptExists(sha)).isFalse();
    assertThatThrownBy(() -> jedis.evalsha(sha, 1, "n", "5")).hasMessage("NOSCRIPT No matching script. Please use EVAL.");
    assertThatThrownBy(() -> jedis.evalsha("abc", 0)).hasMessage("NOSCRIPT No matching script. Please use EVAL.");
    jedis.eval(body, 1, "n", "1"); // EVAL caches the script too
    assertThat(jedis.scriptExists(sha)).isTrue();
    assertThatThrownBy(() -> jedis.sendCommand(Protocol.Command.SCRIPT, "FLUSH", "foo"))
        .hasMessage("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    assertThatThrownBy(() -> jedis.scriptLoad("return +")).hasMessageStartingWith("ERR Error compiling script");
    assertThatThrownBy(() -> jedis.scriptKill()).hasMessage("NOTBUSY No scripts in execution right now.");
  }

  @Test
  void redisLibrary_helpers() {
    assertThat(jedis.eval("return redis.sha1hex('')")).isEqualTo("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assertThat(jedis.eval("redis.log(redis.LOG_WARNING, 'from a test'); return 1")).isEqualTo(1L);
    assertThat(error("redis.log(9, 'x')", 0)).startsWith("ERR Invalid debug level. script: ");
    assertThat(jedis.eval("return bit.band(0xff, 0x0f) .. ' ' .. bit.bnot(0) .. ' ' .. bit.tohex(255, 4)"))
        .isEqualTo("15 -1 00ff");
    assertThat(jedis.eval("return unpack({1, 2})")).isEqualTo(1L);
    assertThat(jedis.eval("return string.format('%d-%s', 7, 'x') .. table.concat({'a','b'}, ',')")).isEqualTo("7-xa,b");
    assertThat(jedis.eval("return redis.REDIS_VERSION")).isEqualTo(RespContext.REDIS_VERSION);
  }

  @Test
  void sandbox_noIoOsLoadOrGlobals() {
    for (String name : List.of("io", "os", "require", "load", "dofile", "loadfile", "luajava", "debug", "package")) {
      assertThat(error("return " + name, 0)).startsWith(
          "ERR user_script:1: Script attempted to access nonexistent global variable '" + name + "'");
    }
    assertThat(error("a = 5", 0)).startsWith("ERR user_script:1: Attempt to modify a readonly table script: ");
    assertThat(error("string.upper = nil", 0)).startsWith("ERR user_script:1: Attempt to modify a readonly table");
    assertThat(error("getmetatable('').__index.upper = nil", 0)).startsWith("ERR user_script:1:");
    assertThat(jedis.eval("return string.upper('x')")).isEqualTo("X");
    // rawset cannot reach the globals or the libraries either; a table of the script's own is fine
    assertThat(error("rawset(_G, 'leak', 1) return 1", 0)).contains("Attempt to modify a readonly table");
    assertThat(error("rawset(string, 'leak', 1) return 1", 0)).contains("Attempt to modify a readonly table");
    assertThat(error("return leak", 0)).contains("nonexistent global variable 'leak'");
    assertThat(jedis.eval("local t = {} rawset(t, 'a', 1) return t.a")).isEqualTo(1L);
    assertThat(jedis.eval("KEYS = nil return 1")).isEqualTo(1L);
    assertThat(jedis.eval("return KEYS[1]", 1, "again")).isEqualTo("again");
    assertThat(error("return string.rep('x', 1e12)", 0)).contains("exceeds the node's value limit");
  }

  @Test
  void script_isAtomic_againstOtherClients() throws Exception {
    String body = "local v = tonumber(redis.call('get', KEYS[1]) or '0'); redis.call('set', KEYS[1], v + 1); return v + 1";
    String sha = jedis.scriptLoad(body);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean viaScript = t < 3;
        done.add(pool.submit(() -> {
          try (Jedis j = connection()) {
            for (int i = 0; i < 300; i++) {
              if (viaScript) {
                j.evalsha(sha, 1, "counter");
              } else {
                j.incr("counter");
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(jedis.get("counter")).isEqualTo("1200");
  }

  /** EVALs {@code body} on a connection of its own: its reply, or its error's text. */
  private static CompletableFuture<String> evalElsewhere(String body) {
    return CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        j.eval(body);
        return "returned";
      } catch (JedisDataException e) {
        return e.getMessage();
      }
    });
  }

  @Test
  void busyScript_otherClientsGetBusy_scriptKillStopsIt() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    assertThat(jedis.configGet("lua-time-limit")).containsEntry("lua-time-limit", "100");
    jedis.set("k", "v");
    String body = "while true do end";
    CompletableFuture<String> looping = evalElsewhere(body);
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThatThrownBy(() -> other.get("k"))
            .hasMessage("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."));
    assertThat(other.scriptKill()).isEqualTo("OK");
    assertThat(looping.get()).isEqualTo("ERR Script killed by user with SCRIPT KILL... script: " + sha(body)
        + ", on @user_script:1.");
    assertThat(other.get("k")).isEqualTo("v");
  }

  /** A function that writes {w}1, runs 1-2 s of the node's clock, writes {w}2 and returns {w}1 as it reads it then. */
  private static final String SLOW_WRITER = "#!lua name=atomic\n"
      + "redis.register_function('slow', function(keys, args)\n"
      + "  redis.call('set', keys[1], '1')\n"
      + "  local t = tonumber(redis.call('time')[1])\n"
      + "  while tonumber(redis.call('time')[1]) - t < 2 do end\n"
      + "  redis.call('set', keys[2], '2')\n"
      + "  return redis.call('get', keys[1])\n"
      + "end)";

  /** Starts SLOW_WRITER on its own connection and returns once the node shows it running. */
  private CompletableFuture<Object> startSlowWriter() {
    jedis.functionLoadReplace(SLOW_WRITER);
    CompletableFuture<Object> running = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        return j.fcall("slow", List.of("{w}1", "{w}2"), List.of());
      }
    });
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> other.functionStats().getRunningScript() != null);
    return running;
  }

  @Test
  void keylessReads_whileScriptRuns_waitAndSeeAllItsWrites() throws Exception {
    jedis.functionFlush();
    CompletableFuture<Object> running = startSlowWriter();
    // Sent while the function runs (between its two writes): they wait for its end.
    CompletableFuture<Long> size = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        return j.dbSize();
      }
    });
    CompletableFuture<java.util.Set<String>> keys = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        return j.keys("*");
      }
    });
    assertThat(size.get()).isEqualTo(2);
    assertThat(keys.get()).containsExactlyInAnyOrder("{w}1", "{w}2");
    assertThat(running.get()).isEqualTo("1");
    jedis.functionFlush();
    // A script's own keyspace calls run inside its hold of the node (no wait for itself).
    assertThat(jedis.eval("return {redis.call('dbsize'), #redis.call('keys', '*'), redis.call('flushall')['ok']}"))
        .isEqualTo(List.of(2L, 2L, "OK"));
    assertThat(jedis.dbSize()).isZero();
  }

  @Test
  void flushAll_whileScriptRuns_waitsForItsEnd() throws Exception {
    jedis.functionFlush();
    CompletableFuture<Object> running = startSlowWriter();
    try (Jedis j = connection()) {
      assertThat(j.flushAll()).isEqualTo("OK");
    }
    // Not between the function's calls: it read its own first write back, and its second is gone too.
    assertThat(running.get()).isEqualTo("1");
    assertThat(jedis.dbSize()).isZero();
    jedis.functionFlush();
  }

  @Test
  void keylessCommands_pastBusyThreshold_getBusyAndDoNothing() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    jedis.set("k", "v");
    String body = "while true do end";
    CompletableFuture<String> looping = evalElsewhere(body);
    String busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    try {
      Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThatThrownBy(() -> other.dbSize()).hasMessage(busy));
      assertThatThrownBy(() -> other.keys("*")).hasMessage(busy);
      assertThatThrownBy(() -> other.scan("0")).hasMessage(busy);
      assertThatThrownBy(() -> other.randomKey()).hasMessage(busy);
      assertThatThrownBy(() -> other.flushAll()).hasMessage(busy);
      assertThatThrownBy(() -> other.flushDB()).hasMessage(busy);
    } finally {
      assertThat(other.scriptKill()).isEqualTo("OK"); // the other tests need the node free
    }
    assertThat(looping.get()).startsWith("ERR Script killed by user with SCRIPT KILL");
    assertThat(other.get("k")).isEqualTo("v");
    assertThat(other.dbSize()).isEqualTo(1);
  }

  private static final String BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

  /**
   * Starts a looping EVAL on its own connection with busy-reply-threshold 100 ms and returns once
   * other clients get BUSY; end it with {@link #kill}.
   */
  private CompletableFuture<String> loopingPastThreshold() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    CompletableFuture<String> looping = evalElsewhere("while true do end");
    try {
      Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThatThrownBy(() -> other.ping()).hasMessage(BUSY));
    } catch (RuntimeException | AssertionError e) {
      kill(looping); // the other tests need the node free
      throw e;
    }
    return looping;
  }

  private void kill(CompletableFuture<String> looping) throws Exception {
    assertThat(other.scriptKill()).isEqualTo("OK");
    assertThat(looping.get()).startsWith("ERR Script killed by user with SCRIPT KILL");
  }

  @Test
  void commandsWithoutKeys_pastBusyThreshold_getBusy_allowBusyOnesAnswer() throws Exception {
    try (Socket subscriber = server.raw("SUBSCRIBE ch")) {
      RespTestServer.read(subscriber, ":1\r\n");
      CompletableFuture<String> looping = loopingPastThreshold();
      try {
        assertThatThrownBy(() -> other.echo("x")).hasMessage(BUSY);
        assertThatThrownBy(() -> other.info()).hasMessage(BUSY);
        assertThatThrownBy(() -> other.configGet("maxmemory")).hasMessage(BUSY);
        assertThatThrownBy(() -> other.publish("ch", "m")).hasMessage(BUSY);
        assertThatThrownBy(() -> other.time()).hasMessage(BUSY);
        assertThatThrownBy(() -> other.clientList()).hasMessage(BUSY);
        assertThatThrownBy(() -> other.select(0)).hasMessage(BUSY);
        assertThatThrownBy(() -> other.scriptLoad("return 1")).hasMessage(BUSY);
        // A subscribed connection's commands too (PING is not allow_busy in Redis either).
        RespTestServer.send(subscriber, "PING");
        assertThat(RespTestServer.read(subscriber, "\r\n")).isEqualTo("-" + BUSY + "\r\n");
        // Redis's allow_busy commands answer.
        try (Socket s = server.raw("MULTI", "DISCARD", "RESET")) {
          assertThat(RespTestServer.read(s, "+RESET\r\n")).isEqualTo("+OK\r\n+OK\r\n+RESET\r\n");
        }
      } finally {
        kill(looping);
      }
      assertThat(other.ping()).isEqualTo("PONG");
      assertThat(other.publish("ch", "after")).isEqualTo(1);
      assertThat(RespTestServer.read(subscriber, "after\r\n")).endsWith("$2\r\nch\r\n$5\r\nafter\r\n");
    }
  }

  @Test
  void commandInfo_allowBusyFlags_asRedis() {
    // Redis 7.0.15's allow_busy commands (and SCRIPT KILL, FUNCTION KILL and FUNCTION STATS).
    for (String name : List.of("auth", "hello", "reset", "quit", "multi", "discard", "watch", "unwatch", "shutdown")) {
      assertThat(jedis.commandInfo(name).get(name).getFlags()).as(name).contains("allow_busy");
    }
    assertThat(jedis.commandInfo("ping", "exec").values())
        .allSatisfy(info -> assertThat(info.getFlags()).doesNotContain("allow_busy"));
  }

  @Test
  void multiPastBusyThreshold_queuedCommandBusyAbortsExec_execItselfBusyDiscards() throws Exception {
    try (Socket queued = server.raw(); Socket exec = server.raw()) {
      CompletableFuture<String> looping = loopingPastThreshold();
      try {
        RespTestServer.send(queued, "MULTI", "SET k v");
        String busy = "+OK\r\n-" + BUSY + "\r\n";
        assertThat(RespTestServer.read(queued, busy)).isEqualTo(busy);
        RespTestServer.send(exec, "MULTI", "EXEC");
        String aborted = "+OK\r\n-EXECABORT Transaction discarded because of: " + BUSY + "\r\n";
        assertThat(RespTestServer.read(exec, BUSY + "\r\n")).isEqualTo(aborted);
      } finally {
        kill(looping);
      }
      // After the script, as in Redis 7.0.15: the flagged transaction aborts, the discarded one is gone.
      RespTestServer.send(queued, "EXEC");
      String execAbort = "-EXECABORT Transaction discarded because of previous errors.\r\n";
      assertThat(RespTestServer.read(queued, execAbort)).isEqualTo(execAbort);
      RespTestServer.send(exec, "EXEC");
      assertThat(RespTestServer.read(exec, "\r\n")).isEqualTo("-ERR EXEC without MULTI\r\n");
    }
    assertThat(other.exists("k")).isFalse();
  }

  /** Functions that run 1-2 s of the node's clock; slowpub then publishes "from-script" on ch. */
  private static final String SLOW_FUNCTIONS = "#!lua name=waits\n"
      + "local function pause()\n"
      + "  local t = tonumber(redis.call('time')[1])\n"
      + "  while tonumber(redis.call('time')[1]) - t < 2 do end\n"
      + "end\n"
      + "redis.register_function('pause', function(keys, args) pause(); return 'done' end)\n"
      + "redis.register_function('slowpub', function(keys, args)\n"
      + "  pause()\n"
      + "  redis.call('publish', 'ch', 'from-script')\n"
      + "  return 'done'\n"
      + "end)";

  @Test
  void commandsWithoutKeys_beforeBusyThreshold_waitAndRunAfterTheScript() throws Exception {
    jedis.functionLoadReplace(SLOW_FUNCTIONS);
    try (Socket subscriber = server.raw("SUBSCRIBE ch")) {
      RespTestServer.read(subscriber, ":1\r\n");
      CompletableFuture<Object> running = CompletableFuture.supplyAsync(() -> {
        try (Jedis j = connection()) {
          return j.fcall("slowpub", List.of(), List.of());
        }
      });
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> other.functionStats().getRunningScript() != null);
      // Sent while the function runs: it waits for the function's end, so its message comes second.
      assertThat(other.publish("ch", "from-client")).isEqualTo(1);
      assertThat(running.get()).isEqualTo("done");
      String both = RespTestServer.read(subscriber, "from-client\r\n");
      assertThat(both.indexOf("from-script")).as(both).isPositive().isLessThan(both.indexOf("from-client"));
    } finally {
      jedis.functionFlush();
    }
  }

  @Test
  void commandsPipelinedAfterTheConnectionsOwnScript_runAfterIt_neverBusy() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    jedis.functionLoadReplace(SLOW_FUNCTIONS);
    // The function runs past the threshold: other clients get BUSY, but not its own connection.
    try (Socket s = server.raw("FCALL pause 0", "PING", "ECHO x", "DBSIZE")) {
      String expected = "$4\r\ndone\r\n+PONG\r\n$1\r\nx\r\n:0\r\n";
      assertThat(RespTestServer.read(s, ":0\r\n")).isEqualTo(expected);
    } finally {
      jedis.functionFlush();
    }
  }

  @Test
  void busyScript_thatWrote_isUnkillable() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    // Writes, then runs for about 2 s of the node's clock, then ends by itself.
    String body = "redis.call('set', KEYS[1], 'w'); local t = tonumber(redis.call('time')[1]);"
        + " while tonumber(redis.call('time')[1]) - t < 2 do end; return 'done'";
    CompletableFuture<Object> running = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        return j.eval(body, 1, "w");
      }
    });
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThatThrownBy(() -> other.get("w")).hasMessageStartingWith("BUSY "));
    assertThatThrownBy(() -> other.scriptKill()).hasMessageStartingWith(
        "UNKILLABLE Sorry the script already executed write commands against the dataset.");
    assertThat(running.get()).isEqualTo("done");
    assertThat(other.get("w")).isEqualTo("w");
  }

  @Test
  void aclUser_scriptCallsRunWithTheCallersPermissions() {
    jedis.aclSetUser("scripter", "on", ">pw", "+@all", "-set", "~a*");
    try (Jedis j = connection()) {
      j.auth("scripter", "pw");
      String set = "return redis.call('set', KEYS[1], 'x')";
      assertThatThrownBy(() -> j.eval(set, 1, "a1")).hasMessage(
          "ERR The user executing the script can't run this command or subcommand script: " + sha(set)
              + ", on @user_script:1.");
      String get = "return redis.call('get', 'b')";
      assertThatThrownBy(() -> j.eval(get, 0)).hasMessage("ERR The user executing the script can't access at least one"
          + " of the keys mentioned in the command arguments script: " + sha(get) + ", on @user_script:1.");
      assertThat(j.eval("return redis.call('get', 'a1')", 0)).isNull();
    } finally {
      jedis.aclDelUser("scripter");
    }
  }

  @Test
  void jedisMulti_evalshaAndFcall_runAtExecInOrder_noscriptInItsSlot() {
    String sha = jedis.scriptLoad("return redis.call('incrby', KEYS[1], ARGV[1])");
    jedis.functionLoadReplace("#!lua name=txlib\n"
        + "redis.register_function('double', function(keys) return redis.call('incrby', keys[1], redis.call('get', keys[1])) end)");
    Transaction t = jedis.multi();
    t.set("n", "1");
    t.evalsha(sha, 1, "n", "4");
    t.fcall("double", List.of("n"), List.of());
    t.evalsha("0".repeat(40), 0);
    t.get("n");
    List<Object> replies = t.exec();
    assertThat(replies).hasSize(5);
    assertThat(replies.subList(0, 3)).containsExactly("OK", 5L, 10L);
    assertThat(replies.get(3)).isInstanceOf(JedisDataException.class)
        .hasFieldOrPropertyWithValue("message", "NOSCRIPT No matching script. Please use EVAL.");
    assertThat(replies.get(4)).isEqualTo("10");
    jedis.functionDelete("txlib");
  }

  /** SETs {@code key} on a connection of its own. */
  private static CompletableFuture<String> setElsewhere(String key, String value) {
    return CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        return j.set(key, value);
      }
    });
  }

  @Test
  void multiWithAScript_noOtherClientRunsBetweenItsCommandsOrCalls() throws Exception {
    jedis.functionFlush();
    jedis.functionLoadReplace(SLOW_WRITER);
    CompletableFuture<List<Object>> tx = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        Transaction t = j.multi();
        t.set("{w}0", "before");
        t.fcall("slow", List.of("{w}1", "{w}2"), List.of());
        t.get("{w}1");
        t.get("{w}0");
        return t.exec();
      }
    });
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> other.functionStats().getRunningScript() != null);
    // Sent while the function runs: they wait for the whole transaction, not only for the function.
    CompletableFuture<String> overwrite1 = setElsewhere("{w}1", "other");
    CompletableFuture<String> overwrite0 = setElsewhere("{w}0", "other");
    assertThat(tx.get()).containsExactly("OK", "1", "1", "before");
    assertThat(overwrite1.get()).isEqualTo("OK");
    assertThat(overwrite0.get()).isEqualTo("OK");
    assertThat(jedis.mget("{w}0", "{w}1", "{w}2")).containsExactly("other", "other", "2");
    jedis.functionFlush();
  }

  @Test
  void multiWithALoopingScript_othersGetBusy_scriptKillStopsOnlyTheScript() throws Exception {
    jedis.configSet("busy-reply-threshold", "100");
    jedis.set("k", "v");
    String body = "while true do end";
    CompletableFuture<List<Object>> tx = CompletableFuture.supplyAsync(() -> {
      try (Jedis j = connection()) {
        Transaction t = j.multi();
        t.set("t", "1");
        t.eval(body);
        t.incr("t");
        return t.exec();
      }
    });
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThatThrownBy(() -> other.get("k"))
            .hasMessage("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."));
    // The script has not written (the transaction's SET before it does not count, as in Redis 7).
    assertThat(other.scriptKill()).isEqualTo("OK");
    List<Object> replies = tx.get();
    assertThat(replies.get(0)).isEqualTo("OK");
    assertThat(replies.get(1)).isInstanceOf(JedisDataException.class).hasFieldOrPropertyWithValue("message",
        "ERR Script killed by user with SCRIPT KILL... script: " + sha(body) + ", on @user_script:1.");
    assertThat(replies.get(2)).as("the rest of the transaction ran").isEqualTo(2L);
    assertThat(other.get("t")).isEqualTo("2");
    assertThat(other.get("k")).isEqualTo("v");
  }
}
