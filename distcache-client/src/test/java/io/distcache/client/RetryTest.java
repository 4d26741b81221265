package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RetryTest {
  private static final RetryPolicy FAST = RetryPolicy.of(4, Duration.ofMillis(1), Duration.ofMillis(4));

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private ScriptedServer server(ScriptedServer.Script script) {
    ScriptedServer s = ScriptedServer.start(script);
    toClose.add(s);
    return s;
  }

  private DistCacheClient client(DistCacheClient.Builder b) {
    DistCacheClient c = b.build();
    toClose.add(c);
    return c;
  }

  /** Answers the first {@code failures} requests of {@code op} with {@code status}, then OK. */
  private ScriptedServer failingFirst(Opcode op, int failures, Status status, AtomicInteger seen) {
    return server(ScriptedServer.answering(r -> {
      if (r.op() != op) {
        return r.replyOk();
      }
      if (seen.incrementAndGet() <= failures) {
        return r.replyError(status, "try later");
      }
      return op == Opcode.GET ? r.replyValue("v".getBytes(StandardCharsets.UTF_8)) : r.replyOk(7);
    }));
  }

  @Test
  void get_nodeBusyTwice_isRetriedAndSucceeds() {
    AtomicInteger gets = new AtomicInteger();
    ScriptedServer server = failingFirst(Opcode.GET, 2, Status.BUSY, gets);
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).retryPolicy(FAST));

    assertThat(client.get("k")).isEqualTo("v");
    assertThat(gets).hasValue(3);
  }

  @Test
  void incrementBy_nodeBusy_isNotRetriedBecauseItMayHaveBeenApplied() {
    AtomicInteger increments = new AtomicInteger();
    ScriptedServer server = failingFirst(Opcode.INCREMENT, 1, Status.BUSY, increments);
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).retryPolicy(FAST));

    assertThatThrownBy(() -> client.incrementBy("counter", 1))
        .isExactlyInstanceOf(DistCacheUnavailableException.class)
        .satisfies(e -> assertThat(((DistCacheUnavailableException) e).notApplied()).isFalse());
    assertThat(increments).hasValue(1);
  }

  @Test
  void get_alwaysBusy_failsAfterMaxAttemptsWithTheEarlierFailuresSuppressed() {
    AtomicInteger gets = new AtomicInteger();
    ScriptedServer server = failingFirst(Opcode.GET, Integer.MAX_VALUE, Status.BUSY, gets);
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).retryPolicy(FAST));

    assertThatThrownBy(() -> client.get("k"))
        .isInstanceOf(DistCacheUnavailableException.class)
        .hasMessage("GET failed: BUSY: try later")
        .satisfies(e -> assertThat(e.getSuppressed()).hasSize(1))
        .satisfies(e -> assertThat(e.getSuppressed()[0].getSuppressed()).hasSize(1));
    assertThat(gets).hasValue(4);
  }

  @Test
  void get_badRequest_isNeverRetried() {
    AtomicInteger gets = new AtomicInteger();
    ScriptedServer server = failingFirst(Opcode.GET, 1, Status.BAD_REQUEST, gets);
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).retryPolicy(FAST));

    assertThatThrownBy(() -> client.get("k")).isExactlyInstanceOf(BadRequestException.class);
    assertThat(gets).hasValue(1);
  }

  @Test
  void getAsync_nodeUnreachable_failsWithConnectionExceptionThatSaysNothingWasApplied() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    DistCacheClient client = client(DistCacheClient.builder().addresses("127.0.0.1:" + port)
        .smartRouting(false).retryPolicy(RetryPolicy.of(2, Duration.ofMillis(1), Duration.ofMillis(1))));

    assertThatThrownBy(() -> client.incrementBy("counter", 1))
        .isInstanceOf(DistCacheConnectionException.class)
        .satisfies(e -> assertThat(((DistCacheUnavailableException) e).notApplied()).isTrue())
        // Retried (nothing was sent), so two attempts: the first is suppressed in the last.
        .satisfies(e -> assertThat(e.getSuppressed()).hasSize(1));
  }

  @Test
  void get_retriesOff_theFirstFailureReachesTheCaller() {
    AtomicInteger gets = new AtomicInteger();
    ScriptedServer server = failingFirst(Opcode.GET, 1, Status.BUSY, gets);
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address())
        .retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(() -> client.get("k")).isInstanceOf(DistCacheUnavailableException.class);
    assertThat(gets).hasValue(1);
  }

  @Test
  void of_outOfRangeValues_areRefusedNamingTheValue() {
    assertThatThrownBy(() -> RetryPolicy.of(0, Duration.ZERO, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxAttempts must be 1 to 100, got: 0");
    assertThatThrownBy(() -> RetryPolicy.of(3, Duration.ofMillis(-1), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PT-0.001S");
    assertThatThrownBy(() -> RetryPolicy.of(3, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got: PT1S");
  }

  @Test
  void backoff_doublesFromTheInitialUpToTheMaximum_withinHalfToAllOfIt() {
    RetryPolicy p = RetryPolicy.of(10, Duration.ofMillis(50), Duration.ofSeconds(1));
    long[] ceilings = {50, 100, 200, 400, 800, 1000, 1000, 1000, 1000};
    for (int retry = 1; retry <= ceilings.length; retry++) {
      long ceiling = Duration.ofMillis(ceilings[retry - 1]).toNanos();
      for (int sample = 0; sample < 200; sample++) {
        assertThat(p.backoffNanos(retry)).isBetween(ceiling / 2, ceiling);
      }
    }
    assertThat(p.backoffNanos(64)).isBetween(Duration.ofMillis(500).toNanos(), Duration.ofSeconds(1).toNanos());
  }
}
