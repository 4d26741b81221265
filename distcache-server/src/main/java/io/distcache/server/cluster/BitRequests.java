package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.server.store.BitOps;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: the BITS opcode (Redis's bit commands) against the store. A read (GETBIT, BITCOUNT,
 * BITPOS, BITFIELD with only GETs) is one read under its key's gate stripe, shared; a write
 * (SETBIT, BITFIELD with SET/INCRBY, BITOP) reads, computes with BitOps and writes back while
 * holding its keys' stripes exclusive, so no other request on those keys runs in between: the
 * read-modify-write is atomic without a store method per command. Writes keep the key's expiry,
 * except BITOP, which replaces its destination as Redis does (and deletes it for an empty result).
 *
 * Design: no command copies a whole value to the heap, as none does in Redis. GETBIT and SETBIT
 * read the one byte that holds the bit (Store.getRange) and SETBIT writes back that byte
 * (Store.setRange, in place in a large value's buffer); BITFIELD reads the bytes its fields cover
 * in one Store.readValue and writes back those it changed; BITCOUNT, BITPOS and BITOP's sources
 * are computed on a view of the value where it lies (Store.readValue). Before, each called
 * Store.get (and a write Store.set of a new array): one SETBIT of a 16 MiB bitmap copied 48 MiB,
 * and a pipeline of them held the node's event loop for seconds (docs/BENCHMARKS.md).
 *
 * Every argument is checked here too (binary clients send BITS directly); the Redis handler has
 * already refused, with Redis's texts, what Redis refuses.
 */

/** Runs BITS requests (docs/PROTOCOL.md, "Bits") under the transaction gate. */
final class BitRequests {
  static final int GETBIT = 0;
  static final int SETBIT = 1;
  static final int BITCOUNT = 2;
  static final int BITPOS = 3;
  static final int BITOP = 4;
  static final int BITFIELD = 5;

  static final int FIELD_GET = 0;
  static final int FIELD_SET = 1;
  static final int FIELD_INCRBY = 2;

  private final Store store;
  private final TransactionGate gate;

  BitRequests(Store store, TransactionGate gate) {
    this.store = store;
    this.gate = gate;
  }

  /** The source keys of a BITOP; empty for the other commands. */
  static List<byte[]> sources(Frame r) {
    return r.extra(0, -1) == BITOP ? ListCodec.decodeKeys(r.value()) : List.of();
  }

  /** Runs a BITS request; {@code lock}: take its keys' gate stripes (false inside a TRANSACTION, which holds them). */
  Frame run(Frame r, boolean lock) {
    int command = (int) required(r, 0, "command");
    return switch (command) {
      case GETBIT -> shared(r, lock, () -> r.replyOk(getBit(r)));
      case SETBIT -> exclusive(r, lock, List.of(), () -> setBit(r));
      case BITCOUNT -> shared(r, lock, () -> r.replyOk(onValue(r.key(), v -> BitOps.bitCount(v, r.extra(1, 0) != 0,
          r.extra(2, 0), r.extra(3, 0), r.extra(4, 0) != 0))));
      case BITPOS -> {
        int bit = bit(required(r, 1, "bit"));
        yield shared(r, lock, () -> r.replyOk(onValue(r.key(), v -> BitOps.bitPos(v, bit,
            r.extra(2, 0) != 0, r.extra(3, 0), r.extra(4, 0) != 0, r.extra(5, 0), r.extra(6, 0) != 0))));
      }
      case BITOP -> exclusive(r, lock, sources(r), () -> bitOp(r));
      case BITFIELD -> bitField(r, lock);
      default -> throw new IllegalArgumentException("BITS command " + command + " is not one of 0..5");
    };
  }

  /**
   * The byte that holds the bit read, and written back only when the bit changes or the value
   * must grow to hold it (Redis 7's SETBIT writes then, and when it creates the key): setRange
   * zero-pads up to it, creates a missing key and keeps the expiry, as the whole new value did.
   */
  private Frame setBit(Frame r) {
    long offset = offset(r, required(r, 1, "offset"), 1);
    int bit = bit(required(r, 2, "bit"));
    long index = offset >>> 3;
    byte[] held = store.getRange(r.key(), index, index); // empty: no key, or it ends before the byte
    int old = BitOps.getBit(held, offset & 7);
    if (old != bit || held.length == 0) {
      byte[] next = held.length == 0 ? new byte[1] : held;
      BitOps.setBit(next, offset & 7, bit);
      store.setRange(r.key(), index, next);
    }
    return r.replyOk(old);
  }

  /**
   * {@code f} of the key's value, a read-only view of it where it lies (Store.readValue, under the
   * key's lock: f must not call the store), or of null when the key is absent: BitOps's answer
   * for a missing key.
   */
  private long onValue(byte[] key, java.util.function.ToLongFunction<ByteBuffer> f) {
    long[] out = new long[1];
    if (!store.readValue(key, v -> out[0] = f.applyAsLong(v))) {
      out[0] = f.applyAsLong(null);
    }
    return out[0];
  }

  private Frame bitOp(Frame r) {
    long code = required(r, 1, "operation");
    if (code < 0 || code > 3) {
      throw new IllegalArgumentException("BITOP operation " + code + " is not one of 0..3 (AND, OR, XOR, NOT)");
    }
    BitOps.Op op = BitOps.Op.values()[(int) code];
    List<byte[]> keys = ListCodec.decodeKeys(r.value());
    if (keys.isEmpty() || (op == BitOps.Op.NOT && keys.size() != 1)) {
      throw new IllegalArgumentException("BITOP " + op + " needs " + (op == BitOps.Op.NOT ? "one" : "at least one")
          + " source key, got " + keys.size());
    }
    // The result's length first (the longest source), then the sources one at a time, each read
    // where it lies: only the result is on the heap (BitOps.fold). The keys' stripes are held.
    long len = 0;
    for (byte[] key : keys) {
      len = Math.max(len, store.strlen(key));
    }
    byte[] result = new byte[(int) len];
    for (int i = 0; i < keys.size(); i++) {
      boolean first = i == 0;
      onValue(keys.get(i), v -> {
        BitOps.fold(op, result, v, first); // a missing source (null) folds as zeros
        return 0;
      });
    }
    if (result.length == 0) {
      store.delete(r.key());
    } else {
      store.set(r.key(), result, SetArgs.ALWAYS);
    }
    return r.replyOk(result.length);
  }

  /** One field operation: what, signed, bits, overflow, offset, argument. */
  private record Field(int kind, boolean signed, int bits, BitOps.Overflow overflow, long offset, long arg) {}

  /*
   * value: per operation 3 longs: kind | signed << 8 | bits << 16 | overflow << 24, offset, argument.
   * Reply: a value list, per operation its 8-byte big-endian result, missing where OVERFLOW FAIL
   * refused it; extra 0: 1 when a SET or INCRBY changed the value (see applyFields), else 0.
   */
  private Frame bitField(Frame r, boolean lock) {
    byte[] v = r.value();
    if (v.length % 24 != 0) {
      throw new IllegalArgumentException("BITFIELD operations are 24 bytes each; got " + v.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(v);
    List<Field> fields = new ArrayList<>(v.length / 24);
    boolean writes = false;
    while (b.hasRemaining()) {
      long head = b.getLong();
      int kind = (int) (head & 0xFF);
      boolean signed = ((head >>> 8) & 0xFF) != 0;
      int bits = (int) ((head >>> 16) & 0xFF);
      int overflow = (int) ((head >>> 24) & 0xFF);
      if (kind > FIELD_INCRBY || overflow > 2 || bits < 1 || bits > (signed ? 64 : 63)) {
        throw new IllegalArgumentException("BITFIELD operation " + Long.toHexString(head)
            + " is malformed: kind 0..2, overflow 0..2, bits 1..64 signed or 1..63 unsigned");
      }
      long offset = offset(r, b.getLong(), bits);
      fields.add(new Field(kind, signed, bits, BitOps.Overflow.values()[overflow], offset, b.getLong()));
      writes |= kind != FIELD_GET;
    }
    return writes ? exclusive(r, lock, List.of(), () -> applyFields(r, fields))
        : shared(r, lock, () -> applyFields(r, fields));
  }

  /*
   * As Redis 7 (bitfieldGeneric): a BITFIELD with a SET or INCRBY first makes its value long enough
   * for the farthest field any of them names, creating a missing key as zero bytes, before any
   * runs, so a key is created or grown even when OVERFLOW FAIL then refuses every write (the "new"
   * event included). A write counts as a change when the value was created or grown, or when it
   * gave its field another value; one or more changes store the value and send one "setbit", even
   * when a later write changed the field back (SET u8 0 255 SET u8 0 0: the bytes end as they
   * were). A value grown while every write failed is stored with no "setbit", as Redis does.
   *
   * The fields run on the bytes they cover (FieldBytes), not on the whole value: storing is writing
   * back the bytes the writes touched, and for a growth the new last byte (which the farthest
   * field covers), so setRange zero-pads the value to its new length, creates a missing key and
   * keeps the expiry, as storing the whole grown value did.
   */
  private Frame applyFields(Frame r, List<Field> fields) {
    long farthest = 0;
    for (Field f : fields) {
      if (f.kind() != FIELD_GET) {
        farthest = Math.max(farthest, f.offset() + f.bits());
      }
    }
    FieldBytes bytes = new FieldBytes(fields);
    long length = store.readValue(r.key(), bytes::read) ? bytes.length : -1; // -1: no key
    long grownTo = (farthest + 7) >>> 3;
    boolean dirty = farthest > 0 && grownTo > length;
    if (dirty) {
      bytes.touch(grownTo - 1, 1);
    }
    int changes = 0;
    List<byte[]> results = new ArrayList<>(fields.size());
    for (Field f : fields) {
      long old = bytes.get(f);
      if (f.kind() == FIELD_GET) {
        results.add(longBytes(old));
        continue;
      }
      Long next = f.kind() == FIELD_SET
          ? BitOps.withOverflow(f.arg(), 0, f.bits(), f.signed(), f.overflow())
          : BitOps.withOverflow(old, f.arg(), f.bits(), f.signed(), f.overflow());
      if (next == null) {
        results.add(null);
        continue;
      }
      if (dirty || old != next) {
        changes++;
      }
      bytes.set(f, next);
      results.add(longBytes(f.kind() == FIELD_SET ? old : next));
    }
    if (dirty || changes > 0) {
      bytes.writeBack(store, r.key());
    }
    // extra 0: whether a SET or INCRBY changed the value (KeyspaceNotifier's "setbit")
    return r.replyValue(ListCodec.encodeValues(results), changes > 0 ? 1 : 0);
  }

  /**
   * The bytes a BITFIELD's fields cover, and no more: the fields' byte ranges (at most 9 bytes
   * each) merged into disjoint runs, in order, each a heap array read in one Store.readValue
   * (bytes past the value's end read as 0, as BitOps.getField reads them). A field lies within
   * one run, so it reads what an earlier field wrote there, as on the whole value; each run keeps
   * the span of bytes written into it, which writeBack stores.
   */
  private static final class FieldBytes {
    private final long[] starts; // each run's first byte of the value, ascending
    private final byte[][] runs;
    private final int[] touchedFrom; // per run, the written bytes [touchedFrom, touchedTo); none when equal
    private final int[] touchedTo;
    long length;

    FieldBytes(List<Field> fields) {
      long[][] ranges = new long[fields.size()][];
      for (int i = 0; i < ranges.length; i++) {
        Field f = fields.get(i);
        ranges[i] = new long[] {f.offset() >>> 3, (f.offset() + f.bits() - 1) >>> 3};
      }
      java.util.Arrays.sort(ranges, java.util.Comparator.comparingLong(range -> range[0]));
      List<long[]> merged = new ArrayList<>();
      for (long[] range : ranges) {
        long[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
        if (last != null && range[0] <= last[1] + 1) {
          last[1] = Math.max(last[1], range[1]);
        } else {
          merged.add(range.clone());
        }
      }
      starts = new long[merged.size()];
      runs = new byte[merged.size()][];
      touchedFrom = new int[merged.size()];
      touchedTo = new int[merged.size()];
      for (int k = 0; k < starts.length; k++) {
        starts[k] = merged.get(k)[0];
        runs[k] = new byte[(int) (merged.get(k)[1] - starts[k] + 1)];
      }
    }

    /** Store.readValue's reader: copies each run's bytes that the value holds (under its lock). */
    void read(ByteBuffer value) {
      length = value.remaining();
      for (int k = 0; k < starts.length && starts[k] < length; k++) {
        value.get(value.position() + (int) starts[k], runs[k], 0, (int) Math.min(runs[k].length, length - starts[k]));
      }
    }

    long get(Field f) {
      int k = run(f.offset() >>> 3);
      return BitOps.getField(runs[k], f.offset() - starts[k] * 8, f.bits(), f.signed());
    }

    void set(Field f, long value) {
      int k = run(f.offset() >>> 3);
      BitOps.setField(runs[k], f.offset() - starts[k] * 8, f.bits(), value);
      touch(f.offset() >>> 3, (int) (((f.offset() + f.bits() - 1) >>> 3) - (f.offset() >>> 3) + 1));
    }

    /** Marks {@code count} bytes from byte {@code first} of the value (within one run) as written. */
    void touch(long first, int count) {
      int k = run(first);
      int from = (int) (first - starts[k]);
      if (touchedFrom[k] == touchedTo[k]) {
        touchedFrom[k] = from;
        touchedTo[k] = from + count;
      } else {
        touchedFrom[k] = Math.min(touchedFrom[k], from);
        touchedTo[k] = Math.max(touchedTo[k], from + count);
      }
    }

    /**
     * Stores each run's written bytes, the last run first: that one holds any growth, so a store
     * out of memory refuses the growth before any byte of the value has changed.
     */
    void writeBack(Store store, byte[] key) {
      for (int k = starts.length - 1; k >= 0; k--) {
        if (touchedFrom[k] != touchedTo[k]) {
          store.setRange(key, starts[k] + touchedFrom[k],
              java.util.Arrays.copyOfRange(runs[k], touchedFrom[k], touchedTo[k]));
        }
      }
    }

    /** The run holding byte {@code index} of the value (a byte some field covers). */
    private int run(long index) {
      int at = java.util.Arrays.binarySearch(starts, index);
      return at >= 0 ? at : -at - 2;
    }
  }

  private static byte[] longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  /** A bit offset whose field of {@code bits} bits ends within the value limit. */
  private long offset(Frame r, long offset, int bits) {
    long maxBits = store.config().maxValueBytes() * 8L;
    if (offset < 0 || offset > maxBits - bits) {
      throw new IllegalArgumentException("bit offset " + offset + " is out of range: a value holds at most "
          + maxBits + " bits (the value limit)");
    }
    return offset;
  }

  private static int bit(long bit) {
    if (bit != 0 && bit != 1) {
      throw new IllegalArgumentException("bit " + bit + " is not 0 or 1");
    }
    return (int) bit;
  }

  private Frame shared(Frame r, boolean lock, java.util.function.Supplier<Frame> body) {
    if (!lock) {
      return body.get();
    }
    int stripe = TransactionGate.stripe(r.key());
    long stamp = gate.lockShared(stripe);
    try {
      return body.get();
    } finally {
      gate.unlockShared(stripe, stamp);
    }
  }

  private Frame exclusive(Frame r, boolean lock, List<byte[]> more, java.util.function.Supplier<Frame> body) {
    if (!lock) {
      return body.get();
    }
    long mask = TransactionGate.mask(more) | 1L << TransactionGate.stripe(r.key());
    long[] stamps = gate.lockAll(mask, true);
    try {
      return body.get();
    } finally {
      gate.unlockAll(mask, stamps);
    }
  }

  private static long required(Frame r, int index, String name) {
    if (r.extras().length <= index) {
      throw new IllegalArgumentException(
          "BITS needs extra " + index + " (" + name + "), but the request has " + r.extras().length + " extras");
    }
    return r.extras()[index];
  }


  /**
   * GETBIT from the one byte that holds the bit (GETRANGE of it, read where the value lies), not
   * from a copy of the whole value: 400 pipelined GETBITs of a 16 MiB value held the event loop
   * for 5-7 s (a tester).
   */
  private long getBit(Frame r) {
    long offset = offset(r, required(r, 1, "offset"), 1);
    byte[] oneByte = store.getRange(r.key(), offset >>> 3, offset >>> 3);
    return BitOps.getBit(oneByte, offset & 7);
  }
}
