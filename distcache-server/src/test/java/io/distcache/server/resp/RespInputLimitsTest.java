package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.net.InputBudget;
import io.distcache.server.net.InputMeter;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Redis protocol under hostile input: the node-wide bound on incomplete requests, the request
 * deadline, the idle timeout from the last complete request, memory shortage answered with -OOM,
 * and the cross-protocol rule (POST / Host:). Each connection is an EmbeddedChannel with the real
 * meter, decoder and session; time is the event loop's ticker, advanced by the test.
 */
class RespInputLimitsTest {
  private final ManualClock clock = new ManualClock();
  private final ScriptedRouter router = new ScriptedRouter();
  private final RespContext context = RespContext.builder(router, configOnlyStore()).clock(clock).version("test").build();
  private final InputBudget budget = new InputBudget(10_000);

  @AfterEach
  void tearDown() {
    assertThat(budget.usedBytes()).isGreaterThanOrEqualTo(0);
  }

  private Store configOnlyStore() {
    StoreConfig config = StoreConfig.of(1 << 20, clock);
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          if (method.getName().equals("config")) {
            return config;
          }
          throw new AssertionError("unexpected store call " + method.getName());
        });
  }

  private EmbeddedChannel connection(Duration requestTimeout, Duration idleTimeout) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.pipeline().addLast(new InputMeter(budget, requestTimeout, idleTimeout));
    RespPipeline.install(ch.pipeline(), context);
    return ch;
  }

  private static String send(EmbeddedChannel ch, String bytes) {
    // Exact-size buffers, as a socket read delivers: the decoder must grow its own to hold more.
    ch.writeInbound(Unpooled.wrappedBuffer(bytes.getBytes(StandardCharsets.ISO_8859_1)));
    return output(ch);
  }

  private static String output(EmbeddedChannel ch) {
    ch.runPendingTasks();
    StringBuilder sb = new StringBuilder();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      sb.append(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    return sb.toString();
  }

  @Test
  void incompleteRequest_pastTheNodeWideBound_isRefusedAndClosed_othersKeepTheirShare() {
    EmbeddedChannel first = connection(Duration.ZERO, Duration.ZERO);
    EmbeddedChannel second = connection(Duration.ZERO, Duration.ZERO);
    // 6,000 bytes of a 9,000-byte value: held while the rest is awaited.
    assertThat(send(first, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9000\r\n" + "x".repeat(6_000))).isEmpty();
    long held = budget.usedBytes();
    assertThat(held).isGreaterThan(6_000).isLessThan(6_100);

    String reply = send(second, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9000\r\n" + "y".repeat(5_000));

    assertThat(reply).isEqualTo("-ERR the node's buffers for incomplete requests are full; closing the connection\r\n");
    assertThat(second.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isEqualTo(held);
    assertThat(budget.refusals()).isEqualTo(1);
    assertThat(first.isOpen()).isTrue();
    assertThat(send(first, "x".repeat(3_000) + "\r\n")).isEqualTo("+OK\r\n");
    assertThat(budget.usedBytes()).isZero();
    first.finishAndReleaseAll();
  }

  @Test
  void millionEmptyArguments_areCountedAtTheirHeapCost() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    // 1,000 empty arguments are 6,000 wire bytes; their array of references is counted too.
    String reply = send(ch, "*1000000\r\n" + "$0\r\n\r\n".repeat(1_000));
    assertThat(budget.usedBytes()).isGreaterThanOrEqualTo(8L * 1_000);
    assertThat(reply).isEmpty();
    reply = send(ch, "$0\r\n\r\n".repeat(1_000));
    assertThat(reply).startsWith("-ERR the node's buffers for incomplete requests are full");
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
  }

  @Test
  void request_notCompleteWithinTheDeadline_isAnsweredAndClosed() {
    EmbeddedChannel ch = connection(Duration.ofSeconds(5), Duration.ZERO);
    assertThat(send(ch, "*1\r\n$10\r\nPI")).isEmpty();
    for (int i = 0; i < 4; i++) { // a byte a second: still within 5 s of the first byte
      ch.advanceTimeBy(1, TimeUnit.SECONDS);
      assertThat(send(ch, "N")).isEmpty();
    }
    assertThat(ch.isOpen()).isTrue();
    ch.advanceTimeBy(1, TimeUnit.SECONDS);

    assertThat(output(ch)).isEqualTo(
        "-ERR request not complete within 5000 ms (--request-timeout); closing the connection\r\n");
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
  }

  @Test
  void completeRequests_restartTheDeadline() {
    EmbeddedChannel ch = connection(Duration.ofSeconds(5), Duration.ZERO);
    for (int i = 0; i < 10; i++) {
      assertThat(send(ch, "PING\r\nPI")).isEqualTo("+PONG\r\n");
      ch.advanceTimeBy(3, TimeUnit.SECONDS);
      assertThat(send(ch, "NG\r\n")).isEqualTo("+PONG\r\n");
    }
    assertThat(ch.isOpen()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void idleTimeout_countsFromTheLastCompleteRequest_notFromTricklingBytes() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ofSeconds(5));
    assertThat(send(ch, "PING\r\n")).isEqualTo("+PONG\r\n");
    ch.advanceTimeBy(4, TimeUnit.SECONDS);
    assertThat(send(ch, "PING\r\n")).isEqualTo("+PONG\r\n");
    for (int i = 0; i < 4; i++) { // bytes that never make a request
      ch.advanceTimeBy(1, TimeUnit.SECONDS);
      send(ch, i == 0 ? "*1\r\n$4\r\n" : "P");
      assertThat(ch.isOpen()).isTrue();
    }
    ch.advanceTimeBy(1, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
  }

  @Test
  void outOfMemoryWhileReading_isAnsweredWithOom_notASilentClose() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    ch.config().setAllocator(new FailingAllocator(4_096));
    assertThat(send(ch, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$8000\r\n" + "x".repeat(3_000))).isEmpty();

    // Growing the decoder's buffer past 4 KiB fails as an exhausted direct memory would.
    String reply = send(ch, "x".repeat(3_000));

    assertThat(reply).isEqualTo("-OOM not enough memory to read or answer the request; closing the connection\r\n");
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
  }

  @Test
  void httpPost_carryingCommands_executesNothingAndCloses() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    String reply = send(ch, "POST / HTTP/1.1\r\nHost: 127.0.0.1:7000\r\nContent-Length: 15\r\n\r\nSET pwned yes\r\n");
    assertThat(reply).isEmpty();
    assertThat(ch.isOpen()).isFalse();
    assertThat(router.requests).isEmpty();
  }

  @Test
  void hostLine_afterOtherCommands_closesBeforeTheRest() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    String reply = send(ch, "PING\r\nhost: evil\r\nSET pwned yes\r\n");
    assertThat(reply).isEqualTo("+PONG\r\n");
    assertThat(ch.isOpen()).isFalse();
    assertThat(router.requests).isEmpty();
  }

  /** Fails every allocation above a size with the error an exhausted direct memory gives. */
  private static final class FailingAllocator extends AbstractByteBufAllocator {
    private final int maxBytes;

    FailingAllocator(int maxBytes) {
      super(false);
      this.maxBytes = maxBytes;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      check(initialCapacity);
      return Unpooled.buffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      check(initialCapacity);
      return Unpooled.directBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }

    private void check(int capacity) {
      if (capacity > maxBytes) {
        throw new OutOfMemoryError("Direct buffer memory");
      }
    }
  }

}
