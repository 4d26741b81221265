package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The decoder's chunks for large bulks: empty when taken, back in the pool when released, reused. */
class BulkChunkPoolTest {
  private final BulkChunkPool pool = new BulkChunkPool();

  @Test
  void take_givesAnEmptyChunk_thatReturnsToThePoolOnRelease_andIsReused() {
    ByteBuf first = pool.take(UnpooledByteBufAllocator.DEFAULT);
    assertThat(first.readableBytes()).isZero();
    assertThat(first.writableBytes()).isEqualTo(BulkChunkPool.CHUNK_BYTES);
    long address = first.memoryAddress();
    first.writeBytes(new byte[1000]);

    assertThat(first.release()).isTrue();
    assertThat(pool.pooled()).isEqualTo(1);

    ByteBuf again = pool.take(UnpooledByteBufAllocator.DEFAULT);
    assertThat(pool.pooled()).isZero();
    assertThat(again.memoryAddress()).as("the same memory").isEqualTo(address);
    assertThat(again.readableBytes()).isZero();
    assertThat(again.writableBytes()).isEqualTo(BulkChunkPool.CHUNK_BYTES);
    again.release();
  }

  @Test
  void release_beyondThePoolsBound_freesTheChunk() {
    ByteBuf[] chunks = new ByteBuf[BulkChunkPool.MAX_POOLED + 3];
    for (int i = 0; i < chunks.length; i++) {
      chunks[i] = pool.take(UnpooledByteBufAllocator.DEFAULT);
    }
    for (ByteBuf c : chunks) {
      c.release();
    }
    assertThat(pool.pooled()).isEqualTo(BulkChunkPool.MAX_POOLED);
  }
}
