package io.distcache.server.cli;

import static io.distcache.server.TestPorts.accepts;
import static io.distcache.server.TestPorts.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.net.RawClient;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real bin/distcache against the packaged jar, as an operator would. */
class LauncherIT {
  private static Path launcher;

  @TempDir Path tmp;

  @BeforeAll
  static void findLauncher() {
    String path = System.getProperty("distcache.launcher");
    assertThat(path).as("system property distcache.launcher (set by the pom)").isNotBlank();
    launcher = Path.of(path);
    assertThat(Files.isExecutable(launcher)).as("%s is executable", launcher).isTrue();
    String jar = System.getProperty("distcache.shadedJar");
    assertThat(jar).isNotBlank();
    assertThat(new File(jar)).exists();
  }

  private Process launch(Path stdout, String... args) throws IOException {
    List<String> command = new java.util.ArrayList<>();
    command.add(launcher.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("DISTCACHE_HEAP", "128m");
    pb.environment().put("DISTCACHE_DIRECT_MEMORY", "256m");
    pb.directory(tmp.toFile()); // its peers file stays in the test's directory
    pb.redirectOutput(stdout.toFile());
    pb.redirectError(tmp.resolve("stderr.txt").toFile());
    return pb.start();
  }

  private String stderr() throws IOException {
    Path p = tmp.resolve("stderr.txt");
    return Files.exists(p) ? Files.readString(p) : "";
  }

  @Test
  void launcher_setGetThenSigterm_exitsZeroAndFreesThePort() throws Exception {
    int port = freePort();
    Path stdout = tmp.resolve("stdout.txt");
    Process p = launch(stdout, "-addr", "127.0.0.1:" + port, "--max-memory", "64mb");
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> !p.isAlive() || accepts(port));
      assertThat(p.isAlive()).as("node still running; stderr:%n%s", stderr()).isTrue();

      try (RawClient c = new RawClient(port)) {
        byte[] key = "greeting".getBytes(StandardCharsets.UTF_8);
        byte[] value = "hello".getBytes(StandardCharsets.UTF_8);
        assertThat(c.send(Frame.request(Opcode.SET, 0, key, value).withRequestId(1)).read().status())
            .isEqualTo(Status.OK);
        Frame got = c.send(Frame.request(Opcode.GET, key).withRequestId(2)).read();
        assertThat(got.status()).isEqualTo(Status.OK);
        assertThat(got.value()).isEqualTo(value);
      }

      p.destroy(); // SIGTERM
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("exited after SIGTERM; stderr:%n%s", stderr()).isTrue();
      assertThat(p.exitValue()).as("exit code; stderr:%n%s", stderr()).isZero();

      List<String> lines = Files.readAllLines(stdout);
      assertThat(lines).hasSize(1);
      assertThat(lines.get(0)).startsWith("distcache ").contains("listening on 127.0.0.1:" + port).contains("transport ");
      try (ServerSocket again = new ServerSocket()) {
        again.bind(new InetSocketAddress("127.0.0.1", port));
      }
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void launcher_redisShutdown_stopsTheNodeAndExitsZero() throws Exception {
    int port = freePort();
    Process p = launch(tmp.resolve("stdout.txt"), "-addr", "127.0.0.1:" + port, "--max-memory", "64mb");
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> !p.isAlive() || accepts(port));
      assertThat(p.isAlive()).as("node still running; stderr:%n%s", stderr()).isTrue();

      try (redis.clients.jedis.Jedis j = new redis.clients.jedis.Jedis("127.0.0.1", port)) {
        j.set("k", "v");
        j.shutdown(); // Jedis expects the connection to close without a reply, as Redis does
      }

      assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("exited after SHUTDOWN; stderr:%n%s", stderr()).isTrue();
      assertThat(p.exitValue()).as("exit code; stderr:%n%s", stderr()).isZero();
      try (ServerSocket again = new ServerSocket()) {
        again.bind(new InetSocketAddress("127.0.0.1", port));
      }
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void launcher_help_printsUsageAndExitsZero() throws Exception {
    Path stdout = tmp.resolve("help.txt");
    Process p = launch(stdout, "--help");
    try {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("stderr:%n%s", stderr()).isZero();
      assertThat(Files.readString(stdout)).contains("Usage: distcache").contains("--max-memory");
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * A JDK under JAVA_HOME newer than any installed, as a script that logs how it was called: the
   * launcher picks it, reading the version from its release file without starting it, or, with no
   * release file, from {@code java -version}.
   */
  @Test
  void launcher_picksTheNewestJdk_byItsReleaseFile_elseByAskingIt() throws Exception {
    Path calls = tmp.resolve("calls.txt");
    Path withRelease = fakeJdk("with-release", "99.0.1", calls);
    Files.writeString(withRelease.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"99.0.1\"\n");
    assertThat(runHelpWith(withRelease)).contains("fake-jdk 99.0.1 ran:").contains("--help");
    assertThat(Files.readString(calls)).as("the release file said it; nobody asked").doesNotContain("-version");

    Files.delete(calls);
    Path withoutRelease = fakeJdk("without-release", "98.0.2", calls);
    assertThat(runHelpWith(withoutRelease)).contains("fake-jdk 98.0.2 ran:");
    assertThat(Files.readString(calls)).contains("-version");
  }

  /**
   * A build rewrites the shaded jar in place; nodes run a copy of it, so a rebuild while they run
   * (a tester: one node restarted after a source change) leaves theirs as it was. Checked on a
   * checkout of its own (the launcher and a jar) with a JDK that prints what it was given.
   */
  @Test
  void launcher_runsACopyOfTheJar_thatARebuildDoesNotTouch() throws Exception {
    Path root = tmp.resolve("checkout");
    Files.createDirectories(root.resolve("bin"));
    Path script = Files.copy(launcher, root.resolve("bin/distcache"));
    assertThat(script.toFile().setExecutable(true)).isTrue();
    Path target = Files.createDirectories(root.resolve("distcache-server/target"));
    Path built = target.resolve("distcache-server-0.0.1-all.jar");
    Files.writeString(built, "the first build");
    Path jdk = fakeJdk("jdk-for-copies", "99.0.1", tmp.resolve("copy-calls.txt"));

    Path first = jarItRan(script, jdk);
    assertThat(first).isNotEqualTo(built).startsWith(target.resolve("launch"));
    assertThat(Files.readString(first)).isEqualTo("the first build");
    assertThat(jarItRan(script, jdk)).as("the same build, the same copy").isEqualTo(first);

    Files.writeString(built, "the second build"); // as the shade plugin does: the same file, rewritten
    Files.setLastModifiedTime(built, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
    Path second = jarItRan(script, jdk);
    assertThat(second).isNotEqualTo(first);
    assertThat(Files.readString(second)).isEqualTo("the second build");
    assertThat(Files.readString(first)).as("what a running node has open").isEqualTo("the first build");
  }

  /** Runs {@code script --help} with {@code jdk} and returns the jar it gave {@code java -jar}. */
  private Path jarItRan(Path script, Path jdk) throws Exception {
    String out = runHelpWith(script, jdk);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("-jar (\\S+)").matcher(out);
    assertThat(m.find()).as("java was given -jar: %s", out).isTrue();
    return Path.of(m.group(1));
  }

  private Path fakeJdk(String name, String version, Path calls) throws IOException {
    Path home = tmp.resolve(name);
    Files.createDirectories(home.resolve("bin"));
    Path java = home.resolve("bin/java");
    Files.writeString(java, "#!/bin/sh\n"
        + "echo \"$*\" >> '" + calls + "'\n"
        + "if [ \"$1\" = -version ]; then echo 'openjdk version \"" + version + "\" 2030-01-01' >&2; exit 0; fi\n"
        + "echo \"fake-jdk " + version + " ran: $*\"\n");
    assertThat(java.toFile().setExecutable(true)).isTrue();
    return home;
  }

  private String runHelpWith(Path javaHome) throws Exception {
    return runHelpWith(launcher, javaHome);
  }

  private String runHelpWith(Path script, Path javaHome) throws Exception {
    Path stdout = tmp.resolve("fake-out.txt");
    ProcessBuilder pb = new ProcessBuilder(script.toString(), "--help");
    pb.environment().put("JAVA_HOME", javaHome.toString());
    pb.directory(tmp.toFile());
    pb.redirectOutput(stdout.toFile());
    pb.redirectError(tmp.resolve("stderr.txt").toFile());
    Process p = pb.start();
    try {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("stderr:%n%s", stderr()).isZero();
      return Files.readString(stdout);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void launcher_badFlag_exitsTwo() throws Exception {
    Process p = launch(tmp.resolve("bad.txt"), "--max-memory", "lots");
    try {
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(2);
      assertThat(stderr()).contains("'lots'");
    } finally {
      p.destroyForcibly();
    }
  }
}
