package io.distcache.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.net.NetConfig;
import io.distcache.server.resp.RedirectMode;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.StoreConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class MainTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private Main parse(String... args) {
    Main main = new Main();
    new CommandLine(main).parseArgs(args);
    return main;
  }

  private int run(String... args) {
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void parse_noFlags_documentedDefaults() {
    Main m = parse();

    assertThat(m.addr).isEqualTo(new HostPort(null, 7000));
    assertThat(m.join).isEmpty();
    assertThat(m.maxMemory).isNull();
    assertThat(m.maxConnections).isEqualTo(NetConfig.DEFAULT_MAX_CONNECTIONS);
    assertThat(m.maxFrame).isEqualTo(ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    assertThat(m.maxValue).isEqualTo(StoreConfig.DEFAULT_MAX_VALUE_BYTES);
    assertThat(m.evictionPolicy).isEqualTo(EvictionPolicy.ALLKEYS_LRU);
    assertThat(m.idleTimeoutSeconds).isZero();
    assertThat(m.redirects).isEqualTo(RedirectMode.AUTO);
  }

  @Test
  void parse_redirects_eachModeAnyCase() {
    assertThat(parse("--redirects", "moved").redirects).isEqualTo(RedirectMode.MOVED);
    assertThat(parse("--redirects=FORWARD").redirects).isEqualTo(RedirectMode.FORWARD);
    assertThat(parse("--redirects", "auto").redirects).isEqualTo(RedirectMode.AUTO);
  }

  @Test
  void run_unknownRedirects_exits2NamingTheChoices() {
    assertThat(run("--redirects", "ask")).isEqualTo(2);
    assertThat(err.toString()).contains("'ask'").contains("auto, moved, forward");
  }

  @Test
  void parse_singleDashSeedForms_accepted() {
    Main m = parse("-addr", "127.0.0.1:7001", "-join", ":7000,node2:7002");

    assertThat(m.addr).isEqualTo(new HostPort("127.0.0.1", 7001));
    assertThat(m.join).containsExactly(new HostPort(null, 7000), new HostPort("node2", 7002));
  }

  @Test
  void parse_doubleDashForms_accepted() {
    Main m =
        parse(
            "--addr=:7005",
            "--join", "a:1",
            "--max-memory", "512mb",
            "--max-connections", "5",
            "--max-frame", "64mb",
            "--max-value", "1mb",
            "--max-collection-elements", "100",
            "--eviction-policy", "noeviction",
            "--idle-timeout", "30");

    assertThat(m.addr).isEqualTo(new HostPort(null, 7005));
    assertThat(m.join).containsExactly(new HostPort("a", 1));
    assertThat(m.maxMemory).isEqualTo(512L * 1024 * 1024);
    assertThat(m.maxConnections).isEqualTo(5);
    assertThat(m.maxFrame).isEqualTo(64 * 1024 * 1024);
    assertThat(m.maxValue).isEqualTo(1024 * 1024);
    assertThat(m.maxCollectionElements).isEqualTo(100);
    assertThat(m.evictionPolicy).isEqualTo(EvictionPolicy.NOEVICTION);
    assertThat(m.idleTimeoutSeconds).isEqualTo(30);
  }

  @Test
  void toBuilder_joinHostLeftOut_meansThisHost() {
    Main m = parse("-join", ":7000");

    assertThat(m.toBuilder().build().joinAddresses())
        .containsExactly(InetSocketAddress.createUnresolved("127.0.0.1", 7000));
  }

  @Test
  void membershipConfig_noFlags_isTheEngineDefaults() {
    assertThat(parse().membershipConfig()).isEqualTo(MembershipConfig.defaults());
    assertThat(parse().vnodes).isEqualTo(HashRing.DEFAULT_VIRTUAL_NODES);
    assertThat(parse().advertise).isNull();
  }

  @Test
  void membershipConfig_timeoutFlags_setPeriodProbeAndSuspicion() {
    Main m = parse("--probe-interval", "200", "--probe-timeout", "300", "--suspicion-timeout", "1000");

    MembershipConfig c = m.membershipConfig();

    assertThat(c.protocolPeriod()).isEqualTo(Duration.ofMillis(200));
    assertThat(c.probeTimeout()).isEqualTo(Duration.ofMillis(300));
    assertThat(c.pingTimeout()).isEqualTo(Duration.ofMillis(120));
    assertThat(c.suspicionTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void run_zeroSuspicionTimeout_exits2NamingIt() {
    assertThat(run("--suspicion-timeout", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--suspicion-timeout 0");
  }

  @Test
  void run_vnodesOutOfRange_exits2NamingTheLimit() {
    assertThat(run("--vnodes", "5000")).isEqualTo(2);
    assertThat(err.toString()).contains("virtual nodes 5000 is out of range 1..4096");
  }

  @Test
  void run_advertiseWithoutPort_exits2() {
    assertThat(run("--advertise", "10.0.0.5:0")).isEqualTo(2);
    assertThat(err.toString()).contains("--advertise needs a port");
  }

  @Test
  void run_badSize_printsUsageNamingTheValueAndExits2() {
    int code = run("--max-memory", "12xb");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--max-memory").contains("'12xb'").contains("Usage:");
  }

  @Test
  void run_unknownPolicy_exits2NamingIt() {
    assertThat(run("--eviction-policy", "lfu")).isEqualTo(2);
    assertThat(err.toString()).contains("lfu").contains("expected one of allkeys-lru, allkeys-lfu, noeviction");
  }

  @Test
  void run_badAddress_exits2NamingIt() {
    assertThat(run("-addr", "localhost")).isEqualTo(2);
    assertThat(err.toString()).contains("'localhost'");
  }

  @Test
  void run_unknownTlsEngine_exits2NamingTheChoices() {
    assertThat(run("--tls-engine", "gnutls")).isEqualTo(2);
    assertThat(err.toString()).contains("tls-engine: expected auto, jdk or openssl, got 'gnutls'");
  }

  @Test
  void run_tlsClusterNeitherYesNorNo_exits2() {
    assertThat(run("--tls-cluster", "maybe")).isEqualTo(2);
    assertThat(err.toString()).contains("expected yes or no, got 'maybe'");
  }

  @Test
  void run_tlsClusterWithoutCaFile_exits2NamingTheMissingFlag(@TempDir Path dir) throws Exception {
    io.distcache.server.TestCerts c = io.distcache.server.TestCerts.create(dir);
    assertThat(run("-addr", "127.0.0.1:0", "--tls-cluster", "yes", "--tls-cert-file", c.serverCert.toString(),
        "--tls-key-file", c.serverKey.toString(), "--tls-auth-clients", "no")).isEqualTo(2);
    assertThat(err.toString()).contains("--tls-cluster yes needs --tls-ca-cert-file");
  }

  @Test
  void parse_tlsClusterAndEngine_defaultsAreNoAndAuto() {
    assertThat(parse().tlsCluster).isEqualTo("no");
    assertThat(parse().tlsEngine).isEqualTo("auto");
    assertThat(parse("--tls-cluster", "yes", "--tls-engine", "jdk").tlsEngine).isEqualTo("jdk");
  }

  @Test
  void run_unknownFlag_exits2() {
    assertThat(run("--bogus")).isEqualTo(2);
    assertThat(err.toString()).contains("--bogus").contains("Usage:");
  }

  @Test
  void run_negativeIdleTimeout_exits2() {
    assertThat(run("--idle-timeout", "-1")).isEqualTo(2);
    assertThat(err.toString()).contains("--idle-timeout cannot be negative, got -1");
  }

  @Test
  void run_copyShareOutOfRange_exits2NamingIt() {
    assertThat(run("--copy-share", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--copy-share must be 1..100 percent, got 0");
  }

  @Test
  void run_maxCollectionElementsOutOfRange_exits2NamingIt() {
    assertThat(run("--max-collection-elements", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("max collection elements: expected 1..1048576, got 0");
  }

  @Test
  void run_zeroScriptMemory_exits2NamingIt() {
    assertThat(run("--script-memory", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("--script-memory must be positive, got 0");
  }

  @Test
  void parse_scriptMemory_sizeWithUnit() {
    assertThat(parse("--script-memory", "64mb").scriptMemory).isEqualTo(64L << 20);
    assertThat(parse().scriptMemory).isNull(); // the node's default: a quarter of the heap
  }

  @Test
  void run_maxFrameTooSmallForMaxValue_exits2NamingBoth() {
    assertThat(run("--max-frame", "1mb")).isEqualTo(2);
    assertThat(err.toString()).contains("max frame 1048576").contains("max value 16777216");
  }

  @Test
  void valueBeyondHeap_aValueMustFitThreeTimesInTheHeap() {
    long mib = 1024 * 1024;
    assertThat(Main.valueBeyondHeap(16 * (int) mib, 512 * mib)).isNull();
    assertThat(Main.valueBeyondHeap(512 * (int) mib, 1536 * mib)).isNull();
    assertThat(Main.valueBeyondHeap(512 * (int) mib, 1024 * mib)).isEqualTo("--max-value 536870912 bytes needs a heap of"
        + " at least 1610612736 bytes (3 times the value: a command that rewrites one holds it and its new form there),"
        + " but the heap is 1073741824 bytes; lower --max-value or raise the heap (DISTCACHE_HEAP, or -Xmx in"
        + " DISTCACHE_JAVA_OPTS)");
  }

  @Test
  void toBuilder_maxValueBeyondTheHeap_refusedNamingBoth() {
    Main m = parse("--max-value", "512mb", "--max-frame", "600mb");
    m.heapBytes = 1024L * 1024 * 1024;
    assertThatThrownBy(m::toBuilder).isInstanceOf(picocli.CommandLine.ParameterException.class)
        .hasMessageContaining("--max-value 536870912 bytes needs a heap of at least 1610612736 bytes");
  }

  @Test
  void clusterSecret_fromFile_thenEnvironment_elseNone(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("secret");
    Files.writeString(file, "from-the-file-0123456789\n");

    Main fromFile = parse("--cluster-secret-file", file.toString());
    fromFile.env = name -> "from-the-environment-0123";
    Main fromEnv = parse();
    fromEnv.env = name -> name.equals(ClusterSecret.ENV) ? "from-the-environment-0123" : null;
    Main none = parse();
    none.env = name -> null;

    assertThat(fromFile.clusterSecret()).isNotNull();
    assertThat(fromEnv.clusterSecret()).isNotNull();
    assertThat(none.clusterSecret()).isNull();
  }

  @Test
  void run_clusterSecretFileTooShort_exits2NamingTheFileNotTheContent(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("secret");
    Files.writeString(file, "hunter2\n");

    assertThat(run("--cluster-secret-file", file.toString(), "--addr", "127.0.0.1:0")).isEqualTo(2);
    assertThat(err.toString()).contains(file.toString()).contains("at least 16").doesNotContain("hunter2");
  }

  @Test
  void run_help_printsEveryFlagAndExits0() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString())
        .contains("-addr", "--addr", "-join", "--max-memory", "--max-connections", "--max-frame")
        .contains("--max-value", "--eviction-policy", "--idle-timeout", "--version", "--max-collection-elements")
        .contains("--advertise", "--vnodes", "--probe-interval", "--probe-timeout", "--suspicion-timeout",
            "--forward-timeout", "--redirects", "--cluster-secret-file");
  }

  @Test
  void run_help_printsNoPicocliWarnings() {
    // picocli formats descriptions with String.format and warns on System.err about a bare '%'.
    java.io.PrintStream saved = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      assertThat(run("--help")).isZero();
    } finally {
      System.setErr(saved);
    }
    assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("WARN");
    assertThat(err.toString()).doesNotContain("WARN");
    assertThat(out.toString()).contains("40% of this", "--request-timeout", "--max-input-buffer");
  }

  @Test
  void run_version_printsVersionAndExits0() {
    assertThat(run("--version")).isZero();
    assertThat(out.toString()).startsWith("distcache ").doesNotContain("${");
  }

  @Test
  void run_portInUse_exits1WithTheReason() throws IOException {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      int port = taken.getLocalPort();

      assertThat(run("-addr", "127.0.0.1:" + port, "--max-memory", "16mb")).isEqualTo(1);
      assertThat(err.toString()).contains("distcache: cannot listen on 127.0.0.1:" + port).contains("already in use");
    }
  }
}
