package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The InputMeter's request deadline and node-wide bound while MeteredFrameDecoder gathers a large
 * binary frame's value (FrameDecoder's design note); written by a reviewer, each failed on the
 * first version of the gathering.
 */
class GatheredFrameMeterTest {
  private static final int MAX_FRAME = 8 << 20;

  private static EmbeddedChannel connection(InputBudget budget, Duration requestTimeout) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.freezeTime();
    ch.pipeline().addLast(new InputMeter(budget, requestTimeout, Duration.ZERO),
        new MeteredFrameDecoder(MAX_FRAME), new BinaryRequestHandler(new MapRouter()));
    return ch;
  }

  private static byte[] wire(Frame f) {
    ByteBuf b = Unpooled.buffer();
    FrameEncoder.write(f, b);
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    b.release();
    return bytes;
  }

  private static void send(EmbeddedChannel ch, byte[] bytes, int from, int to) {
    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, from, to)));
    ch.runPendingTasks();
  }

  private static void advance(EmbeddedChannel ch, long seconds) {
    ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    ch.runPendingTasks();
  }

  /** Control: a header of a frame that is not gathered (value < 64 KiB) is closed at the deadline. */
  @Test
  void control_smallFrame_headerOnly_closedAtTheRequestDeadline() {
    EmbeddedChannel ch = connection(new InputBudget(1 << 30), Duration.ofSeconds(5));
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[0], new byte[1000]).withRequestId(42));
    send(ch, bytes, 0, ProtocolConstants.HEADER_BYTES);
    advance(ch, 6);
    assertThat(ch.isOpen()).isFalse();
    Frame reply = ch.readOutbound();
    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(reply.requestId()).isEqualTo(42);
  }

  /**
   * A header with an empty key claiming a 1 MiB value is consumed when the gathering begins; were
   * it counted as 0 bytes held, the meter would take the request as done and --request-timeout
   * would never fire: with the default --idle-timeout 0, 20 bytes would hold a connection for good.
   */
  @Test
  void largeFrame_emptyKey_headerOnly_isStillClosedAtTheRequestDeadline() {
    InputBudget budget = new InputBudget(1 << 30);
    EmbeddedChannel ch = connection(budget, Duration.ofSeconds(5));
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[0], new byte[1 << 20]).withRequestId(42));
    send(ch, bytes, 0, ProtocolConstants.HEADER_BYTES);
    advance(ch, 6);
    assertThat(ch.isOpen()).as("a request that began 6 s ago with a 5 s --request-timeout").isFalse();
    Frame reply = ch.readOutbound();
    assertThat(reply).isNotNull();
    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(reply.requestId()).isEqualTo(42);
  }

  /**
   * The deadline counts from the read that brought the request's first byte (InputMeter's design
   * note). Header at t=0, first value bytes at t=4 s: the deadline is t=5 s, not 9 s.
   */
  @Test
  void largeFrame_emptyKey_deadlineCountsFromTheHeader_notFromTheFirstValueByte() {
    EmbeddedChannel ch = connection(new InputBudget(1 << 30), Duration.ofSeconds(5));
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[0], new byte[1 << 20]).withRequestId(7));
    send(ch, bytes, 0, ProtocolConstants.HEADER_BYTES);
    advance(ch, 4);
    send(ch, bytes, ProtocolConstants.HEADER_BYTES, ProtocolConstants.HEADER_BYTES + 100);
    advance(ch, 2); // t = 6 s
    assertThat(ch.isOpen()).as("6 s after the request's first byte").isFalse();
  }

  /**
   * Node-wide bound amplification: each hostile connection sends 22 bytes (a header claiming a
   * 1 MiB value, a 1-byte key, one value byte). 64 such connections (1408 bytes on the wire) must
   * not exhaust a 1 MiB --max-input-buffer, as they did when a whole 64 KiB chunk was allocated
   * and charged at a value's first byte (then any client whose read would pass the bound while
   * they held it was refused).
   */
  @Test
  void tinyReadsOfLargeFrames_chargeTheNodeWideBoundAboutWhatArrived() {
    InputBudget budget = new InputBudget(1 << 20);
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[] {'k'}, new byte[1 << 20]).withRequestId(1));
    int sent = ProtocolConstants.HEADER_BYTES + 1 + 1;
    List<EmbeddedChannel> open = new ArrayList<>();
    int refused = 0;
    for (int i = 0; i < 64; i++) {
      EmbeddedChannel ch = connection(budget, Duration.ZERO);
      send(ch, bytes, 0, sent);
      if (!ch.isOpen()) {
        refused++;
      }
      open.add(ch);
    }
    assertThat(refused).as("connections refused, each having sent %d bytes; budget used %d of %d",
        sent, budget.usedBytes(), budget.limitBytes()).isZero();
    assertThat(budget.usedBytes()).isLessThan(64L * 1024);
    for (EmbeddedChannel ch : open) {
      ch.finishAndReleaseAll();
    }
  }

  /** Sanity: a large frame gathered in pieces still completes, and nothing stays counted. */
  @Test
  void control_largeFrameInPieces_completesAndReleasesItsShare() {
    InputBudget budget = new InputBudget(1 << 30);
    EmbeddedChannel ch = connection(budget, Duration.ofSeconds(5));
    byte[] value = new byte[3 * 64 * 1024 + 5]; // 3 chunks and a bit, past FrameDecoder.GATHER_VALUE_BYTES
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[] {'k'}, value).withRequestId(3));
    for (int at = 0; at < bytes.length; at += 10_007) {
      send(ch, bytes, at, Math.min(bytes.length, at + 10_007));
    }
    Frame reply = ch.readOutbound();
    assertThat(reply.status()).isEqualTo(Status.OK);
    assertThat(reply.requestId()).isEqualTo(3);
    assertThat(budget.usedBytes()).isZero();
    ch.finishAndReleaseAll();
  }
}
