package io.distcache.protocol;

import static io.distcache.protocol.FrameAssert.assertSameFrame;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** FrameDecoder's gathering of a large frame's value as it arrives (see its design note). */
class FrameDecoderGatherTest {
  private static final int LIMIT = 4 * 1024 * 1024;

  /** Exposes what the decoder holds for a frame being gathered. */
  private static final class Probe extends FrameDecoder {
    Probe() {
      super(LIMIT);
    }

    long held() {
      return gatheredBytes();
    }

    int cumulated() {
      return internalBuffer().readableBytes();
    }

    int capacity() {
      return internalBuffer().capacity();
    }
  }

  private static byte[] wire(Frame... frames) {
    ByteBuf b = Unpooled.buffer();
    for (Frame f : frames) {
      FrameEncoder.write(f, b);
    }
    byte[] bytes = new byte[b.readableBytes()];
    b.readBytes(bytes);
    b.release();
    return bytes;
  }

  private static byte[] random(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  @Property(tries = 60)
  void largeFramesSplitAnywhere_decodeAsSent_betweenSmallOnes(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 100_000) int largestPiece) {
    Random r = new Random(seed);
    List<Frame> sent = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      sent.add(new Frame(Opcode.SET.code(), 0, 2 * i, Status.OK, new long[] {r.nextLong()},
          random(r, r.nextInt(20)), random(r, r.nextInt(200))));
      int valueBytes = FrameDecoder.GATHER_VALUE_BYTES - 2 + r.nextInt(3 * FrameDecoder.CHUNK_BYTES);
      long[] extras = r.nextBoolean() ? Frame.NO_EXTRAS : new long[] {r.nextLong(), r.nextLong()};
      sent.add(new Frame(Opcode.REPLICATE.code(), r.nextBoolean() ? Flags.RESPONSE : 0, 2 * i + 1, Status.OK, extras,
          random(r, r.nextInt(300)), random(r, valueBytes)));
    }
    byte[] bytes = wire(sent.toArray(new Frame[0]));
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(LIMIT));
    for (int at = 0; at < bytes.length; ) {
      int n = Math.min(bytes.length - at, 1 + r.nextInt(largestPiece));
      ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, at, at + n)));
      at += n;
    }
    for (Frame expected : sent) {
      Frame got = ch.readInbound();
      assertThat(got).as("frame %d", expected.requestId()).isNotNull();
      assertThat(got.requestId()).isEqualTo(expected.requestId());
      assertThat(got.flags()).isEqualTo(expected.flags());
      assertThat(got.extras()).containsExactly(expected.extras());
      assertThat(Arrays.equals(got.key(), expected.key())).as("key of %d", expected.requestId()).isTrue();
      assertThat(Arrays.equals(got.value(), expected.value())).as("value of %d", expected.requestId()).isTrue();
    }
    assertThat(ch.<Object>readInbound()).isNull();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void aLargeFrameArrivingInPieces_neverMakesTheCumulationGrowToItsSize() {
    Probe probe = new Probe();
    EmbeddedChannel ch = new EmbeddedChannel(probe);
    AtomicInteger largestAsked = new AtomicInteger();
    ch.config().setAllocator(new TrackingAllocator(largestAsked));
    Frame big = new Frame(Opcode.REPLICATE.code(), 0, 7, Status.OK, new long[] {1, 2}, new byte[] {'k'},
        random(new Random(1), 1024 * 1024));
    byte[] head = wire(big);
    byte[] bytes = Arrays.copyOf(head, head.length + Fixtures.PING_REQUEST.length);
    System.arraycopy(Fixtures.PING_REQUEST, 0, bytes, head.length, Fixtures.PING_REQUEST.length);
    int largestCumulation = 0;
    for (int at = 0; at < bytes.length; at += 16 * 1024 + 3) {
      ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + 16 * 1024 + 3))));
      largestCumulation = Math.max(largestCumulation, probe.capacity());
    }
    assertSameFrame(ch.readInbound(), big);
    assertThat(((Frame) ch.readInbound()).op()).isEqualTo(Opcode.PING);
    // Left in the cumulation, the frame grew it by doubling to 1 MiB and more; now it holds less
    // than a chunk and a read.
    assertThat(largestCumulation).isLessThanOrEqualTo(2 * FrameDecoder.CHUNK_BYTES);
    assertThat(largestAsked.get()).isLessThanOrEqualTo(2 * FrameDecoder.CHUNK_BYTES);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void aHeaderClaimingALargeValue_holdsOnlyWhatArrived() {
    Probe probe = new Probe();
    EmbeddedChannel ch = new EmbeddedChannel(probe);
    Frame big = new Frame(Opcode.SET.code(), 0, 9, Status.OK, Frame.NO_EXTRAS, new byte[] {'k'},
        random(new Random(2), 3 * 1024 * 1024));
    byte[] bytes = wire(big);
    int headAndKey = ProtocolConstants.HEADER_BYTES + 1;

    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(bytes, headAndKey + 100)));
    // The header and key are consumed and counted; the 100 bytes wait in the cumulation (less than a chunk).
    assertThat(probe.held()).isEqualTo(headAndKey);
    assertThat(probe.cumulated()).isEqualTo(100);

    int sent = headAndKey + 100;
    int upTo = headAndKey + 1024 * 1024 + 5;
    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, sent, upTo)));
    assertThat(probe.held()).isEqualTo(headAndKey + 1024 * 1024);
    assertThat(probe.cumulated()).isEqualTo(5);
    assertThat(ch.<Object>readInbound()).isNull();

    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, upTo, bytes.length)));
    assertSameFrame(ch.readInbound(), big);
    assertThat(probe.held()).isZero();
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void aLargeResponseWithAnUnknownStatus_isMalformed_beforeAnyGathering() {
    Probe probe = new Probe();
    EmbeddedChannel ch = new EmbeddedChannel(probe);
    byte[] bytes = wire(new Frame(Opcode.GET.code(), Flags.RESPONSE, 4, Status.OK, Frame.NO_EXTRAS, new byte[0],
        new byte[FrameDecoder.GATHER_VALUE_BYTES]));
    bytes[9] = 99; // the status code's low byte
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(bytes, 1000)));
    } catch (MalformedFrameException expected) {
      assertThat(expected).hasMessageContaining("unknown status code 99");
    }
    assertThat(probe.held()).isZero();
    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, 1000, bytes.length)));
    assertThat(ch.<Object>readInbound()).isNull();
  }

  /** Values at and around whole chunks, back to back, split at sizes around the header and a chunk. */
  @Test
  void exactChunkMultiples_backToBack_anyPieceSize() {
    Random r = new Random(5);
    List<Frame> sent = new ArrayList<>();
    int[] sizes = {65536, 100, 131072, 65537, 196608, 0, 65535, 65536};
    for (int i = 0; i < sizes.length; i++) {
      byte[] v = new byte[sizes[i]];
      r.nextBytes(v);
      sent.add(new Frame(Opcode.SET.code(), 0, i, Status.OK, i % 2 == 0 ? Frame.NO_EXTRAS : new long[] {i},
          i % 3 == 0 ? Frame.EMPTY : new byte[] {(byte) i, 1}, v));
    }
    byte[] bytes = wire(sent.toArray(new Frame[0]));
    for (int piece : new int[] {1, 19, 20, 21, 4093, 65535, 65536, 65557, 65558, bytes.length - 1, bytes.length}) {
      EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(4 << 20));
      for (int at = 0; at < bytes.length; at += piece) {
        ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(bytes, at, Math.min(bytes.length, at + piece))));
      }
      for (Frame e : sent) {
        Frame got = ch.readInbound();
        assertThat(got).as("piece %d frame %d", piece, e.requestId()).isNotNull();
        assertThat(got.requestId()).isEqualTo(e.requestId());
        assertThat(got.extras()).containsExactly(e.extras());
        assertThat(Arrays.equals(got.key(), e.key())).isTrue();
        assertThat(Arrays.equals(got.value(), e.value())).as("piece %d value %d", piece, e.requestId()).isTrue();
      }
      assertThat(ch.<Object>readInbound()).isNull();
      assertThat(ch.finish()).isFalse();
    }
  }

  @Test
  void closeWhileGathering_emitsNothing_andDoesNotThrow() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(4 << 20));
    byte[] bytes = wire(Frame.request(Opcode.SET, 0, new byte[] {'k'}, new byte[200_000]).withRequestId(1));
    ch.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(bytes, 100_000)));
    assertThat(ch.finish()).isFalse();
  }
}
