package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class FrameEncoderTest {

  static Stream<Arguments> workedExamples() {
    Frame ping = Frame.request(Opcode.PING, 0, null, null).withRequestId(1);
    Frame set = Frame.request(Opcode.SET, 0, utf8("foo"), utf8("bar"), 60_000).withRequestId(2);
    Frame get = Frame.request(Opcode.GET, utf8("foo")).withRequestId(3);
    Frame miss = Frame.request(Opcode.GET, utf8("baz")).withRequestId(4);
    Frame incr = Frame.request(Opcode.INCREMENT, 0, utf8("foo"), null, 1).withRequestId(5);
    return Stream.of(
        Arguments.of("PING request", ping, Fixtures.PING_REQUEST),
        Arguments.of("PING response", ping.replyOk(), Fixtures.PING_RESPONSE),
        Arguments.of("SET request", set, Fixtures.SET_WITH_TTL_REQUEST),
        Arguments.of("SET response", set.replyOk(115), Fixtures.SET_RESPONSE),
        Arguments.of("GET request", get, Fixtures.GET_REQUEST),
        Arguments.of("GET hit", get.replyValue(utf8("bar")), Fixtures.GET_HIT_RESPONSE),
        Arguments.of("GET miss", miss.reply(Status.NOT_FOUND), Fixtures.GET_MISS_RESPONSE),
        Arguments.of("INCREMENT request", incr, Fixtures.INCREMENT_REQUEST),
        Arguments.of("NOT_A_NUMBER", incr.replyError(Status.NOT_A_NUMBER, "value is not an integer or out of range"), Fixtures.NOT_A_NUMBER_RESPONSE),
        Arguments.of("unknown opcode", new Frame((byte) 0x7F, 0, 6, Status.OK, Frame.NO_EXTRAS, utf8("k"), Frame.EMPTY),
            Fixtures.UNKNOWN_OPCODE_REQUEST));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("workedExamples")
  void encode_workedExample_writesExactBytesIntoExactlySizedBuffer(String name, Frame frame, byte[] expected) {
    EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());

    assertThat(channel.writeOutbound(frame)).isTrue();
    ByteBuf out = channel.readOutbound();
    try {
      assertThat(ByteBufUtil.hexDump(out)).isEqualTo(ByteBufUtil.hexDump(expected));
      assertThat(out.capacity()).isEqualTo(frame.encodedLength());
    } finally {
      out.release();
    }
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void encode_aLargeFrame_goesOutInPiecesOfAtMostPieceBytes_whoseBytesAreTheFrame() {
    byte[] value = new byte[FrameEncoder.PIECE_BYTES * 3 + 12_345];
    new java.util.Random(5).nextBytes(value);
    Frame frame = Frame.request(Opcode.SET, 0, new byte[40_000], value, 60_000).withRequestId(9);
    EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());

    io.netty.channel.ChannelFuture written = channel.writeAndFlush(frame);

    assertThat(written.isSuccess()).isTrue();
    ByteBuf whole = Unpooled.buffer(frame.encodedLength());
    FrameEncoder.write(frame, whole);
    ByteBuf sent = Unpooled.buffer(frame.encodedLength());
    int pieces = 0;
    for (ByteBuf b; (b = channel.readOutbound()) != null; pieces++) {
      assertThat(b.readableBytes()).isLessThanOrEqualTo(FrameEncoder.PIECE_BYTES);
      sent.writeBytes(b);
      b.release();
    }
    assertThat(pieces).isEqualTo(4);
    assertThat(ByteBufUtil.equals(sent, whole)).as("the pieces, in order, are the frame").isTrue();
    assertThat(FrameDecoder.readFrame(sent, Integer.MAX_VALUE).value()).isEqualTo(value);
    assertThat(channel.finish()).isFalse();
  }

  @Test
  void encode_aLargeFrameWhosePieceCannotBeAllocated_writesNothing_andFailsItsPromise() {
    EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());
    java.util.concurrent.atomic.AtomicInteger allocations = new java.util.concurrent.atomic.AtomicInteger();
    channel.config().setAllocator(new io.netty.buffer.AbstractByteBufAllocator(false) {
      @Override
      public ByteBuf ioBuffer(int initialCapacity, int maxCapacity) {
        if (allocations.incrementAndGet() == 3) {
          throw new OutOfMemoryError("no direct memory left (a test)");
        }
        return super.ioBuffer(initialCapacity, maxCapacity);
      }

      @Override
      protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return Unpooled.buffer(initialCapacity, maxCapacity);
      }

      @Override
      protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return Unpooled.directBuffer(initialCapacity, maxCapacity);
      }

      @Override
      public boolean isDirectBufferPooled() {
        return false;
      }
    });
    Frame frame = Frame.request(Opcode.SET, 0, utf8("k"), new byte[FrameEncoder.PIECE_BYTES * 3], 0);

    io.netty.channel.ChannelFuture written = channel.writeAndFlush(frame);

    assertThat(written.cause()).hasMessage("no direct memory left (a test)");
    assertThat((Object) channel.readOutbound()).as("no piece of the frame was written").isNull();
    channel.finishAndReleaseAll();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
