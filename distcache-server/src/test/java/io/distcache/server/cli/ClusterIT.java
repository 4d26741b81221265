package io.distcache.server.cli;

import static io.distcache.server.TestPorts.accepts;
import static io.distcache.server.TestPorts.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.membership.MemberState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three real processes started by bin/distcache with the commands from the README, default
 * membership timers: they form one cluster, serve each other's keys, see a SIGKILLed node dead
 * within the failure-detection time (its keys gone, every other key still served with its value)
 * and a SIGTERMed one gone at once.
 */
class ClusterIT {
  private static final Logger log = LoggerFactory.getLogger(ClusterIT.class);

  @TempDir Path tmp;
  private NodeProcesses nodes;

  @BeforeEach
  void setUp() {
    nodes = new NodeProcesses(tmp);
  }

  @AfterEach
  void tearDown() {
    nodes.close();
  }

  private Process launch(String name, String... args) throws java.io.IOException {
    return nodes.launch(name, args);
  }

  private String stderr(String name) throws java.io.IOException {
    return nodes.stderr(name);
  }

  private Frame call(int port, Frame request) {
    return nodes.call(port, request);
  }

  private Map<Integer, MemberState> view(int port) {
    return nodes.view(port);
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
        assertThat(nodes.joining(port)).as("members still joining, seen by :%d", port).isEmpty();
      }
      assertThat(nodes.agree(p0, p1, p2)).isTrue();
    });
    log.info("3 processes saw each other {} ms after all accepted", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

    List<String> owners = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      assertThat(call(p1, Frame.request(Opcode.SET, 0, bytes("k" + i), bytes("v" + i))).status()).isEqualTo(Status.OK);
      owners.add(call(p0, Frame.request(Opcode.CLUSTER_OWNER, bytes("k" + i))).valueText());
    }
    assertThat(owners).as("keys spread over the three nodes").contains("127.0.0.1:" + p2);
    for (int i = 0; i < 50; i++) {
      assertThat(call(p2, Frame.request(Opcode.GET, bytes("k" + i))).valueText()).isEqualTo("v" + i);
      assertThat(call(p0, Frame.request(Opcode.GET, bytes("k" + i))).valueText()).isEqualTo("v" + i);
    }

    long[] before = nodes.placement(p0);
    n2.destroyForcibly(); // SIGKILL: no goodbye
    long killed = System.nanoTime();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
      assertThat(view(p0)).as("view of :%d", p0).containsEntry(p2, MemberState.DEAD);
      assertThat(view(p1)).as("view of :%d", p1).containsEntry(p2, MemberState.DEAD);
    });
    log.info("SIGKILL seen as DEAD by both survivors after {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
      assertThat(nodes.placement(p0)[1]).isNotEqualTo(before[1]);
      assertThat(nodes.agree(p0, p1)).isTrue();
    });
    log.info("both survivors on the new placement (epoch {}) {} ms after the SIGKILL", nodes.placement(p0)[0],
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));
    int deadOwned = owners.indexOf("127.0.0.1:" + p2);
    // The survivors take the dead node's slots over once both confirmed the new placement and a
    // lease has passed (so the dead node, had it been only cut off, would have stopped serving);
    // with --replicas 1 (the default) its first replica takes them with their data.
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
        call(p0, Frame.request(Opcode.GET, bytes("k" + deadOwned))).status() == Status.OK);
    log.info("the dead node's slots served again {} ms after the SIGKILL",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed));
    for (int i = 0; i < 50; i++) {
      // Every key, the dead node's included (its replica took over), is served with its value
      // through either survivor.
      for (int port : new int[] {p0, p1}) {
        Frame got = call(port, Frame.request(Opcode.GET, bytes("k" + i)));
        assertThat(got.status()).as("k%d, owned by %s, through :%d", i, owners.get(i), port).isEqualTo(Status.OK);
        assertThat(got.valueText()).isEqualTo("v" + i);
      }
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
