package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.KeyOperation;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.RedisNumbers;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.nio.charset.StandardCharsets;
import java.util.List;

/*
 * Design: Redis's key commands that read one entry and write another (RENAME, RENAMENX, COPY) or
 * describe one (TOUCH, OBJECT ENCODING, MEMORY USAGE), as the KEY_OP opcode. The two-key ones read
 * the source and write the destination while holding both keys' gate stripes exclusive, so no
 * request on either key runs in between, as in Redis; the destination gets the source's value and
 * absolute expiry, and a new version (it is a write). The store
 * has types: the copy takes the whole entry (type, payload, expiry) with getTyped and putTyped.
 */

/** Runs KEY_OP requests (docs/PROTOCOL.md, "Key operations") under the transaction gate. */
final class KeyRequests {
  static final int TOUCH = KeyOperation.TOUCH;
  static final int RENAME = KeyOperation.RENAME;
  static final int RENAMENX = KeyOperation.RENAMENX;
  static final int COPY = KeyOperation.COPY;
  static final int ENCODING = KeyOperation.ENCODING;
  static final int MEMORY_USAGE = KeyOperation.MEMORY_USAGE;
  /** The key's ValueType code in extra 0, or NOT_FOUND. */
  static final int TYPE = KeyOperation.TYPE;
  /** OBJECT FREQ: the LFU counter in extra 0 (-1: the policy keeps none), or NOT_FOUND; not a use. */
  static final int FREQ = KeyOperation.FREQ;
  /** OBJECT IDLETIME: seconds since the last use in extra 0 (-1 under an LFU policy), or NOT_FOUND; not a use. */
  static final int IDLETIME = KeyOperation.IDLETIME;
  /**
   * Every entry's 3-byte use field: the LFU counter and minute stamp under an LFU policy, the
   * access clock under the others.
   */
  private static final int USE_FIELD_BYTES = 3;

  /** Index bytes per entry at the table's highest load (8 bytes a slot, load at most 3/4). */
  private static final int INDEX_BYTES = 11;
  /** Redis keeps strings up to this length in one allocation with the object ("embstr"). */
  private static final int EMBSTR_MAX = 44;

  private final Store store;
  private final TransactionGate gate;

  KeyRequests(Store store, TransactionGate gate) {
    this.store = store;
    this.gate = gate;
  }

  /** The destination of RENAME, RENAMENX and COPY (the value field); empty for the others. */
  static List<byte[]> destinations(Frame r) {
    long op = r.extra(0, -1);
    return op == RENAME || op == RENAMENX || op == COPY ? List.of(r.value()) : List.of();
  }

  Frame run(Frame r, boolean lock) {
    if (r.extras().length == 0) {
      throw new IllegalArgumentException("KEY_OP needs extra 0 (operation), but the request has 0 extras");
    }
    long op = r.extras()[0];
    if (op < TOUCH || op > KeyOperation.LAST) {
      throw new IllegalArgumentException("KEY_OP operation " + op + " is not one of 0.." + KeyOperation.LAST);
    }
    long mask = 1L << TransactionGate.stripe(r.key());
    boolean twoKeys = op == RENAME || op == RENAMENX || op == COPY;
    if (twoKeys) {
      mask |= 1L << TransactionGate.stripe(r.value());
    }
    long[] stamps = lock ? gate.lockAll(mask, twoKeys) : null;
    try {
      return switch ((int) op) {
        case TOUCH -> r.replyOk(store.getTyped(r.key()) != null ? 1 : 0);
        case RENAME, RENAMENX -> rename(r, op == RENAMENX);
        case COPY -> copy(r, r.extra(1, 0) != 0);
        case ENCODING -> encoding(r);
        case FREQ -> {
          long f = store.frequency(r.key());
          yield f == Store.KEY_MISSING ? r.reply(Status.NOT_FOUND) : r.replyOk(f);
        }
        case IDLETIME -> {
          long idle = store.idleSeconds(r.key());
          yield idle == Store.KEY_MISSING ? r.reply(Status.NOT_FOUND) : r.replyOk(idle);
        }
        case TYPE -> {
          ValueType t = store.typeOf(r.key());
          yield t == null ? r.reply(Status.NOT_FOUND) : r.replyOk(t.code());
        }
        default -> memoryUsage(r);
      };
    } finally {
      if (lock) {
        gate.unlockAll(mask, stamps);
      }
    }
  }

  private Frame rename(Frame r, boolean onlyIfAbsent) {
    byte[] source = r.key();
    byte[] target = r.value();
    TypedEntry e = store.getTyped(source);
    if (e == null) {
      return r.reply(Status.NOT_FOUND);
    }
    if (java.util.Arrays.equals(source, target)) {
      return r.replyOk(onlyIfAbsent ? 0 : 1); // Redis: RENAME to itself is OK, RENAMENX answers 0
    }
    if (onlyIfAbsent && store.exists(target)) {
      return r.replyOk(0);
    }
    store.putTyped(target, e.type(), e.value(), e.expireAtMillis());
    store.delete(source);
    return r.replyOk(1);
  }

  private Frame copy(Frame r, boolean replace) {
    byte[] source = r.key();
    byte[] target = r.value();
    if (java.util.Arrays.equals(source, target)) {
      throw new IllegalArgumentException("source and destination objects are the same");
    }
    TypedEntry e = store.getTyped(source);
    if (e == null || (!replace && store.exists(target))) {
      return r.replyOk(0);
    }
    store.putTyped(target, e.type(), e.value(), e.expireAtMillis());
    return r.replyOk(1);
  }

