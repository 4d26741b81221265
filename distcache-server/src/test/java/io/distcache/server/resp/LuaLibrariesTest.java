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
 * cjson, cmsgpack, struct and bit against Redis 7.0.15: each script of
 * lua-libraries-redis7.tsv (encodings, decodings, edge cases, error texts and hostile input) is run
 * on a real node through Jedis and its reply compared with the one Redis gave to the same script.
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
    List<Arguments> cases = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(
        LuaLibrariesTest.class.getResourceAsStream("/lua-libraries-redis7.tsv"), StandardCharsets.UTF_8))) {
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
      Object reply;
      try {
        reply = jedis.eval(script.getBytes(StandardCharsets.UTF_8), 0);
      } catch (JedisDataException e) {
        reply = e;
      }
      assertThat(canon(reply)).isEqualTo(redisReply);
    }
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
