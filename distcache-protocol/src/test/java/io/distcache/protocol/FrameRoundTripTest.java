package io.distcache.protocol;

import static io.distcache.protocol.FrameAssert.assertSameFrame;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class FrameRoundTripTest {

  @Property(tries = 300)
  void encodeThenDecode_anyFrame_yieldsTheSameFrame(
      @ForAll("frames") Frame frame, @ForAll @IntRange(min = 1, max = 64) int chunk) {
    EmbeddedChannel encoder = new EmbeddedChannel(new FrameEncoder());
    encoder.writeOutbound(frame);
    ByteBuf wire = encoder.readOutbound();
    assertThat(wire.readableBytes()).isEqualTo(frame.encodedLength());

    // Delivered in chunks of any size, the bytes still decode to the one frame.
    EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder(ProtocolConstants.DEFAULT_MAX_FRAME_BYTES));
    while (wire.isReadable()) {
      decoder.writeInbound(wire.readRetainedSlice(Math.min(chunk, wire.readableBytes())));
    }
    wire.release();

    assertSameFrame(decoder.readInbound(), frame);
    assertThat(decoder.<Object>readInbound()).isNull();
    assertThat(decoder.finish()).isFalse();
    assertThat(encoder.finish()).isFalse();
  }

  @Provide
  Arbitrary<Frame> frames() {
    Arbitrary<Byte> opcode = Arbitraries.bytes();
    Arbitrary<Integer> flags = Arbitraries.integers().between(0, 255);
    Arbitrary<Integer> requestId = Arbitraries.integers();
    Arbitrary<Status> status = Arbitraries.of(Status.class);
    Arbitrary<long[]> extras = Arbitraries.longs().array(long[].class).ofMaxSize(ProtocolConstants.MAX_EXTRAS);
    Arbitrary<byte[]> key = Arbitraries.bytes().array(byte[].class).ofMaxSize(300);
    Arbitrary<byte[]> value = Arbitraries.bytes().array(byte[].class).ofMaxSize(3000);
    return Combinators.combine(opcode, flags, requestId, status, extras, key, value)
        .as((op, f, id, st, ex, k, v) -> new Frame(op, f, id, st, ex, k, v));
  }
}
