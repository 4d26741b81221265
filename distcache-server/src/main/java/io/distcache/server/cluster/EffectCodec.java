package io.distcache.server.cluster;

import io.distcache.protocol.BufferedValue;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.EditJournal;
import io.distcache.server.store.PackedEdit;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: the value of a REPLICATE frame, a batch of write effects in the order the owner applied
 * them. An effect is the state a write left, never the command: the value, its absolute expiry and
 * its version for a key that exists afterwards, or a delete for one that does not. So INCR,
 * APPEND, a relative TTL or a conditional SET give the same result on every copy, and applying an
 * effect twice changes nothing.
 *
 * Big-endian: count u16, then per effect: kind u8 (1 PUT of a string, 2 DELETE, 3 PUT of a hash,
 * 4 PUT of a set, 7 PUT of a sorted set: the kind carries the value's type, so a typed value
 * costs no extra byte; 5 COPIED and 6 RELEASED, see below), key length u24, key, and for a PUT: version i64, expireAt i64 (absolute
 * Unix ms, 0 none), value length u32, value (a collection's packed encoding for a hash, set or sorted set).
 * EDIT_HASH (8) and EDIT_SET (9) carry an edit of a large hash or set instead of its value (issue
 * 11 and 13: one HSET of a 10,000-field hash shipped its 440 KB): key length u24, key, version i64
 * (after the edit), expireAt i64, base version i64 (before it), call count u16, then per call its
 * kind u8 (1 put of a hash field, 2 add of a set member, 3 removal), name length u32, name, and
 * for a put value length u32, value: the calls PackedEdit made on the owner (its ops), which the
 * replica replays on its copy only when that copy is at exactly the base version, type and expiry
 * (Store.applyReplicatedEdit), so the copy ends as the owner's, version included. A command
 * that changed nothing (SADD of a member present) shipped an edit whose base version is its version
 * (only that check); owners now ship nothing for it (Replicator.heads), and a replica still takes
 * such an edit as that check. At any other state the copy diverged
 * (a real edit finding the copy at its own version included: versions are unique per node only),
 * and the replica removes the key rather than guess, a miss until a whole value of it comes
 * (ReplicaApplier). The owner sends an edit only for a collection in the indexed layout (more than
 * PackedIndex.INDEXED_ABOVE elements), from at most EditJournal.MAX_OPS calls, that one edit alone
 * explains (EditJournal), and when it is smaller than the value; else the whole value, as before.
 * EDIT_STRING (10) carries the ranges a string command wrote (APPEND, SETRANGE, SETBIT, BITFIELD's
 * fields; issue 16: a SETBIT of a 16 MiB bitmap shipped 16 MiB) in the same layout: each call is
 * kind 7 (range), the offset as an 8-byte name, and the bytes written (at least one) as its value,
 * applied in order where the copy lies, zero-padding as SETRANGE does, under the same check of the
 * base version, type and expiry; any string edit is shipped so when it is smaller than the value.
 * COPIED ends a full copy of one slot (REPLICA_SYNC): its key is the slot u16 and the copy's token
 * i64 (the replica's request), so a replica knows its copy of the slot is whole once it applied it.
 * RELEASED (its key: the slot u16) tells a member that it stopped replicating the slot for this
 * owner at the owner's last change of placement, although it stays a member: whatever copy of
 * the slot it holds when it applies this misses the writes made since (Replicator). Compact on
 * purpose: a REPLICATE frame of one effect with the largest key and value must fit in the frame
 * limit that a client's SET of them fits in (header, 8 extras and a key field of 64 KiB). Decoding
 * checks every count and length against its limit and the bytes left before allocating, and
 * rejects unknown kinds and trailing bytes, and an indexed hash or set whose offset table is
 * malformed (PackedIndex.checkArrived: its header, load and every slot), so a peer's bytes cannot
 * leave the store a table that makes reads slow.
 *
 * A string of LARGE_VALUE_BYTES or more may be held in heap chunks instead of an array
 * (Effect.large, issue 16): the owner copies it out of its store so, encodeBuffer writes the batch
 * around the chunks without copying them, and a replica decoding a batch that arrived in the chunks
 * it was gathered in (decode with lend) takes the value as a view of them. The bytes on the wire
 * are the same either way.
 */

/** Encodes and decodes the batches of effects that REPLICATE frames carry. */
final class EffectCodec {
  /** At most this many effects in one frame. */
  static final int MAX_EFFECTS = 4096;
  /**
   * A string value at least this long travels in heap chunks (Effect.large): FrameDecoder gathers
   * values from this length on, and below it one array costs what the chunks would.
   */
  static final int LARGE_VALUE_BYTES = FrameDecoder.GATHER_VALUE_BYTES;
  /** Bytes an effect adds to its key and value, at most (a PUT). */
  static final int EFFECT_OVERHEAD = 1 + 3 + 8 + 8 + 4;
  static final byte PUT = 1;
  static final byte DELETE = 2;
  static final byte PUT_HASH = 3;
  static final byte PUT_SET = 4;
  static final byte COPIED = 5;
  static final byte RELEASED = 6;
  static final byte PUT_ZSET = 7;
  static final byte EDIT_HASH = 8;
  static final byte EDIT_SET = 9;
  static final byte EDIT_STRING = 10;
  /** The highest kind. */
  private static final byte LAST_KIND = EDIT_STRING;
  /** expireAtMillis of the markers, which carry no value: COPIED and RELEASED. */
  private static final long COPIED_MARK = -1;
  private static final long RELEASED_MARK = -2;

  private EffectCodec() {}

  /**
   * What an edit effect changes: the version the replica's copy must be at, and the calls that made
   * the edit on the owner (PackedEdit.ops), to replay there.
   */
  record Edit(long baseVersion, List<PackedEdit.Op> ops) {}

  /**
   * The state one write left on one key: {@code value} null means the key is gone, unless {@code
   * edit} is set: then the state is the copy at {@code edit.baseVersion()} with the edit made.
   */
  record Effect(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version, Edit edit,
      BufferedValue large) {
    Effect(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version, Edit edit) {
      this(key, type, value, expireAtMillis, version, edit, null);
    }

    Effect(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version) {
      this(key, type, value, expireAtMillis, version, null, null);
    }

    /**
     * A string's effect whose value is held on the heap in chunks (BufferedValue.onHeap): a value
     * of {@link #LARGE_VALUE_BYTES} or more, which no step of its way to the replica's store copies
     * into an array of its size.
     */
    static Effect large(byte[] key, BufferedValue value, long expireAtMillis, long version) {
      if (!value.onHeap()) {
        throw new IllegalArgumentException("a large effect's value must be held on the heap");
      }
      return new Effect(key, ValueType.STRING, null, expireAtMillis, version, null, value);
    }

    /** A string's effect. */
    Effect(byte[] key, byte[] value, long expireAtMillis, long version) {
      this(key, ValueType.STRING, value, expireAtMillis, version);
    }

    /** The edit of a hash or set from {@code baseVersion} to {@code version} by {@code ops}. */
    static Effect edited(byte[] key, ValueType type, long baseVersion, long version, long expireAtMillis,
        List<PackedEdit.Op> ops) {
      return new Effect(key, type, null, expireAtMillis, version, new Edit(baseVersion, ops));
    }

    boolean isEdit() {
      return edit != null;
    }

    /** No value and no edit: a delete or a marker. */
    private boolean bare() {
      return value == null && edit == null && large == null;
    }

    /** The length of the value a PUT carries. */
    int valueLength() {
      return large != null ? large.length() : value.length;
    }

    static Effect delete(byte[] key) {
      return new Effect(key, ValueType.STRING, null, 0, 0);
    }

    /** The end of a full copy of {@code slot} asked for with {@code token}. */
    static Effect copied(int slot, long token) {
      byte[] k = ByteBuffer.allocate(10).putShort((short) slot).putLong(token).array();
      return new Effect(k, ValueType.STRING, null, COPIED_MARK, 0);
    }

    /** The receiver no longer replicates {@code slot} for the sender (see the design note). */
    static Effect released(int slot) {
      byte[] k = {(byte) (slot >>> 8), (byte) slot};
      return new Effect(k, ValueType.STRING, null, RELEASED_MARK, 0);
    }

    boolean isCopied() {
      return bare() && expireAtMillis == COPIED_MARK;
    }

    boolean isReleased() {
      return bare() && expireAtMillis == RELEASED_MARK;
    }

    /** COPIED or RELEASED: about a slot, not a key. */
    boolean isMarker() {
      return bare() && expireAtMillis < 0;
    }

    /** The slot a COPIED or RELEASED effect is about. */
    int copiedSlot() {
      return ((key[0] & 0xFF) << 8) | (key[1] & 0xFF);
    }

    /** The token of a COPIED effect. */
    long copiedToken() {
      return ByteBuffer.wrap(key, 2, 8).getLong();
    }

    boolean isDelete() {
      return bare() && expireAtMillis >= 0;
    }

    int encodedBytes() {
      if (edit != null) {
        long n = 1 + 3 + key.length + 8 + 8 + 8 + 2;
        for (PackedEdit.Op op : edit.ops()) {
          n += 1 + 4 + op.name().length + (op.value() != null ? 4 + op.value().length : 0);
        }
        return (int) Math.min(n, Integer.MAX_VALUE);
      }
      return 1 + 3 + key.length + (value == null && large == null ? 0 : 8 + 8 + 4 + valueLength());
    }
  }

  static byte[] encode(List<Effect> effects) {
    int size = 2;
    for (Effect e : effects) {
      size += e.encodedBytes();
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    encodeInto(effects, out, null);
    return out.array();
  }

  /**
   * The batch as {@link #encode} writes it, in a buffer that holds each large value's chunks
   * (Effect.large) as they are, beside arrays of the bytes between them: the frame encoder copies
   * the batch from there into the socket's buffers, with no array of a large value's size (issue 16:
   * the batch's array was the second of three on the owner).
   */
  static ByteBuf encodeBuffer(List<Effect> effects) {
    int size = 2;
    for (Effect e : effects) {
      size += e.encodedBytes() - (e.large() != null ? e.large().length() : 0);
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    List<ByteBuf> pieces = new ArrayList<>();
    encodeInto(effects, out, pieces);
    return Unpooled.wrappedBuffer(pieces.size(), pieces.toArray(new ByteBuf[0]));
  }

  /**
   * Writes the batch into {@code out}; with {@code pieces}, a large value is not written there:
   * the bytes before it go to {@code pieces} as a view of {@code out}'s array, then the value's
   * own view, and the bytes after the last one last.
   */
  private static void encodeInto(List<Effect> effects, ByteBuffer out, List<ByteBuf> pieces) {
    int mark = 0;
    out.putShort((short) effects.size());
    for (Effect e : effects) {
      out.put(e.isEdit() ? editKind(e.type()) : e.isCopied() ? COPIED : e.isReleased() ? RELEASED
          : e.isDelete() ? DELETE : putKind(e.type()));
      int n = e.key().length;
      out.put((byte) (n >>> 16)).put((byte) (n >>> 8)).put((byte) n);
      out.put(e.key());
      if (e.isEdit()) {
        encodeEdit(out, e);
      } else if (!e.isDelete() && !e.isMarker()) {
        out.putLong(e.version());
        out.putLong(e.expireAtMillis());
        out.putInt(e.valueLength());
        if (e.large() == null) {
          out.put(e.value());
        } else if (pieces == null) {
          e.large().copyTo(out);
        } else {
          pieces.add(Unpooled.wrappedBuffer(out.array(), mark, out.position() - mark));
          pieces.add(e.large().heapView());
          mark = out.position();
        }
      }
    }
    if (pieces != null && out.position() > mark) {
      pieces.add(Unpooled.wrappedBuffer(out.array(), mark, out.position() - mark));
    }
  }

  /** @throws IllegalArgumentException naming what is malformed */
  static List<Effect> decode(byte[] bytes) {
    return decode(Unpooled.wrappedBuffer(bytes), false);
  }

  /**
   * Decodes the batch in {@code in}'s readable bytes (its reader index moves). With {@code lend}
   * ({@code in} is a view of a heap BufferedValue: a REPLICATE frame's gathered chunks), a string's
   * value of {@link #LARGE_VALUE_BYTES} or more is a view of {@code in} (Effect.large) rather than a
   * copy.
   *
   * @throws IllegalArgumentException naming what is malformed
   */
  static List<Effect> decode(ByteBuf in, boolean lend) {
    if (in.readableBytes() < 2) {
      throw new IllegalArgumentException("effect count is cut off");
    }
    int count = in.readUnsignedShort();
    if (count > MAX_EFFECTS) {
      throw new IllegalArgumentException("effect count " + count + " is outside 0.." + MAX_EFFECTS);
    }
    List<Effect> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (in.readableBytes() < 1) {
        throw new IllegalArgumentException("effect " + i + " is cut off");
      }
      byte kind = in.readByte();
      if (kind < PUT || kind > LAST_KIND) {
        throw new IllegalArgumentException("effect " + i + " has unknown kind " + kind);
      }
      if (in.readableBytes() < 3) {
        throw new IllegalArgumentException("key length is cut off");
      }
      int keyLength = in.readUnsignedMedium();
      byte[] key = bytes(in, "key", keyLength, ProtocolConstants.MAX_KEY_BYTES);
      if (key.length == 0) {
        throw new IllegalArgumentException("effect " + i + " has an empty key");
      }
      if (kind == DELETE) {
        out.add(Effect.delete(key));
        continue;
      }
      if (kind == COPIED || kind == RELEASED) {
        int expected = kind == COPIED ? 10 : 2;
        if (key.length != expected || (((key[0] & 0xFF) << 8) | (key[1] & 0xFF)) >= io.distcache.protocol.cluster.KeySlot.SLOTS) {
          throw new IllegalArgumentException("effect " + i + ": a " + (kind == COPIED ? "COPIED key is a slot below "
              + io.distcache.protocol.cluster.KeySlot.SLOTS + " and a token" : "RELEASED key is a slot below "
              + io.distcache.protocol.cluster.KeySlot.SLOTS) + " (" + expected + " bytes), got " + key.length + " bytes");
        }
        out.add(new Effect(key, ValueType.STRING, null, kind == COPIED ? COPIED_MARK : RELEASED_MARK, 0));
        continue;
      }
      if (kind == EDIT_HASH || kind == EDIT_SET || kind == EDIT_STRING) {
        out.add(decodeEdit(in, i, key, kind == EDIT_HASH ? ValueType.HASH : kind == EDIT_SET ? ValueType.SET
            : ValueType.STRING));
        continue;
      }
      if (in.readableBytes() < 16) {
        throw new IllegalArgumentException("effect " + i + " is cut off before its version and expiry");
      }
      long version = in.readLong();
      long expireAt = in.readLong();
      if (expireAt < 0) {
        throw new IllegalArgumentException("effect " + i + " has a negative expiry " + expireAt);
      }
      int length = readInt(in, "value length");
      if (lend && kind == PUT && length >= LARGE_VALUE_BYTES) {
        checkLength(in, "value", length, Integer.MAX_VALUE);
        out.add(Effect.large(key, BufferedValue.ofHeap(in.readSlice(length)), expireAt, version));
        continue;
      }
      byte[] value = bytes(in, "value", length, Integer.MAX_VALUE);
      if ((kind == PUT_HASH || kind == PUT_SET) && PackedIndex.isIndexed(value)) {
        try {
          PackedIndex.checkArrived(ByteBuffer.wrap(value), kind == PUT_HASH);
        } catch (IllegalStateException e) {
          throw new IllegalArgumentException("effect " + i + " (a " + typeOf(kind) + " of " + value.length
              + " bytes): " + e.getMessage());
        }
      }
      out.add(new Effect(key, typeOf(kind), value, expireAt, version));
    }
    if (in.isReadable()) {
      throw new IllegalArgumentException(in.readableBytes() + " trailing bytes after " + count + " effects");
    }
    return out;
  }

  private static byte editKind(ValueType type) {
    return switch (type) {
      case HASH -> EDIT_HASH;
      case SET -> EDIT_SET;
      case STRING -> EDIT_STRING;
      default -> throw new IllegalArgumentException("no edit effect for a " + type);
    };
  }

  private static void encodeEdit(ByteBuffer out, Effect e) {
    out.putLong(e.version()).putLong(e.expireAtMillis()).putLong(e.edit().baseVersion());
    out.putShort((short) e.edit().ops().size());
    for (PackedEdit.Op op : e.edit().ops()) {
      out.put(op.kind()).putInt(op.name().length).put(op.name());
      if (op.value() != null) { // PUT, PUT_KEEPING_TIME, TIME
        out.putInt(op.value().length).put(op.value());
      }
    }
  }

  /** An EDIT_HASH, EDIT_SET or EDIT_STRING after its key: every count and length checked before allocating. */
  private static Effect decodeEdit(ByteBuf in, int i, byte[] key, ValueType type) {
    boolean hash = type == ValueType.HASH;
    boolean string = type == ValueType.STRING;
    if (in.readableBytes() < 8 + 8 + 8 + 2) {
      throw new IllegalArgumentException("edit effect " + i + " is cut off before its versions, expiry and call count");
    }
    long version = in.readLong();
    long expireAt = in.readLong();
    long base = in.readLong();
    if (expireAt < 0) {
      throw new IllegalArgumentException("effect " + i + " has a negative expiry " + expireAt);
    }
    if (version == 0 || base == 0) {
      throw new IllegalArgumentException("edit effect " + i + " goes from version " + base + " to " + version
          + ": both must be set");
    }
    int count = in.readUnsignedShort();
    if (count < 1 || count > EditJournal.MAX_OPS) {
      throw new IllegalArgumentException("edit effect " + i + " has " + count + " calls, outside 1.."
          + EditJournal.MAX_OPS);
    }
    List<PackedEdit.Op> ops = new ArrayList<>(count);
    for (int c = 0; c < count; c++) {
      if (in.readableBytes() < 1) {
        throw new IllegalArgumentException("call " + c + " of edit effect " + i + " is cut off");
      }
      byte op = in.readByte();
      boolean withValue = hash && (op == PackedEdit.Op.PUT || op == PackedEdit.Op.PUT_KEEPING_TIME
          || op == PackedEdit.Op.TIME || op == PackedEdit.Op.BOUND) || string && op == PackedEdit.Op.RANGE;
      boolean valid = string ? withValue
          : op == PackedEdit.Op.REMOVE || withValue || !hash && op == PackedEdit.Op.ADD;
      if (!valid) {
        throw new IllegalArgumentException("call " + c + " of edit effect " + i + " has kind " + op + ", not one of a "
            + (hash ? "hash's (1 put, 3 remove, 4 put keeping the time, 5 time, 6 bound)"
                : string ? "string's (7 range)" : "set's (2 add, 3 remove)"));
      }
      byte[] name = readBytes(in, "name", string ? Long.BYTES : Integer.MAX_VALUE);
      if (string && name.length != Long.BYTES) {
        throw new IllegalArgumentException("call " + c + " of edit effect " + i + " has an offset of " + name.length
            + " bytes; an offset is 8 bytes");
      }
      byte[] value = withValue ? readBytes(in, "value", Integer.MAX_VALUE) : null;
      if ((op == PackedEdit.Op.TIME || op == PackedEdit.Op.BOUND)
          && (value.length != Long.BYTES || ByteBuffer.wrap(value).getLong() < 0)) {
        throw new IllegalArgumentException("call " + c + " of edit effect " + i + " sets a time of " + value.length
            + " bytes; a time is 8 bytes, at or after 0");
      }
      ops.add(new PackedEdit.Op(op, name, value));
    }
    if (string) {
      // the store checks them again against its own --max-value-size before applying any
      Store.checkRanges(ops, StoreConfig.MAX_VALUE_BYTES_LIMIT);
    }
    return Effect.edited(key, type, base, version, expireAt, ops);
  }

  private static byte putKind(ValueType type) {
    return switch (type) {
      case STRING -> PUT;
      case HASH -> PUT_HASH;
      case SET -> PUT_SET;
      case ZSET -> PUT_ZSET;
    };
  }

  private static ValueType typeOf(byte putKind) {
    return switch (putKind) {
      case PUT_HASH -> ValueType.HASH;
      case PUT_SET -> ValueType.SET;
      case PUT_ZSET -> ValueType.ZSET;
      default -> ValueType.STRING;
    };
  }

  private static int readInt(ByteBuf in, String what) {
    if (in.readableBytes() < 4) {
      throw new IllegalArgumentException(what + " is cut off");
    }
    return in.readInt();
  }

  private static byte[] readBytes(ByteBuf in, String what, int max) {
    return bytes(in, what, readInt(in, what + " length"), max);
  }

  private static void checkLength(ByteBuf in, String what, int n, int max) {
    if (n < 0 || n > max || n > in.readableBytes()) {
      throw new IllegalArgumentException(what + " length " + n + " is outside 0.." + Math.min(max, in.readableBytes())
          + " (the bytes left)");
    }
  }

  private static byte[] bytes(ByteBuf in, String what, int n, int max) {
    checkLength(in, what, n, max);
    byte[] b = new byte[n];
    in.readBytes(b);
    return b;
  }
}
