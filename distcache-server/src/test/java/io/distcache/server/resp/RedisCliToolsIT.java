package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stock redis-cli's monitoring modes (--stat, --latency, --bigkeys, --memkeys) and INFO against a node. */
class RedisCliToolsIT {
  private static RespTestServer server;

  @BeforeAll
  static void start() {
    server = new RespTestServer();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @BeforeEach
  void requireTools() {
    RedisTools.require("redis-cli");
    RedisTools.require("timeout");
    RedisTools.require("stdbuf");
    server.store.flush();
  }

  private List<String> base(String... args) {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(server.port())));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private RedisTools.Result cli(String... args) throws Exception {
    RedisTools.Result r = RedisTools.run(null, base(args).toArray(String[]::new));
    assertThat(r.exitCode()).as("redis-cli %s: %s", List.of(args), r.stderr()).isZero();
    return r;
  }

  /** Runs a redis-cli mode that never ends by itself for {@code seconds}, then stops it (exit code 124). */
  private String forSeconds(String seconds, String... args) throws Exception {
    // redis-cli's stdout is a pipe here, so it is block-buffered: line-buffer it, or the kill loses it
    List<String> cmd = new ArrayList<>(List.of("timeout", seconds, "stdbuf", "-oL"));
    cmd.addAll(base(args));
    RedisTools.Result r = RedisTools.run(null, cmd.toArray(String[]::new));
    assertThat(r.exitCode()).as("%s: %s", cmd, r.stderr()).isEqualTo(124);
    return r.out();
  }

  private void fill() throws Exception {
    StringBuilder script = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      script.append("SET key:").append(i).append(' ').append("v".repeat(i + 1)).append('\n');
    }
    script.append("SET big ").append("x".repeat(5000)).append('\n');
    RedisTools.Result r = RedisTools.run(script.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        base().toArray(String[]::new));
    assertThat(r.exitCode()).isZero();
  }

  @Test
  void stat_showsKeysAndRequests() throws Exception {
    fill();
    String out = forSeconds("1.5", "--stat", "-i", "0.2");

    assertThat(out).contains("------- data ------").contains("keys       mem      clients blocked requests");
    Matcher m = Pattern.compile("(?m)^(\\d+)\\s+\\S+\\s+(\\d+)\\s+0\\s+(\\d+) \\(").matcher(out);
    assertThat(m.find()).as(out).isTrue();
    assertThat(m.group(1)).isEqualTo("51");
    assertThat(Integer.parseInt(m.group(2))).isGreaterThanOrEqualTo(1);
  }

  @Test
  void latency_printsMinMaxAvg() throws Exception {
    // Without a terminal, --latency samples for one interval and prints "min max avg samples".
    String out = cli("--latency", "-i", "0.3").out();

    assertThat(out).matches("\\d+ \\d+ \\d+\\.\\d+ \\d+\n");
  }

  @Test
  void bigkeys_findsTheBiggestString() throws Exception {
    fill();
    String out = cli("--bigkeys").out();

    assertThat(out).contains("Biggest string found '\"big\"' has 5000 bytes").contains("51 strings with");
  }

  @Test
  void memkeys_usesMemoryUsage() throws Exception {
    fill();
    String out = cli("--memkeys").out();

    // key "big": 1 + 8 + 3 + 1 + 2 + 3 + 5000 + 11 bytes (cluster/KeyRequests' MEMORY USAGE)
    assertThat(out).contains("Biggest string found '\"big\"' has 5029 bytes");
    assertThat(cli("MEMORY", "USAGE", "big").out()).isEqualTo("5029\n");
    assertThat(cli("MEMORY", "USAGE", "nope").out()).isEqualTo("\n");
  }

  @Test
  void info_sectionsReadByTools() throws Exception {
    cli("SET", "a", "1");
    cli("GET", "a");
    String all = cli("INFO", "all").out();

    assertThat(all).contains("# Commandstats").contains("cmdstat_get:calls=1,usec=")
        .contains("# Latencystats").contains("latency_percentiles_usec_get:p50=")
        .contains("total_net_input_bytes:").contains("instantaneous_ops_per_sec:")
        .contains("used_memory_rss:").contains("# CPU").contains("used_cpu_user:");
    assertThat(cli("TIME").out()).matches("\\d{10}\n\\d{1,6}\n");
  }
}
