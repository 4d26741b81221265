package io.distcache.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Lists inside a value field, for the multi-key opcodes. Big-endian:
 *
 * <ul>
 *   <li>key list: count u32, then per key: length u32, bytes;
 *   <li>value list: count u32, then per value: length i32 (-1 = missing, no bytes follow), bytes;
 *   <li>pair list: count u32, then per pair: key length u32, key, value length u32, value.
 * </ul>
 *
 * Decoding never trusts a count or a length: each is checked against the bytes that remain, so a
 * lying header cannot make it allocate more than the frame it came in.
 */
public final class ListCodec {
  private ListCodec() {}

  public static byte[] encodeKeys(List<byte[]> keys) {
    int size = 4;
    for (byte[] k : keys) {
      size += 4 + k.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(keys.size());
    for (byte[] k : keys) {
      b.putInt(k.length).put(k);
    }
    return b.array();
  }

  /** Null entries are encoded as missing. */
  public static byte[] encodeValues(List<byte[]> values) {
    int size = 4;
    for (byte[] v : values) {
      size += 4 + (v == null ? 0 : v.length);
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(values.size());
    for (byte[] v : values) {
      if (v == null) {
        b.putInt(-1);
      } else {
        b.putInt(v.length).put(v);
      }
    }
    return b.array();
  }

  public static byte[] encodePairs(List<byte[]> keys, List<byte[]> values) {
    if (keys.size() != values.size()) {
      throw new IllegalArgumentException("keys and values differ in size: " + keys.size() + " vs " + values.size());
    }
    int size = 4;
    for (int i = 0; i < keys.size(); i++) {
      size += 8 + keys.get(i).length + values.get(i).length;
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putInt(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      b.putInt(keys.get(i).length).put(keys.get(i));
      b.putInt(values.get(i).length).put(values.get(i));
    }
    return b.array();
  }

  /** @throws MalformedListException when the bytes do not hold a well-formed key list */
  /** The count a list starts with (not checked against its bytes), or -1 when it is too short to have one. */
  public static int peekCount(byte[] bytes) {
    return bytes == null || bytes.length < 4 ? -1 : java.nio.ByteBuffer.wrap(bytes).getInt(0);
  }

  public static List<byte[]> decodeKeys(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int count = readCount(b, 4);
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(readBytes(b, readLength(b, "key " + i)));
    }
    requireEnd(b);
    return out;
  }

  public static List<byte[]> decodeValues(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int count = readCount(b, 4);
    List<byte[]> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (b.remaining() < 4) {
        throw new MalformedListException("value " + i + ": truncated length");
      }
      int len = b.getInt();
      if (len == -1) {
        out.add(null);
      } else if (len < 0 || len > b.remaining()) {
        throw new MalformedListException("value " + i + ": length " + len + " exceeds the " + b.remaining() + " bytes left");
      } else {
        out.add(readBytes(b, len));
      }
    }
    requireEnd(b);
    return out;
  }

  /** Returns keys at even indexes and values at odd ones. */
  public static List<byte[]> decodePairs(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int count = readCount(b, 8);
    List<byte[]> out = new ArrayList<>(count * 2);
    for (int i = 0; i < count; i++) {
      out.add(readBytes(b, readLength(b, "key " + i)));
      out.add(readBytes(b, readLength(b, "value " + i)));
    }
    requireEnd(b);
    return out;
  }

  private static int readCount(ByteBuffer b, int minBytesPerItem) {
    if (b.remaining() < 4) {
      throw new MalformedListException("list: truncated count");
    }
    int count = b.getInt();
    if (count < 0 || (long) count * minBytesPerItem > b.remaining()) {
      throw new MalformedListException("list: count " + count + " does not fit in the " + b.remaining() + " bytes left");
    }
    return count;
  }

  private static int readLength(ByteBuffer b, String what) {
    if (b.remaining() < 4) {
      throw new MalformedListException(what + ": truncated length");
    }
    int len = b.getInt();
    if (len < 0 || len > b.remaining()) {
      throw new MalformedListException(what + ": length " + len + " exceeds the " + b.remaining() + " bytes left");
    }
    return len;
  }

  private static byte[] readBytes(ByteBuffer b, int len) {
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  private static void requireEnd(ByteBuffer b) {
    if (b.hasRemaining()) {
      throw new MalformedListException("list: " + b.remaining() + " trailing bytes");
    }
  }

  /** A list inside a value field is malformed; answered with BAD_REQUEST. */
  public static final class MalformedListException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MalformedListException(String message) {
      super(message, null, false, false);
    }
  }
}
