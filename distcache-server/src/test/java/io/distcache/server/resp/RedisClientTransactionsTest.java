package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.AbstractTransaction;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

/** MULTI/EXEC/WATCH through Jedis and Lettuce (sync and async) in their default modes, against a real node. */
class RedisClientTransactionsTest {
  private static RespTestServer server;
  private static RedisClient lettuce;
  private Jedis jedis;
  private Jedis other;
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
    other = new Jedis(new HostAndPort("127.0.0.1", server.port()), DefaultJedisClientConfig.builder().build());
    jedis.flushAll();
    connection = lettuce.connect();
  }

  @AfterEach
  void disconnect() {
    connection.close();
    jedis.close();
    other.close();
  }

  /** INFO clients counts watching clients and watched keys (it said 0 for both); a closed connection's go too. */
  @Test
  void infoClients_countsWatchingClientsAndWatchedKeys() {
    try (RespTestServer own = new RespTestServer();
        Jedis a = new Jedis("127.0.0.1", own.port());
        Jedis b = new Jedis("127.0.0.1", own.port());
        Jedis info = new Jedis("127.0.0.1", own.port())) {
      a.watch("k1", "k2");
      a.watch("k3");
      b.watch("k1");
      assertThat(info.info("clients")).contains("watching_clients:2\r\n", "total_watched_keys:4\r\n");
      a.unwatch();
      assertThat(info.info("clients")).contains("watching_clients:1\r\n", "total_watched_keys:1\r\n");
      b.close();
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(info.info("clients")).contains("watching_clients:0\r\n", "total_watched_keys:0\r\n"));
      a.watch("k9");
      Transaction t = a.multi();
      t.set("k9", "v");
      t.exec();
      assertThat(info.info("clients")).as("EXEC unwatches").contains("watching_clients:0\r\n");
    }
  }

  @Test
  void jedis_multiExec() {
    Transaction t = jedis.multi();
    Response<String> set = t.set("a", "1");
    Response<Long> incr = t.incr("a");
    Response<String> get = t.get("a");
    assertThat(t.exec()).containsExactly("OK", 2L, "2");
    assertThat(set.get()).isEqualTo("OK");
    assertThat(incr.get()).isEqualTo(2L);
    assertThat(get.get()).isEqualTo("2");
  }

  @Test
  void jedis_runtimeErrorInside_onlyThatCommandFails() {
    jedis.set("s", "abc");
    Transaction t = jedis.multi();
    t.incr("s");
    t.set("b", "1");
    List<Object> out = t.exec();
    assertThat(out.get(0)).isInstanceOf(JedisDataException.class);
    assertThat(((JedisDataException) out.get(0)).getMessage()).isEqualTo("ERR value is not an integer or out of range");
    assertThat(out.get(1)).isEqualTo("OK");
    assertThat(jedis.get("b")).isEqualTo("1");
  }

  @Test
  void jedis_queueingError_execAbortAndNothingApplied() {
    Transaction t = jedis.multi();
    t.set("q", "1");
    t.sendCommand(Protocol.Command.GET, new String[0]); // wrong arity: refused while queueing
    assertThatThrownBy(t::exec).isInstanceOf(JedisDataException.class)
        .hasMessage("EXECABORT Transaction discarded because of previous errors.");
    assertThat(jedis.get("q")).isNull();
  }

  @Test
  void jedis_watch_changedKeyMakesExecNull() {
    jedis.set("w", "1");
    jedis.watch("w");
    other.set("w", "2");
    Transaction t = jedis.multi();
    t.set("w", "3");
    assertThat(t.exec()).isNull();
    assertThat(jedis.get("w")).isEqualTo("2");
  }

  @Test
  void jedis_discard() {
    Transaction t = jedis.multi();
    t.set("d", "1");
    assertThat(t.discard()).isEqualTo("OK");
    assertThat(jedis.get("d")).isNull();
  }

  @Test
  void jedisRedisClient_multi() {
    try (redis.clients.jedis.RedisClient pooled = redis.clients.jedis.RedisClient.create("127.0.0.1", server.port())) {
      AbstractTransaction t = pooled.multi();
      t.set("p", "1");
      t.incrBy("p", 4);
      assertThat(t.exec()).containsExactly("OK", 5L);
    }
    Pipeline p = jedis.pipelined();
    Response<String> got = p.get("p");
    p.sync();
    assertThat(got.get()).isEqualTo("5");
  }

  @Test
  void lettuce_sync_multiExecAndWatch() {
    RedisCommands<String, String> sync = connection.sync();
    assertThat(sync.multi()).isEqualTo("OK");
    sync.set("l", "1");
    sync.incr("l");
    TransactionResult r = sync.exec();
    assertThat(r.wasDiscarded()).isFalse();
    assertThat(r.<Object>get(0)).isEqualTo("OK");
    assertThat(r.<Object>get(1)).isEqualTo(2L);

    sync.watch("l");
    other.set("l", "9");
    sync.multi();
    sync.set("l", "x");
    assertThat(sync.exec().wasDiscarded()).isTrue();
    assertThat(sync.get("l")).isEqualTo("9");
  }

  @Test
  void lettuce_async_multiExec() throws Exception {
    RedisAsyncCommands<String, String> async = connection.async();
    async.multi();
    RedisFuture<String> set = async.set("la", "1");
    RedisFuture<Long> incr = async.incrby("la", 10);
    RedisFuture<TransactionResult> exec = async.exec();
    TransactionResult r = exec.get(10, TimeUnit.SECONDS);
    assertThat(r.wasDiscarded()).isFalse();
    assertThat(r.size()).isEqualTo(2);
    assertThat(set.get(10, TimeUnit.SECONDS)).isEqualTo("OK");
    assertThat(incr.get(10, TimeUnit.SECONDS)).isEqualTo(11L);
    assertThat(async.get("la").get(10, TimeUnit.SECONDS)).isEqualTo("11");
  }
}
