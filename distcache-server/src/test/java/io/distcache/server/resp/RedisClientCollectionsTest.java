package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.KeyValue;
import io.lettuce.core.MapScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/** Hash and set commands through Jedis and Lettuce (sync and async) in their default modes, against a real node. */
class RedisClientCollectionsTest {
  private static RespTestServer server;
  private static RedisClient lettuce;
  private Jedis jedis;
  private StatefulRedisConnection<String, String> connection;

  @BeforeAll
  static void start() throws InterruptedException {
    server = new RespTestServer();
    lettuce = RedisClient.create(RedisURI.create("127.0.0.1", server.port()));
  }

  @AfterAll
  static void stop() {
    lettuce.shutdown();
    server.close();
  }

  @BeforeEach
  void connect() {
    jedis = new Jedis(new HostAndPort("127.0.0.1", server.port()), DefaultJedisClientConfig.builder().build());
    jedis.flushAll();
    connection = lettuce.connect();
  }

  @AfterEach
  void disconnect() {
    connection.close();
    jedis.close();
  }

  @Test
  void jedis_hashCalls() {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("name", "ada");
    fields.put("visits", "1");
    assertThat(jedis.hset("user:1", fields)).isEqualTo(2);
    assertThat(jedis.hget("user:1", "name")).isEqualTo("ada");
    assertThat(jedis.hmset("user:1", Map.of("lang", "en"))).isEqualTo("OK");
    assertThat(jedis.hmget("user:1", "name", "missing", "lang")).containsExactly("ada", null, "en");
    assertThat(jedis.hgetAll("user:1")).containsExactlyInAnyOrderEntriesOf(Map.of("name", "ada", "visits", "1", "lang", "en"));
    assertThat(jedis.hincrBy("user:1", "visits", 41)).isEqualTo(42);
    assertThat(jedis.hincrByFloat("user:1", "score", 1.5)).isEqualTo(1.5);
    assertThat(jedis.hsetnx("user:1", "name", "bob")).isZero();
    assertThat(jedis.hexists("user:1", "lang")).isTrue();
    assertThat(jedis.hstrlen("user:1", "name")).isEqualTo(3);
    assertThat(jedis.hlen("user:1")).isEqualTo(4);
    assertThat(jedis.hkeys("user:1")).containsExactlyInAnyOrder("name", "visits", "lang", "score");
    assertThat(jedis.hvals("user:1")).containsExactlyInAnyOrder("ada", "42", "en", "1.5");
    assertThat(jedis.hrandfield("user:1", 2)).hasSize(2);
    assertThat(jedis.hrandfieldWithValues("user:1", -3)).hasSize(3);
    ScanResult<Map.Entry<String, String>> scan = jedis.hscan("user:1", ScanParams.SCAN_POINTER_START,
        new ScanParams().match("n*"));
    assertThat(scan.getCursor()).isEqualTo("0");
    assertThat(scan.getResult()).extracting(Map.Entry::getKey).containsExactly("name");
    assertThat(jedis.type("user:1")).isEqualTo("hash");
    assertThat(jedis.hdel("user:1", "name", "visits", "lang", "score")).isEqualTo(4);
    assertThat(jedis.exists("user:1")).isFalse();
  }

  @Test
  void jedis_wrongTypeAndTransaction() {
    jedis.set("s", "v");
    assertThatThrownBy(() -> jedis.hget("s", "f")).isInstanceOf(JedisDataException.class)
        .hasMessage("WRONGTYPE Operation against a key holding the wrong kind of value");
    Transaction t = jedis.multi();
    Response<Long> added = t.hset("h", "a", "1");
    Response<Long> incremented = t.hincrBy("h", "a", 2);
    Response<Map<String, String>> all = t.hgetAll("h");
    t.exec();
    assertThat(added.get()).isEqualTo(1);
    assertThat(incremented.get()).isEqualTo(3);
    assertThat(all.get()).containsExactlyEntriesOf(Map.of("a", "3"));
  }

