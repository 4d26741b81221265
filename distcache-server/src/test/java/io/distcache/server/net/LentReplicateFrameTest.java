package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The server's binary decoder hands a gathered REPLICATE request over in the chunks it was
 * gathered in (issue 16: ReplicaApplier reads the batch from there, with no array of its size),
 * and only that: a REPLICATE response and a SET of the same size are joined into one array as
 * before.
 */
class LentReplicateFrameTest {
  private static final int MAX_FRAME = 8 << 20;

  private static Frame received(Frame sent) {
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline().addLast(new InputMeter(new InputBudget(1 << 30), Duration.ofSeconds(30), Duration.ZERO),
        new MeteredFrameDecoder(MAX_FRAME));
    ByteBuf wire = Unpooled.buffer();
    FrameEncoder.write(sent, wire);
    while (wire.isReadable()) { // in reads of 16 KiB, as a socket gives them
      ch.writeInbound(wire.readRetainedSlice(Math.min(16 * 1024, wire.readableBytes())));
    }
    wire.release();
    Frame got = ch.readInbound();
    assertThat(ch.<Object>readInbound()).isNull();
    ch.finishAndReleaseAll();
    return got;
  }

  private static byte[] value() {
    byte[] v = new byte[300_000];
    new Random(3).nextBytes(v);
    return v;
  }

  @Test
  void aGatheredReplicateRequest_arrivesInItsChunks() {
    byte[] v = value();
    Frame got = received(Frame.request(Opcode.REPLICATE, 0, null, v, 1, 2, 3, 0).withRequestId(5));

    assertThat(got.buffered()).isNotNull();
    assertThat(got.buffered().onHeap()).isTrue();
    for (ByteBuffer chunk : got.buffered().heapView().nioBuffers()) {
      assertThat(chunk.array().length).isLessThanOrEqualTo(64 * 1024);
    }
    byte[] bytes = new byte[got.valueLength()];
    got.buffered().heapView().readBytes(bytes);
    assertThat(bytes).isEqualTo(v);
    assertThat(got.extras()).containsExactly(1, 2, 3, 0);
  }

  @Test
  void aReplicateResponseAndASet_ofTheSameSize_arriveAsOneArray() {
    byte[] v = value();
    Frame response = received(new Frame(Opcode.REPLICATE.code(), Flags.RESPONSE, 6, Status.OK, Frame.NO_EXTRAS,
        Frame.EMPTY, v));
    Frame set = received(Frame.request(Opcode.SET, 0, new byte[] {'k'}, v).withRequestId(7));

    assertThat(response.buffered()).isNull();
    assertThat(response.value()).isEqualTo(v);
    assertThat(set.buffered()).isNull();
    assertThat(set.value()).isEqualTo(v);
  }
}
