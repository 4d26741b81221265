package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** INFO sections and fields, CONFIG, SLOWLOG, LATENCY, MONITOR, CLIENT KILL/NO-EVICT/LIST, against a manual clock. */
class ObservabilityCommandsTest {
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespContext context = RespContext.builder(new LocalRouter(new LocalExecutor(store)), store)
      .clock(clock).version("test").build();
  private final RespChannel resp = new RespChannel(context);
  private final List<RespChannel> others = new ArrayList<>();

  @AfterEach
  void tearDown() {
    resp.close();
    others.forEach(RespChannel::close);
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  private RespChannel another() {
    RespChannel c = new RespChannel(context);
    others.add(c);
    return c;
  }

  private static List<String> headers(String info) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("# (\\w+)\r\n").matcher(info);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  // ---- INFO ----

  @Test
  void info_defaultAllEverything_sectionsAsRedisDefinesThem() {
    List<String> defaults = List.of("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
        "Modules", "Errorstats", "Cluster", "Keyspace");
    List<String> all = List.of("Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
        "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace");

    assertThat(headers(send("INFO"))).isEqualTo(defaults);
    assertThat(headers(send("INFO default"))).isEqualTo(defaults);
    assertThat(headers(send("INFO all"))).isEqualTo(all);
    assertThat(headers(send("INFO everything"))).isEqualTo(all);
    assertThat(headers(send("INFO CPU commandstats"))).isEqualTo(List.of("CPU", "Commandstats"));
    assertThat(headers(send("INFO nosuch"))).isEmpty();
  }

  @Test
  void info_stats_memory_clients_fields() {
    send("SET a 1", "GET a", "GET b");
    context.sampleRates();
    String info = send("INFO all");

    for (String field : List.of("total_connections_received:1\r\n", "total_commands_processed:4\r\n", // INFO counts itself, as before
        "instantaneous_ops_per_sec:", "total_net_input_bytes:0\r\n", "total_net_output_bytes:0\r\n",
        "instantaneous_input_kbps:", "instantaneous_output_kbps:", "rejected_connections:0\r\n",
        "keyspace_hits:1\r\n", "keyspace_misses:1\r\n", "expired_keys:0\r\n", "evicted_keys:0\r\n",
        "total_error_replies:0\r\n", "used_memory:", "used_memory_rss:", "mem_fragmentation_ratio:",
        "maxmemory:67108864\r\n", "connected_clients:1\r\n", "blocked_clients:0\r\n", "used_cpu_sys:",
        "used_cpu_user:", "role:master\r\n", "loading:0\r\n", "server_time_usec:1700000000000000\r\n")) {
      assertThat(info).contains(field);
    }
  }

  @Test
  void info_commandstats_errorstats_latencystats() {
    send("SET k v", "SET k w", "GET k", "INCR k", "GET");
    String info = send("INFO commandstats errorstats latencystats");

    // the manual clock does not move, so every command took 0 us
    assertThat(info)
        .contains("cmdstat_set:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n")
        .contains("cmdstat_get:calls=1,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n")
        .contains("cmdstat_incr:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n")
        .contains("errorstat_ERR:count=2\r\n")
        .contains("latency_percentiles_usec_set:p50=1.000,p99=1.000,p99.9=1.000\r\n")
        .doesNotContain("cmdstat_del:");
  }

  @Test
  void configResetstat_zeroesTheCounters() {
    send("SET k v", "GET", "GET k");
    assertThat(send("CONFIG RESETSTAT")).isEqualTo("+OK\r\n");
    String info = send("INFO all");

    assertThat(info).contains("total_commands_processed:1\r\n") // CONFIG RESETSTAT itself... then INFO
        .doesNotContain("cmdstat_set:").doesNotContain("errorstat_ERR");
  }

  // ---- CONFIG ----

  @Test
  void configGet_star_listsEveryParameter() {
    String all = send("CONFIG GET *");
    for (String name : List.of("maxmemory", "maxmemory-policy", "maxclients", "timeout", "bind", "port",
        "slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold", "proto-max-bulk-len",
        "cluster-enabled", "cluster-node-timeout", "max-value", "max-frame", "max-collection-elements", "redirects", "vnodes", "join",
        "probe-interval", "probe-timeout", "suspicion-timeout", "forward-timeout", "http-port", "save", "appendonly")) {
      assertThat(all).contains("\r\n" + name + "\r\n");
    }
    assertThat(send("CONFIG GET slowlog-*")).isEqualTo("*4\r\n$23\r\nslowlog-log-slower-than\r\n$5\r\n10000\r\n"
        + "$15\r\nslowlog-max-len\r\n$3\r\n128\r\n");
  }

  @Test
  void configSet_runtimeParameters_andRefusals() {
    assertThat(send("CONFIG SET slowlog-log-slower-than 5 slowlog-max-len 3 latency-monitor-threshold 7"))
        .isEqualTo("+OK\r\n");
    assertThat(send("CONFIG GET slowlog-log-slower-than slowlog-max-len latency-monitor-threshold"))
        .isEqualTo("*6\r\n$23\r\nslowlog-log-slower-than\r\n$1\r\n5\r\n$15\r\nslowlog-max-len\r\n$1\r\n3\r\n"
            + "$25\r\nlatency-monitor-threshold\r\n$1\r\n7\r\n");
    // atomic: a bad pair means none is applied
    assertThat(send("CONFIG SET slowlog-max-len 9 maxmemory 1"))
        .startsWith("-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - maxmemory 1 is out of range");
    assertThat(send("CONFIG GET slowlog-max-len")).contains("$1\r\n3\r\n");
    assertThat(send("CONFIG SET slowlog-max-len -1")).isEqualTo("-ERR CONFIG SET failed (possibly related to "
        + "argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive\r\n");
    assertThat(send("CONFIG SET slowlog-max-len x")).isEqualTo("-ERR CONFIG SET failed (possibly related to "
        + "argument 'slowlog-max-len') - argument couldn't be parsed into an integer\r\n");
    assertThat(send("CONFIG SET slowlog-max-len 100000000", "CONFIG GET slowlog-max-len"))
        .as("kept at 10,000 entries: each may hold 4.6 KB").isEqualTo("+OK\r\n*2\r\n$15\r\nslowlog-max-len\r\n$5\r\n10000\r\n");
    assertThat(send("CONFIG SET max-frame 5")).contains("restart with --max-frame");
  }

  // ---- SLOWLOG ----

  @Test
  void slowlog_recordsCommandsOverTheThreshold_newestFirst_bounded() {
    send("CONFIG SET slowlog-log-slower-than 0 slowlog-max-len 2", "SLOWLOG RESET");
    send("SET a 1", "GET a");
    String got = send("SLOWLOG GET 1");
    assertThat(got).startsWith("*1\r\n*6\r\n:").endsWith("\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n$8\r\nembedded\r\n$0\r\n\r\n")
        .contains(":1700000000\r\n:0\r\n");
    assertThat(send("SLOWLOG LEN")).isEqualTo(":2\r\n"); // bounded: GET a and SLOWLOG GET
    assertThat(send("SLOWLOG RESET", "SLOWLOG LEN")).isEqualTo("+OK\r\n:1\r\n"); // SLOWLOG RESET itself was slow
    assertThat(send("SLOWLOG GET -2")).isEqualTo("-ERR count should be greater than or equal to -1\r\n");
    send("CONFIG SET slowlog-log-slower-than -1", "SLOWLOG RESET");
    send("SET b 2");
    assertThat(send("SLOWLOG LEN")).isEqualTo(":0\r\n");
  }

  @Test
  void slowlog_longArgumentsAndManyArguments_areCut() {
    send("CONFIG SET slowlog-log-slower-than 0", "SLOWLOG RESET");
    byte[][] args = new byte[40][];
    args[0] = "MSET".getBytes(StandardCharsets.US_ASCII);
    for (int i = 1; i < 40; i++) {
      args[i] = (i == 2 ? "x".repeat(200) : "k" + i).getBytes(StandardCharsets.US_ASCII);
    }
    resp.call(args);
    String got = send("SLOWLOG GET 1");
    assertThat(got).contains("*32\r\n$4\r\nMSET\r\n")
        .contains("x".repeat(128) + "... (72 more bytes)\r\n")
        .contains("... (9 more arguments)\r\n");
  }

  @Test
  void slowlogAndMonitor_redactAuthArguments() {
    RespChannel monitor = another();
    monitor.send("MONITOR");
    send("CONFIG SET slowlog-log-slower-than 0", "SLOWLOG RESET");
    send("AUTH default s3cret");

    assertThat(send("SLOWLOG GET 2")).contains("$4\r\nAUTH\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)\r\n")
        .doesNotContain("s3cret");
    assertThat(monitor.output()).contains("\"AUTH\" \"(redacted)\" \"(redacted)\"").doesNotContain("s3cret");
  }

  // ---- LATENCY ----

  @Test
  void latency_offByDefault_thenRecordsEventsOverTheThreshold() {
    assertThat(send("CONFIG GET latency-monitor-threshold")).contains("$1\r\n0\r\n");
    assertThat(send("LATENCY LATEST")).isEqualTo("*0\r\n");
    context.latencyMonitor().record("command", 12, 1_700_000_000);
    context.latencyMonitor().record("command", 30, 1_700_000_000);
    context.latencyMonitor().record("command", 5, 1_700_000_001);

    assertThat(send("LATENCY LATEST")).isEqualTo("*1\r\n*4\r\n$7\r\ncommand\r\n:1700000001\r\n:5\r\n:30\r\n");
    assertThat(send("LATENCY HISTORY command"))
        .isEqualTo("*2\r\n*2\r\n:1700000000\r\n:30\r\n*2\r\n:1700000001\r\n:5\r\n");
    assertThat(send("LATENCY HISTORY nosuch")).isEqualTo("*0\r\n");
    assertThat(send("LATENCY RESET", "LATENCY LATEST")).isEqualTo(":1\r\n*0\r\n");
  }

  @Test
  void latencyMonitor_commandTook_usesTheThresholdAndTheFastFlag() {
    LatencyMonitor m = new LatencyMonitor();
    m.commandTook(false, 50_000, 1);
    assertThat(m.latest()).isEmpty();
    m.thresholdMillis(10);
    m.commandTook(false, 9_999, 1);
    m.commandTook(true, 10_000, 2);
    m.commandTook(false, 20_000, 3);

    assertThat(m.latest().keySet()).containsExactly("fast-command", "command");
    assertThat(m.latest().get("command")).containsExactly(3, 20, 20);
  }

  @Test
  void latencyHistory_keepsTheLast160Seconds() {
    LatencyMonitor m = new LatencyMonitor();
    for (int s = 0; s < 200; s++) {
      m.record("command", s + 1, s);
    }
    assertThat(m.history("command")).hasSize(LatencyMonitor.HISTORY);
    assertThat(m.history("command").get(0).unixSeconds()).isEqualTo(40);
  }

  // ---- MONITOR ----

  @Test
  void monitor_streamsOtherClientsCommandsInRedisFormat() {
    RespChannel monitor = another();
    assertThat(monitor.send("MONITOR")).isEqualTo("+OK\r\n");
    send("SET k \"v\"");

    assertThat(monitor.output()).isEqualTo("+1700000000.000000 [0 embedded] \"SET\" \"k\" \"\\\"v\\\"\"\r\n");
    assertThat(send("CLIENT LIST")).contains("flags=O");
  }

  @Test
  void monitorLine_escapesBytesAsRedis_andShowsAtMostTheLimitOfOneArgument() {
    byte[] big = new byte[Monitors.MAX_SHOWN_ARGUMENT + 10];
    java.util.Arrays.fill(big, (byte) 1);
    String line = new String(Monitors.format(1_700_000_000_000_001L, "a:1",
        new byte[][] {"SET".getBytes(java.nio.charset.StandardCharsets.US_ASCII), {(byte) 0xfe, 0x41, 0x0a}, big}),
        java.nio.charset.StandardCharsets.US_ASCII);

    assertThat(line).startsWith("+1700000000.000001 [0 a:1] \"SET\" \"\\xfeA\\n\" \"\\x01\\x01");
    assertThat(line).endsWith("\\x01\"...(10 more bytes)\r\n");
    assertThat(line.length()).isLessThan(4 * Monitors.MAX_SHOWN_ARGUMENT + 100);
  }

  @Test
  void monitor_thatIsClosed_isDropped() {
    RespChannel monitor = another();
    monitor.send("MONITOR");
    monitor.channel.close();
    send("PING");
    assertThat(context.monitors().active()).isFalse();
  }

  // ---- CLIENT ----

  @Test
  void clientList_realFieldsAndNoEvictFlag() {
    assertThat(send("CLIENT NO-EVICT on")).isEqualTo("+OK\r\n");
    String me = send("CLIENT INFO");
    assertThat(me).contains(" fd=-1 ").contains(" flags=e ").contains(" qbuf=0 ").contains(" omem=0 ")
        .contains(" tot-mem=0 ").contains(" user=default ").contains(" cmd=client|info ").contains(" resp=2 ");
    assertThat(send("CLIENT NO-EVICT off", "CLIENT INFO")).contains(" flags=N ");
    assertThat(send("CLIENT NO-EVICT maybe")).isEqualTo("-ERR syntax error\r\n");
  }

  /** A CLIENT LIST past the frame limit is refused, as KEYS is; a list asked by ID still answers. */
  @Test
  void clientList_pastTheFrameLimit_isRefused_byIdStillAnswers() {
    RespContext small = RespContext.builder(new LocalRouter(new LocalExecutor(store)), store).clock(clock)
        .version("test").limits(new RespLimits(4096, 1024, 4096, 8192)).build();
    List<RespChannel> named = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      RespChannel c = new RespChannel(small);
      others.add(c);
      named.add(c);
      assertThat(c.send("CLIENT SETNAME " + "n".repeat(2000) + i, "CLIENT SETINFO LIB-NAME " + "l".repeat(1500)))
          .isEqualTo("+OK\r\n+OK\r\n");
    }
    assertThat(named.get(0).send("CLIENT LIST"))
        .isEqualTo("-ERR CLIENT LIST of more than 8192 bytes, the limit; ask for some clients with ID or TYPE\r\n");
    String id = named.get(1).send("CLIENT ID").trim().substring(1);
    assertThat(named.get(0).send("CLIENT LIST ID " + id)).contains("id=" + id + " ").contains("n".repeat(2000) + "1");
  }

