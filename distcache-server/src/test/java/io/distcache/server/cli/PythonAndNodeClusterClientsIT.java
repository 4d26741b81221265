package io.distcache.server.cli;

import static io.distcache.server.TestPorts.accepts;
import static io.distcache.server.TestPorts.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.distcache.protocol.cluster.KeySlot;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;

/*
 * Design: the Redis Cluster clients of two other ecosystems, as their users run them, against real
 * launcher processes: redis-py's RedisCluster (Debian's python3-redis) and ioredis's Redis.Cluster
 * (npm, pinned by src/it/node/package-lock.json). Each runs as a subprocess driven line by line
 * over stdin (load, traffic, quit; scripts in src/it/python and src/it/node), so the test decides
 * when traffic flows and measures each client alone: the nodes' forwarded_requests counters
 * (INFO) are read before and after every traffic window, so growth is the client's. A 4th node
 * joins with keys already routed by the clients' old slot maps; each client must then stop being
 * forwarded within 10 seconds of its own traffic (it learned the new owners: MOVED), while plain
 * connections (the same two libraries' plain clients, each on one node, and redis-cli without -c
 * through every node) keep being forwarded and never see a redirect, which would surface as an
 * error. redis-cli --cluster check must pass before and after the join.
 * A missing python3-redis, node/ioredis or redis-cli skips the test, unless
 * distcache.requireClusterClients=true (set by .ci/run in CI), which makes it a failure.
 * Every process started here is stopped by its handle (PID), never by name.
 */

/**
 * redis-py and ioredis, cluster and plain clients, and redis-cli against 3 launcher processes,
 * then a 4th joins.
 */
class PythonAndNodeClusterClientsIT {
  private static final Logger log = LoggerFactory.getLogger(PythonAndNodeClusterClientsIT.class);
  private static final String REQUIRE = "distcache.requireClusterClients";
  private static final int KEYS_PER_CLIENT = 2_000;
  /** The bound: each cluster client reaches the new owners within this much of its traffic. */
  private static final double CONVERGENCE_BUDGET_SECONDS = 10.0;
  private static final double WINDOW_SECONDS = 0.5;
  private static final Pattern FORWARDED = Pattern.compile("(?m)^forwarded_requests:(\\d+)\\r?$");
  private static final Pattern REPLICA_READS = Pattern.compile("replica_reads:(\\d+)");

  private static Path itDir;

  /** Kept when a test fails: the nodes' logs are what explains a client that got no reply. */
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;

  private NodeProcesses nodes;
  private final List<ScriptClient> clients = new ArrayList<>();
  private final List<Integer> ports = new ArrayList<>();
  /** One plain connection per node for CLUSTER SLOTS and INFO (never a keyed command). */
  private final Map<Integer, Jedis> admin = new HashMap<>();

  @BeforeAll
  static void findScripts() {
    itDir = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("src/it");
    assertThat(itDir.resolve("python/redis_py_cluster.py")).exists();
    assertThat(itDir.resolve("node/ioredis_cluster.js")).exists();
  }

  @BeforeEach
  void setUp() {
    nodes = new NodeProcesses(tmp);
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    admin.values().forEach(Jedis::close);
    for (ScriptClient c : clients) {
      c.stop();
    }
    nodes.close(); // only the node processes this test started, by handle (PID)
  }

