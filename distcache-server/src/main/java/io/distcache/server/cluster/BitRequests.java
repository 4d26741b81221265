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
 * BITPOS, BITFIELD with only GETs) is one get under its key's gate stripe, shared; a write
 * (SETBIT, BITFIELD with SET/INCRBY, BITOP) reads, computes with BitOps and writes back while
 * holding its keys' stripes exclusive, so no other request on those keys runs in between: the
 * read-modify-write is atomic without a store method per command. Writes keep the key's expiry,
 * except BITOP, which replaces its destination as Redis does (and deletes it for an empty result).
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
      case BITCOUNT -> shared(r, lock, () -> r.replyOk(BitOps.bitCount(store.get(r.key()), r.extra(1, 0) != 0,
          r.extra(2, 0), r.extra(3, 0), r.extra(4, 0) != 0)));
      case BITPOS -> shared(r, lock, () -> r.replyOk(BitOps.bitPos(store.get(r.key()), bit(required(r, 1, "bit")),
          r.extra(2, 0) != 0, r.extra(3, 0), r.extra(4, 0) != 0, r.extra(5, 0), r.extra(6, 0) != 0)));
      case BITOP -> exclusive(r, lock, sources(r), () -> bitOp(r));
      case BITFIELD -> bitField(r, lock);
      default -> throw new IllegalArgumentException("BITS command " + command + " is not one of 0..5");
    };
  }

  private Frame setBit(Frame r) {
    long offset = offset(r, required(r, 1, "offset"), 1);
    int bit = bit(required(r, 2, "bit"));
    byte[] current = store.get(r.key());
    int old = BitOps.getBit(current, offset);
    if (old != bit || current == null || (offset >>> 3) >= current.length) {
      byte[] next = BitOps.grownFor(current, offset + 1);
      if (next == current) {
        next = current.clone();
      }
      BitOps.setBit(next, offset, bit);
      write(r.key(), next);
    }
    return r.replyOk(old);
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
    // The result's length first (the longest source), then the sources one at a time: every
    // source on the heap at once could exceed it (BitOps.fold). The keys' stripes are held.
    long len = 0;
    for (byte[] key : keys) {
      len = Math.max(len, store.strlen(key));
    }
    byte[] result = new byte[(int) len];
    for (int i = 0; i < keys.size(); i++) {
      BitOps.fold(op, result, store.get(keys.get(i)), i == 0);
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
   */
  private Frame applyFields(Frame r, List<Field> fields) {
    byte[] current = store.get(r.key());
    byte[] value = current;
    boolean dirty = false;
    long farthest = 0;
    for (Field f : fields) {
      if (f.kind() != FIELD_GET) {
        farthest = Math.max(farthest, f.offset() + f.bits());
      }
    }
    if (farthest > 0) {
      value = BitOps.grownFor(current, farthest);
      dirty = current == null || value.length != current.length;
      value = value == current ? current.clone() : value;
    }
    int changes = 0;
    List<byte[]> results = new ArrayList<>(fields.size());
    for (Field f : fields) {
      long old = BitOps.getField(value, f.offset(), f.bits(), f.signed());
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
      BitOps.setField(value, f.offset(), f.bits(), next);
      results.add(longBytes(f.kind() == FIELD_SET ? old : next));
    }
    if (dirty || changes > 0) {
      write(r.key(), value);
    }
    // extra 0: whether a SET or INCRBY changed the value (KeyspaceNotifier's "setbit")
    return r.replyValue(ListCodec.encodeValues(results), changes > 0 ? 1 : 0);
  }

  private void write(byte[] key, byte[] value) {
    store.set(key, value, new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, true, false));
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
