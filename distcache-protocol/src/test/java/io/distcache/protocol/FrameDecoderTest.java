package io.distcache.protocol;

import static io.distcache.protocol.FrameAssert.assertSameFrame;
import static io.distcache.protocol.Fixtures.bytes;
import static io.distcache.protocol.Fixtures.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
  private static final int ONE_MIB = 1024 * 1024;

  private static final Frame GET_FOO = new Frame(
      Opcode.GET.code(), 0, 3, Status.OK, Frame.NO_EXTRAS, utf8("foo"), Frame.EMPTY);

  private final EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(ONE_MIB));

  @Test
  void decode_oneByteAtATime_emitsFrameOnlyAfterLastByte() {
    byte[] frame = Fixtures.SET_WITH_TTL_REQUEST;
    for (int i = 0; i < frame.length - 1; i++) {
      assertThat(channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {frame[i]})))
          .as("message after byte %d of %d", i + 1, frame.length)
          .isFalse();
    }
    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {frame[frame.length - 1]}))).isTrue();

    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.SET.code(), 0, 2, Status.OK, new long[] {60_000}, utf8("foo"), utf8("bar")));
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_manyFramesInOneBuffer_emitsEachInOrder() {
    channel.writeInbound(Unpooled.wrappedBuffer(concat(
        Fixtures.PING_REQUEST, Fixtures.GET_REQUEST, Fixtures.GET_HIT_RESPONSE, Fixtures.GET_MISS_RESPONSE)));

    assertSameFrame(channel.readInbound(),
        new Frame(Opcode.PING.code(), 0, 1, Status.OK, Frame.NO_EXTRAS, Frame.EMPTY, Frame.EMPTY));
    assertSameFrame(channel.readInbound(), GET_FOO);
    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.GET.code(), Flags.RESPONSE, 3, Status.OK, Frame.NO_EXTRAS, Frame.EMPTY, utf8("bar")));
    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.GET.code(), Flags.RESPONSE, 4, Status.NOT_FOUND, Frame.NO_EXTRAS, Frame.EMPTY, Frame.EMPTY));
    assertThat(channel.<Object>readInbound()).isNull();
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_frameSplitAcrossTwoBuffersWithNextFrame_emitsBoth() {
    byte[] both = concat(Fixtures.GET_REQUEST, Fixtures.PING_REQUEST);
    int split = Fixtures.GET_REQUEST.length - 1;
    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(both, 0, split)))).isFalse();
    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(both, split, both.length)))).isTrue();

    assertSameFrame(channel.readInbound(), GET_FOO);
    assertThat(((Frame) channel.readInbound()).op()).isEqualTo(Opcode.PING);
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_truncatedFrame_waitsWithoutError() {
    byte[] frame = Fixtures.NOT_A_NUMBER_RESPONSE;

    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(frame, frame.length - 5)))).isFalse();
    assertThat(channel.<Object>readInbound()).isNull();

    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOfRange(frame, frame.length - 5, frame.length))))
        .isTrue();
    Frame decoded = channel.readInbound();
    assertThat(decoded.status()).isEqualTo(Status.NOT_A_NUMBER);
    assertThat(decoded.valueText()).isEqualTo("value is not an integer or out of range");
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_headerDeclaringTwoGibValue_throwsTooLargeBeforeBufferingBody() {
    AtomicInteger largestAllocation = new AtomicInteger();
    channel.config().setAllocator(new TrackingAllocator(largestAllocation));

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(Fixtures.HUGE_VALUE_HEADER)))
        .isInstanceOfSatisfying(FrameTooLargeException.class, e -> {
          assertThat(e.requestId()).isEqualTo(7);
          assertThat(e.opcode()).isEqualTo(Opcode.SET.code());
          assertThat(e.valueBytes()).isEqualTo(1L << 31);
          assertThat(e.frameBytes()).isEqualTo(20 + 1 + (1L << 31));
          assertThat(e).hasMessageContaining("frame length 2147483669").hasMessageContaining("limit 1048576");
        });

    // The declared body is skipped as it arrives: a MiB of it allocates nothing big and emits nothing.
    for (int i = 0; i < 16; i++) {
      assertThat(channel.writeInbound(Unpooled.wrappedBuffer(new byte[64 * 1024]))).isFalse();
    }
    assertThat(largestAllocation.get()).isLessThan(64 * 1024);
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_oversizeFrameFollowedByValidFrame_skipsBodyAndDecodesNext() {
    EmbeddedChannel small = new EmbeddedChannel(new FrameDecoder(64));
    byte[] oversize = concat(
        bytes(0xDC, 0x01, 0x03, 0x00, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 100),
        new byte[] {'k'}, new byte[100]);

    assertThatThrownBy(() -> small.writeInbound(Unpooled.wrappedBuffer(Arrays.copyOf(oversize, 60))))
        .isInstanceOfSatisfying(FrameTooLargeException.class, e -> assertThat(e.requestId()).isEqualTo(9));
    small.writeInbound(Unpooled.wrappedBuffer(concat(
        Arrays.copyOfRange(oversize, 60, oversize.length), Fixtures.GET_REQUEST)));

    assertSameFrame(small.readInbound(), GET_FOO);
    assertThat(small.finish()).isFalse();
  }

  @Test
  void decode_oversizeFrameAndNextFrameInOneRead_reportsTooLargeAndDecodesNextWithoutMoreBytes() {
    EmbeddedChannel small = new EmbeddedChannel(new FrameDecoder(64));
    byte[] oversize = concat(
        bytes(0xDC, 0x01, 0x03, 0x00, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 100),
        new byte[] {'k'}, new byte[100]);

    assertThatThrownBy(() -> small.writeInbound(Unpooled.wrappedBuffer(concat(oversize, Fixtures.GET_REQUEST))))
        .isInstanceOfSatisfying(FrameTooLargeException.class, e -> assertThat(e.requestId()).isEqualTo(9));

    assertSameFrame(small.readInbound(), GET_FOO);
    assertThat(small.finish()).isFalse();
  }

  @Test
  void decode_keyOverLimit_throwsTooLargeNamingKeyLength() {
    byte[] header = bytes(0xDC, 0x01, 0x02, 0x00, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01, 0, 0, 0, 0);

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(header)))
        .isInstanceOf(FrameTooLargeException.class)
        .hasMessageContaining("key length 65537 exceeds the limit 65536")
        .hasMessageContaining("request id 11");
  }

  @Test
  void decode_extrasOverLimit_throwsTooLarge() {
    byte[] header = bytes(0xDC, 0x01, 0x03, 0x00, 0, 0, 0, 12, 0, 0, 0, 72, 0, 0, 0, 0, 0, 0, 0, 0);

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(header)))
        .isInstanceOfSatisfying(FrameTooLargeException.class, e -> assertThat(e.extrasBytes()).isEqualTo(72))
        .hasMessageContaining("extras length 72 exceeds the limit 64");
  }

  @Test
  void decode_extrasNotMultipleOfEight_throwsMalformed() {
    byte[] header = bytes(0xDC, 0x01, 0x03, 0x00, 0, 0, 0, 13, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0);

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(header)))
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("extras length 7 is not a multiple of 8");
  }

  @Test
  void decode_badMagic_throwsNamingTheByteAndDropsTheRest() {
    byte[] redis = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\n".getBytes(StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(redis)))
        .isInstanceOf(CorruptedFrameException.class)
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("bad magic byte 0x2a");
    // The stream cannot be resynchronised: even a well-formed frame after it is dropped.
    assertThat(channel.writeInbound(Unpooled.wrappedBuffer(Fixtures.PING_REQUEST))).isFalse();
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_unsupportedVersion_throwsMalformed() {
    byte[] frame = Fixtures.PING_REQUEST.clone();
    frame[1] = 2;

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(frame)))
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("unsupported protocol version 2");
  }

  @Test
  void decode_unknownOpcode_decodesKeepingTheRawByte() {
    channel.writeInbound(Unpooled.wrappedBuffer(concat(Fixtures.UNKNOWN_OPCODE_REQUEST, Fixtures.PING_REQUEST)));

    Frame unknown = channel.readInbound();
    assertThat(unknown.opcode()).isEqualTo((byte) 0x7F);
    assertThat(unknown.op()).isNull();
    assertThat(unknown.requestId()).isEqualTo(6);
    assertThat(unknown.key()).containsExactly('k');
    assertThat(((Frame) channel.readInbound()).op()).isEqualTo(Opcode.PING);
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void decode_unknownStatusInResponse_throwsMalformed() {
    byte[] frame = Fixtures.GET_MISS_RESPONSE.clone();
    frame[9] = 99;

    assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(frame)))
        .isInstanceOf(MalformedFrameException.class)
        .hasMessageContaining("unknown status code 99")
        .hasMessageContaining("request id 4");
  }

  @Test
  void decode_workedExamples_matchTheirDocumentedMeaning() {
    channel.writeInbound(Unpooled.wrappedBuffer(concat(
        Fixtures.PING_RESPONSE, Fixtures.SET_RESPONSE, Fixtures.INCREMENT_REQUEST)));

    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.PING.code(), Flags.RESPONSE, 1, Status.OK, Frame.NO_EXTRAS, Frame.EMPTY, Frame.EMPTY));
    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.SET.code(), Flags.RESPONSE, 2, Status.OK, new long[] {115}, Frame.EMPTY, Frame.EMPTY));
    assertSameFrame(channel.readInbound(), new Frame(
        Opcode.INCREMENT.code(), 0, 5, Status.OK, new long[] {1}, utf8("foo"), Frame.EMPTY));
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void readFrame_incompleteBuffer_returnsNullConsumingNothing() {
    ByteBuf buf = Unpooled.wrappedBuffer(Arrays.copyOf(Fixtures.GET_REQUEST, 21));
    try {
      assertThat(FrameDecoder.readFrame(buf, ONE_MIB)).isNull();
      assertThat(buf.readerIndex()).isZero();
    } finally {
      buf.release();
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
