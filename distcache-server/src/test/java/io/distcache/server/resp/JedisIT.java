package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.args.ExpiryOption;
import redis.clients.jedis.args.FlushMode;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.GetExParams;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;

/** Every supported command through Jedis, over RESP2 and RESP3, against a real node endpoint. */
class JedisIT {
  private static RespTestServer server;
  private Jedis jedis;

  @BeforeAll
  static void start() throws InterruptedException {
    server = new RespTestServer();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void connect() {
    jedis = new Jedis(new HostAndPort("127.0.0.1", server.port()), DefaultJedisClientConfig.builder().build());
    jedis.flushAll();
  }

  @AfterEach
  void disconnect() {
    jedis.close();
  }

  private static String str(Object reply) {
    return reply instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(reply);
  }

  @Test
  void connectionCommands() {
    assertThat(jedis.ping()).isEqualTo("PONG");
    assertThat(jedis.ping("hi")).isEqualTo("hi");
    assertThat(jedis.echo("x")).isEqualTo("x");
    assertThat(jedis.select(0)).isEqualTo("OK");
    assertThatThrownBy(() -> jedis.select(3)).isInstanceOf(JedisDataException.class)
        .hasMessage("ERR DB index is out of range");
    assertThatThrownBy(() -> jedis.auth("pw")).isInstanceOf(JedisDataException.class)
        .hasMessageStartingWith("ERR AUTH <password> called without any password configured");
    assertThat(jedis.auth("default", "pw")).isEqualTo("OK");
    assertThat(jedis.clientSetname("me")).isEqualTo("OK");
    assertThat(str(jedis.sendCommand(Protocol.Command.CLIENT, "GETNAME"))).isEqualTo("me");
    assertThat(jedis.clientId()).isPositive();
    assertThat(str(jedis.sendCommand(Protocol.Command.CLIENT, "INFO"))).contains("name=me");
    assertThat(str(jedis.sendCommand(Protocol.Command.CLIENT, "LIST"))).contains("name=me");
    assertThat(jedis.time()).hasSize(2);
    assertThat(str(jedis.sendCommand(Protocol.Command.RESET))).isEqualTo("RESET");
    Object hello = jedis.sendCommand(Protocol.Command.HELLO, "2");
    assertThat(hello).asList().hasSize(14);
  }

  @Test
  void serverCommands() {
    jedis.set("a", "1");
    assertThat(jedis.dbSize()).isEqualTo(1);
    assertThat(jedis.randomKey()).isEqualTo("a");
    assertThat(jedis.info("keyspace")).contains("db0:keys=1,expires=0,avg_ttl=0");
    assertThat(jedis.info()).contains("redis_version:").contains("total_commands_processed:");
    assertThat(jedis.configGet("maxmemory*")).containsKeys("maxmemory", "maxmemory-policy");
    assertThat((Long) jedis.sendCommand(Protocol.Command.COMMAND, "COUNT")).isPositive();
    assertThat(jedis.sendCommand(Protocol.Command.COMMAND, "INFO", "get")).asList().hasSize(1);
    assertThat(jedis.sendCommand(Protocol.Command.COMMAND, "DOCS", "get")).asList().hasSize(2);
    assertThat(jedis.flushDB(FlushMode.ASYNC)).isEqualTo("OK");
    assertThat(jedis.flushAll(FlushMode.SYNC)).isEqualTo("OK");
    assertThat(jedis.dbSize()).isZero();
  }

  @Test
  void stringCommands() {
    assertThat(jedis.set("k", "v")).isEqualTo("OK");
    assertThat(jedis.get("k")).isEqualTo("v");
    assertThat(jedis.set("k", "w", SetParams.setParams().nx())).isNull();
    assertThat(jedis.set("k", "w", SetParams.setParams().xx().ex(100))).isEqualTo("OK");
    assertThat(jedis.ttl("k")).isEqualTo(100);
    assertThat(jedis.set("k", "x", SetParams.setParams().keepttl())).isEqualTo("OK");
    assertThat(jedis.ttl("k")).isEqualTo(100);
    assertThat(jedis.set("k", "y", SetParams.setParams().px(5000))).isEqualTo("OK");
    assertThat(jedis.pttl("k")).isBetween(4000L, 5000L);
    long now = System.currentTimeMillis();
    assertThat(jedis.set("k", "z", SetParams.setParams().pxAt(now + 60_000))).isEqualTo("OK");
    assertThat(jedis.set("k", "z", SetParams.setParams().exAt(now / 1000 + 60))).isEqualTo("OK");
    assertThat(jedis.setGet("k", "v2")).isEqualTo("z");
    assertThat(jedis.setnx("n", "1")).isEqualTo(1);
    assertThat(jedis.setnx("n", "1")).isZero();
    assertThat(jedis.setex("e", 10, "v")).isEqualTo("OK");
    assertThat(jedis.psetex("p", 10_000, "v")).isEqualTo("OK");
    assertThat(jedis.getSet("n", "2")).isEqualTo("1");
    assertThat(jedis.getDel("n")).isEqualTo("2");
    assertThat(jedis.getEx("e", GetExParams.getExParams().persist())).isEqualTo("v");
    assertThat(jedis.ttl("e")).isEqualTo(-1);
    assertThat(jedis.getEx("e", GetExParams.getExParams().ex(30))).isEqualTo("v");
    assertThat(jedis.ttl("e")).isEqualTo(30);
    assertThat(jedis.mset("a", "1", "b", "2")).isEqualTo("OK");
    assertThat(jedis.mget("a", "b", "c")).containsExactly("1", "2", null);
    assertThat(jedis.msetnx("a", "9", "c", "3")).isZero();
    assertThat(jedis.incr("ctr")).isEqualTo(1);
    assertThat(jedis.incrBy("ctr", 10)).isEqualTo(11);
    assertThat(jedis.decr("ctr")).isEqualTo(10);
    assertThat(jedis.decrBy("ctr", 4)).isEqualTo(6);
    assertThat(jedis.incrByFloat("f", 1.5)).isEqualTo(1.5);
    assertThatThrownBy(() -> jedis.incr("k")).isInstanceOf(JedisDataException.class)
        .hasMessage("ERR value is not an integer or out of range");
    assertThat(jedis.append("s", "Hello")).isEqualTo(5);
    assertThat(jedis.strlen("s")).isEqualTo(5);
    assertThat(jedis.getrange("s", 1, 3)).isEqualTo("ell");
    assertThat(jedis.setrange("s", 5, " World")).isEqualTo(11);
    assertThat(jedis.get("s")).isEqualTo("Hello World");
  }

  @Test
  void keyCommands() {
    jedis.mset("a", "1", "b", "2", "c", "3");
    assertThat(jedis.exists("a")).isTrue();
    assertThat(jedis.exists("a", "b", "zz")).isEqualTo(2);
    assertThat(jedis.type("a")).isEqualTo("string");
    assertThat(jedis.type("zz")).isEqualTo("none");
    assertThat(jedis.expire("a", 100)).isEqualTo(1);
    assertThat(jedis.expire("a", 50, ExpiryOption.GT)).isZero();
    assertThat(jedis.pexpire("a", 50_000, ExpiryOption.LT)).isEqualTo(1);
    long at = System.currentTimeMillis() / 1000 + 500;
    assertThat(jedis.expireAt("b", at)).isEqualTo(1);
    assertThat(jedis.expireTime("b")).isEqualTo(at);
    assertThat(jedis.pexpireAt("b", at * 1000, ExpiryOption.XX)).isEqualTo(1);
    assertThat(jedis.pexpireTime("b")).isEqualTo(at * 1000);
    assertThat(jedis.persist("b")).isEqualTo(1);
    assertThat(jedis.ttl("b")).isEqualTo(-1);
    assertThat(jedis.ttl("zz")).isEqualTo(-2);
    assertThat(jedis.del("a")).isEqualTo(1);
    assertThat(jedis.unlink("b", "c", "zz")).isEqualTo(2);
    assertThat(jedis.dbSize()).isZero();
  }

  @Test
  void scanAndKeys() {
    for (int i = 0; i < 50; i++) {
      jedis.set("item:" + i, "v");
    }
    jedis.set("other", "v");
    List<String> found = new ArrayList<>();
    String cursor = ScanParams.SCAN_POINTER_START;
    do {
      ScanResult<String> page = jedis.scan(cursor, new ScanParams().match("item:*").count(20));
      found.addAll(page.getResult());
      cursor = page.getCursor();
    } while (!cursor.equals("0"));
    assertThat(found).doesNotHaveDuplicates().hasSize(50);
    assertThat(jedis.keys("item:4?")).hasSize(10);
    assertThat(jedis.keys("*")).hasSize(51);
  }

  @Test
  void pipeline_manyCommands_repliesInOrder() {
    Pipeline p = jedis.pipelined();
    List<redis.clients.jedis.Response<String>> gets = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      p.set("p" + i, "v" + i);
      gets.add(p.get("p" + i));
    }
    p.sync();
    for (int i = 0; i < 1000; i++) {
      assertThat(gets.get(i).get()).isEqualTo("v" + i);
    }
  }

  @Test
  void resp3_connection_typedReplies() {
    try (Jedis j3 = new Jedis(new HostAndPort("127.0.0.1", server.port()),
        DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).clientName("r3").build())) {
      assertThat(j3.set("k", "v")).isEqualTo("OK");
      assertThat(j3.get("k")).isEqualTo("v");
      assertThat(j3.get("missing")).isNull();
      assertThat(j3.mget("k", "missing")).containsExactly("v", null);
      Map<String, String> config = j3.configGet("timeout");
      assertThat(config).containsEntry("timeout", "0");
      assertThat(j3.info("server")).contains("redis_version:");
      assertThat(str(j3.sendCommand(Protocol.Command.CLIENT, "GETNAME"))).isEqualTo("r3");
    }
  }
}
