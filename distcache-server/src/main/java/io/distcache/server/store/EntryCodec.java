package io.distcache.server.store;

import io.distcache.protocol.BufferedValue;
import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the byte layout of one entry in a log page, and of a large entry's own buffer; nothing
 * else in the store knows where a field sits. An entry in a page is
 *   flags(1) version(8) [expireAt(8) when EXPIRES] [counter(1) minuteStamp(2) when LFU, or
 *   accessClock(3) when CLOCK] then either
 *   varint keyLength, varint valueLength, key, value                 (inline)
 *   int handle of an out-of-line buffer                              (LARGE)
 * and a large entry's buffer holds [int keyLength][key][value], the value running to the end of
 * the segment's view of the buffer (PageLog.larges); the memory behind the view may be longer, the
 * room a large hash or set grows into in place (Segment.editInPlace). Flags: EXPIRES, ACCESSED (the
 * CLOCK hand's mark), LARGE, DEAD, bits 4-5 the ValueType code, LFU, CLOCK. An entry without expiry
 * has no expiry field. The 3-byte use field is Redis's 24-bit `lru` field: an entry written under
 * an LFU policy carries the counter and minute stamp there (LFU), one written under any other
 * policy the second of its last use, mod 2^24 (CLOCK: Redis's LRU clock, 1 s resolution, wraps
 * after 194 days), which OBJECT IDLETIME reads. So 16 + 100 bytes take 130 bytes under every
 * policy (127 before the access clock existed, when only LFU entries had the field). Lengths are
 * varints of at most 3 bytes because an inline entry is at most a quarter page (256 KiB pages).
 *
 * Every method is static and works on a page buffer and an offset (and the segment's table of
 * large buffers when it needs the key or value), so the codec holds no state and the JIT inlines
 * it into the index probe and the log walks. Callers hold the segment's lock (see Segment).
 */

/** The layout of an entry in a log page (static helpers only). */
final class EntryCodec {
  static final int FLAG_EXPIRES = 1;
  static final int FLAG_ACCESSED = 2;
  static final int FLAG_LARGE = 4;
  static final int FLAG_DEAD = 8;
  /** Bits 4-5 of the flags: the value's ValueType code (0 string, 1 hash, 2 set, 3 sorted set). */
  static final int TYPE_SHIFT = 4;
  static final int TYPE_MASK = 3 << TYPE_SHIFT;
  /** The entry carries an LFU counter and minute stamp (3 bytes) after its expiry. */
  static final int FLAG_LFU = 0x40;
  static final int LFU_BYTES = 3;
  /**
   * The entry carries a 24-bit access clock (seconds, mod 2^24) in the same 3 bytes instead; never
   * with FLAG_LFU. Bit 7: a flags byte read as a signed byte is negative then, so flags are only
   * ever tested with masks.
   */
  static final int FLAG_CLOCK = 0x80;
  /** Either kind of the 3-byte use field. */
  static final int USE_FIELD = FLAG_LFU | FLAG_CLOCK;
  /** The access clock's range: 24 bits of seconds, as Redis's LRU clock. */
  static final int CLOCK_MASK = 0xFFFFFF;
  private static final long MILLIS_PER_CLOCK_TICK = 1000;
  /** flags(1) version(8): the part every entry has. */
  private static final int FIXED_HEADER = 9;
  private static final int VERSION_AT = 1;
  private static final int EXPIRY_AT = 9;
  private static final int EXPIRY_BYTES = 8;
  /** A large entry's page stub ends with the int handle of its buffer. */
  static final int HANDLE_BYTES = 4;

  private EntryCodec() {}

  /** Bytes before the lengths (inline) or the handle (large). */
  static int headerSize(boolean expires, boolean useField) {
    return FIXED_HEADER + (expires ? EXPIRY_BYTES : 0) + (useField ? LFU_BYTES : 0);
  }

  /** The access clock of a time: seconds mod 2^24. */
  static int accessClock(long millis) {
    return (int) ((millis / MILLIS_PER_CLOCK_TICK) & CLOCK_MASK);
  }

  /** Seconds from access clock {@code then} to {@code now}, across the 24-bit wrap (as Redis estimates). */
  static long clockElapsed(int then, int now) {
    return (now - then) & CLOCK_MASK;
  }

  /** Bytes an inline entry with this header takes in a page (long: a value may be huge). */
  static long inlineSize(int header, byte[] key, byte[] value) {
    return inlineSize(header, key, value.length);
  }

  static long inlineSize(int header, byte[] key, int valueLength) {
    return (long) header + varintSize(key.length) + varintSize(valueLength) + key.length + valueLength;
  }

  static int flags(ByteBuffer pg, int off) {
    return pg.get(off);
  }

  static int type(int flags) {
    return (flags & TYPE_MASK) >>> TYPE_SHIFT;
  }

  static long version(ByteBuffer pg, int off) {
    return pg.getLong(off + VERSION_AT);
  }

  /** Overwrites the version: a collection edited in place (Segment.editInPlace) takes a new one as a put does. */
  static void putVersion(ByteBuffer pg, int off, long version) {
    pg.putLong(off + VERSION_AT, version);
  }

  /** The entry's expiry, or {@link Store#NO_EXPIRY} when it has no expiry field. */
  static long expireAt(ByteBuffer pg, int off) {
    return (pg.get(off) & FLAG_EXPIRES) != 0 ? pg.getLong(off + EXPIRY_AT) : Store.NO_EXPIRY;
  }

  /** Overwrites the expiry field, which the entry must have (FLAG_EXPIRES). */
  static void putExpireAt(ByteBuffer pg, int off, long expireAt) {
    pg.putLong(off + EXPIRY_AT, expireAt);
  }

  static boolean expiredAt(ByteBuffer pg, int off, int flags, long now) {
    if ((flags & FLAG_EXPIRES) == 0) {
      return false;
    }
    long at = pg.getLong(off + EXPIRY_AT);
    return at != Store.NO_EXPIRY && at <= now;
  }

  /** Where the LFU counter would be: right after the version and the expiry. */
  static int lfuAt(int off, int flags) {
    return off + FIXED_HEADER + ((flags & FLAG_EXPIRES) != 0 ? EXPIRY_BYTES : 0);
  }

  /** Where the lengths (inline) or the handle (large) start. */
  static int lengthsAt(int off, int flags) {
    return lfuAt(off, flags) + ((flags & USE_FIELD) != 0 ? LFU_BYTES : 0);
  }

  /** Restamps the access clock of an entry that has one (FLAG_CLOCK); writes only when it moved. */
  static void stampClock(ByteBuffer pg, int off, int flags, long nowMillis) {
    int at = lfuAt(off, flags);
    int now = accessClock(nowMillis);
    if (readClock(pg, at) != now) {
      pg.putShort(at, (short) now);
      pg.put(at + 2, (byte) (now >>> 16));
    }
  }

  private static int readClock(ByteBuffer pg, int at) {
    return (pg.getShort(at) & 0xFFFF) | ((pg.get(at + 2) & 0xFF) << 16);
  }

  /**
   * Seconds since the entry's last use (OBJECT IDLETIME): from its access clock; an entry written
   * under an LFU policy has only the minute of its last use, so whole minutes; -1 when it has no
   * use field (cannot happen for entries written since the clock exists).
   */
  static long idleSeconds(ByteBuffer pg, int off, long nowMillis) {
    int flags = pg.get(off);
    int at = lfuAt(off, flags);
    if ((flags & FLAG_CLOCK) != 0) {
      return clockElapsed(readClock(pg, at), accessClock(nowMillis));
    }
    if ((flags & FLAG_LFU) != 0) {
      return 60L * LfuCounter.elapsed(pg.getShort(at + 1) & 0xFFFF, LfuCounter.minutes(nowMillis));
    }
    return -1;
  }

  /** True when a use of this entry steps its LFU counter (it has one and the policy is LFU). */
  static boolean countsUses(int flags, StoreConfig c) {
    return (flags & FLAG_LFU) != 0 && c.policy().lfu();
  }

  /**
   * One use of an entry with a counter: applies the decay owed, steps the counter with Redis's
   * logarithmic probability and stamps the minute. Safe under the read lock: racing readers write
   * the same three bytes and may lose a step, which the counter's precision does not notice.
   */
  static void stepCounter(ByteBuffer pg, int off, int flags, StoreConfig c, long nowMillis) {
    int at = lfuAt(off, flags);
    int now = LfuCounter.minutes(nowMillis);
    int counter = LfuCounter.decayed(pg.get(at) & 0xFF, pg.getShort(at + 1) & 0xFFFF, now, c.lfuDecayMinutes());
    counter = LfuCounter.increment(counter, c.lfuLogFactor(), ThreadLocalRandom.current().nextDouble());
    pg.put(at, (byte) counter);
    pg.putShort(at + 1, (short) now);
  }

  /** Sets ACCESSED for the CLOCK hand (a benign racy byte write under the read lock). */
  static void markAccessed(ByteBuffer pg, int off, int flags) {
    if ((flags & FLAG_ACCESSED) == 0) {
      pg.put(off, (byte) (flags | FLAG_ACCESSED));
    }
  }

  /**
   * The counter of the entry at off: decayed when it has one; an entry written without one (before
   * a switch to LFU) counts as INIT when read since the hand's last pass, else 0.
   */
  static int frequencyAt(ByteBuffer pg, int off, int nowMinutes, int decayMinutes) {
    int flags = pg.get(off);
    if ((flags & FLAG_LFU) == 0) {
      return (flags & FLAG_ACCESSED) != 0 ? LfuCounter.INIT : 0;
    }
    int at = lfuAt(off, flags);
    return LfuCounter.decayed(pg.get(at) & 0xFF, pg.getShort(at + 1) & 0xFFFF, nowMinutes, decayMinutes);
  }

  /** Bytes the entry takes in its page (for a large entry: its stub). */
  static int entrySize(ByteBuffer pg, int off) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      return p + HANDLE_BYTES - off;
    }
    int klen = readVarint(pg, p);
    p += varintSize(klen);
    int vlen = readVarint(pg, p);
    p += varintSize(vlen);
    return p + klen + vlen - off;
  }

  /** The handle of a large entry's buffer. */
  static int largeHandle(ByteBuffer pg, int off, int flags) {
    return pg.getInt(lengthsAt(off, flags));
  }

  /**
   * Writes an entry's header at off; returns where its lengths (or handle) go. The counter and
   * stamp are written only when flags has FLAG_LFU, the access clock ({@code clock}) only with
   * FLAG_CLOCK, the expiry only with FLAG_EXPIRES.
   */
  static int writeHeader(ByteBuffer pg, int off, int flags, long version, long expireAt, int counter, int nowMinutes,
      int clock) {
    pg.put(off, (byte) flags);
    pg.putLong(off + VERSION_AT, version);
    int p = off + FIXED_HEADER;
    if ((flags & FLAG_EXPIRES) != 0) {
      pg.putLong(p, expireAt);
      p += EXPIRY_BYTES;
    }
    if ((flags & FLAG_LFU) != 0) {
      pg.put(p, (byte) counter);
      pg.putShort(p + 1, (short) nowMinutes);
      p += LFU_BYTES;
    } else if ((flags & FLAG_CLOCK) != 0) {
      pg.putShort(p, (short) clock);
      pg.put(p + 2, (byte) (clock >>> 16));
      p += LFU_BYTES;
    }
    return p;
  }

  /** Writes an inline entry's lengths, key and value at p (after its header). */
  static void writeInline(ByteBuffer pg, int p, byte[] key, byte[] value) {
    writeInline(pg, p, key, value, null);
  }

  /** Like writeInline, the value from {@code buffered} when it is not null (then {@code value} is unused). */
  static void writeInline(ByteBuffer pg, int p, byte[] key, byte[] value, BufferedValue buffered) {
    int vlen = buffered != null ? buffered.length() : value.length;
    p = writeVarint(pg, p, key.length);
    p = writeVarint(pg, p, vlen);
    pg.put(p, key, 0, key.length);
    putValue(pg, p + key.length, value, buffered);
  }

  /** Copies the value (an array, or a buffered one) into {@code b} at absolute {@code at}. */
  private static void putValue(ByteBuffer b, int at, byte[] value, BufferedValue buffered) {
    if (buffered == null) {
      b.put(at, value, 0, value.length);
    } else {
      buffered.copyTo(b, at); // straight from the request's buffer (issue 16)
    }
  }

  // ---------------------------------------------------------------- large entries' buffers

  /** Bytes of a large entry's own buffer. */
  static int largeSize(byte[] key, byte[] value) {
    return largeSize(key, value.length);
  }

  static int largeSize(byte[] key, int valueLength) {
    return 4 + key.length + valueLength;
  }

  static void writeLarge(ByteBuffer lb, byte[] key, byte[] value) {
    writeLarge(lb, key, value, null);
  }

  /** The value from {@code buffered} when it is not null (then {@code value} is unused). */
  static void writeLarge(ByteBuffer lb, byte[] key, byte[] value, BufferedValue buffered) {
    lb.putInt(0, key.length);
    lb.put(4, key, 0, key.length);
    putValue(lb, 4 + key.length, value, buffered);
  }

  /** Writes a large entry's key (its value is the caller's to write at largeValueAt). */
  static void writeLargeKey(ByteBuffer lb, byte[] key) {
    lb.putInt(0, key.length);
    lb.put(4, key, 0, key.length);
  }

  /** Where a large entry's value starts in its buffer: after the key's length and the key. */
  static int largeValueAt(ByteBuffer lb) {
    return 4 + lb.getInt(0);
  }

  // ---------------------------------------------------------------- key and value

  static boolean keyMatches(ByteBuffer pg, int off, ByteBuffer[] larges, byte[] key) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(p)];
      return KeyHash.equals(key, lb, 4, lb.getInt(0));
    }
    int klen = readVarint(pg, p);
    if (klen != key.length) {
      return false;
    }
    p += varintSize(klen);
    int vlen = readVarint(pg, p);
    return KeyHash.equals(key, pg, p + varintSize(vlen), klen);
  }

  /** The hash of the entry's key, read where it lies (the log walks find an entry's slot by it). */
  static long keyHash(ByteBuffer pg, int off, ByteBuffer[] larges) {
    int flags = pg.get(off);
    int kp = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(kp)];
      return KeyHash.hash(lb, 4, lb.getInt(0));
    }
    int klen = readVarint(pg, kp);
    kp += varintSize(klen);
    int vlen = readVarint(pg, kp);
    kp += varintSize(vlen);
    return KeyHash.hash(pg, kp, klen);
  }

  static int valueLength(ByteBuffer pg, int off, ByteBuffer[] larges) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(p)];
      return lb.capacity() - 4 - lb.getInt(0);
    }
    int klen = readVarint(pg, p);
    return readVarint(pg, p + varintSize(klen));
  }

  /**
   * A read-only view of the entry's value where it is stored, in its page or its own large buffer
   * (position 0, limit the value's length): valid while the caller holds the segment's lock.
   */
  static ByteBuffer valueView(ByteBuffer pg, int off, ByteBuffer[] larges) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer lb = larges[pg.getInt(p)];
      int klen = lb.getInt(0);
      return lb.slice(4 + klen, lb.capacity() - 4 - klen).asReadOnlyBuffer();
    }
    int klen = readVarint(pg, p);
    p += varintSize(klen);
    int vlen = readVarint(pg, p);
    p += varintSize(vlen);
    return pg.slice(p + klen, vlen).asReadOnlyBuffer();
  }

  /** The cluster slot (KeySlot) of the key of the entry at {@code off}, read where it lies. */
  static int keySlot(ByteBuffer pg, int off, ByteBuffer[] larges) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    if ((flags & FLAG_LARGE) != 0) {
      ByteBuffer from = larges[pg.getInt(p)];
      return io.distcache.protocol.cluster.KeySlot.of(from, 4, from.getInt(0));
    }
    int klen = readVarint(pg, p);
    p += varintSize(klen);
    p += varintSize(readVarint(pg, p));
    return io.distcache.protocol.cluster.KeySlot.of(pg, p, klen);
  }

  /** Copies the entry's key or value onto the heap. */
  static byte[] copyOut(ByteBuffer pg, int off, ByteBuffer[] larges, boolean wantKey) {
    int flags = pg.get(off);
    int p = lengthsAt(off, flags);
    ByteBuffer from;
    int klen;
    int vlen;
    if ((flags & FLAG_LARGE) != 0) {
      from = larges[pg.getInt(p)];
      klen = from.getInt(0);
      vlen = from.capacity() - 4 - klen;
      p = 4;
    } else {
      from = pg;
      klen = readVarint(pg, p);
      p += varintSize(klen);
      vlen = readVarint(pg, p);
      p += varintSize(vlen);
    }
    byte[] out = new byte[wantKey ? klen : vlen];
    from.get(wantKey ? p : p + klen, out, 0, out.length);
    return out;
  }

  // ---------------------------------------------------------------- varints

  static int varintSize(int v) {
    return v < (1 << 7) ? 1 : v < (1 << 14) ? 2 : 3;
  }

  static int readVarint(ByteBuffer pg, int p) {
    int b = pg.get(p);
    if (b >= 0) {
      return b;
    }
    int v = b & 0x7F;
    b = pg.get(p + 1);
    if (b >= 0) {
      return v | (b << 7);
    }
    return v | ((b & 0x7F) << 7) | ((pg.get(p + 2) & 0xFF) << 14);
  }

  static int writeVarint(ByteBuffer pg, int p, int v) {
    if (v < (1 << 7)) {
      pg.put(p, (byte) v);
      return p + 1;
    }
    pg.put(p, (byte) (v | 0x80));
    if (v < (1 << 14)) {
      pg.put(p + 1, (byte) (v >>> 7));
      return p + 2;
    }
    pg.put(p + 1, (byte) ((v >>> 7) | 0x80));
    pg.put(p + 2, (byte) (v >>> 14));
    return p + 3;
  }
}
