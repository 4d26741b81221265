package io.distcache.protocol;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * copyTo(ByteBuffer, int)'s address-to-address path makes the checks Netty's getBytes makes
 * (ensureAccessible: refCnt > 0; checkIndex: readerIndex + length within the source), as the view
 * path does (a reviewer). Pooled buffers are used so that the memory read stays mapped (no crash),
 * only stale or foreign, were a check missing.
 */
class BufferedValueSourceTest {
  @Test
  void copyTo_aBufferReleasedUnderneath_failsLikeTheViewPathInsteadOfCopyingFreedMemory() {
    ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(4096).writeZero(4096);
    try {
      ByteBuf held = read.retainedSlice(0, 1024); // as RespDecoder: in.readRetainedSlice
      BufferedValue value = new BufferedValue(held);
      held.release(); // an over-release elsewhere; the read buffer lives on for the next requests
      ByteBuffer page = ByteBuffer.allocateDirect(4096);
      assertThatThrownBy(() -> value.copyTo(page, 0)).isInstanceOf(io.netty.util.IllegalReferenceCountException.class);
    } finally {
      read.release();
    }
  }

  @Test
  void copyTo_aSourceWhoseReaderIndexMoved_doesNotReadPastIt() {
    ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(4096).writeZero(4096);
    try {
      ByteBuf slice = read.retainedSlice(0, 1024);
      BufferedValue value = new BufferedValue(slice);
      slice.skipBytes(100); // a reader that moved the index (BufferedValue.read forbids it, nothing enforces it)
      ByteBuffer page = ByteBuffer.allocateDirect(4096);
      assertThatThrownBy(() -> value.copyTo(page, 0)).isInstanceOf(IndexOutOfBoundsException.class);
      value.release(false);
    } finally {
      read.release();
    }
  }

  /** Netty 4.2's default allocator (ByteBufAllocator.DEFAULT, the server's read buffers): the value lands right; released, it throws. */
  @Test
  void copyTo_aSliceOfAnAdaptiveReadBuffer_landsRight_andAReleasedOneThrows() {
    io.netty.buffer.ByteBufAllocator alloc = new io.netty.buffer.AdaptiveByteBufAllocator();
    ByteBuf read = alloc.directBuffer(8192);
    try {
      byte[] v = new byte[3000];
      for (int i = 0; i < v.length; i++) {
        v[i] = (byte) (i * 7 + 3);
      }
      read.writeZero(333).writeBytes(v).writeZero(500);
      read.readerIndex(333);
      ByteBuf slice = read.readRetainedSlice(v.length);
      org.assertj.core.api.Assertions.assertThat(slice.hasMemoryAddress()).isTrue();
      BufferedValue value = new BufferedValue(slice);
      ByteBuffer page = ByteBuffer.allocateDirect(8192);
      value.copyTo(page, 4000);
      byte[] out = new byte[v.length];
      page.get(4000, out);
      org.assertj.core.api.Assertions.assertThat(out).isEqualTo(v);
      // An adaptive retained slice shares its parent's count: released alone it is not detected by
      // either path (getBytes neither); released with its parent, both throw.
      slice.release();
      read.release();
      assertThatThrownBy(() -> value.copyTo(page, 0)).isInstanceOf(io.netty.util.IllegalReferenceCountException.class);
    } finally {
      if (read.refCnt() > 0) {
        read.release();
      }
    }
  }
}
