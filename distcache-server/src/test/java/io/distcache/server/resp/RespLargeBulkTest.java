package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.server.ManualClock;
import io.distcache.server.net.InputBudget;
import io.distcache.server.net.InputMeter;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Large bulks (RespDecoder.STREAM_BULK_BYTES and up) copied into their argument as they arrive:
 * the value comes out whole whatever the read boundaries, what the connection holds in the
 * node-wide budget follows what has arrived (never the length a header claims), the limits still
 * apply, and a client that leaves mid-value leaves nothing held. Each connection is an
 * EmbeddedChannel with the real meter, decoder and session, as in RespInputLimitsTest.
 */
class RespLargeBulkTest {
  private static final int MAX_VALUE = 1 << 20;

  private final ManualClock clock = new ManualClock();
  private final ScriptedRouter router = new ScriptedRouter();
  private final RespContext context = RespContext.builder(router, configOnlyStore()).clock(clock).version("test")
      .limits(RespLimits.forMaxValueBytes(MAX_VALUE)).build();

  private Store configOnlyStore() {
    StoreConfig config = StoreConfig.of(64L << 20, clock);
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          if (method.getName().equals("config")) {
            return config;
          }
          throw new AssertionError("unexpected store call " + method.getName());
        });
  }

  private EmbeddedChannel connection(InputBudget budget) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.pipeline().addLast(new InputMeter(budget, Duration.ZERO, Duration.ZERO));
    RespPipeline.install(ch.pipeline(), context);
    return ch;
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 31 + seed); // every byte value, CR and LF included
    }
    return v;
  }

  private static byte[] setRequest(String key, byte[] value) {
    ByteBuf b = Unpooled.buffer();
    b.writeCharSequence("*3\r\n$3\r\nSET\r\n$" + key.length() + "\r\n" + key + "\r\n$" + value.length + "\r\n",
        StandardCharsets.ISO_8859_1);
    b.writeBytes(value).writeCharSequence("\r\n", StandardCharsets.ISO_8859_1);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  /** Writes {@code bytes} in reads of {@code chunk} while the channel is open, recording the budget held after each. */
  private static List<Long> sendInChunks(EmbeddedChannel ch, InputBudget budget, byte[] bytes, int chunk) {
    List<Long> held = new ArrayList<>();
    for (int at = 0; at < bytes.length && ch.isOpen(); at += chunk) {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes, at, Math.min(chunk, bytes.length - at)));
      ch.runPendingTasks();
      held.add(budget.usedBytes());
    }
    return held;
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
  void largeValue_inManySmallReads_arrivesWhole_andHeldFollowsWhatArrived() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    byte[] value = value(700_000, 7);
    byte[] request = setRequest("k", value);
    int chunk = 1_000;

    List<Long> held = sendInChunks(ch, budget, request, chunk);

    assertThat(output(ch)).isEqualTo("+OK\r\n");
    assertThat(router.requests).hasSize(1);
    assertThat(router.last().value()).isEqualTo(value);
    for (int i = 0; i < held.size() - 1; i++) {
      long arrived = (long) (i + 1) * chunk;
      // the argument's array is at most twice what arrived, or one step, plus small bookkeeping
      assertThat(held.get(i)).as("after read %d", i)
          .isLessThanOrEqualTo(Math.max(2 * arrived, RespDecoder.STREAM_STEP_BYTES) + 1_000);
    }
    assertThat(budget.usedBytes()).isZero();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void largeValue_headerAloneClaimingTheLimit_holdsNothingForTheClaim() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    ch.writeInbound(Unpooled.copiedBuffer("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + MAX_VALUE + "\r\nab",
        StandardCharsets.ISO_8859_1));
    ch.runPendingTasks();
    assertThat(budget.usedBytes()).isLessThanOrEqualTo(RespDecoder.STREAM_STEP_BYTES + 1_000);
    ch.close();
  }

  @Test
  void valueExactlyAtTheLimit_streamed_isAccepted_andOneByteMore_isRefusedBeforeItsData() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    byte[] value = value(MAX_VALUE, 3);
    sendInChunks(ch, budget, setRequest("k", value), 65_536);
    assertThat(output(ch)).isEqualTo("+OK\r\n");
    assertThat(router.last().value()).isEqualTo(value);

    EmbeddedChannel over = connection(budget);
    over.writeInbound(Unpooled.copiedBuffer("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + (MAX_VALUE + 1) + "\r\n",
        StandardCharsets.ISO_8859_1));
    assertThat(output(over)).isEqualTo("-ERR Protocol error: invalid bulk length\r\n");
    assertThat(over.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void pipelinedLargeValues_atOddReadBoundaries_eachWholeAndInOrder() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    byte[] a = value(100_000, 1);
    byte[] b = value(RespDecoder.STREAM_BULK_BYTES, 2);
    byte[] c = value(RespDecoder.STREAM_BULK_BYTES - 1, 3);
    byte[] d = value(300_001, 4);
    byte[] get = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n".getBytes(StandardCharsets.ISO_8859_1);
    byte[] stream = concat(setRequest("a", a), setRequest("b", b), get, setRequest("c", c), setRequest("d", d));

    sendInChunks(ch, budget, stream, 7_777);

    assertThat(router.requests).hasSize(5);
    assertThat(router.requests.get(0).value()).isEqualTo(a);
    assertThat(router.requests.get(1).value()).isEqualTo(b);
    assertThat(new String(router.requests.get(2).key(), StandardCharsets.ISO_8859_1)).isEqualTo("a");
    assertThat(router.requests.get(3).value()).isEqualTo(c);
    assertThat(router.requests.get(4).value()).isEqualTo(d);
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void largeValue_andTheRestOfThePipelineInOneRead() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    byte[] a = value(200_000, 5);
    byte[] request = setRequest("a", a);
    byte[] ping = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.ISO_8859_1);
    // the header and a little of the value first, then the rest of it with the next request behind it
    ch.writeInbound(Unpooled.wrappedBuffer(request, 0, 40));
    ch.writeInbound(Unpooled.wrappedBuffer(concat(Arrays.copyOfRange(request, 40, request.length), ping)));
    assertThat(output(ch)).isEqualTo("+OK\r\n+PONG\r\n");
    assertThat(router.last().value()).isEqualTo(a);
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }

  @Test
  void largeValue_pastTheNodeWideBound_isRefused_andItsArrayNoLongerCounts() {
    InputBudget budget = new InputBudget(300_000);
    EmbeddedChannel ch = connection(budget);
    byte[] request = setRequest("k", value(600_000, 9));

    sendInChunks(ch, budget, Arrays.copyOf(request, 400_000), 50_000);

    assertThat(output(ch)).matches("-ERR the node's buffers for requests not yet run are full: all connections hold"
        + " \\d+ bytes, the limit is 300000 \\(--max-input-buffer\\), and this connection needs \\d+ more;"
        + " closing the connection\r\n");
    assertThat(ch.isOpen()).isFalse();
    assertThat(budget.usedBytes()).isZero();
    assertThat(router.requests).isEmpty();
  }

  @Test
  void clientLeavingMidValue_leavesNothingHeld() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    RespDecoder decoder = ch.pipeline().get(RespDecoder.class);
    byte[] request = setRequest("k", value(500_000, 11));
    sendInChunks(ch, budget, Arrays.copyOf(request, 250_000), 10_000);
    assertThat(budget.usedBytes()).isGreaterThanOrEqualTo(240_000);
    assertThat(decoder.idle()).isFalse();

    ch.close();

    assertThat(budget.usedBytes()).isZero();
    assertThat(decoder.idle()).isTrue();
    assertThat(router.requests).isEmpty();
  }

  @Test
  void largeValue_completedBy_frame_isTheExactArray() {
    InputBudget budget = new InputBudget(64L << 20);
    EmbeddedChannel ch = connection(budget);
    byte[] value = value(65_537, 13);
    sendInChunks(ch, budget, setRequest("k", value), 4_096);
    Frame f = router.last();
    assertThat(f.value()).hasSize(65_537).isEqualTo(value);
    ch.finishAndReleaseAll();
  }
}
