package io.distcache.protocol.cluster;

/*
 * Design: a key's slot exactly as Redis Cluster computes it, so a Redis Cluster client, the Java
 * client and every node agree without asking each other. CRC16 is the XMODEM variant (polynomial
 * 0x1021, initial value 0, no reflection, no final xor), table-driven: one table lookup per byte.
 * Only the hash tag is hashed when the key has one: the bytes between the first '{' and the first
 * '}' after it, when there is at least one byte between them ("{user}:1" and "{user}:2" share a
 * slot; "{}x" and "x{" hash whole), which is how a client puts several keys in one slot.
 */

/** Maps keys to the 16,384 slots of Redis Cluster: CRC16-XMODEM of the key or its hash tag, mod 16384. */
public final class KeySlot {
  /** The number of slots. */
  public static final int SLOTS = 16_384;

  private static final int[] TABLE = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      int crc = b << 8;
      for (int i = 0; i < 8; i++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      TABLE[b] = crc & 0xFFFF;
    }
  }

  private KeySlot() {}

  /** The slot of {@code key}: CRC16 of its hash tag when it has a non-empty one, of the whole key otherwise. */
  public static int of(byte[] key) {
    int n = key.length;
    for (int open = 0; open < n; open++) {
      if (key[open] == '{') {
        for (int close = open + 1; close < n; close++) {
          if (key[close] == '}') {
            if (close > open + 1) {
              return crc16(key, open + 1, close - open - 1) & (SLOTS - 1);
            }
            break; // "{}": an empty tag, the whole key is hashed
          }
        }
        break; // only the first '{' counts
      }
    }
    return crc16(key, 0, n) & (SLOTS - 1);
  }

  /**
   * The slot of the {@code len}-byte key at {@code off} in {@code buf} (absolute positions; the
   * buffer's position and limit are untouched), as {@link #of(byte[])} computes it: a store walking
   * its keys by slot reads them where they lie instead of copying each out first.
   */
  public static int of(java.nio.ByteBuffer buf, int off, int len) {
    int end = off + len;
    for (int open = off; open < end; open++) {
      if (buf.get(open) == '{') {
        for (int close = open + 1; close < end; close++) {
          if (buf.get(close) == '}') {
            if (close > open + 1) {
              return crc16(buf, open + 1, close) & (SLOTS - 1);
            }
            break;
          }
        }
        break;
      }
    }
    return crc16(buf, off, end) & (SLOTS - 1);
  }

  private static int crc16(java.nio.ByteBuffer buf, int from, int to) {
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ buf.get(i)) & 0xFF]) & 0xFFFF;
    }
    return crc;
  }

  /** CRC16-XMODEM of {@code len} bytes of {@code data} from {@code off}: "123456789" gives 0x31C3. */
  public static int crc16(byte[] data, int off, int len) {
    int crc = 0;
    for (int i = off; i < off + len; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ data[i]) & 0xFF]) & 0xFFFF;
    }
    return crc;
  }

  /** Checks that {@code slot} is in 0..16383, naming it otherwise. */
  public static int check(long slot) {
    if (slot < 0 || slot >= SLOTS) {
      throw new IllegalArgumentException("slot " + slot + " is outside 0.." + (SLOTS - 1));
    }
    return (int) slot;
  }
}