  @Test
  void clusterClients_reachTheNewOwnersAfterAJoin_plainConnectionsStayForwarded() throws Exception {
    String python = requirePythonRedis();
    String node = requireIoredis();
    requireOnPath("redis-cli", "apt-get install -y redis-tools");

    int p0 = freePort();
    // The three launched together (a joiner retries its seed until it is up), then awaited: JVM
    // start-ups one after another cost several seconds each on a loaded machine.
    Map<String, Process> three = new LinkedHashMap<>();
    three.put("n0", launchNodeProcess("n0", p0, null));
    three.put("n1", launchNodeProcess("n1", freePort(), p0));
    three.put("n2", launchNodeProcess("n2", freePort(), p0));
    int at = 0;
    for (Map.Entry<String, Process> n : three.entrySet()) {
      awaitAccepting(n.getKey(), n.getValue(), ports.get(at++));
    }
    awaitSlotMapsAgree(3);
    redisCliClusterCheck(p0);

    String pyScript = itDir.resolve("python/redis_py_cluster.py").toString();
    String jsScript = itDir.resolve("node/ioredis_cluster.js").toString();
    String seed = Integer.toString(p0);
    // The four scripts start together and load their keys (each its own prefix) at the same time:
    // one after another, their interpreters' start-ups and 4 x KEYS_PER_CLIENT x 2 round trips
    // added up; each client's load is still checked on its own reply.
    ScriptClient py = spawnClient("redis-py RedisCluster", List.of(python, pyScript, "127.0.0.1", seed, "py", "cluster"));
    ScriptClient js = spawnClient("ioredis Redis.Cluster", List.of(node, jsScript, "127.0.0.1", seed, "js", "cluster"));
    // Plain connections of the same libraries, each to one node: forwarded, never redirected.
    ScriptClient pyPlain = spawnClient("redis-py Redis", List.of(python, pyScript, "127.0.0.1",
        Integer.toString(ports.get(1)), "pyplain", "plain"));
    ScriptClient jsPlain = spawnClient("ioredis Redis", List.of(node, jsScript, "127.0.0.1",
        Integer.toString(ports.get(2)), "jsplain", "plain"));
    List<ScriptClient> clusterClients = List.of(py, js);
    List<ScriptClient> plainClients = List.of(pyPlain, jsPlain);
    for (ScriptClient c : List.of(py, js, pyPlain, jsPlain)) {
      awaitReady(c);
    }
    for (ScriptClient c : List.of(py, js, pyPlain, jsPlain)) {
      c.send("load " + KEYS_PER_CLIENT);
    }
    for (ScriptClient c : List.of(py, js, pyPlain, jsPlain)) {
      Reply loaded = c.next(Duration.ofMinutes(3));
      loaded.assertNoStaleValue(c.name + " load");
      assertThat(loaded.num("misses")).as("%s: misses right after writing: %s", c.name, loaded.line).isZero();
    }
    for (ScriptClient c : clusterClients) {
      // With a correct slot map every request goes straight to its owner: nothing is forwarded.
      long before = forwardedSum();
      Reply r = c.request("traffic 1", Duration.ofSeconds(60));
      r.assertNoStaleValue(c.name + " traffic before the join");
      assertThat(forwardedSum() - before).as("%s: requests forwarded with a fresh slot map (%s)", c.name, r.line)
          .isZero();
      assertThat(r.num("nodes")).as("%s knows the 3 nodes: %s", c.name, r.line).isEqualTo(3);
      if (c == py) {
        // redis-py sends FLUSHALL, DBSIZE, SCAN and KEYS to its primaries only: all 3 must be.
        assertThat(r.num("primaries")).as("%s takes every node for a primary: %s", c.name, r.line).isEqualTo(3);
      }
    }
    for (ScriptClient c : plainClients) {
      plainConnectionForwarded(c, "before the join");
      transactionsOfAPlainConnection(c);
    }
    // READONLY replica reads (sync replication): every read sees the last acknowledged write.
    ScriptClient pyReplicas = startClient("redis-py RedisCluster read_from_replicas",
        List.of(python, pyScript, "127.0.0.1", seed, "pyrep", "replicas"));
    long replicaReadsBefore = replicaReadsSum();
    Reply replicaLoad = pyReplicas.request("load " + KEYS_PER_CLIENT, Duration.ofMinutes(3));
    replicaLoad.assertNoStaleValue(pyReplicas.name + " load");
    assertThat(replicaLoad.num("misses")).as("%s: misses right after writing: %s", pyReplicas.name, replicaLoad.line)
        .isZero();
    pyReplicas.request("traffic 1", Duration.ofSeconds(60)).assertNoStaleValue(pyReplicas.name + " traffic");
    assertThat(replicaReadsSum() - replicaReadsBefore).as("reads answered by replicas").isPositive();

    launchNode("n3", freePort(), p0);
    awaitSlotMapsAgree(4);
    redisCliClusterCheck(p0);

    Map<String, String> observed = new LinkedHashMap<>();
    for (ScriptClient c : clusterClients) {
      observed.put(c.name, convergesToNewOwners(c));
    }
    for (ScriptClient c : plainClients) {
      observed.put(c.name, plainConnectionForwarded(c, "after the join"));
    }
    redisCliWithoutClusterMode_forwardedThroughEveryNode();
    pyReplicas.request("traffic 2", Duration.ofSeconds(60)).assertNoStaleValue(pyReplicas.name + " after the join");
    for (ScriptClient c : List.of(py, js, pyPlain, jsPlain, pyReplicas)) {
      assertThat(c.request("quit", Duration.ofSeconds(30)).line).isEqualTo("bye");
    }
    observed.forEach((name, what) -> log.info("{}: {}", name, what));
  }

