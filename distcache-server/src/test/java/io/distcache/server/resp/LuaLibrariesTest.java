package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * cjson, cmsgpack, struct and bit, and Lua 5.1's numbers, string.format and errors (where the node
 * runs LuaJ) against Redis 7.0.15: each script of lua-libraries-redis7.tsv (encodings, decodings,
 * edge cases, error texts and hostile input) and of lua-base-redis7.tsv is run on a real node
 * through Jedis and its reply compared with the one Redis gave to the same script. The scripts of
 * more than one line, whose errors name lines, are below with Redis 7.0.15's replies written in.
 */
class LuaLibrariesTest {
  private static RespTestServer server;

  @BeforeAll
  static void start() {
    server = new RespTestServer();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static Jedis connection() {
    return new Jedis(new HostAndPort("127.0.0.1", server.port()),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(30_000).build());
  }

  static List<Arguments> redisReplies() throws IOException {
    return recorded("/lua-libraries-redis7.tsv");
  }

  static List<Arguments> redisBaseReplies() throws IOException {
    return recorded("/lua-base-redis7.tsv");
  }

  /** The scripts and Redis's replies of a recorded file (src/test/tools/record-redis-replies.py writes them). */
  private static List<Arguments> recorded(String resource) throws IOException {
    List<Arguments> cases = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        LuaLibrariesTest.class.getResourceAsStream(resource), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        int tab = line.lastIndexOf('\t');
        cases.add(Arguments.of(line.substring(0, tab), line.substring(tab + 1)));
      }
    }
    return cases;
  }

  /** The reply in the file's notation. */
  private static String canon(Object reply) {
    if (reply == null) {
      return "nil";
    }
    if (reply instanceof Long n) {
      return "i:" + n;
    }
    if (reply instanceof byte[] b) {
      return "b:" + HexFormat.of().formatHex(b);
    }
    if (reply instanceof List<?> list) {
      return list.stream().map(LuaLibrariesTest::canon).collect(Collectors.joining(",", "[", "]"));
    }
    if (reply instanceof JedisDataException e) {
      return "e:" + e.getMessage();
    }
    return "s:" + reply;
  }

  @ParameterizedTest
  @MethodSource("redisReplies")
  void script_repliesAsRedis7(String script, String redisReply) {
    try (Jedis jedis = connection()) {
      assertThat(eval(jedis, script)).isEqualTo(redisReply);
    }
  }

  @ParameterizedTest
  @MethodSource("redisBaseReplies")
  void baseScript_repliesAsRedis7(String script, String redisReply) {
    assertReply(script, redisReply);
  }

  /** Redis 7.0.15's reply to {@code script} (in the files' notation), compared with the node's. */
  private static void assertReply(String script, String redisReply) {
    try (Jedis jedis = connection()) {
      assertThat(eval(jedis, script)).isEqualTo(redisReply);
    }
  }

  @Test
  void tailCalledLibraryError_namesTheLineOfTheFunctionThatCalledIt() {
    assertReply("local function f()\n  return string.format('%y', 1)\nend\nlocal x = f()\nreturn x",
        "e:ERR user_script:2: invalid option '%y' to 'format' script: c6d03469a9640105626a926d2188a62f14be84f7,"
            + " on @user_script:2.");
    assertReply("local function f()\n  return redis.call('hget', 'k', 'f')\nend\nredis.call('set', 'k', 'v')\n"
            + "local x = f()\nreturn x",
        "e:WRONGTYPE Operation against a key holding the wrong kind of value script:"
            + " 42d030a3f5a53698b5e7402d5c501b35bf396c44, on @user_script:2.");
  }

  @Test
  void errorLevel_positionsTheMessageAtThatLevel_replyNamesWhereErrorWasCalled() {
    assertReply("local function g() error('deep', 2) end\nlocal function f()\n  g()\nend\nf()",
        "e:ERR user_script:3: deep script: 0a62becd3662a35863d7bfb32ee6394e82f36240, on @user_script:1.");
    assertReply("local x = 1\nerror('x', 0)",
        "e:ERR x script: c34359f423750959bb74f53f372935548d35940e, on @user_script:2.");
  }

  @Test
  void pcall_returnsTheLua51Message_laterErrorsNameTheirOwnLine() {
    assertReply("local function f()\n  error('boom')\nend\nlocal ok, e = pcall(f)\nreturn e",
        "b:" + HexFormat.of().formatHex("user_script:2: boom".getBytes(StandardCharsets.UTF_8)));
    assertReply("local x = 1\nredis.call('set', 'k', 'v')\nlocal ok, e = pcall(redis.call, 'hget', 'k', 'f')\n"
            + "return redis.call('hget', 'k', 'f')",
        "e:WRONGTYPE Operation against a key holding the wrong kind of value script:"
            + " 2092de7c589a1c40ed41f4b264714af3bd2bdab4, on @user_script:4.");
  }

  /** EVAL script 0 (after a FLUSHALL, as the recorder ran it): the reply, or the error, in the file's notation. */
  private static String eval(Jedis jedis, String script) {
    jedis.flushAll();
    Object reply;
    try {
      reply = jedis.eval(script.getBytes(StandardCharsets.UTF_8), 0);
    } catch (JedisDataException e) {
      reply = e;
    }
    return canon(reply);
  }

  @Test
  void cmsgpack_nestedPastTheDepth_refusedWithoutOverflowingTheStack() {
    // Redis's C decoder runs out of Lua stack here ("stack overflow (in function
    // mp_decode_to_lua_array)"); this one stops at 1,000 levels with its own text.
    try (Jedis jedis = connection()) {
      String message = null;
      try {
        jedis.eval("return cmsgpack.unpack(string.rep('\\145', 100000) .. '\\001')", 0);
      } catch (JedisDataException e) {
        message = e.getMessage();
      }
      assertThat(message).startsWith("ERR user_script:1: Bad data format in input. (nested more than 1000 levels)");
      assertThat(jedis.eval("return #cmsgpack.pack(cmsgpack.unpack(string.rep('\\145', 999) .. '\\001'))", 0))
          .isEqualTo(17L); // 16 levels packed, then nil
    }
  }

  @Test
  void libraries_readOnly() {
    try (Jedis jedis = connection()) {
      for (String lib : new String[] {"cjson", "cmsgpack", "struct"}) {
        String message = null;
        try {
          jedis.eval(lib + ".encode = nil return 1", 0);
        } catch (JedisDataException e) {
          message = e.getMessage();
        }
        assertThat(message).as(lib).contains("Attempt to modify a readonly table");
      }
    }
  }
}
