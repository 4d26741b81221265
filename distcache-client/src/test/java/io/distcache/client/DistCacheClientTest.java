package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DistCacheClientTest {
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void getAsync_manyRequestsOnOneConnection_eachReplyReachesItsCallerWhateverTheOrder() {
    int n = 64;
    List<Object[]> held = new ArrayList<>();
    ScriptedServer server = server((ctx, request) -> {
      // Hold every request, then answer them all in reverse order: value = the key asked for.
      held.add(new Object[] {ctx, request});
      if (held.size() == n) {
        for (int i = held.size() - 1; i >= 0; i--) {
          Frame r = (Frame) held.get(i)[1];
          ((ChannelHandlerContext) held.get(i)[0]).writeAndFlush(r.replyValue(r.key()));
        }
      }
    });
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).connectionsPerNode(1));

    List<CompletableFuture<String>> replies = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      replies.add(client.getAsync("key-" + i));
    }

    for (int i = 0; i < n; i++) {
      assertThat(replies.get(i).join()).isEqualTo("key-" + i);
    }
    assertThat(server.accepted()).isEqualTo(1);
  }

  @Test
  void get_concurrentCallersOnSmallPool_useAtMostPoolSizeConnections() throws Exception {
    ScriptedServer server = server(ScriptedServer.answering(r -> r.replyValue(r.key())));
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).connectionsPerNode(2));

    List<Thread> threads = new ArrayList<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int t = 0; t < 8; t++) {
      int id = t;
      Thread thread = new Thread(() -> {
        try {
          for (int i = 0; i < 200; i++) {
            assertThat(client.get("t" + id + "-" + i)).isEqualTo("t" + id + "-" + i);
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }

    assertThat(failure.get()).isNull();
    assertThat(server.accepted()).isEqualTo(2);
  }

  @Test
  void get_noReply_failsWithTimeoutNamingOpAndTimeoutAndConnectionStaysUsable() {
    ScriptedServer server = server((ctx, request) -> {
      if (request.op() == Opcode.PING) {
        ctx.writeAndFlush(request.replyOk());
      }
    });
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address())
        .connectionsPerNode(1).requestTimeout(Duration.ofMillis(200)).retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(() -> client.get("silent"))
        .isInstanceOf(DistCacheTimeoutException.class)
        .hasMessageStartingWith("GET timed out after 200 ms waiting for " + server.address());

    client.ping();
    assertThat(server.accepted()).isEqualTo(1);
  }

  @Test
  void ping_afterServerRestartOnSamePort_reconnects() {
    ScriptedServer first = ScriptedServer.start(ScriptedServer.answering(Frame::replyOk));
    int port = first.port();
    DistCacheClient client = client(DistCacheClient.builder().addresses(first.address()));
    client.ping();

    first.close();
    ScriptedServer second = server(port, ScriptedServer.answering(Frame::replyOk));

    // The first call may still meet the old connection and fail; the client must recover by itself.
    await().atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(DistCacheConnectionException.class)
        .untilAsserted(client::ping);
    assertThat(second.accepted()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void get_connectionDropsWithRequestsInFlight_failsEachWithConnectionErrorThenReconnects() {
    int n = 10;
    List<Frame> held = new ArrayList<>();
    ScriptedServer server = server((ctx, request) -> {
      if (request.op() == Opcode.PING) {
        ctx.writeAndFlush(request.replyOk());
        return;
      }
      held.add(request);
      if (held.size() == n) {
        ctx.close();
      }
    });
    // No retries: this is about what one attempt reports (retries: RetryTest).
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).connectionsPerNode(1)
        .retryPolicy(RetryPolicy.none()));

    List<CompletableFuture<byte[]>> inFlight = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      inFlight.add(client.getAsync(("k" + i).getBytes(StandardCharsets.UTF_8)));
    }

    for (CompletableFuture<byte[]> f : inFlight) {
      assertThat(f).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
          .havingCause()
          .isInstanceOf(DistCacheConnectionException.class)
          .withMessage("GET failed: the connection to " + server.address() + " closed before the reply");
    }
    client.ping();
    assertThat(server.accepted()).isEqualTo(2);
  }

  @Test
  void get_corruptReplyStream_failsWithConnectionErrorAndNextRequestReconnects() {
    ScriptedServer server = server((ctx, request) -> {
      if (request.op() == Opcode.PING) {
        ctx.writeAndFlush(request.replyOk());
      } else {
        ctx.writeAndFlush(Unpooled.wrappedBuffer("-ERR not our protocol at all\r\n".getBytes(StandardCharsets.US_ASCII)));
      }
    });
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()).connectionsPerNode(1)
        .retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(() -> client.get("k"))
        .isInstanceOf(DistCacheConnectionException.class)
        .hasMessage("GET failed: the connection to " + server.address() + " closed before the reply");
    client.ping();
    assertThat(server.accepted()).isEqualTo(2);
  }

  @Test
  void get_replyArrivesAfterTimeout_isDroppedAndLaterRequestsGetTheirOwnReplies() {
    AtomicBoolean lateReplySent = new AtomicBoolean();
    CompletableFuture<Void> timedOut = new CompletableFuture<>();
    ScriptedServer server = server((ctx, request) -> {
      if (request.op() == Opcode.GET) {
        // Answered only once the client gave up on it, however slow this machine is.
        timedOut.thenRun(() -> ctx.writeAndFlush(request.replyValue(request.key()))
            .addListener(f -> lateReplySent.set(true)));
      } else {
        ctx.writeAndFlush(request.replyValue(request.value()));
      }
    });
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address())
        .connectionsPerNode(1).requestTimeout(Duration.ofMillis(250)).retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(() -> client.get("slow")).isInstanceOf(DistCacheTimeoutException.class);
    timedOut.complete(null);
    await().atMost(Duration.ofSeconds(5)).untilTrue(lateReplySent);

    // The late "slow" reply must not be taken for the PING's. A PING that itself times out on a
    // loaded machine proves nothing either way, so only a timeout is tried again.
    await().atMost(Duration.ofSeconds(10)).ignoreException(DistCacheTimeoutException.class).untilAsserted(() ->
        assertThat(client.ping("echo".getBytes(StandardCharsets.UTF_8))).asString().isEqualTo("echo"));
    assertThat(server.accepted()).isEqualTo(1);
  }

  static Stream<Arguments> errorStatuses() {
    return Stream.of(
        Arguments.of(Status.NOT_A_NUMBER, NotANumberException.class),
        Arguments.of(Status.OVERFLOW, ValueOverflowException.class),
        Arguments.of(Status.TOO_LARGE, TooLargeException.class),
        Arguments.of(Status.BAD_REQUEST, BadRequestException.class),
        Arguments.of(Status.OUT_OF_MEMORY, CacheFullException.class),
        Arguments.of(Status.UNKNOWN_OPCODE, UnknownOpcodeException.class),
        Arguments.of(Status.NOT_OWNER, DistCacheException.class),
        Arguments.of(Status.AUTH_REQUIRED, DistCacheException.class),
        Arguments.of(Status.BUSY, DistCacheUnavailableException.class),
        Arguments.of(Status.INTERNAL_ERROR, DistCacheException.class),
        Arguments.of(Status.TRY_AGAIN, DistCacheUnavailableException.class),
        Arguments.of(Status.AUTH_FAILED, DistCacheException.class),
        Arguments.of(Status.NO_PERMISSION, DistCacheException.class),
        Arguments.of(Status.WRONG_TYPE, DistCacheException.class),
        Arguments.of(Status.CROSS_SLOT, DistCacheException.class),
        Arguments.of(Status.SCRIPT_BUSY, DistCacheUnavailableException.class));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("errorStatuses")
  void incrementBy_errorStatus_throwsTheMappedExceptionCarryingStatusAndMessage(
      Status status, Class<? extends DistCacheException> expected) {
    ScriptedServer server = server(ScriptedServer.answering(r -> r.replyError(status, "node says no")));
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address())
        .retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(() -> client.incrementBy("counter", 1))
        .isExactlyInstanceOf(expected)
        .hasMessage("INCREMENT failed: " + status + ": node says no")
        .satisfies(e -> assertThat(((DistCacheException) e).status()).isEqualTo(status));
  }

  @Test
  void errorStatuses_coverEveryErrorStatus() {
    List<Status> mapped = errorStatuses().map(a -> (Status) a.get()[0]).toList();
    assertThat(mapped).containsExactlyInAnyOrder(
        Stream.of(Status.values()).filter(Status::isError).toArray(Status[]::new));
  }

  @Test
  void get_notFound_returnsNullNotAnException() {
    ScriptedServer server = server(ScriptedServer.answering(r -> r.reply(Status.NOT_FOUND)));
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()));

    assertThat(client.get("missing")).isNull();
    assertThat(client.getEntry("missing")).isNull();
    assertThat(client.delete("missing")).isFalse();
    assertThat(client.ttl("missing")).isEqualTo(DistCacheClient.KEY_MISSING);
  }

  @Test
  void get_statusThatMakesNoSenseForTheOp_throwsNamingIt() {
    ScriptedServer server = server(ScriptedServer.answering(r -> r.reply(Status.VERSION_MISMATCH)));
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()));

    assertThatThrownBy(() -> client.get("k"))
        .isExactlyInstanceOf(DistCacheException.class)
        .hasMessage("GET got an unexpected status VERSION_MISMATCH from the node");
  }

  @Test
  void set_keyOverLimit_failsBeforeSending() {
    List<Frame> seen = new ArrayList<>();
    ScriptedServer server = server((ctx, r) -> {
      seen.add(r);
      ctx.writeAndFlush(r.replyOk());
    });
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()));

    assertThatThrownBy(() -> client.set(new byte[70_000], new byte[1]))
        .isInstanceOf(TooLargeException.class)
        .hasMessage("SET: key length 70000 exceeds the limit 65536");
    DistCacheClient small = client(DistCacheClient.builder().addresses(server.address()).maxFrameBytes(1024));
    assertThatThrownBy(() -> small.set(new byte[1], new byte[2000]))
        .isInstanceOf(TooLargeException.class)
        .hasMessage("SET: frame length 2021 exceeds the limit 1024");
    client.ping();
    assertThat(seen).extracting(Frame::op).containsExactly(Opcode.PING);
  }

  @Test
  void ping_nothingListening_failsWithConnectionErrorNamingTheAddress() {
    ScriptedServer gone = ScriptedServer.start(ScriptedServer.answering(Frame::replyOk));
    String address = gone.address();
    gone.close();
    DistCacheClient client = client(DistCacheClient.builder().addresses(address).retryPolicy(RetryPolicy.none()));

    assertThatThrownBy(client::ping)
        .isInstanceOf(DistCacheConnectionException.class)
        .hasMessageStartingWith("cannot connect to " + address + ": ");
  }

  @Test
  void ping_firstAddressDown_usesTheNextOne() {
    ScriptedServer gone = ScriptedServer.start(ScriptedServer.answering(Frame::replyOk));
    String deadAddress = gone.address();
    gone.close();
    ScriptedServer live = server(ScriptedServer.answering(Frame::replyOk));
    DistCacheClient client = client(DistCacheClient.builder().addresses(deadAddress, live.address()));

    client.ping();
    client.ping();
    assertThat(live.accepted()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void get_blockingCallFromReplyCallback_isRefusedInsteadOfDeadlocking() {
    // The reply to "a" waits until the callback is attached, so the callback runs on the I/O
    // thread that completes the future rather than on this thread.
    CountDownLatch attached = new CountDownLatch(1);
    ScriptedServer server = server(ScriptedServer.answering(r -> {
      if (new String(r.key(), StandardCharsets.UTF_8).equals("a")) {
        try {
          attached.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return r.replyValue(r.key());
    }));
    DistCacheClient client = client(DistCacheClient.builder().addresses(server.address()));

    CompletableFuture<String> nested = client.getAsync("a").thenApply(v -> client.get("b"));
    attached.countDown();

    assertThat(nested).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause()
        .isInstanceOf(IllegalStateException.class)
        .withMessageContaining("use the ...Async method");
  }

  @Test
  void close_requestsAfterClose_failWithConnectionError() {
    ScriptedServer server = server(ScriptedServer.answering(Frame::replyOk));
    DistCacheClient client = DistCacheClient.builder().addresses(server.address()).build();
    client.ping();
    client.close();

    assertThatThrownBy(client::ping)
        .isInstanceOf(DistCacheConnectionException.class)
        .hasMessage("PING failed: the client is closed");
  }

  private ScriptedServer server(ScriptedServer.Script script) {
    ScriptedServer s = ScriptedServer.start(script);
    toClose.add(s);
    return s;
  }

  private ScriptedServer server(int port, ScriptedServer.Script script) {
    ScriptedServer s = ScriptedServer.start(port, script);
    toClose.add(s);
    return s;
  }

  /** Plain mode: these scripts answer exactly the requests each test makes, with no CLUSTER_MEMBERS. */
  private DistCacheClient client(DistCacheClient.Builder builder) {
    DistCacheClient c = builder.smartRouting(false).build();
    toClose.add(c);
    return c;
  }
}
