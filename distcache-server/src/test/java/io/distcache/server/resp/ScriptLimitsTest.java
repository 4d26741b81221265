package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.DistCacheNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import java.util.stream.Stream;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Hostile scripts against a real node with an 8 MiB script memory limit: each is stopped with an
 * error that names the limit it hit, and the node then serves the next client (a new connection
 * that writes and reads a key, and runs a script).
 */
class ScriptLimitsTest {
  private static final long LIMIT = 8L << 20;
  /**
   * Honest scripts run on a node with a 192 MiB limit: the verdict reads the whole JVM's old
   * generation, which other threads' promotions move too, and in the test suite's shared JVM that
   * passed 8 MiB, and once 64 MiB, while an honest script churned (CI). 192 MiB is still below
   * what the churn allocates (2 million strings, over 300 MB), so the check does run.
   */
  private static final long ROOMY_LIMIT = 192L << 20;
  private static DistCacheNode node;
  private static DistCacheNode roomy;

  @BeforeAll
  static void start() {
    node = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(64L << 20)
        .scriptMemoryBytes(LIMIT)
        .start();
    roomy = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(64L << 20)
        .scriptMemoryBytes(ROOMY_LIMIT)
        .start();
  }

  @AfterAll
  static void stop() {
    node.close();
    roomy.close();
  }

  private static Jedis connection() {
    return connection(node);
  }

  private static Jedis connection(DistCacheNode to) {
    return new Jedis(new HostAndPort("127.0.0.1", to.port()),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(60_000).build());
  }

  static Stream<Arguments> hostileScripts() {
    return Stream.of(
        Arguments.of("return string.rep('x', 2^30)", "exceeds the node's value limit of 16777216 bytes"),
        Arguments.of("return #string.rep('x', 12e6)", "string.rep result of 12000000 bytes exceeds the script memory limit of 8388608 bytes (script-memory)"),
        Arguments.of("return #string.rep('ab', 2^62)", "exceeds the node's value limit"),
        Arguments.of("local s = 'x' for i = 1, 64 do s = s .. s end return #s",
            "the script memory limit of 8388608 bytes (script-memory)"),
        Arguments.of("local s = string.rep('x', 5e6) return #(s .. s)",
            "string concatenation of 10000000 bytes exceeds the script memory limit of 8388608 bytes"),
        Arguments.of("local t = {} for i = 1, 1e9 do t[i] = i end return #t",
            "script stopped: it used more than the script memory limit of 8388608 bytes (script-memory)"),
        Arguments.of("local t = {} for i = 1, 1e9 do t[#t + 1] = 'k' .. i end return #t",
            "script stopped: it used more than the script memory limit of 8388608 bytes"),
        Arguments.of("local s = string.rep('x', 1e6) local t = {} for i = 1, 1e6 do t[i] = s .. i end return #t",
            "script stopped: it used more than the script memory limit of 8388608 bytes"),
        // pcall cannot swallow the stop: the script is stopped again at its next instruction
        Arguments.of("local t = {} local n = 0 while true do local ok = pcall(function() for i = 1, 1e9 do t[#t + 1] = i end end) "
            + "n = n + 1 end", "script stopped: it used more than the script memory limit"),
        Arguments.of("local t = {} local s = string.rep('x', 1e5) for i = 1, 200 do t[i] = s end return #table.concat(t)",
            "table.concat result of"),
        Arguments.of("return #string.gsub(string.rep('x', 1e6), '', string.rep('y', 100))",
            "string.gsub result of 101000100 bytes exceeds the script memory limit of 8388608 bytes"),
        Arguments.of("local big = string.rep('y', 1000) return #string.gsub(string.rep('x', 1e6), '', function() return big end)",
            "script stopped: it used more than the script memory limit"),
        Arguments.of("local big = string.rep('y', 1000) return #string.gsub(string.rep('x', 1e6), '.', {x = big})",
            "script stopped: it used more than the script memory limit"),
        // refused as the result passes 8 MiB, or stopped by the memory check made on the way there
        Arguments.of("local s = string.rep('x', 5e6) return #string.format('%s%s', s, s)",
            "the script memory limit of 8388608 bytes"),
        Arguments.of("return #string.format('%q', string.rep('\\0', 3e6))",
            "string.format result of 12000002 bytes exceeds the script memory limit"),
        Arguments.of("return select('#', unpack({}, 1, 1e8))", "too many results to unpack"),
        Arguments.of("return select('#', string.byte(string.rep('x', 1e5), 1, -1))", "string slice too long"),
        Arguments.of("local s = string.rep('x', 1e6) local t = {} for i = 1, 100 do t[i] = s end return t",
            "its reply exceeds the node's limit of 33554432 bytes"));
  }