  /**
   * Runs the client's traffic in windows of {@link #WINDOW_SECONDS} until one forwards nothing,
   * within {@link #CONVERGENCE_BUDGET_SECONDS}; then a longer window must forward nothing either.
   */
  private String convergesToNewOwners(ScriptClient c) throws Exception {
    double traffic = 0;
    double quietAfter = -1;
    List<Long> forwardedPerWindow = new ArrayList<>();
    Reply last = null;
    while (traffic < CONVERGENCE_BUDGET_SECONDS) {
      long before = forwardedSum();
      last = c.request("traffic " + WINDOW_SECONDS, Duration.ofSeconds(60));
      long grown = forwardedSum() - before;
      forwardedPerWindow.add(grown);
      last.assertNoStaleValue(c.name + " traffic after the join");
      assertThat(last.num("ops")).as("%s made requests: %s", c.name, last.line).isPositive();
      if (grown == 0) {
        quietAfter = traffic;
        break;
      }
      traffic += WINDOW_SECONDS;
    }
    assertThat(quietAfter).as("%s: forwarded_requests still growing after %.1f s of traffic after the join (last: %s)",
        c.name, CONVERGENCE_BUDGET_SECONDS, last == null ? "" : last.line).isGreaterThanOrEqualTo(0);
    // A client that follows MOVED to the new owner stops being forwarded before its next topology
    // refresh lists the 4th node (ioredis did so once in CI): it gets a few more windows to list it.
    Reply confirm = null;
    for (int i = 0; i < 5 && (confirm == null || confirm.num("nodes") != 4); i++) {
      long before = forwardedSum();
      confirm = c.request("traffic 2", Duration.ofSeconds(60));
      confirm.assertNoStaleValue(c.name + " traffic once converged");
      assertThat(forwardedSum() - before).as("%s forwarded again after it had stopped: %s", c.name, confirm.line).isZero();
    }
    assertThat(confirm.num("nodes")).as("%s learned the 4th node: %s", c.name, confirm.line).isEqualTo(4);
    return String.format("forwarding stopped after %.1f s of traffic (forwarded per %.1f s window: %s); "
        + "last window: %s; then 2 s: %s", quietAfter, WINDOW_SECONDS, forwardedPerWindow, last.line, confirm.line);
  }

  /**
   * A plain connection's traffic, keys of every slot through one node: served without an error (a
   * redirect would be one) and forwarded for the keys owned elsewhere.
   */
  private String plainConnectionForwarded(ScriptClient c, String when) throws Exception {
    long before = forwardedSum();
    Reply r = c.request("traffic 1", Duration.ofSeconds(60));
    long forwarded = forwardedSum() - before;
    r.assertNoStaleValue(c.name + " (plain) traffic " + when);
    assertThat(r.num("ops")).as("%s made requests: %s", c.name, r.line).isPositive();
    assertThat(forwarded).as("%s (plain, one node) %s: forwarded for keys owned elsewhere (%s)", c.name, when, r.line)
        .isPositive();
    return String.format("%s: %d of %d requests forwarded, %s", when, forwarded, r.num("ops"), r.line);
  }

  /**
   * The library's default transaction (redis-py pipeline(), ioredis multi()) on a plain connection,
   * forwarded whole to its slot's owner: it answers in order (redis-py's also with a registered
   * script called inside it, EVALSHA inside MULTI), and one that fails (an unknown command while
   * queueing, a WATCHed key changed by another connection) applies nothing.
   */
  private void transactionsOfAPlainConnection(ScriptClient c) throws Exception {
    Reply r = c.request("tx 10", Duration.ofSeconds(60));
    assertThat(r.status()).as("%s: %s", c.name, r.line).isEqualTo("ok");
    assertThat(r.num("errors")).as("%s transactions: %s", c.name, r.line).isZero();
    assertThat(r.num("mismatches")).as("%s transaction replies out of order: %s", c.name, r.line).isZero();
    assertThat(r.num("aborted")).as("%s failed transactions: %s", c.name, r.line).isEqualTo(20);
    assertThat(r.num("applied")).as("%s writes of failed transactions applied: %s", c.name, r.line).isZero();
  }

