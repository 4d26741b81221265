package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/** HTTP on the node's port and on --http-port: /metrics, /healthz, /readyz, and what is refused. */
class HttpEndpointsTest {
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private DistCacheNode node;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).httpPort(0).start();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return send(port, HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET());
  }

  private HttpResponse<String> send(int port, HttpRequest.Builder b) throws Exception {
    return http.send(b.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void metrics_onTheNodePort_countsCommandsByNameInPrometheusFormat() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("k", "v");
      j.get("k");
      j.get("missing");
    }
    HttpResponse<String> r = get(node.port(), "/metrics");

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
    assertThat(r.body())
        .contains("distcache_commands_total{command=\"set\"} 1.0")
        .contains("distcache_commands_total{command=\"get\"} 2.0")
        .contains("distcache_command_duration_seconds_count{command=\"get\"} 2")
        .contains("distcache_command_duration_seconds_bucket{command=\"get\",le=\"+Inf\"} 2")
        .contains("distcache_keyspace_hits_total 1.0")
        .contains("distcache_keyspace_misses_total 1.0")
        .contains("distcache_keys 1.0")
        .contains("distcache_memory_max_bytes 1.6777216E7")
        .contains("distcache_cluster_members{state=\"alive\"} 1.0")
        .contains("distcache_placement_epoch ")
        .contains("distcache_net_input_bytes_total ")
        .contains("distcache_connections_received_total ")
        .contains("distcache_connections_rejected_total 0.0")
        .contains("distcache_forwarded_requests_total 0.0")
        .contains("distcache_ready 1.0")
        .contains("jvm_gc_collection_seconds")
        .contains("process_resident_memory_bytes ");
  }

  @Test
  void metrics_hashFieldsThatExpire_areCountedAsExpiredSubkeys() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.hset("h", java.util.Map.of("a", "1", "b", "2"));
      j.hpexpire("h", 1, "a");
    }
    // The field sweep (every 100 ms) removes the field without a read.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(get(node.port(), "/metrics").body())
        .contains("distcache_expired_subkeys_total 1.0")
        .contains("distcache_keys_with_field_expiry 0.0"));
  }

  @Test
  void metrics_failedAndRejectedCalls_areCountedApart() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("s", "text");
      try {
        j.incr("s");
      } catch (Exception expected) {
        // ERR value is not an integer
      }
      try {
        j.sendCommand(redis.clients.jedis.Protocol.Command.GET); // wrong arity: rejected before it runs
      } catch (redis.clients.jedis.exceptions.JedisDataException expected) {
        assertThat(expected).hasMessage("ERR wrong number of arguments for 'get' command");
      }
    }
    String body = get(node.port(), "/metrics").body();

    assertThat(body).contains("distcache_command_failed_calls_total{command=\"incr\"} 1.0");
    assertThat(body).contains("distcache_command_rejected_calls_total{command=\"get\"} 1.0");
  }

  @Test
  void metrics_passesPromtoolCheck() throws Exception {
    Path promtool = Path.of("/usr/bin/promtool");
    Assumptions.assumeTrue(Files.isExecutable(promtool) || Boolean.getBoolean("distcache.requireRedisCli"),
        "promtool not installed (Debian package prometheus; .ci/run installs it)");
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("k", "v");
      j.get("k");
      j.clientList();
    }
    byte[] body = get(node.port(), "/metrics").body().getBytes(StandardCharsets.UTF_8);
    Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(body);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(out).isEmpty();
    assertThat(p.exitValue()).isZero();
  }

  @Test
  void healthAndReadiness_ofAStartedSoloNode_areOk() throws Exception {
    assertThat(get(node.port(), "/healthz").statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      HttpResponse<String> r = get(node.port(), "/readyz");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    });
  }

  @Test
  void readiness_ofAJoinerThatReachedNobody_is503WithTheReason() throws Exception {
    int nobody = TestPorts.freePort();
    try (DistCacheNode joiner = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .joinAddresses(java.util.List.of(new InetSocketAddress("127.0.0.1", nobody))).start()) {
      HttpResponse<String> r = get(joiner.port(), "/readyz");

      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.body()).isEqualTo("not ready: joining the cluster\n");
      assertThat(get(joiner.port(), "/healthz").statusCode()).isEqualTo(200);
    }
  }

  /**
   * FAST's joins with a longer suspicion timeout: the lease is half of probe plus suspicion, 550 ms
   * under FAST, and a readiness that stays ready through a lease lapsed a moment ago (up to one lease)
   * still flipped when the joiner's first keepalive answer came more than a second late on a starved
   * machine (5 samples of "not in contact", with other builds running). This test is about the
   * join, not about a lost majority.
   */
  private static final io.distcache.server.membership.MembershipConfig PATIENT =
      ClusterTest.FAST.withSuspicionTimeout(Duration.ofSeconds(6));

  @Test
  void readiness_ofAReadyMember_staysOkWhileAnotherJoins() throws Exception {
    try (DistCacheNode first = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(PATIENT).start()) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(first.notReady()).isNull());
      try (DistCacheNode joiner = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
          .membership(PATIENT)
          .joinAddresses(java.util.List.of(new InetSocketAddress("127.0.0.1", first.port()))).start()) {
        // Every sample until both own slots and every owner confirmed the placement: never not ready.
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5)).until(() -> {
          String why = first.notReady();
          if (why != null) {
            seen.add(why);
          }
          return first.membership().placement().ownerCount() == 2 && joiner.notReady() == null
              && first.membership().guard().settled();
        });
        assertThat(seen).as("a ready member, while another joined").isEmpty();
      }
    }
  }

  @Test
  void httpPort_servesTheSamePages() throws Exception {
    int port = node.httpAddress().getPort();

    assertThat(port).isNotEqualTo(node.port());
    assertThat(get(port, "/healthz").body()).isEqualTo("ok\n");
    assertThat(get(port, "/metrics").body()).contains("distcache_keys ");
  }

  @Test
  void unknownPath_is404_andOtherMethods_are405WithAllow() throws Exception {
    assertThat(get(node.port(), "/nope").statusCode()).isEqualTo(404);
    HttpResponse<String> post = send(node.port(), HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
        + "/metrics")).POST(HttpRequest.BodyPublishers.ofString("FLUSHALL")));
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
    HttpResponse<String> head = send(node.port(), HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port()
        + "/healthz")).method("HEAD", HttpRequest.BodyPublishers.noBody()));
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
  }

  @Test
  void nothingIsExecuted_byAnHttpRequestNamingACommand() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("keep", "1");
    }
    send(node.port(), HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/FLUSHALL"))
        .DELETE());

    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      assertThat(j.get("keep")).isEqualTo("1");
    }
  }

  @Test
  void inlineRedisCommands_stillWork_whenTheyStartWithAnUpperCaseMethodName() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write("SET k hello\r\nGET k\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] expected = "+OK\r\n$5\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII);
      assertThat(in.readNBytes(expected.length)).isEqualTo(expected);
    }
  }

  private String exchange(String request) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
      s.setSoTimeout(5000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII); // to the node's close
    }
  }

  @Test
  void requestLineOverTheLimit_is414AndAClose_notARedisError() throws IOException {
    assertThat(exchange("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n"))
        .startsWith("HTTP/1.1 414 Request-URI Too Long\r\n")
        .endsWith("request line longer than 4096 bytes, the limit\n");
  }

  @Test
  void unsupportedHttpVersion_is505AndAClose_notARedisError() throws IOException {
    assertThat(exchange("GET / HTTP/9.9\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 505 HTTP Version Not Supported\r\n");
  }

  @Test
  void headersOverTheLimit_are431AndAClose() throws IOException {
    assertThat(exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n"))
        .startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
  }

  @Test
  void curlStyleRequest_withConnectionClose_getsTheBodyAndAClose() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
      s.setSoTimeout(5000);
      s.getOutputStream().write("GET /healthz HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(all).startsWith("HTTP/1.1 200 OK\r\n").endsWith("\r\n\r\nok\n");
    }
  }

  @Test
  void adminPage_isHtmlFromTheJar_andApiClusterDescribesThisNode() throws Exception {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("a", "1");
    }
    HttpResponse<String> page = get(node.port(), "/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("<canvas id=\"slots\"").contains("fetch(location.origin + \"/api/cluster\"")
        .doesNotContain("http://").doesNotContain("https://");

    HttpResponse<String> api = get(node.port(), "/api/cluster");
    assertThat(api.statusCode()).isEqualTo(200);
    String id = node.membership().self().id();
    assertThat(api.body())
        .startsWith("{\"self\":\"" + id + "\"")
        .contains("\"members\":[{\"id\":\"" + id + "\",\"address\":\"127.0.0.1:" + node.port()
            + "\",\"state\":\"ALIVE\",\"slots\":16384,\"self\":true}]")
        .contains("\"ranges\":[[0,16383,\"" + id + "\"]]")
        .contains("\"" + id + "\":{\"keys\":1,\"memoryUsed\":");
  }

  @Test
  void authenticator_guardsTheAdminPage_butNotMetricsOrHealth() throws Exception {
    try (DistCacheNode guarded = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .httpAuthenticator(authorization -> "Basic YWRtaW46c2VjcmV0".equals(authorization)).start()) {
      HttpResponse<String> refused = get(guarded.port(), "/");
      assertThat(refused.statusCode()).isEqualTo(401);
      assertThat(refused.headers().firstValue("www-authenticate")).hasValue("Basic realm=\"distcache\"");
      assertThat(get(guarded.port(), "/api/cluster").statusCode()).isEqualTo(401);
      HttpResponse<String> allowed = send(guarded.port(), HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + guarded.port() + "/")).header("Authorization", "Basic YWRtaW46c2VjcmV0").GET());
      assertThat(allowed.statusCode()).isEqualTo(200);
      assertThat(get(guarded.port(), "/metrics").statusCode()).isEqualTo(200);
      assertThat(get(guarded.port(), "/healthz").statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(get(guarded.port(), "/readyz").statusCode()).isEqualTo(200));
    }
  }

  @Test
  void withAPassword_theAdminPageAsksForAnAclUsersBasicCredentials() throws Exception {
    try (DistCacheNode guarded = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .requirePass("s3cret").start()) {
      String url = "http://127.0.0.1:" + guarded.port() + "/";
      assertThat(get(guarded.port(), "/").statusCode()).isEqualTo(401);
      String wrong = java.util.Base64.getEncoder().encodeToString("default:nope".getBytes(StandardCharsets.UTF_8));
      assertThat(send(guarded.port(), HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Basic " + wrong)
          .GET()).statusCode()).isEqualTo(401);
      String right = java.util.Base64.getEncoder().encodeToString("default:s3cret".getBytes(StandardCharsets.UTF_8));
      assertThat(send(guarded.port(), HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Basic " + right)
          .GET()).statusCode()).isEqualTo(200);
      assertThat(send(guarded.port(), HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Basic !!!")
          .GET()).statusCode()).isEqualTo(401);
      assertThat(get(guarded.port(), "/metrics").statusCode()).isEqualTo(200);
    }
  }

  /** What {@code curl -u USER:PASSWORD} and a browser send: Basic base64("USER:PASSWORD"). */
  private int withBasic(int port, String path, String credentials) throws Exception {
    return sendWithBasic(port, path, credentials).statusCode();
  }

  private HttpResponse<String> sendWithBasic(int port, String path, String credentials) throws Exception {
    String header = "Basic " + java.util.Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
    return send(port, HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", header).GET());
  }

  /** A node whose default user's password is s3cret, with {@code users}' ACL SETUSER rules applied. */
  private static DistCacheNode guardedWith(List<List<String>> users) throws Exception {
    DistCacheNode guarded = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .requirePass("s3cret").start();
    try (Jedis admin = new Jedis("127.0.0.1", guarded.port())) {
      admin.auth("s3cret");
      for (List<String> rules : users) {
        admin.aclSetUser(rules.get(0), rules.subList(1, rules.size()).toArray(String[]::new));
      }
    } catch (RuntimeException e) {
      guarded.close();
      throw e;
    }
    return guarded;
  }

  @Test
  void aPasswordWithAnEmptyUserName_isTheDefaultUsers_asCurlDashUColonPasswordSendsIt() throws Exception {
    try (DistCacheNode guarded = guardedWith(List.of(List.of("alice", "on", ">wonder", "~*", "+@all")))) {
      int port = guarded.port();
      assertThat(withBasic(port, "/api/cluster", ":s3cret")).isEqualTo(200);
      assertThat(withBasic(port, "/", ":s3cret")).isEqualTo(200);
      assertThat(withBasic(port, "/api/cluster", ":nope")).isEqualTo(401);
      assertThat(withBasic(port, "/api/cluster", ":wonder")).isEqualTo(401); // alice's password is not default's
      assertThat(withBasic(port, "/api/cluster", "alice:wonder")).isEqualTo(200);
      assertThat(withBasic(port, "/api/cluster", "default:s3cret")).isEqualTo(200);
      // The form without a colon stays a password for default (docs/OPERATIONS.md).
      assertThat(withBasic(port, "/api/cluster", "s3cret")).isEqualTo(200);
    }
  }

  @Test
  void anAclUser_seesTheAdminPage_onlyWhenAllowedTheCommandsItShows() throws Exception {
    try (DistCacheNode guarded = guardedWith(List.of(
        List.of("app", "on", ">apppw", "~cache:*", "+@read", "+@write"),
        List.of("ops", "on", ">opspw", "+info", "+cluster"),
        List.of("half", "on", ">halfpw", "+info", "+cluster|slots")))) {
      int port = guarded.port();
      // Before: 200 for every enabled user (a tester), an application's cache user included.
      assertThat(withBasic(port, "/api/cluster", "app:apppw")).isEqualTo(403);
      assertThat(withBasic(port, "/", "app:apppw")).isEqualTo(403);
      assertThat(withBasic(port, "/api/cluster", "half:halfpw")).isEqualTo(403);
      assertThat(withBasic(port, "/api/cluster", "ops:opspw")).isEqualTo(200);
      assertThat(withBasic(port, "/api/cluster", "app:wrong")).isEqualTo(401);
      assertThat(withBasic(port, "/metrics", "app:apppw")).as("metrics need no user").isEqualTo(200);
      assertThat(sendWithBasic(port, "/", "app:apppw").body()).contains("user app may not run").contains("cluster|nodes and info");
    }
  }

  @Test
  void withoutAPassword_theAdminPageIsOpen_asEveryRedisConnectionIs() throws Exception {
    assertThat(get(node.port(), "/").statusCode()).isEqualTo(200);
  }

  @Test
  void pipelinedRequests_areAnsweredInOrder_evenWhenTheFirstAnswersLater() throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      int metrics = all.indexOf("distcache_keys");
      int health = all.indexOf("\r\n\r\nok\n");
      int notFound = all.indexOf("HTTP/1.1 404");
      assertThat(metrics).isPositive();
      assertThat(health).isGreaterThan(metrics);
      assertThat(notFound).isGreaterThan(health);
    }
  }

  /** Families as Prometheus's own parser (the official Python client's) reads them: "name type samples" lines. */
  private static final String PARSE = String.join("\n",
      "import sys",
      "from prometheus_client.parser import text_string_to_metric_families",
      "for f in text_string_to_metric_families(sys.stdin.read()):",
      "    print(f.name, f.type, len(f.samples))");

  @Test
  void metrics_parseWithThePrometheusClientLibrarysParser() throws Exception {
    Path python = Path.of("/usr/bin/python3");
    boolean present = Files.isExecutable(python) && new ProcessBuilder(python.toString(), "-c",
        "import prometheus_client.parser").start().waitFor() == 0;
    Assumptions.assumeTrue(present || Boolean.getBoolean("distcache.requireRedisCli"),
        "python3-prometheus-client not installed (.ci/run installs it)");
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("k", "v");
      j.get("k");
    }
    byte[] body = get(node.port(), "/metrics").body().getBytes(StandardCharsets.UTF_8);
    Process p = new ProcessBuilder(python.toString(), "-c", PARSE).redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(body);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();

    assertThat(out)
        .containsPattern("(?m)^distcache_commands counter 2$")
        .containsPattern("(?m)^distcache_command_duration_seconds histogram \\d+$")
        .containsPattern("(?m)^distcache_keyspace_hits counter 1$")
        .containsPattern("(?m)^distcache_cluster_members gauge 4$")
        .containsPattern("(?m)^distcache_memory_used_bytes gauge 1$")
        .containsPattern("(?m)^jvm_memory_used_bytes gauge \\d+$")
        .containsPattern("(?m)^jvm_gc_collection_seconds summary \\d+$");
  }
}
