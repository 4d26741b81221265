package io.distcache.server.store;

import io.distcache.protocol.BufferedValue;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Values for the store's tests of large and buffered values: patterned arrays and their buffers. */
final class StoreTestValues {
  private StoreTestValues() {}

  /** {@code length} bytes of a pattern that {@code seed} shifts (every byte value appears). */
  static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 13 + seed);
    }
    return v;
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The value in a composite of direct pieces of at most 50,000 bytes, as the RESP decoder builds
   * it; the composite is added to {@code held}, whose owner releases it after the test.
   */
  static BufferedValue buffered(byte[] v, List<ByteBuf> held) {
    CompositeByteBuf c = Unpooled.compositeBuffer(Integer.MAX_VALUE);
    for (int at = 0; at < v.length; at += 50_000) {
      int n = Math.min(50_000, v.length - at);
      c.addComponent(true, Unpooled.directBuffer(n).writeBytes(v, at, n));
    }
    held.add(c);
    return new BufferedValue(c);
  }
}
