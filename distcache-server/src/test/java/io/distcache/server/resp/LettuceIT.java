package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.ExpireArgs;
import io.lettuce.core.GetExArgs;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.ProtocolVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every supported command through Lettuce, sync and async, over RESP2 and RESP3 (Lettuce's HELLO 3 default). */
class LettuceIT {
  private static RespTestServer server;
  private static RedisClient client;

  @BeforeAll
  static void start() throws InterruptedException {
    server = new RespTestServer();
    RedisURI uri = RedisURI.create("127.0.0.1", server.port());
    uri.setTimeout(Duration.ofSeconds(10));
    client = RedisClient.create(uri);
  }

  @AfterAll
  static void stop() {
    client.shutdown(0, 5, TimeUnit.SECONDS);
    server.close();
  }

  static Stream<ProtocolVersion> protocols() {
    return Stream.of(ProtocolVersion.RESP2, ProtocolVersion.RESP3);
  }

  private static StatefulRedisConnection<String, String> connect(ProtocolVersion protocol) {
    client.setOptions(ClientOptions.builder().protocolVersion(protocol).build());
    return client.connect();
  }

  @ParameterizedTest
  @MethodSource("protocols")
  void sync_everyCommand(ProtocolVersion protocol) {
    try (StatefulRedisConnection<String, String> c = connect(protocol)) {
      RedisCommands<String, String> r = c.sync();
      r.flushall();
      // connection and server
      assertThat(r.ping()).isEqualTo("PONG");
      assertThat(r.echo("hi")).isEqualTo("hi");
      assertThat(r.select(0)).isEqualTo("OK");
      assertThat(r.clientSetname("lettuce")).isEqualTo("OK");
      assertThat(r.clientGetname()).isEqualTo("lettuce");
      assertThat(r.clientId()).isPositive();
      assertThat(r.clientInfo()).contains("name=lettuce").contains("resp=" + (protocol == ProtocolVersion.RESP3 ? 3 : 2));
      assertThat(r.clientList()).contains("name=lettuce");
      assertThat(r.commandCount()).isPositive();
      assertThat(r.commandInfo("get", "set")).hasSize(2);
      assertThat(r.configGet("maxmemory-policy")).containsEntry("maxmemory-policy", "allkeys-lru");
      assertThat(r.info("stats")).contains("keyspace_hits:");
      assertThat(r.time()).hasSize(2);
      assertThatThrownBy(() -> r.auth("pw")).isInstanceOf(RedisCommandExecutionException.class)
          .hasMessageStartingWith("ERR AUTH <password> called without any password");
      // strings
      assertThat(r.set("k", "v")).isEqualTo("OK");
      assertThat(r.get("k")).isEqualTo("v");
      assertThat(r.get("missing")).isNull();
      assertThat(r.set("k", "w", SetArgs.Builder.nx())).isNull();
      assertThat(r.set("k", "w", SetArgs.Builder.xx().ex(100))).isEqualTo("OK");
      assertThat(r.ttl("k")).isEqualTo(100);
      assertThat(r.set("k", "x", SetArgs.Builder.keepttl())).isEqualTo("OK");
      assertThat(r.setGet("k", "y")).isEqualTo("x");
      assertThat(r.setnx("n", "1")).isTrue();
      assertThat(r.setex("e", 10, "v")).isEqualTo("OK");
      assertThat(r.psetex("p", 10_000, "v")).isEqualTo("OK");
      assertThat(r.getset("n", "2")).isEqualTo("1");
      assertThat(r.getdel("n")).isEqualTo("2");
      assertThat(r.getex("e", GetExArgs.Builder.persist())).isEqualTo("v");
      assertThat(r.getex("e", GetExArgs.Builder.px(20_000))).isEqualTo("v");
      assertThat(r.mset(java.util.Map.of("a", "1", "b", "2"))).isEqualTo("OK");
      assertThat(r.mget("a", "b", "c")).containsExactly(KeyValue.just("a", "1"), KeyValue.just("b", "2"), KeyValue.empty("c"));
      assertThat(r.msetnx(java.util.Map.of("a", "x", "z", "y"))).isFalse();
      assertThat(r.incr("ctr")).isEqualTo(1);
      assertThat(r.incrby("ctr", 9)).isEqualTo(10);
      assertThat(r.decr("ctr")).isEqualTo(9);
      assertThat(r.decrby("ctr", 4)).isEqualTo(5);
      assertThat(r.incrbyfloat("f", 2.5)).isEqualTo(2.5);
      assertThat(r.append("s", "Hello")).isEqualTo(5);
      assertThat(r.strlen("s")).isEqualTo(5);
      assertThat(r.getrange("s", 0, 1)).isEqualTo("He");
      assertThat(r.setrange("s", 5, "!")).isEqualTo(6);
      assertThatThrownBy(() -> r.incr("s")).isInstanceOf(RedisCommandExecutionException.class)
          .hasMessage("ERR value is not an integer or out of range");
      // keys
      assertThat(r.exists("a", "b", "nope")).isEqualTo(2);
      assertThat(r.type("a")).isEqualTo("string");
      assertThat(r.expire("a", 100)).isTrue();
      assertThat(r.expire("a", 200, ExpireArgs.Builder.lt())).isFalse();
      assertThat(r.pexpire("a", 5000)).isTrue();
      assertThat(r.pttl("a")).isBetween(4000L, 5000L);
      long at = System.currentTimeMillis() / 1000 + 300;
      assertThat(r.expireat("b", at)).isTrue();
      assertThat(r.expiretime("b")).isEqualTo(at);
      assertThat(r.pexpireat("b", at * 1000 + 7)).isTrue();
      assertThat(r.pexpiretime("b")).isEqualTo(at * 1000 + 7);
      assertThat(r.persist("b")).isTrue();
      assertThat(r.ttl("b")).isEqualTo(-1);
      assertThat(r.dbsize()).isEqualTo(8);
      assertThat(r.randomkey()).isNotNull();
      assertThat(r.keys("[ab]")).containsExactlyInAnyOrder("a", "b");
      List<String> scanned = new ArrayList<>();
      KeyScanCursor<String> cursor = r.scan(ScanArgs.Builder.limit(3));
      scanned.addAll(cursor.getKeys());
      while (!cursor.isFinished()) {
        cursor = r.scan(cursor, ScanArgs.Builder.limit(3));
        scanned.addAll(cursor.getKeys());
      }
      assertThat(scanned).doesNotHaveDuplicates().hasSize(8);
      assertThat(r.del("a", "b")).isEqualTo(2);
      assertThat(r.unlink("s")).isEqualTo(1);
      assertThat(r.flushdb()).isEqualTo("OK");
      assertThat(r.dbsize()).isZero();
    }
  }

  @ParameterizedTest
  @MethodSource("protocols")
  void async_manyCommandsInFlight_allAnsweredInOrder(ProtocolVersion protocol) throws Exception {
    try (StatefulRedisConnection<String, String> c = connect(protocol)) {
      c.sync().flushall();
      RedisAsyncCommands<String, String> a = c.async();
      c.setAutoFlushCommands(false);
      List<RedisFuture<String>> gets = new ArrayList<>();
      List<RedisFuture<Long>> incrs = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        a.set("async:" + i, "v" + i);
        gets.add(a.get("async:" + i));
        incrs.add(a.incr("async:counter"));
      }
      c.flushCommands();
      for (int i = 0; i < 2000; i++) {
        assertThat(gets.get(i).get(10, TimeUnit.SECONDS)).isEqualTo("v" + i);
        assertThat(incrs.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(i + 1);
      }
      c.setAutoFlushCommands(true);
      assertThat(a.getex("async:1", GetExArgs.Builder.ex(60)).get(10, TimeUnit.SECONDS)).isEqualTo("v1");
      assertThat(a.ttl("async:1").get(10, TimeUnit.SECONDS)).isEqualTo(60);
      assertThat(a.del("async:1", "async:2").get(10, TimeUnit.SECONDS)).isEqualTo(2);
    }
  }

  @Test
  void scanCursor_continuesFromServerCursor() {
    try (StatefulRedisConnection<String, String> c = connect(ProtocolVersion.RESP3)) {
      RedisCommands<String, String> r = c.sync();
      r.flushall();
      for (int i = 0; i < 40; i++) {
        r.set("sc:" + i, "v");
      }
      List<String> keys = new ArrayList<>();
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<String> page = r.scan(cursor, ScanArgs.Builder.matches("sc:*").limit(10));
        keys.addAll(page.getKeys());
        cursor = page;
      } while (!cursor.isFinished());
      assertThat(keys).doesNotHaveDuplicates().hasSize(40);
    }
  }
}
