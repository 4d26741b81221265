package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stock redis-cli and redis-benchmark against a node endpoint. */
class RedisCliIT {
  private static RespTestServer server;

  @BeforeAll
  static void start() throws InterruptedException {
    server = new RespTestServer();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void requireTools() {
    RedisTools.require("redis-cli");
    server.store.flush();
  }

  private RedisTools.Result cli(byte[] stdin, String... args) throws Exception {
    String[] cmd = new String[args.length + 5];
    cmd[0] = "redis-cli";
    cmd[1] = "-h";
    cmd[2] = "127.0.0.1";
    cmd[3] = "-p";
    cmd[4] = Integer.toString(server.port());
    System.arraycopy(args, 0, cmd, 5, args.length);
    RedisTools.Result r = RedisTools.run(stdin, cmd);
    assertThat(r.exitCode()).as("redis-cli %s: %s", Arrays.toString(args), r.stderr()).isZero();
    return r;
  }

  @Test
  void basicCommands_expectedOutput() throws Exception {
    assertThat(cli(null, "PING").out()).isEqualTo("PONG\n");
    assertThat(cli(null, "SET", "greeting", "hello world").out()).isEqualTo("OK\n");
    assertThat(cli(null, "GET", "greeting").out()).isEqualTo("hello world\n");
    assertThat(cli(null, "INCRBY", "n", "5").out()).isEqualTo("5\n");
    assertThat(cli(null, "EXPIRE", "greeting", "100").out()).isEqualTo("1\n");
    assertThat(cli(null, "TTL", "greeting").out()).isEqualTo("100\n");
    assertThat(cli(null, "MGET", "greeting", "nope").out()).isEqualTo("hello world\n\n");
    assertThat(cli(null, "DBSIZE").out()).isEqualTo("2\n");
    assertThat(cli(null, "GET").out()).startsWith("ERR wrong number of arguments for 'get' command\n");
    assertThat(cli(null, "INFO", "keyspace").out()).containsPattern("db0:keys=2,expires=1,avg_ttl=(99\\d{3}|100000),subexpiry=0\r?\n");
  }

  @Test
  void stdinValueWithNulBytes_storedExactly() throws Exception {
    byte[] value = {'a', 0, 'b', '\r', '\n', 0, (byte) 0xFF, 'z'};
    assertThat(cli(value, "-x", "SET", "bin").out()).isEqualTo("OK\n");
    assertThat(server.store.get("bin".getBytes(StandardCharsets.UTF_8))).isEqualTo(value);
    byte[] got = cli(null, "--raw", "GET", "bin").stdout();
    assertThat(Arrays.copyOf(got, got.length - 1)).isEqualTo(value);
    assertThat(cli(null, "STRLEN", "bin").out()).isEqualTo("8\n");
  }

  @Test
  void oneMebibyteValue_roundTrips() throws Exception {
    byte[] value = new byte[1024 * 1024];
    new Random(42).nextBytes(value);
    assertThat(cli(value, "-x", "SET", "big").out()).isEqualTo("OK\n");
    assertThat(cli(null, "STRLEN", "big").out()).isEqualTo("1048576\n");
    byte[] got = cli(null, "--raw", "GET", "big").stdout();
    assertThat(Arrays.copyOf(got, got.length - 1)).isEqualTo(value);
  }

  @Test
  void redisBenchmark_pipelinedSetGet_noErrors() throws Exception {
    RedisTools.require("redis-benchmark");
    RedisTools.Result r = RedisTools.run(null, "redis-benchmark", "-h", "127.0.0.1", "-p",
        Integer.toString(server.port()), "-t", "set,get", "-P", "16", "-n", "20000", "-q");
    String out = r.out();
    assertThat(r.exitCode()).as("stderr: %s, stdout: %s", r.stderr(), out).isZero();
    assertThat(out).contains("SET: ").contains("GET: ").contains("requests per second");
    assertThat(out + r.stderr()).doesNotContainIgnoringCase("error");
  }
}
