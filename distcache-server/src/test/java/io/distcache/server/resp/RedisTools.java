package io.distcache.server.resp;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs Debian's redis-tools (redis-cli, redis-benchmark). When a tool is missing the test is
 * skipped, unless system property {@code distcache.requireRedisCli=true} (set by CI), which turns
 * the absence into a failure.
 */
final class RedisTools {
  private RedisTools() {}

  /** Output and exit code of one run. */
  record Result(int exitCode, byte[] stdout, String stderr) {
    String out() {
      return new String(stdout, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  static void require(String tool) {
    boolean present = false;
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && new File(dir, tool).canExecute()) {
        present = true;
        break;
      }
    }
    if (!present && Boolean.getBoolean("distcache.requireRedisCli")) {
      fail(tool + " is not on the PATH but distcache.requireRedisCli=true: install Debian's redis-tools "
          + "(apt-get install -y redis-tools)");
    }
    assumeTrue(present, tool + " is not installed (redis-tools); set -Ddistcache.requireRedisCli=true to fail instead");
  }

  /** Runs the tool with {@code stdin} (may be null) and waits at most two minutes. */
  static Result run(byte[] stdin, String... command) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(command));
    Process p = new ProcessBuilder(cmd).start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail(String.join(" ", cmd) + " did not finish within two minutes");
    }
    return new Result(p.exitValue(), out.join(), new String(err.join(), java.nio.charset.StandardCharsets.UTF_8));
  }

  private static byte[] readAll(InputStream in) {
    try (in) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      in.transferTo(b);
      return b.toByteArray();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
