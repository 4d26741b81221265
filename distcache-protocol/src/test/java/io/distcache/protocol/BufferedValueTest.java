package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * copyTo(ByteBuffer, int), the store's copy of a buffered value into its page: the bytes land at
 * the index given, whatever holds the value (a slice of a pooled direct read buffer, copied address
 * to address; a heap buffer, a composite of several pieces or a heap copy, through a view), the
 * destination's position and limit stay as they were, and a value that does not fit below the
 * limit is refused with nothing written.
 */
class BufferedValueTest {
  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 31 + seed);
    }
    return v;
  }

  private static byte[] bytesAt(ByteBuffer b, int at, int length) {
    byte[] out = new byte[length];
    b.get(at, out);
    return out;
  }

  /** Copies v (held as {@code held}) into a fresh page at 1000 and checks the page around it. */
  private static void assertCopiedAt1000(byte[] v, ByteBuf held, boolean direct) {
    ByteBuffer page = direct ? ByteBuffer.allocateDirect(8192) : ByteBuffer.allocate(8192);
    page.position(17).limit(8000);
    BufferedValue value = new BufferedValue(held);
    try {
      value.copyTo(page, 1000);
      assertThat(bytesAt(page, 1000, v.length)).isEqualTo(v);
      assertThat(bytesAt(page, 999, 1)).containsExactly(0);
      assertThat(bytesAt(page, 1000 + v.length, 1)).containsExactly(0);
      assertThat(page.position()).isEqualTo(17);
      assertThat(page.limit()).isEqualTo(8000);
      assertThat(value.copied()).isFalse();
    } finally {
      value.release(false);
    }
  }

  @Test
  void copyTo_aSliceOfAPooledDirectReadBuffer_landsAtTheIndex() {
    byte[] v = value(1024, 1);
    ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(4096);
    try {
      read.writeBytes(value(333, 9)).writeBytes(v).writeBytes(value(500, 7));
      ByteBuf slice = read.retainedSlice(333, v.length);
      assertThat(slice.hasMemoryAddress()).isEqualTo(read.hasMemoryAddress());
      assertCopiedAt1000(v, slice, true);
      assertThat(read.refCnt()).isEqualTo(1);
    } finally {
      read.release();
    }
  }

  @Test
  void copyTo_heapCompositeAndHeapPage_goThroughAView() {
    byte[] v = value(3000, 2);
    assertCopiedAt1000(v, Unpooled.wrappedBuffer(v.clone()), true);
    assertCopiedAt1000(v, Unpooled.directBuffer(v.length).writeBytes(v), false);
    CompositeByteBuf two = Unpooled.compositeBuffer();
    two.addComponent(true, Unpooled.directBuffer(1000).writeBytes(v, 0, 1000));
    two.addComponent(true, Unpooled.directBuffer(2000).writeBytes(v, 1000, 2000));
    assertThat(two.hasMemoryAddress()).isFalse();
    assertCopiedAt1000(v, two, true);
  }

  @Test
  void copyTo_afterReleaseWithACopy_writesTheCopy() {
    byte[] v = value(1500, 3);
    BufferedValue value = new BufferedValue(Unpooled.directBuffer(v.length).writeBytes(v));
    value.release(true);
    ByteBuffer page = ByteBuffer.allocateDirect(4096);
    value.copyTo(page, 2000);
    assertThat(bytesAt(page, 2000, v.length)).isEqualTo(v);
    assertThat(page.position()).isZero();
  }

  @Test
  void copyTo_pastTheLimitOrBeforeZero_isRefusedWithNothingWritten() {
    byte[] v = value(1024, 4);
    ByteBuf held = Unpooled.directBuffer(v.length).writeBytes(v);
    BufferedValue value = new BufferedValue(held);
    try {
      ByteBuffer page = ByteBuffer.allocateDirect(4096);
      page.limit(2048);
      assertThatThrownBy(() -> value.copyTo(page, 1025)).isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> value.copyTo(page, -1)).isInstanceOf(IndexOutOfBoundsException.class);
      page.limit(4096);
      assertThat(bytesAt(page, 0, 4096)).isEqualTo(new byte[4096]);
      value.copyTo(page, 2048 - 1024); // exactly up to the old limit
      assertThat(bytesAt(page, 1024, 1024)).isEqualTo(v);
      assertThat(Arrays.equals(bytesAt(page, 2048, 2048), new byte[2048])).isTrue();
    } finally {
      value.release(false);
    }
  }
}