  /** redis-cli without -c through each node, for keys owned by other nodes: served, never redirected. */
  private void redisCliWithoutClusterMode_forwardedThroughEveryNode() throws Exception {
    Map<Integer, Integer> ownerBySlot = slotOwners(ports.get(0));
    long before = forwardedSum();
    int foreign = 0;
    for (int i = 0; i < ports.size(); i++) {
      int via = ports.get(i);
      int readVia = ports.get((i + 1) % ports.size());
      List<String> keys = new ArrayList<>();
      for (int j = 0; keys.size() < 4; j++) {
        String key = "cli:" + i + ":" + j;
        if (ownerBySlot.get(KeySlot.of(key.getBytes(StandardCharsets.UTF_8))) != via) {
          keys.add(key);
        }
      }
      for (String key : keys) {
        assertThat(redisCli(null, "-p", Integer.toString(via), "SET", key, "v-" + key)).isEqualTo("OK\n");
        String got = redisCli(null, "-p", Integer.toString(readVia), "GET", key);
        assertThat(got).as("GET %s through :%d", key, readVia).isEqualTo("v-" + key + "\n");
        foreign += ownerBySlot.get(KeySlot.of(key.getBytes(StandardCharsets.UTF_8))) == readVia ? 1 : 2;
      }
      // One connection carrying many keys, most owned elsewhere (redis-cli reads commands from stdin).
      StringBuilder script = new StringBuilder();
      StringBuilder expected = new StringBuilder();
      for (int j = 0; j < 40; j++) {
        script.append("SET session:").append(i).append(':').append(j).append(" s").append(j).append('\n');
        script.append("GET session:").append(i).append(':').append(j).append('\n');
        expected.append("OK\ns").append(j).append('\n');
      }
      assertThat(redisCli(script.toString().getBytes(StandardCharsets.UTF_8), "-p", Integer.toString(via)))
          .as("80 commands on one redis-cli connection to :%d", via).isEqualTo(expected.toString());
    }
    assertThat(forwardedSum() - before).as("redis-cli's requests for keys owned elsewhere were forwarded")
        .isGreaterThanOrEqualTo(foreign);
  }

  // ---- nodes ------------------------------------------------------------------------------------

  private void launchNode(String name, int port, Integer seed) throws IOException {
    awaitAccepting(name, launchNodeProcess(name, port, seed), port);
  }

  private Process launchNodeProcess(String name, int port, Integer seed) throws IOException {
    List<String> args = new ArrayList<>(List.of("-addr", "127.0.0.1:" + port));
    if (seed != null) {
      args.addAll(List.of("-join", "127.0.0.1:" + seed));
    }
    Process p = nodes.launch(name, args.toArray(new String[0]));
    ports.add(port);
    return p;
  }

  private void awaitAccepting(String name, Process p, int port) throws IOException {
    await().atMost(Duration.ofSeconds(90)).until(() -> !p.isAlive() || accepts(port));
    assertThat(p.isAlive()).as("%s running; stderr:%n%s", name, read(tmp.resolve(name + ".err"))).isTrue();
  }

