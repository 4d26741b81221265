package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Large values held on the heap in chunks (BufferedValue.heapCopyOf, ofHeap): the way a replicated
 * large string travels without an array of its size (issue 16). The copy is chunked below
 * HEAP_CHUNK_BYTES and byte for byte the source; release leaves it readable; the frame encoder
 * writes a buffered frame's value from the buffer, the same bytes as the array frame, whole or in
 * pieces; a decoder that lends its chunks hands them over as the frame's value, with no join.
 */
class HeapValueTest {
  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] bytes(ByteBuf b) {
    byte[] out = new byte[b.readableBytes()];
    b.getBytes(b.readerIndex(), out);
    return out;
  }

  @Test
  void heapCopyOf_copiesTheRemainingBytes_inChunksBelowTheLimit_andLeavesTheSourceAlone() {
    byte[] v = random(1, 3 * BufferedValue.HEAP_CHUNK_BYTES + 777);
    ByteBuffer page = ByteBuffer.allocateDirect(v.length + 100);
    page.position(50);
    page.put(v);
    page.position(50).limit(50 + v.length);

    BufferedValue copy = BufferedValue.heapCopyOf(page.asReadOnlyBuffer());

    assertThat(page.position()).isEqualTo(50);
    assertThat(copy.length()).isEqualTo(v.length);
    assertThat(copy.onHeap()).isTrue();
    ByteBuf view = copy.heapView();
    assertThat(view.isDirect()).isFalse();
    ByteBuffer[] chunks = view.nioBuffers();
    assertThat(chunks).hasSize(4);
    for (ByteBuffer c : chunks) {
      assertThat(c.hasArray()).isTrue();
      assertThat(c.array().length).as("a chunk, never an array of the value's size")
          .isLessThanOrEqualTo(BufferedValue.HEAP_CHUNK_BYTES);
    }
    assertThat(bytes(view)).isEqualTo(v);
  }

  @Test
  void aHeapValue_staysReadableAfterRelease_andItsViewsAreIndependent() {
    byte[] v = random(2, 100_000);
    BufferedValue value = BufferedValue.heapCopyOf(ByteBuffer.wrap(v));

    value.release(false);
    value.release(true);
    ByteBuf a = value.heapView();
    a.skipBytes(10);
    a.release();

    assertThat(value.held()).isTrue();
    assertThat(value.copied()).isFalse();
    assertThat(bytes(value.heapView())).isEqualTo(v);
    ByteBuffer page = ByteBuffer.allocateDirect(v.length);
    value.copyTo(page, 0);
    byte[] landed = new byte[v.length];
    page.get(0, landed);
    assertThat(landed).isEqualTo(v);
  }

  @Test
  void ofHeap_refusesDirectMemory_andOnlyAHeapValueGivesViews() {
    ByteBuf direct = Unpooled.directBuffer(16).writeZero(16);
    try {
      assertThatThrownBy(() -> BufferedValue.ofHeap(direct)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("heap");
    } finally {
      direct.release();
    }
    BufferedValue lent = new BufferedValue(Unpooled.wrappedBuffer(new byte[10]));
    assertThatThrownBy(lent::heapView).isInstanceOf(IllegalStateException.class).hasMessageContaining("lent");
    lent.release(false);
  }

  @Test
  void copyToAByteBuf_writesTheRangeAsked_fromTheBufferOrTheCopy_andRefusesOneOutside() {
    byte[] v = random(3, 5000);
    BufferedValue lent = new BufferedValue(Unpooled.wrappedBuffer(new byte[7], v).skipBytes(7));
    ByteBuf out = Unpooled.buffer();
    lent.copyTo(out, 100, 900);
    assertThat(bytes(out)).isEqualTo(Arrays.copyOfRange(v, 100, 1000));

    lent.release(true); // a copy kept: the range comes from there
    out.clear();
    lent.copyTo(out, 4000, 1000);
    assertThat(bytes(out)).isEqualTo(Arrays.copyOfRange(v, 4000, 5000));

    assertThatThrownBy(() -> lent.copyTo(Unpooled.buffer(), 4001, 1000)).isInstanceOf(IndexOutOfBoundsException.class)
        .hasMessageContaining("5000");
  }

  /** The bytes the encoder wrote for {@code frame}, every piece in order. */
  private static byte[] encoded(Frame frame) {
    EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());
    assertThat(channel.writeAndFlush(frame).isSuccess()).isTrue();
    ByteBuf sent = Unpooled.buffer();
    for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
      assertThat(b.readableBytes()).isLessThanOrEqualTo(FrameEncoder.PIECE_BYTES);
      sent.writeBytes(b);
      b.release();
    }
    assertThat(channel.finish()).isFalse();
    return bytes(sent);
  }

  @Test
  void theEncoder_writesABufferedValueAsTheSameFrameWithAnArray_smallOrInPieces() {
    for (int length : new int[] {100_000, 3 * FrameEncoder.PIECE_BYTES + 4321}) {
      byte[] v = random(length, length);
      Frame array = Frame.request(Opcode.REPLICATE, 0, null, v, 1, 2, 3, 4).withRequestId(77);
      BufferedValue held = BufferedValue.heapCopyOf(ByteBuffer.wrap(v));
      Frame buffered = Frame.request(Opcode.REPLICATE, 0, null, Frame.EMPTY, 1, 2, 3, 4).withRequestId(77)
          .withValue(held);

      byte[] wire = encoded(buffered);

      assertThat(wire).as("%d bytes", length).isEqualTo(encoded(array));
      assertThat(held.copied()).as("no array of the value was made").isFalse();
    }
  }

  /**
   * A composite that refuses to merge its pieces into one array (what nioBuffer does for a range
   * across pieces): the encoder must copy a heap value piece by piece.
   */
  private static final class Unmerged extends io.netty.buffer.CompositeByteBuf {
    Unmerged(byte[]... pieces) {
      super(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, false, pieces.length,
          Arrays.stream(pieces).map(Unpooled::wrappedBuffer).toArray(ByteBuf[]::new));
    }

    @Override
    public ByteBuffer nioBuffer(int index, int length) {
      throw new AssertionError("an array of " + length + " bytes merged from the pieces");
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
      throw new AssertionError("an array of " + length + " bytes merged from the pieces");
    }
  }

  @Test
  void theEncoder_copiesAHeapValueHeldInPieces_pieceByPiece() {
    byte[] a = random(7, 70_000);
    byte[] b = random(8, 300_000);
    byte[] whole = new byte[a.length + b.length];
    System.arraycopy(a, 0, whole, 0, a.length);
    System.arraycopy(b, 0, whole, a.length, b.length);
    Frame buffered = Frame.request(Opcode.REPLICATE, 0, null, Frame.EMPTY, 1).withRequestId(3)
        .withValue(BufferedValue.ofHeap(new Unmerged(a, b)));

    assertThat(encoded(buffered)).isEqualTo(encoded(Frame.request(Opcode.REPLICATE, 0, null, whole, 1).withRequestId(3)));
  }

  /** A decoder that lends its chunks for REPLICATE requests, as the server's does. */
  private static final class Lending extends FrameDecoder {
    Lending() {
      super(4 * 1024 * 1024);
    }

    @Override
    protected boolean lendsChunks(Frame head) {
      return head.opcode() == Opcode.REPLICATE.code() && !head.isResponse();
    }
  }

  @Test
  void aLendingDecoder_handsTheGatheredChunksOver_asTheFramesHeapValue() {
    byte[] v = random(4, 5 * FrameDecoder.CHUNK_BYTES + 99);
    byte[] small = random(5, 300);
    List<Frame> sent = List.of(
        Frame.request(Opcode.REPLICATE, 0, new byte[] {1, 2}, v, 9, 8).withRequestId(1),
        Frame.request(Opcode.SET, 0, new byte[] {3}, v).withRequestId(2),
        Frame.request(Opcode.REPLICATE, 0, null, small, 7).withRequestId(3));
    ByteBuf wire = Unpooled.buffer();
    sent.forEach(f -> FrameEncoder.write(f, wire));
    EmbeddedChannel ch = new EmbeddedChannel(new Lending());
    while (wire.isReadable()) { // in reads of 16 KiB, as a socket gives them
      ch.writeInbound(wire.readRetainedSlice(Math.min(16 * 1024, wire.readableBytes())));
    }
    wire.release();

    Frame lent = ch.readInbound();
    assertThat(lent.requestId()).isEqualTo(1);
    assertThat(lent.extras()).containsExactly(9, 8);
    assertThat(lent.key()).containsExactly(1, 2);
    assertThat(lent.buffered()).as("the chunks, lent").isNotNull();
    assertThat(lent.buffered().onHeap()).isTrue();
    assertThat(lent.valueLength()).isEqualTo(v.length);
    for (ByteBuffer c : lent.buffered().heapView().nioBuffers()) {
      assertThat(c.array().length).isLessThanOrEqualTo(FrameDecoder.CHUNK_BYTES);
    }
    assertThat(bytes(lent.buffered().heapView())).isEqualTo(v);
    assertThat(lent.buffered().copied()).isFalse();

    Frame joined = ch.readInbound();
    assertThat(joined.requestId()).isEqualTo(2);
    assertThat(joined.buffered()).as("another opcode: one array, as before").isNull();
    assertThat(joined.value()).isEqualTo(v);

    Frame whole = ch.readInbound();
    assertThat(whole.buffered()).as("arrived whole: never gathered").isNull();
    assertThat(whole.value()).isEqualTo(small);
    assertThat(ch.finish()).isFalse();
  }

  @Test
  void aLentFrame_encodedAgain_isTheFrameThatArrived() {
    byte[] v = random(6, 2 * FrameDecoder.CHUNK_BYTES + 5);
    Frame sent = Frame.request(Opcode.REPLICATE, 0, null, v, 5).withRequestId(4);
    ByteBuf wire = Unpooled.buffer();
    FrameEncoder.write(sent, wire);
    byte[] first = bytes(wire);
    EmbeddedChannel ch = new EmbeddedChannel(new Lending());
    List<ByteBuf> reads = new ArrayList<>();
    while (wire.isReadable()) {
      reads.add(wire.readRetainedSlice(Math.min(1000, wire.readableBytes())));
    }
    wire.release();
    reads.forEach(ch::writeInbound);
    Frame lent = ch.readInbound();
    assertThat(lent.buffered()).isNotNull();

    assertThat(ByteBufUtil.equals(Unpooled.wrappedBuffer(encoded(lent)), Unpooled.wrappedBuffer(first))).isTrue();
    assertThat(ch.finish()).isFalse();
  }
}
