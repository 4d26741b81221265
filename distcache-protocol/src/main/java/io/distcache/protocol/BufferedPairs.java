package io.distcache.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: MSET and MSETNX carry their pairs as one ListCodec pair list (MULTI_SET's value). Built
 * as an array, a large value was copied three times on the heap: the decoder's argument, the
 * list, and the list decoded again into the store's arguments (issue 16: 10 values of 1 MiB made
 * 30 MiB of arrays). Here the list is a composite buffer instead: the lengths, the keys and the
 * small values in heap pieces, each large value the connection's own buffer, so the bytes on the
 * wire of the binary protocol are the same (a forwarded request encodes BufferedValue's copy of
 * them). The node that serves it locally splits it into its keys and one BufferedValue per value,
 * a slice of the list, which the store copies from (one copy, no array of a value's size).
 *
 * Everything that only needs the keys (the router's grouping by owner, the slot checks, the
 * replication of effects, keyspace events) reads them with keys(), which walks the list without
 * copying a value, whether it is buffered or an array. Every count and length is checked against
 * the bytes left, as ListCodec does, and a malformed list is refused with ListCodec's exception.
 */

/** ListCodec's pair list with its values left in (reference-counted) buffers: MSET without heap arrays. */
public final class BufferedPairs {
  private BufferedPairs() {}

  /** A split pair list: the keys, and the values each as a BufferedValue to release after use. */
  public record Pairs(List<byte[]> keys, List<BufferedValue> values) {
    /** Releases every value (the store keeps nothing of them). */
    public void release() {
      values.forEach(v -> v.release(false));
    }
  }

  /**
   * The pair list of {@code keys} and values as {@link ListCodec#encodePairs} lays it out; value
   * {@code i} is {@code arrays.get(i)} or, where that is null, {@code buffers.get(i)}, whose
   * reference is taken over (released with the result, or here if this throws).
   */
  public static BufferedValue encode(List<byte[]> keys, List<byte[]> arrays, List<ByteBuf> buffers) {
    int n = keys.size();
    if (arrays.size() != n || buffers.size() != n) {
      release(buffers, 0);
      throw new IllegalArgumentException(
          "keys, arrays and buffers differ in size: " + n + ", " + arrays.size() + ", " + buffers.size());
    }
    CompositeByteBuf list = Unpooled.compositeBuffer(2 * n + 1);
    int taken = 0;
    try {
      ByteBuf head = Unpooled.buffer().writeInt(n);
      for (int i = 0; i < n; i++) {
        byte[] k = keys.get(i);
        head.writeInt(k.length).writeBytes(k);
        byte[] a = arrays.get(i);
        if (a != null) {
          head.writeInt(a.length).writeBytes(a);
          continue;
        }
        ByteBuf b = buffers.get(i);
        head.writeInt(b.readableBytes());
        list.addComponent(true, head);
        head = Unpooled.buffer();
        taken = i + 1; // the composite owns b from the call on, even if it throws (it releases b then)
        list.addComponent(true, b);
      }
      list.addComponent(true, head);
      taken = n;
      return new BufferedValue(list);
    } catch (RuntimeException e) {
      list.release();
      release(buffers, taken);
      throw e;
    }
  }

  /**
   * The keys of a MULTI_SET or MULTI_SET_IF_ABSENT request, in order, without copying its values.
   *
   * @throws ListCodec.MalformedListException when the value is not a well-formed pair list
   */
  public static List<byte[]> keys(Frame request) {
    BufferedValue buffered = request.buffered();
    if (buffered == null) {
      return walk(Unpooled.wrappedBuffer(request.value()), false, null);
    }
    return buffered.read(b -> walk(b, false, null));
  }

  /**
   * Splits a buffered pair list into its keys and its values, each value a slice of the list's
   * buffer ({@link Pairs#release} gives them back).
   *
   * @throws ListCodec.MalformedListException when the value is not a well-formed pair list
   */
  public static Pairs split(BufferedValue list) {
    List<BufferedValue> values = new ArrayList<>();
    try {
      List<byte[]> keys = list.read(b -> walk(b, true, values));
      return new Pairs(keys, values);
    } catch (RuntimeException e) {
      values.forEach(v -> v.release(false));
      throw e;
    }
  }

  /** Walks the pair list in {@code b} (its indexes untouched): the keys; with slices, each value into {@code values}. */
  private static List<byte[]> walk(ByteBuf b, boolean slices, List<BufferedValue> values) {
    int at = b.readerIndex();
    int end = b.writerIndex();
    if (end - at < 4) {
      throw new ListCodec.MalformedListException("list: truncated count");
    }
    int count = b.getInt(at);
    at += 4;
    if (count < 0 || (long) count * 8 > end - at) {
      throw new ListCodec.MalformedListException("list: count " + count + " does not fit in the " + (end - at)
          + " bytes left");
    }
    List<byte[]> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int keyLength = length(b, at, end, "key " + i);
      at += 4;
      byte[] key = new byte[keyLength];
      b.getBytes(at, key);
      keys.add(key);
      at += keyLength;
      int valueLength = length(b, at, end, "value " + i);
      at += 4;
      if (slices) {
        values.add(new BufferedValue(b.retainedSlice(at, valueLength)));
      }
      at += valueLength;
    }
    if (at != end) {
      throw new ListCodec.MalformedListException("list: " + (end - at) + " trailing bytes");
    }
    return keys;
  }

  private static int length(ByteBuf b, int at, int end, String what) {
    if (end - at < 4) {
      throw new ListCodec.MalformedListException(what + ": truncated length");
    }
    int len = b.getInt(at);
    if (len < 0 || len > end - at - 4) {
      throw new ListCodec.MalformedListException(what + ": length " + len + " exceeds the " + (end - at - 4)
          + " bytes left");
    }
    return len;
  }

  private static void release(List<ByteBuf> buffers, int from) {
    for (int i = from; i < buffers.size(); i++) {
      if (buffers.get(i) != null) {
        buffers.get(i).release();
      }
    }
  }
}
