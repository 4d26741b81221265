package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * redis-py's PubSub (Debian's python3-redis) and ioredis's subscribe against a node, run as the
 * scripts in src/it. A missing python3-redis or node/ioredis skips the test, unless
 * distcache.requireClusterClients=true (set by .ci/run in CI), which makes it a failure.
 */
class PubSubScriptClientsIT {
  private final RespTestServer server = new RespTestServer();
  private final Path itDir = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("src/it");

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void redisPy_pubsub_channelAndPattern() throws Exception {
    String python = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    require(run(List.of(python, "-c", "import redis")).exit == 0, python + " cannot import redis (apt-get install -y python3-redis)");
    Result r = run(List.of(python, itDir.resolve("python/redis_py_pubsub.py").toString(), "127.0.0.1",
        Integer.toString(server.port())));
    assertThat(r.exit).as(r.out).isZero();
    assertThat(r.out.lines().toList()).containsExactly("message jobs j1", "pmessage job* jobs j1",
        "pmessage job* jobless j2", "unsubscribed 0", "numsub [('jobs', 0)]", "ok");
  }

  @Test
  void ioredis_subscribe_channelAndPattern() throws Exception {
    Path dir = itDir.resolve("node");
    require(run(List.of("node", "--version")).exit == 0, "node is not installed (apt-get install -y nodejs npm)");
    if (!Files.exists(dir.resolve("node_modules/ioredis/package.json"))) {
      Result ci = run(List.of("npm", "--prefix", dir.toString(), "ci", "--no-audit", "--no-fund"));
      require(ci.exit == 0, "npm ci in " + dir + " failed: " + ci.out);
    }
    Result r = run(List.of("node", dir.resolve("ioredis_pubsub.js").toString(), "127.0.0.1",
        Integer.toString(server.port())));
    assertThat(r.exit).as(r.out).isZero();
    assertThat(r.out.lines().toList()).containsExactly("message jobs j1", "pmessage job* jobs j1",
        "pmessage job* jobless j2", "after unsubscribe PONG", "ok");
  }

  private static void require(boolean ok, String why) {
    if (Boolean.getBoolean("distcache.requireClusterClients")) {
      assertThat(ok).as(why).isTrue();
    }
    assumeTrue(ok, why);
  }

  private record Result(int exit, String out) {}

  private static Result run(List<String> command) throws InterruptedException {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getOutputStream().close();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out: " + command);
      }
      return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      return new Result(-1, e.getMessage());
    }
  }
}