  /**
   * Read where the value lies (not a use: OBJECT looks without touching, as in Redis): a string's
   * encoding needs at most its first 21 bytes and its length, an indexed collection's its header;
   * only a small collection is copied to be looked at (OBJECT ENCODING of a 16 MiB string copied it
   * whole, 4-10 ms a call, a tester).
   */
  private Frame encoding(Frame r) {
    String name = store.peekValue(r.key(), (type, v, expireAt) -> {
      if (type == null) {
        return null;
      }
      if (type == ValueType.STRING) {
        return v.remaining() > 20 ? (v.remaining() <= EMBSTR_MAX ? "embstr" : "raw") : stringEncoding(copy(v));
      }
      if ((type == ValueType.HASH || type == ValueType.SET) && PackedIndex.isIndexed(v)) {
        return "hashtable"; // more than 128 elements: Redis's hashtable, told from the header
      }
      return switch (type) {
        case HASH -> hashEncoding(copy(v));
        case SET -> setEncoding(copy(v));
        default -> zsetEncoding(copy(v));
      };
    });
    return name == null ? r.reply(Status.NOT_FOUND) : r.replyValue(name.getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] copy(java.nio.ByteBuffer v) {
    byte[] out = new byte[v.remaining()];
    v.get(v.position(), out);
    return out;
  }

  /**
   * What Redis would report for this hash: listpack up to 128 fields with fields and values of at
   * most 64 bytes (hash-max-listpack-entries, hash-max-listpack-value), hashtable past them. The
   * store keeps a hash of more than 128 fields indexed (PackedIndex: hashtable, told from the
   * header without a walk), a smaller one packed; this names Redis's choice for those.
   */
  static String hashEncoding(byte[] payload) {
    if (PackedIndex.isIndexed(payload)) {
      return "hashtable";
    }
    java.util.Map<CollectionCodec.Bytes, byte[]> hash = CollectionCodec.decodeHash(payload);
    if (hash.size() > 128) {
      return "hashtable";
    }
    for (java.util.Map.Entry<CollectionCodec.Bytes, byte[]> f : hash.entrySet()) {
      if (f.getKey().b().length > 64 || f.getValue().length > 64) {
        return "hashtable";
      }
    }
    // Redis 7.4 names a small hash with field expiry times "listpackex".
    return CollectionCodec.earliestFieldExpiry(payload) != 0 ? "listpackex" : "listpack";
  }

  /**
   * What Redis would report for this set: intset for at most 512 members that are all integers
   * (set-max-intset-entries), listpack for at most 128 members of at most 64 bytes, else hashtable.
   * A set of more than 128 members is indexed here (PackedIndex) and reported as hashtable, also
   * when Redis would keep up to 512 integers in an intset (docs/PROTOCOL.md).
   */
  static String setEncoding(byte[] payload) {
    if (PackedIndex.isIndexed(payload)) {
      return "hashtable";
    }
    java.util.Map<CollectionCodec.Bytes, Boolean> set = CollectionCodec.decodeSet(payload);
    boolean integers = set.size() <= 512;
    boolean small = set.size() <= 128;
    for (CollectionCodec.Bytes m : set.keySet()) {
      if (integers && !"int".equals(stringEncoding(m.b()))) {
        integers = false;
      }
      small &= m.b().length <= 64;
    }
    return integers ? "intset" : small ? "listpack" : "hashtable";
  }

  /**
   * What Redis would report for this sorted set: listpack for at most 128 members of at most 64
   * bytes (zset-max-listpack-entries, zset-max-listpack-value), else skiplist. The store keeps
   * every sorted set packed (CollectionCodec).
   */
  static String zsetEncoding(byte[] payload) {
    io.distcache.server.store.ScoredMembers z = io.distcache.server.store.ScoredMembers.decode(payload);
    boolean small = z.size() <= 128;
    for (int i = 0; i < z.size() && small; i++) {
      small = z.get(i).member().length <= 64;
    }
    return small ? "listpack" : "skiplist";
  }

  /** What Redis would report for this string: int, embstr or raw. */
  static String stringEncoding(byte[] value) {
    if (value.length <= 20) {
      try {
        RedisNumbers.parseLong(value);
        return "int";
      } catch (StoreException notAnInteger) {
        // not canonical integer text: a string
      }
    }
    return value.length <= EMBSTR_MAX ? "embstr" : "raw";
  }

  /**
   * The bytes the store holds for the entry by its layout: flags, version, the expiry when it has
   * one, the use field, the two length varints, key and value, plus its share of the index.
   */
  private Frame memoryUsage(Frame r) {
    // the value's length and expiry, read where it lies: not a use (redis-cli --memkeys must not
    // reset idle times), and no copy of the value (MEMORY USAGE of a 16 MiB value copied it, a tester)
    long[] found = store.peekValue(r.key(), (type, v, expireAt) -> type == null ? null
        : new long[] {v.remaining(), expireAt});
    if (found == null) {
      return r.reply(Status.NOT_FOUND);
    }
    int keyLength = r.key().length;
    int valueLength = (int) found[0];
    long bytes = 1 + 8 + (found[1] != Store.NO_EXPIRY ? 8 : 0) + varint(keyLength) + varint(valueLength)
        + keyLength + valueLength + INDEX_BYTES + USE_FIELD_BYTES;
    return r.replyOk(bytes);
  }

  private static int varint(int n) {
    int bytes = 1;
    while ((n >>>= 7) != 0) {
      bytes++;
    }
    return bytes;
  }
}