  @Test
  void lettuce_syncAndAsync() throws Exception {
    RedisCommands<String, String> sync = connection.sync();
    assertThat(sync.hset("h", Map.of("a", "1", "b", "2"))).isEqualTo(2);
    assertThat(sync.hget("h", "a")).isEqualTo("1");
    assertThat(sync.hmget("h", "a", "x")).containsExactly(KeyValue.just("a", "1"), KeyValue.empty("x"));
    assertThat(sync.hgetall("h")).containsExactlyInAnyOrderEntriesOf(Map.of("a", "1", "b", "2"));
    assertThat(sync.hincrbyfloat("h", "f", 0.25)).isEqualTo(0.25);
    assertThat(sync.hexists("h", "b")).isTrue();
    assertThat(sync.hdel("h", "b")).isEqualTo(1);
    assertThat(sync.hlen("h")).isEqualTo(2);
    MapScanCursor<String, String> cursor = sync.hscan("h", ScanCursor.INITIAL, ScanArgs.Builder.limit(10));
    assertThat(cursor.isFinished()).isTrue();
    assertThat(cursor.getMap()).containsExactlyInAnyOrderEntriesOf(Map.of("a", "1", "f", "0.25"));
    assertThat(sync.type("h")).isEqualTo("hash");
    assertThatThrownBy(() -> sync.get("h")).isInstanceOf(RedisCommandExecutionException.class)
        .hasMessageStartingWith("WRONGTYPE");
    assertThat(connection.async().hincrby("h", "n", 7).get(10, TimeUnit.SECONDS)).isEqualTo(7);
    List<String> keys = connection.async().hkeys("h").get(10, TimeUnit.SECONDS);
    assertThat(keys).containsExactly("a", "f", "n");
  }

  @Test
  void jedis_setCalls() {
    assertThat(jedis.sadd("{s}a", "x", "y", "z")).isEqualTo(3);
    assertThat(jedis.sadd("{s}b", "y", "w")).isEqualTo(2);
    assertThat(jedis.smembers("{s}a")).containsExactlyInAnyOrder("x", "y", "z");
    assertThat(jedis.sismember("{s}a", "x")).isTrue();
    assertThat(jedis.smismember("{s}a", "x", "q")).containsExactly(true, false);
    assertThat(jedis.scard("{s}a")).isEqualTo(3);
    assertThat(jedis.sinter("{s}a", "{s}b")).containsExactly("y");
    assertThat(jedis.sintercard(2, "{s}a", "{s}b")).isEqualTo(1);
    assertThat(jedis.sunion("{s}a", "{s}b")).containsExactlyInAnyOrder("x", "y", "z", "w");
    assertThat(jedis.sdiff("{s}a", "{s}b")).containsExactlyInAnyOrder("x", "z");
    assertThat(jedis.sunionstore("{s}c", "{s}a", "{s}b")).isEqualTo(4);
    assertThat(jedis.smove("{s}c", "{s}b", "x")).isEqualTo(1);
    assertThat(jedis.srandmember("{s}c", -6)).hasSize(6);
    assertThat(jedis.spop("{s}c", 10)).containsExactlyInAnyOrder("y", "z", "w");
    assertThat(jedis.exists("{s}c")).isFalse();
    assertThat(jedis.srem("{s}a", "x", "q")).isEqualTo(1);
    ScanResult<String> scan = jedis.sscan("{s}a", ScanParams.SCAN_POINTER_START);
    assertThat(scan.getResult()).containsExactlyInAnyOrder("y", "z");
    assertThat(jedis.type("{s}a")).isEqualTo("set");
  }

  @Test
  void lettuce_setCalls() throws Exception {
    RedisCommands<String, String> sync = connection.sync();
    assertThat(sync.sadd("s", "a", "b", "c")).isEqualTo(3);
    assertThat(sync.smembers("s")).containsExactlyInAnyOrder("a", "b", "c");
    assertThat(sync.sismember("s", "b")).isTrue();
    assertThat(sync.srandmember("s", 2)).hasSize(2);
    assertThat(sync.spop("s")).isIn("a", "b", "c");
    assertThat(sync.scard("s")).isEqualTo(2);
    assertThat(connection.async().sadd("s", "d").get(10, TimeUnit.SECONDS)).isEqualTo(1);
    assertThatThrownBy(() -> sync.hget("s", "f")).isInstanceOf(RedisCommandExecutionException.class)
        .hasMessageStartingWith("WRONGTYPE");
  }
}
