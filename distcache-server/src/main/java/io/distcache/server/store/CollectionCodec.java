package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/*
 * Design: the payload of a collection entry, one packed array in the spirit of Redis's listpack:
 * a varint count, then per element a varint length and its bytes (a hash: field then value; a set:
 * the member). It is what the store keeps and what copies an entry whole (type, payload, version,
 * expiry). A command decodes it into an insertion-ordered map, changes it and encodes it again:
 * O(size) per command, which is why the number of elements per collection has a limit (see
 * CollectionLimits), checked before anything is decoded or allocated.
 *
 * A payload comes only from this class, but it is checked as if hostile: a count or length that
 * runs past the end is reported, never trusted for an allocation.
 */

/** Encodes and decodes hash and set payloads. */
public final class CollectionCodec {
  private CollectionCodec() {}

  /** A byte array compared by content, for map keys. */
  public record Bytes(byte[] b) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Bytes other && Arrays.equals(b, other.b);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(b);
    }
  }

  /** Decodes a hash payload (null: empty) in its stored order. */
  public static LinkedHashMap<Bytes, byte[]> decodeHash(byte[] payload) {
    if (payload == null) {
      return new LinkedHashMap<>();
    }
    ByteBuffer b = ByteBuffer.wrap(payload);
    int n = readVarint(b, payload.length / 2);
    LinkedHashMap<Bytes, byte[]> out = new LinkedHashMap<>(Math.max(16, n * 4 / 3 + 1));
    for (int i = 0; i < n; i++) {
      byte[] field = readBytes(b);
      out.put(new Bytes(field), readBytes(b));
    }
    return out;
  }

  /** Decodes a set payload (null: empty) in its stored order; the map's values are unused. */
  public static LinkedHashMap<Bytes, Boolean> decodeSet(byte[] payload) {
    if (payload == null) {
      return new LinkedHashMap<>();
    }
    ByteBuffer b = ByteBuffer.wrap(payload);
    int n = readVarint(b, payload.length);
    LinkedHashMap<Bytes, Boolean> out = new LinkedHashMap<>(Math.max(16, n * 4 / 3 + 1));
    for (int i = 0; i < n; i++) {
      out.put(new Bytes(readBytes(b)), Boolean.TRUE);
    }
    return out;
  }

  /** The element count of a payload without decoding it. */
  public static int count(byte[] payload) {
    return readVarint(ByteBuffer.wrap(payload), payload.length);
  }

  public static byte[] encodeHash(Map<Bytes, byte[]> hash) {
    long size = varintSize(hash.size());
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      size += varintSize(e.getKey().b().length) + e.getKey().b().length + varintSize(e.getValue().length)
          + e.getValue().length;
    }
    ByteBuffer b = allocate(size);
    writeVarint(b, hash.size());
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      writeBytes(b, e.getKey().b());
      writeBytes(b, e.getValue());
    }
    return b.array();
  }

  public static byte[] encodeSet(Iterable<Bytes> members, int count) {
    long size = varintSize(count);
    for (Bytes m : members) {
      size += varintSize(m.b().length) + m.b().length;
    }
    ByteBuffer b = allocate(size);
    writeVarint(b, count);
    for (Bytes m : members) {
      writeBytes(b, m.b());
    }
    return b.array();
  }

  private static ByteBuffer allocate(long size) {
    if (size > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "collection of " + size + " bytes exceeds 2^31");
    }
    return ByteBuffer.allocate((int) size);
  }

  private static byte[] readBytes(ByteBuffer b) {
    int len = readVarint(b, b.remaining());
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  private static void writeBytes(ByteBuffer b, byte[] bytes) {
    writeVarint(b, bytes.length);
    b.put(bytes);
  }

  /** A varint no larger than {@code max} (what the rest of the payload could hold). */
  private static int readVarint(ByteBuffer b, int max) {
    int v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (!b.hasRemaining()) {
        throw new IllegalStateException("collection payload truncated at byte " + b.position());
      }
      int x = b.get() & 0xFF;
      v |= (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        if (v < 0 || v > max) {
          throw new IllegalStateException("collection payload length " + v + " exceeds the " + max + " bytes left");
        }
        return v;
      }
    }
    throw new IllegalStateException("collection payload varint longer than 5 bytes at " + b.position());
  }

  private static void writeVarint(ByteBuffer b, int v) {
    while ((v & ~0x7F) != 0) {
      b.put((byte) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    b.put((byte) v);
  }

  static int varintSize(int v) {
    int n = 1;
    while ((v >>>= 7) != 0) {
      n++;
    }
    return n;
  }
}