  /**
   * Deep recursion, on the 64 MiB node: a thousand frames allocate megabytes, and on the 8 MiB
   * node the memory verdict (which other threads' promotions move too) could stop them before
   * the depth limit did (CI).
   */
  static Stream<Arguments> deepScripts() {
    return Stream.of(
        Arguments.of("local function f() return 1 + f() end return f()",
            "stack overflow (Lua calls nested more than 1000 deep)"),
        Arguments.of("local function f() local ok, e = pcall(f) if not ok then error(e, 0) end return 1 end return f()", "stack overflow"),
        Arguments.of("local mt = {} mt.__index = function(t, k) return setmetatable({}, mt)[k] end "
            + "return setmetatable({}, mt).x", "stack overflow"));
  }

  @ParameterizedTest
  @MethodSource("deepScripts")
  void deepScript_stoppedAtTheDepthLimit_nodeServesTheNextClient(String script, String error) {
    assertStoppedThenServes(roomy, script, error);
  }

  @ParameterizedTest
  @MethodSource("hostileScripts")
  void hostileScript_stoppedWithTheLimitNamed_nodeServesTheNextClient(String script, String error) {
    assertStoppedThenServes(node, script, error);
  }

  /** {@code script} fails with {@code error} on {@code on}; then the attacker and a new client are served. */
  private static void assertStoppedThenServes(DistCacheNode on, String script, String error) {
    try (Jedis attacker = connection(on)) {
      String message;
      try {
        message = "no error, reply " + attacker.eval(script, 0);
      } catch (JedisDataException e) {
        message = e.getMessage();
      }
      assertThat(message).contains(error);
      assertThat(attacker.ping()).isEqualTo("PONG"); // the attacker's own connection stays usable
    }
    try (Jedis next = connection(on)) {
      assertThat(next.set("after", "ok")).isEqualTo("OK");
      assertThat(next.get("after")).isEqualTo("ok");
      assertThat(next.eval("return redis.call('GET', KEYS[1])", 1, "after")).isEqualTo("ok");
      assertThat(next.eval("local t = {} for i = 1, 1000 do t[i] = i end return #t", 0)).isEqualTo(1000L);
    }
  }

  @Test
  void configGet_scriptMemory_theLimit() {
    try (Jedis jedis = connection()) {
      assertThat(jedis.configGet("script-memory")).containsEntry("script-memory", Long.toString(LIMIT));
    }
  }

  @Test
  void honestChurn_manyShortLivedStrings_notStopped() {
    // Allocates far more than the limit in total (hundreds of MB), but keeps almost none of it.
    try (Jedis jedis = connection(roomy)) {
      Object n = jedis.eval("local n = 0 for i = 1, 2e6 do local s = 'key:' .. i .. ':' .. string.rep('v', 32) "
          + "n = n + #s end return n", 0);
      assertThat((Long) n).isGreaterThan(2_000_000L * 32);
    }
  }

  @Test
  void honestRecursion_belowTheDepth_runs() {
    try (Jedis jedis = connection(roomy)) {
      assertThat(jedis.eval("local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(900)", 0))
          .isEqualTo(900L);
      assertThat(jedis.eval("local function f(n) if n == 0 then return 0 end return f(n - 1) end return f(1e6)", 0))
          .isEqualTo(0L); // tail calls do not nest
      assertThat(jedis.eval("return #string.rep('x', 1e6) + #table.concat({'a', 'b'}) "
          + "+ select('#', unpack({1, 2, 3})) + #string.gsub('hello world', 'o', '0')", 0))
          .isEqualTo(1_000_000L + 2 + 3 + 11);
      assertThat(jedis.eval("return #string.rep('', 2^40)", 0)).isEqualTo(0L);
    }
  }
}