  @Test
  void clientKill_byIdUserAndOldForm() {
    RespChannel other = another();
    long otherId = Long.parseLong(other.send("CLIENT ID").trim().substring(1));

    assertThat(send("CLIENT KILL ID " + otherId)).isEqualTo(":1\r\n");
    assertThat(other.channel.isOpen()).isFalse();
    assertThat(send("CLIENT KILL ID " + otherId)).isEqualTo(":0\r\n");

    RespChannel third = another();
    third.send("PING");
    assertThat(send("CLIENT KILL USER default")).isEqualTo(":1\r\n"); // SKIPME yes by default
    assertThat(third.channel.isOpen()).isFalse();
    assertThat(send("CLIENT KILL 10.0.0.1:1")).isEqualTo("-ERR No such client\r\n");
    assertThat(send("CLIENT KILL ID 0")).isEqualTo("-ERR client-id should be greater than 0\r\n");
    assertThat(send("CLIENT KILL FOO bar")).isEqualTo("-ERR syntax error\r\n");
    assertThat(send("CLIENT KILL USER default SKIPME no")).isEqualTo(":1\r\n");
    assertThat(resp.channel.isOpen()).isFalse();
  }

  // ---- TIME ----

  @Test
  void time_hasMicroseconds() {
    clock.advanceMillis(1);
    assertThat(send("TIME")).isEqualTo("*2\r\n$10\r\n1700000000\r\n$4\r\n1000\r\n");
  }
}
