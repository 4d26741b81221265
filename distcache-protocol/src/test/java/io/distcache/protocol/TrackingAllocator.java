package io.distcache.protocol;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.atomic.AtomicInteger;

/** An unpooled allocator that records the largest buffer asked of it. */
final class TrackingAllocator extends AbstractByteBufAllocator {
  private final AtomicInteger largest;

  TrackingAllocator(AtomicInteger largest) {
    super(false);
    this.largest = largest;
  }

  @Override
  protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
    largest.accumulateAndGet(initialCapacity, Math::max);
    return Unpooled.buffer(initialCapacity, maxCapacity);
  }

  @Override
  protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
    largest.accumulateAndGet(initialCapacity, Math::max);
    return Unpooled.directBuffer(initialCapacity, maxCapacity);
  }

  @Override
  public boolean isDirectBufferPooled() {
    return false;
  }
}