  /** Every node answers CLUSTER SLOTS identically, with {@code nodes} distinct owners. */
  private void awaitSlotMapsAgree(int nodes) {
    // No ignoreExceptions: a node that rejects CLUSTER SLOTS fails the test at once, with its error.
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
      String first = null;
      for (int port : ports) {
        String slots = normalize(clusterCommand(port, "SLOTS"));
        if (first == null) {
          first = slots;
        }
        assertThat(slots).as("CLUSTER SLOTS of :%d against :%d", port, ports.get(0)).isEqualTo(first);
      }
      assertThat(new TreeSet<>(slotOwners(ports.get(0)).values())).as("owners in CLUSTER SLOTS").hasSize(nodes);
    });
  }

  /** slot -> port of its owner, from the CLUSTER SLOTS of the node at {@code port}. */
  private Map<Integer, Integer> slotOwners(int port) {
    Map<Integer, Integer> owners = new HashMap<>();
    for (Object range : (List<?>) clusterCommand(port, "SLOTS")) {
      List<?> r = (List<?>) range;
      List<?> master = (List<?>) r.get(2);
      int owner = ((Long) master.get(1)).intValue();
      for (long s = (Long) r.get(0); s <= (Long) r.get(1); s++) {
        owners.put((int) s, owner);
      }
    }
    assertThat(owners).as("CLUSTER SLOTS of :%d covers every slot", port).hasSize(KeySlot.SLOTS);
    return owners;
  }

  private Object clusterCommand(int port, String sub) {
    return admin(port).sendCommand(Protocol.Command.CLUSTER, sub);
  }

  private Jedis admin(int port) {
    return admin.computeIfAbsent(port, p -> new Jedis(new HostAndPort("127.0.0.1", p),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(5_000).autoNegotiateProtocol(false).build()));
  }

  private static String normalize(Object reply) {
    if (reply instanceof byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
    if (reply instanceof List<?> list) {
      List<String> parts = new ArrayList<>();
      for (Object o : list) {
        parts.add(normalize(o));
      }
      return parts.toString();
    }
    return String.valueOf(reply);
  }

  /** Sum of forwarded_requests from INFO over every node started so far. */
  private long replicaReadsSum() {
    long sum = 0;
    for (int port : ports) {
      Matcher m = REPLICA_READS.matcher(admin(port).info());
      sum += m.find() ? Long.parseLong(m.group(1)) : 0;
    }
    return sum;
  }

  private long forwardedSum() {
    long sum = 0;
    for (int port : ports) {
      String info = admin(port).info();
      Matcher m = FORWARDED.matcher(info);
      assertThat(m.find()).as("INFO of :%d has forwarded_requests:%n%s", port, info).isTrue();
      sum += Long.parseLong(m.group(1));
    }
    return sum;
  }

  // ---- redis-cli --------------------------------------------------------------------------------

  private void redisCliClusterCheck(int port) throws Exception {
    Run r = run(null, Duration.ofMinutes(1), "redis-cli", "--cluster", "check", "127.0.0.1:" + port);
    assertThat(r.exitCode).as("redis-cli --cluster check 127.0.0.1:%d:%n%s%n%s", port, r.out, r.err).isZero();
  }

  private static String redisCli(byte[] stdin, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1"));
    cmd.addAll(List.of(args));
    Run r = run(stdin, Duration.ofMinutes(1), cmd.toArray(String[]::new));
    assertThat(r.exitCode).as("%s: %s", cmd, r.err).isZero();
    assertThat(r.out).as("%s never sees a redirect", cmd).doesNotContain("MOVED").doesNotContain("ASK ");
    return r.out;
  }

  private record Run(int exitCode, String out, String err) {}

  /** Runs a short-lived tool to completion within {@code limit}, killing it (by handle) past that. */
  private static Run run(byte[] stdin, Duration limit, String... command) throws Exception {
    Path out = Files.createTempFile("distcache-it", ".out");
    Path err = Files.createTempFile("distcache-it", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      Process p = pb.start();
      try (OutputStream in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin);
        }
      }
      if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        fail(String.join(" ", command) + " did not finish within " + limit);
      }
      return new Run(p.exitValue(), read(out), read(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  // ---- the cluster clients' scripts -------------------------------------------------------------

  private ScriptClient startClient(String name, List<String> command) throws Exception {
    ScriptClient c = spawnClient(name, command);
    awaitReady(c);
    return c;
  }

  private ScriptClient spawnClient(String name, List<String> command) throws Exception {
    ScriptClient c = new ScriptClient(name, command, tmp.resolve(name + ".err"));
    clients.add(c);
    return c;
  }

  private void awaitReady(ScriptClient c) throws Exception {
    Reply ready = c.next(Duration.ofMinutes(1));
    assertThat(ready.status).as("%s started: %s%nstderr:%n%s", c.name, ready.line, c.stderr()).isEqualTo("ready");
    log.info("{} ready: {}", c.name, ready.line);
  }

  /** One reply line: "ok ops=1 misses=0 ... error=free text". */
  private record Reply(String line, String status, Map<String, String> fields) {
    static Reply parse(String line) {
      Map<String, String> fields = new HashMap<>();
      int errorAt = line.indexOf(" error=");
      String head = errorAt < 0 ? line : line.substring(0, errorAt);
      if (errorAt >= 0) {
        fields.put("error", line.substring(errorAt + " error=".length()));
      }
      String[] words = head.split(" ");
      for (int i = 1; i < words.length; i++) {
        int eq = words[i].indexOf('=');
        if (eq > 0) {
          fields.put(words[i].substring(0, eq), words[i].substring(eq + 1));
        }
      }
      return new Reply(line, words[0], fields);
    }

    long num(String field) {
      String v = fields.get(field);
      assertThat(v).as("field %s in reply: %s", field, line).isNotNull();
      return Long.parseLong(v);
    }

    /**
     * Status ok, no error, and no value other than the last one written (a miss is allowed: a node
     * drops the keys of the slots it loses when a member joins).
     */
    void assertNoStaleValue(String what) {
      assertThat(status).as("%s: %s", what, line).isEqualTo("ok");
      assertThat(num("mismatches")).as("%s: stale or foreign values read: %s", what, line).isZero();
      assertThat(num("errors")).as("%s: errors: %s", what, line).isZero();
    }
  }

  /** A script run as a subprocess: commands on its stdin, one reply line each on its stdout. */
  private static final class ScriptClient {
    final String name;
    private final Process process;
    private final Path stderr;
    private final OutputStream stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>(1_000);

    ScriptClient(String name, List<String> command, Path stderr) throws IOException {
      this.name = name;
      this.stderr = stderr;
      this.process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
      this.stdin = process.getOutputStream();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            if (!lines.offer(line)) {
              break; // the test stopped reading; the bound keeps a chatty script from filling memory
            }
          }
        } catch (IOException e) {
          // the process ended or was stopped: next() reports the missing reply
        }
      }, "it-" + name + "-stdout");
      reader.setDaemon(true);
      reader.start();
    }

    Reply request(String command, Duration limit) throws Exception {
      send(command);
      return next(limit);
    }

    void send(String command) throws IOException {
      stdin.write((command + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    }

    Reply next(Duration limit) throws Exception {
      String line = lines.poll(limit.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null) {
        fail(name + " gave no reply within " + limit + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")")
            + "; stderr:\n" + stderr() + "\n(the nodes' logs are kept in " + stderr.getParent() + ")");
      }
      return Reply.parse(line);
    }

    String stderr() throws IOException {
      String s = read(stderr);
      return s.length() > 4_000 ? s.substring(s.length() - 4_000) : s;
    }

    void stop() throws InterruptedException {
      try {
        stdin.close(); // EOF ends both scripts' command loops
      } catch (IOException e) {
        // already gone
      }
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly(); // by handle (PID)
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  // ---- tools ------------------------------------------------------------------------------------

  /** Skips the test when a tool is missing, or fails it when {@value #REQUIRE} is true (CI). */
  private static void require(boolean present, String what) {
    if (!present && Boolean.getBoolean(REQUIRE)) {
      fail(what + ", but " + REQUIRE + "=true (CI): .ci/run installs it");
    }
    assumeTrue(present, what + "; set -D" + REQUIRE + "=true to fail instead of skipping");
  }

  private static void requireOnPath(String tool, String install) {
    boolean present = false;
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && new File(dir, tool).canExecute()) {
        present = true;
        break;
      }
    }
    require(present, tool + " is not on the PATH (" + install + ")");
  }

  /**
   * A python3 that imports redis.cluster: -Ddistcache.python, else Debian's /usr/bin/python3 (a
   * python3 earlier on the PATH, such as pyenv's, does not see Debian's python3-redis), else python3.
   */
  private static String requirePythonRedis() throws Exception {
    String python = System.getProperty("distcache.python");
    if (python == null) {
      python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }
    Run r;
    try {
      r = run(null, Duration.ofSeconds(60), python, "-c", "import redis, redis.cluster; print(redis.__version__)");
    } catch (IOException e) {
      r = new Run(-1, "", e.getMessage());
    }
    require(r.exitCode == 0, python + " cannot import redis.cluster (apt-get install -y python3-redis): " + r.err.strip());
    log.info("{}: redis-py {}", python, r.out.strip());
    return python;
  }

  /** node, with ioredis installed from src/it/node/package-lock.json (npm ci when it is not yet). */
  private static String requireIoredis() throws Exception {
    Path dir = itDir.resolve("node");
    Run version;
    try {
      version = run(null, Duration.ofSeconds(60), "node", "--version");
    } catch (IOException e) {
      version = new Run(-1, "", e.getMessage());
    }
    require(version.exitCode == 0, "node is not installed (apt-get install -y nodejs npm): " + version.err.strip());
    if (!Files.exists(dir.resolve("node_modules/ioredis/package.json"))) {
      Run ci;
      try {
        ci = run(null, Duration.ofMinutes(5), "npm", "--prefix", dir.toString(), "ci", "--no-audit", "--no-fund");
      } catch (IOException e) {
        ci = new Run(-1, "", e.getMessage());
      }
      require(ci.exitCode == 0, "npm ci in " + dir + " failed: " + ci.out + ci.err);
    }
    log.info("node {} with ioredis from {}", version.out.strip(), dir);
    return "node";
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }
}
