package io.distcache.server.cli;

import static io.distcache.server.TestPorts.accepts;
import static io.distcache.server.TestPorts.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.client.FrameClient;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three real processes started by bin/distcache with the commands from the README, default
 * membership timers: they form one cluster, serve each other's keys, see a SIGKILLed node dead
 * within the failure-detection time and a SIGTERMed one gone at once.
 */
class ClusterIT {
  private static final Logger log = LoggerFactory.getLogger(ClusterIT.class);
  private static Path launcher;

  @TempDir Path tmp;

  private final List<Process> started = new ArrayList<>();
  private final FrameClient client = FrameClient.builder().requestTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void findLauncher() {
    String path = System.getProperty("distcache.launcher");
    assertThat(path).as("system property distcache.launcher (set by the pom)").isNotBlank();
    launcher = Path.of(path);
    assertThat(Files.isExecutable(launcher)).as("%s is executable", launcher).isTrue();
  }

  @AfterEach
  void tearDown() {
    client.close();
    for (Process p : started) {
      p.destroyForcibly(); // only the processes this test started, by handle
    }
  }

  private Process launch(String name, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(launcher.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("DISTCACHE_HEAP", "128m");
    pb.environment().put("DISTCACHE_DIRECT_MEMORY", "256m");
    pb.redirectOutput(tmp.resolve(name + ".out").toFile());
    pb.redirectError(tmp.resolve(name + ".err").toFile());
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private String stderr(String name) throws IOException {
    Path p = tmp.resolve(name + ".err");
    return Files.exists(p) ? Files.readString(p) : "";
  }

  private Frame call(int port, Frame request) {
    return client.send(new Address("127.0.0.1", port), request).orTimeout(10, TimeUnit.SECONDS).join();
  }

  /** port -> state of the newest member at that port, as the node at {@code port} sees it. */
  private Map<Integer, MemberState> view(int port) {
    Frame reply = call(port, Frame.request(Opcode.CLUSTER_MEMBERS, null));
    assertThat(reply.status()).isEqualTo(Status.OK);
    Map<Integer, MemberState> out = new TreeMap<>();
    for (MemberStatus s : GossipCodec.decodeStatuses(reply.value())) {
      out.put(s.member().address().port(), s.state());
    }
    return out;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void threeProcesses_seedCommands_formOneClusterForwardAndDetectKillAndStop() throws Exception {
    int p0 = freePort();
    int p1 = freePort();
    int p2 = freePort();
    Process n0 = launch("n0", "-addr", ":" + p0);
    Process n1 = launch("n1", "-addr", ":" + p1, "-join", ":" + p0);
    Process n2 = launch("n2", "-addr", ":" + p2, "-join", ":" + p0);
    for (int port : new int[] {p0, p1, p2}) {
      await().atMost(Duration.ofSeconds(90)).until(() -> !n0.isAlive() || !n1.isAlive() || !n2.isAlive() || accepts(port));
    }
    assertThat(List.of(n0.isAlive(), n1.isAlive(), n2.isAlive()))
        .as("all running; stderr:%n%s%n%s%n%s", stderr("n0"), stderr("n1"), stderr("n2"))
        .containsOnly(true);

    long t0 = System.nanoTime();
    Map<Integer, MemberState> allAlive = Map.of(p0, MemberState.ALIVE, p1, MemberState.ALIVE, p2, MemberState.ALIVE);
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      for (int port : new int[] {p0, p1, p2}) {
        assertThat(view(port)).as("view of :%d", port).isEqualTo(allAlive);
      }
    });
    log.info("3 processes saw each other {} ms after all accepted", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

    for (int i = 0; i < 50; i++) {
      assertThat(call(p1, Frame.request(Opcode.SET, 0, bytes("k" + i), bytes("v" + i))).status()).isEqualTo(Status.OK);
    }
    for (int i = 0; i < 50; i++) {
      assertThat(call(p2, Frame.request(Opcode.GET, bytes("k" + i))).valueText()).isEqualTo("v" + i);
      assertThat(call(p0, Frame.request(Opcode.GET, bytes("k" + i))).valueText()).isEqualTo("v" + i);
    }

    n2.destroyForcibly(); // SIGKILL: no goodbye
    long killed = System.nanoTime();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      assertThat(view(p0)).as("view of :%d", p0).containsEntry(p2, MemberState.DEAD);
      assertThat(view(p1)).as("view of :%d", p1).containsEntry(p2, MemberState.DEAD);
    });
    log.info("SIGKILL seen as DEAD by both survivors after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));
    for (int i = 0; i < 50; i++) {
      // Keys of the dead node are gone with it; every other key is still served, through either survivor.
      Frame got = call(p0, Frame.request(Opcode.GET, bytes("k" + i)));
      assertThat(got.status()).isIn(Status.OK, Status.NOT_FOUND);
    }

    n1.destroy(); // SIGTERM: graceful leave
    long stopped = System.nanoTime();
    await().atMost(Duration.ofMillis(2000)).pollInterval(Duration.ofMillis(10)).untilAsserted(() ->
        assertThat(view(p0)).as("view of :%d", p0).containsEntry(p1, MemberState.LEFT));
    log.info("SIGTERM seen as LEFT after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped));
    assertThat(n1.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(n1.exitValue()).as("stderr:%n%s", stderr("n1")).isZero();
  }
}
