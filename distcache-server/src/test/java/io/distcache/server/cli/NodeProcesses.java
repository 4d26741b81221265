package io.distcache.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.FrameClient;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Real node processes started by bin/distcache, for the integration tests: start, signal, ask for
 * their view, and stop every one of them (by handle, only the ones started here) on close.
 */
final class NodeProcesses implements AutoCloseable {
  private final Path launcher;
  private final Path logs;
  private final List<Process> started = new ArrayList<>();
  final FrameClient client = FrameClient.builder().requestTimeout(Duration.ofSeconds(5)).build();

  NodeProcesses(Path logs) {
    String path = System.getProperty("distcache.launcher");
    assertThat(path).as("system property distcache.launcher (set by the pom)").isNotBlank();
    this.launcher = Path.of(path);
    assertThat(Files.isExecutable(launcher)).as("%s is executable", launcher).isTrue();
    this.logs = logs;
  }

  /** Starts {@code bin/distcache args...}, its stdout and stderr in name.out and name.err. */
  Process launch(String name, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(launcher.toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("DISTCACHE_HEAP", "128m");
    pb.environment().put("DISTCACHE_DIRECT_MEMORY", "256m");
    // The test's own directory: each node's peers file (distcache-PORT.peers) is the test's alone,
    // so a port used again by a later test never finds another test's members.
    pb.directory(logs.toFile());
    pb.redirectOutput(logs.resolve(name + ".out").toFile());
    pb.redirectError(logs.resolve(name + ".err").toFile());
    Process p = pb.start();
    started.add(p);
    return p;
  }

  String stderr(String name) throws IOException {
    Path p = logs.resolve(name + ".err");
    return Files.exists(p) ? Files.readString(p) : "";
  }

  /** Sends a signal (STOP, CONT, TERM) to a process this test started. */
  static void signal(Process p, String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s %d", signal, p.pid()).isZero();
  }

  Frame call(int port, Frame request) {
    return send(port, request).orTimeout(10, TimeUnit.SECONDS).join();
  }

  CompletableFuture<Frame> send(int port, Frame request) {
    return client.send(new Address("127.0.0.1", port), request);
  }

  /** port -> state of the newest member at that port, as the node at {@code port} sees it. */
  Map<Integer, MemberState> view(int port) {
    Frame reply = call(port, Frame.request(Opcode.CLUSTER_MEMBERS, null));
    assertThat(reply.status()).isEqualTo(Status.OK);
    Map<Integer, MemberState> out = new TreeMap<>();
    for (MemberStatus s : GossipCodec.decodeStatuses(reply.value())) {
      out.put(s.member().address().port(), s.state());
    }
    return out;
  }

  /** Ports of the members still joining (learning their slots), as the node at {@code port} sees them. */
  java.util.Set<Integer> joining(int port) {
    Frame reply = call(port, Frame.request(Opcode.CLUSTER_MEMBERS, null));
    assertThat(reply.status()).isEqualTo(Status.OK);
    java.util.Set<Integer> out = new java.util.TreeSet<>();
    for (MemberStatus s : GossipCodec.decodeStatuses(reply.value())) {
      if (s.joining() && s.state().ownsKeys()) {
        out.add(s.member().address().port());
      }
    }
    return out;
  }

  /** The placement the node at {@code port} uses: [epoch, fingerprint]. */
  long[] placement(int port) {
    Frame reply = call(port, Frame.request(Opcode.CLUSTER_MEMBERS, null));
    assertThat(reply.status()).isEqualTo(Status.OK);
    return new long[] {reply.extras()[0], reply.extras()[2]};
  }

  /** True when every node listed reports the same placement fingerprint. */
  boolean agree(int... ports) {
    long fp = placement(ports[0])[1];
    for (int port : ports) {
      if (placement(port)[1] != fp) {
        return false;
      }
    }
    return true;
  }

  /** Sends every request, at most {@code window} in flight, and returns the replies in order. */
  List<Frame> callAll(int port, List<Frame> requests, int window) {
    List<Frame> out = new ArrayList<>(requests.size());
    for (int from = 0; from < requests.size(); from += window) {
      List<CompletableFuture<Frame>> batch = new ArrayList<>();
      for (int i = from; i < Math.min(requests.size(), from + window); i++) {
        batch.add(send(port, requests.get(i)));
      }
      for (CompletableFuture<Frame> f : batch) {
        out.add(f.orTimeout(20, TimeUnit.SECONDS).join());
      }
    }
    return out;
  }

  @Override
  public void close() {
    client.close();
    for (Process p : started) {
      p.destroyForcibly(); // only the processes this test started, by handle
    }
    for (Process p : started) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
