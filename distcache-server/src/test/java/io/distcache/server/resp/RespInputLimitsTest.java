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
    return connection(budget, requestTimeout, idleTimeout);
  }

  private EmbeddedChannel connection(InputBudget budget, Duration requestTimeout, Duration idleTimeout) {
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

    // The second would hold its 5,000 bytes of value, SET and k (3 and 1 bytes + 24 each) and their
    // three references (8 each): with the first's, over the limit of 10,000.
    assertThat(reply).isEqualTo("-ERR the node's buffers for requests not yet run are full: all connections hold "
        + held + " bytes, the limit is 10000 (--max-input-buffer), and this connection needs "
        + 5_076 + " more; closing the connection\r\n");
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
    assertThat(reply).startsWith("-ERR the node's buffers for requests not yet run are full");
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
  }

  /** The client stops reading its replies (the channel turns unwritable): what it sends next waits to run. */
  private static void clientReads(EmbeddedChannel ch, boolean reads) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, reads);
    ch.runPendingTasks();
  }

  /** PING, then ECHO of 3,000 bytes: counted at 36 (inline: 4 + 32) and 3,092 bytes while they wait. */
  private static final String PING_AND_ECHO = "PING\r\n*2\r\n$4\r\nECHO\r\n$3000\r\n" + "e".repeat(3_000) + "\r\n";
  private static final long PING_AND_ECHO_HELD = 36 + 3_092;

  @Test
  void completeRequestsWaitingToRun_pastTheNodeWideBound_lastIsRefusedInOrder_othersRunWhenTheWaitEnds() {
    java.util.List<EmbeddedChannel> waiting = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
      clientReads(ch, false);
      assertThat(send(ch, PING_AND_ECHO)).as("both wait, unrun").isEmpty();
      waiting.add(ch);
    }
    assertThat(budget.usedBytes()).isEqualTo(3 * PING_AND_ECHO_HELD);
    EmbeddedChannel last = connection(Duration.ZERO, Duration.ZERO);
    clientReads(last, false);

    // Its PING fits (36 more); its ECHO (3,092 more) would pass 10,000: refused, its place taken by the error.
    assertThat(send(last, PING_AND_ECHO + "PING\r\n")).isEmpty();
    assertThat(budget.usedBytes()).isEqualTo(3 * PING_AND_ECHO_HELD + 36);
    assertThat(budget.refusals()).isEqualTo(1);

    String echoed = "+PONG\r\n$3000\r\n" + "e".repeat(3_000) + "\r\n";
    for (EmbeddedChannel ch : waiting) {
      clientReads(ch, true);
      assertThat(output(ch)).isEqualTo(echoed);
      assertThat(ch.isOpen()).isTrue();
    }
    clientReads(last, true);
    assertThat(output(last)).isEqualTo("+PONG\r\n-ERR the node's buffers for requests not yet run are full: all"
        + " connections hold " + (3 * PING_AND_ECHO_HELD + 36) + " bytes, the limit is 10000 (--max-input-buffer),"
        + " and this connection needs 3092 more; closing the connection\r\n");
    assertThat(last.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
    waiting.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  @Test
  void requestsWaitingToRun_connectionClosed_releaseTheirShare() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    clientReads(ch, false);
    send(ch, PING_AND_ECHO);
    assertThat(budget.usedBytes()).isEqualTo(PING_AND_ECHO_HELD);

    ch.close();

    assertThat(budget.usedBytes()).isZero();
  }

  @Test
  void requestCompletingWhileTheConnectionWaits_takesOverWhatItsIncompletePartHeld() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    clientReads(ch, false);
    String echo = "*2\r\n$4\r\nECHO\r\n$3000\r\n" + "e".repeat(3_000) + "\r\n";
    assertThat(send(ch, echo.substring(0, 2_000))).isEmpty();
    long incomplete = budget.usedBytes();
    assertThat(incomplete).isGreaterThan(1_900);

    assertThat(send(ch, echo.substring(2_000))).isEmpty();

    assertThat(budget.usedBytes()).as("counted once, at its heap estimate").isEqualTo(3_092);
    clientReads(ch, true);
    assertThat(output(ch)).isEqualTo("$3000\r\n" + "e".repeat(3_000) + "\r\n");
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void requestWaitingForItsReply_countsUntilTheReplyIsWritten() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    router.hold(true);
    String get = "*2\r\n$3\r\nGET\r\n$1000\r\n" + "k".repeat(1_000) + "\r\n";

    assertThat(send(ch, get)).as("forwarded, its reply not come").isEmpty();

    // Its arguments stay on the heap until then: 1,003 bytes + 2 x 24 + 2 x 8 + 24.
    assertThat(budget.usedBytes()).isEqualTo(1_091);
    router.pending.get(0).complete(router.last().reply(io.distcache.protocol.Status.NOT_FOUND));
    assertThat(output(ch)).isEqualTo("$-1\r\n");
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  /**
   * An argument large enough to arrive in a buffer is copied to a heap array for a command that does
   * not take buffers (HSET): while it waits for its reply it counts the whole G1 regions it takes.
   */
  @Test
  void largeArgumentWaitingForItsReply_countsTheRegionsItsArrayTakes() {
    InputBudget large = new InputBudget(64 << 20);
    EmbeddedChannel ch = connection(large, Duration.ZERO, Duration.ZERO);
    router.hold(true);
    // just over half a region of this JVM's G1, or 700 KiB when it runs another collector
    int length = ArrayHeap.REGION_BYTES > 0 ? (int) (ArrayHeap.REGION_BYTES / 2) : 700 * 1024;
    String hset = "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$" + length + "\r\n" + "v".repeat(length) + "\r\n";

    assertThat(send(ch, hset)).as("forwarded, its reply not come").isEmpty();

    // 4 + 1 + 1 + length bytes, 4 x 24 + 4 x 8 + 24, and the regions the value's array takes; and
    // the request's own encoding of the field and value, a second array kept while it is forwarded.
    int encoded = router.last().valueLength();
    assertThat(encoded).isGreaterThan(length);
    assertThat(large.usedBytes()).isEqualTo(6 + length + 4 * 24 + 4 * 8 + 24 + ArrayHeap.excess(length)
        + encoded + ArrayHeap.HEADER + ArrayHeap.excess(encoded));
    if (ArrayHeap.REGION_BYTES > 0) {
      assertThat(ArrayHeap.excess(length)).as("a humongous array takes a whole region").isPositive();
    }
    router.pending.get(0).complete(router.last().replyOk(1));
    assertThat(output(ch)).isEqualTo(":1\r\n");
    assertThat(large.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  /** A forwarded SET keeps a heap copy of its buffered value until the reply comes: whole regions when large. */
  @Test
  void largeSetValueWaitingForItsReply_countsTheRegionsItsCopyTakes() {
    InputBudget large = new InputBudget(64 << 20);
    EmbeddedChannel ch = connection(large, Duration.ZERO, Duration.ZERO);
    router.hold(true);
    int length = ArrayHeap.REGION_BYTES > 0 ? (int) (ArrayHeap.REGION_BYTES / 2) : 700 * 1024;
    String set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + length + "\r\n" + "v".repeat(length) + "\r\n";

    assertThat(send(ch, set)).as("forwarded, its reply not come").isEmpty();

    assertThat(large.usedBytes()).isEqualTo(4 + length + 3 * 24 + 3 * 8 + 24 + ArrayHeap.excess(length));
    router.pending.get(0).complete(router.last().replyOk());
    assertThat(output(ch)).isEqualTo("+OK\r\n");
    assertThat(large.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void requestsWaitingForTheirReplies_passTheBound_areCountedStill_andOthersAreRefused() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    router.hold(true);
    String get = "*2\r\n$3\r\nGET\r\n$4000\r\n" + "k".repeat(4_000) + "\r\n";
    send(ch, get + get + get);
    // Three ran and wait for their replies (4,091 each): past the 10,000 bound, but they already ran.
    assertThat(budget.usedBytes()).isEqualTo(3 * 4_091);

    EmbeddedChannel other = connection(Duration.ZERO, Duration.ZERO);
    assertThat(send(other, "*2\r\n$4\r\nECHO\r\n$100\r\n" + "e".repeat(50))).startsWith(
        "-ERR the node's buffers for requests not yet run are full");
    assertThat(other.isOpen()).isFalse();

    router.pending.forEach(p -> p.complete(router.last().reply(io.distcache.protocol.Status.NOT_FOUND)));
    assertThat(output(ch)).isEqualTo("$-1\r\n".repeat(3));
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void pipelineBehindItsOwnRequestsInFlight_whenTheBoundFills_stopsReadingAndIsNotRefused() {
    EmbeddedChannel ch = connection(Duration.ZERO, Duration.ZERO);
    router.hold(true);
    String get = "*2\r\n$3\r\nGET\r\n$4000\r\n" + "k".repeat(4_000) + "\r\n";
    String small = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";

    assertThat(send(ch, get + get + get + small)).isEmpty();

    // Three ran and filled the bound with their arguments; the fourth waits, counted, not refused.
    assertThat(budget.usedBytes()).isEqualTo(3 * 4_091 + 92);
    assertThat(router.pending).hasSize(3);
    assertThat(ch.config().isAutoRead()).as("reading stops while its own requests fill the bound").isFalse();
    assertThat(ch.isOpen()).isTrue();

    router.pending.forEach(p -> p.complete(router.last().reply(io.distcache.protocol.Status.NOT_FOUND)));
    ch.runPendingTasks();
    assertThat(router.pending).as("the fourth ran once the replies came").hasSize(4);
    router.pending.get(3).complete(router.last().reply(io.distcache.protocol.Status.NOT_FOUND));
    assertThat(output(ch)).isEqualTo("$-1\r\n".repeat(4));
    assertThat(ch.config().isAutoRead()).isTrue();
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
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
