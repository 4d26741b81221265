package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.RedisNumbers;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the HASH opcode (Redis's hash commands) against the store. A hash is one entry of type
 * HASH whose payload is CollectionCodec's packed array. A read decodes it under the key's gate
 * stripe, shared; a write decodes, changes and writes the whole payload back while holding the
 * stripe exclusive, so no other request on the key runs in between: every command is atomic, also
 * inside a TRANSACTION (which holds the stripes already). A write keeps the key's expiry, and one
 * that removes the last field removes the key, as in Redis. A write that would pass
 * MAX_COLLECTION_ELEMENTS fields is refused before the new payload is built; the payload's bytes
 * are bounded by the store's value limit.
 *
 * Arguments are checked here too (binary clients send HASH directly); the Redis handler has
 * already refused, with Redis's texts, what Redis refuses.
 */

/** Runs HASH requests (docs/PROTOCOL.md, "Hashes") under the transaction gate. */
final class HashRequests {
  static final int HSET = 0;
  static final int HSETNX = 1;
  static final int HGET = 2;
  static final int HMGET = 3;
  static final int HGETALL = 4;
  static final int HDEL = 5;
  static final int HLEN = 6;
  static final int HSTRLEN = 7;
  static final int HEXISTS = 8;
  static final int HKEYS = 9;
  static final int HVALS = 10;
  static final int HINCRBY = 11;
  static final int HINCRBYFLOAT = 12;
  static final int HRANDFIELD = 13;
  private static final int LAST = HRANDFIELD;

  static final String NOT_INTEGER = "hash value is not an integer";
  static final String NOT_FLOAT = "hash value is not a float";

  private final Store store;
  private final TransactionGate gate;

  private final int maxFields;

  HashRequests(Store store, TransactionGate gate, int maxFields) {
    this.store = store;
    this.gate = gate;
    this.maxFields = maxFields;
  }

  Frame run(Frame r, boolean lock) {
    if (r.extras().length == 0) {
      throw new IllegalArgumentException("HASH needs extra 0 (command), but the request has 0 extras");
    }
    long command = r.extras()[0];
    if (command < 0 || command > LAST) {
      throw new IllegalArgumentException("HASH command " + command + " is not one of 0.." + LAST);
    }
    boolean write = command == HSET || command == HSETNX || command == HDEL || command == HINCRBY
        || command == HINCRBYFLOAT;
    long mask = 1L << TransactionGate.stripe(r.key());
    long[] stamps = lock ? gate.lockAll(mask, write) : null;
    try {
      List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
      TypedEntry e = store.getTyped(r.key());
      if (e != null && e.type() != ValueType.HASH) {
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      LinkedHashMap<Bytes, byte[]> hash = CollectionCodec.decodeHash(e == null ? null : e.value());
      long expireAt = e == null ? Store.NO_EXPIRY : e.expireAtMillis();
      return switch ((int) command) {
        case HSET -> hset(r, args, hash, expireAt);
        case HSETNX -> hsetnx(r, args, hash, expireAt);
        case HGET -> {
          byte[] v = hash.get(new Bytes(one(args, "HGET")));
          yield v == null ? r.reply(Status.NOT_FOUND) : r.replyValue(v);
        }
        case HMGET -> {
          List<byte[]> out = new ArrayList<>(args.size());
          for (byte[] f : args) {
            out.add(hash.get(new Bytes(f)));
          }
          yield r.replyValue(ListCodec.encodeValues(out));
        }
        case HGETALL -> r.replyValue(ListCodec.encodeValues(flatten(hash, true, true)));
        case HKEYS -> r.replyValue(ListCodec.encodeValues(flatten(hash, true, false)));
        case HVALS -> r.replyValue(ListCodec.encodeValues(flatten(hash, false, true)));
        case HDEL -> hdel(r, args, hash, expireAt);
        case HLEN -> r.replyOk(hash.size());
        case HSTRLEN -> {
          byte[] v = hash.get(new Bytes(one(args, "HSTRLEN")));
          yield r.replyOk(v == null ? 0 : v.length);
        }
        case HEXISTS -> r.replyOk(hash.containsKey(new Bytes(one(args, "HEXISTS"))) ? 1 : 0);
        case HINCRBY -> hincrby(r, args, hash, expireAt);
        case HINCRBYFLOAT -> hincrbyfloat(r, args, hash, expireAt);
        default -> hrandfield(r, hash);
      };
    } catch (StoreException ex) {
      if (ex.reason() == StoreException.Reason.WRONG_TYPE) {
        return r.replyError(Status.WRONG_TYPE, ex.getMessage());
      }
      throw ex;
    } finally {
      if (lock) {
        gate.unlockAll(mask, stamps);
      }
    }
  }

  private Frame hset(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    if (args.isEmpty() || args.size() % 2 != 0) {
      throw new IllegalArgumentException("HSET needs field value pairs, got " + args.size() + " values");
    }
    int added = 0;
    for (int i = 0; i < args.size(); i += 2) {
      Bytes field = new Bytes(args.get(i));
      if (!hash.containsKey(field)) {
        checkRoom(r, hash.size() + 1);
        added++;
      }
      hash.put(field, args.get(i + 1));
    }
    save(r, hash, expireAt);
    return r.replyOk(added);
  }

  private Frame hsetnx(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    if (args.size() != 2) {
      throw new IllegalArgumentException("HSETNX needs a field and a value, got " + args.size() + " values");
    }
    Bytes field = new Bytes(args.get(0));
    if (hash.containsKey(field)) {
      return r.replyOk(0);
    }
    checkRoom(r, hash.size() + 1);
    hash.put(field, args.get(1));
    save(r, hash, expireAt);
    return r.replyOk(1);
  }

  private Frame hdel(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    int removed = 0;
    for (byte[] f : args) {
      if (hash.remove(new Bytes(f)) != null) {
        removed++;
      }
    }
    if (removed > 0) {
      save(r, hash, expireAt);
    }
    return r.replyOk(removed);
  }

  private Frame hincrby(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    Bytes field = new Bytes(one(args, "HINCRBY"));
    byte[] old = hash.get(field);
    long current;
    try {
      current = old == null ? 0 : RedisNumbers.parseLong(old);
    } catch (StoreException notAnInteger) {
      return r.replyError(Status.BAD_REQUEST, NOT_INTEGER);
    }
    long next;
    try {
      next = Math.addExact(current, r.extra(1, 0));
    } catch (ArithmeticException overflow) {
      return r.reply(Status.OVERFLOW);
    }
    if (old == null) {
      checkRoom(r, hash.size() + 1);
    }
    hash.put(field, RedisNumbers.formatLong(next));
    save(r, hash, expireAt);
    return r.replyOk(next);
  }

  private Frame hincrbyfloat(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    double delta = Double.longBitsToDouble(r.extra(1, 0)); // the increment's IEEE 754 bits
    Bytes field = new Bytes(one(args, "HINCRBYFLOAT"));
    byte[] old = hash.get(field);
    byte[] next;
    try {
      next = RedisNumbers.addFloat(old, delta);
    } catch (StoreException e) {
      if (e.reason() == StoreException.Reason.NOT_A_NUMBER) {
        return r.replyError(Status.BAD_REQUEST, NOT_FLOAT);
      }
      return r.reply(Status.OVERFLOW);
    }
    if (old == null) {
      checkRoom(r, hash.size() + 1);
    }
    hash.put(field, next);
    save(r, hash, expireAt);
    return r.replyValue(next);
  }

  /*
   * extras: [command, has count, count, with values]. Without a count: one field or NOT_FOUND. A
   * positive count: distinct fields, at most the hash's size; a negative one: |count| fields that
   * may repeat (Redis's HRANDFIELD). The reply is a value list (field, value pairs WITHVALUES).
   */
  private Frame hrandfield(Frame r, LinkedHashMap<Bytes, byte[]> hash) {
    boolean hasCount = r.extra(1, 0) != 0;
    long count = r.extra(2, 0);
    boolean withValues = r.extra(3, 0) != 0;
    List<Map.Entry<Bytes, byte[]>> entries = new ArrayList<>(hash.entrySet());
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    if (!hasCount) {
      if (entries.isEmpty()) {
        return r.reply(Status.NOT_FOUND);
      }
      return r.replyValue(entries.get(rnd.nextInt(entries.size())).getKey().b());
    }
    List<Map.Entry<Bytes, byte[]>> picked = RandomPicks.pick(entries, count, rnd);
    List<byte[]> out = new ArrayList<>(picked.size() * (withValues ? 2 : 1));
    for (Map.Entry<Bytes, byte[]> e : picked) {
      out.add(e.getKey().b());
      if (withValues) {
        out.add(e.getValue());
      }
    }
    return r.replyValue(ListCodec.encodeValues(out));
  }

  private void save(Frame r, LinkedHashMap<Bytes, byte[]> hash, long expireAt) {
    if (hash.isEmpty()) {
      store.delete(r.key());
    } else {
      store.putTyped(r.key(), ValueType.HASH, CollectionCodec.encodeHash(hash), expireAt);
    }
  }

  private void checkRoom(Frame r, int size) {
    if (size > maxFields) {
      throw new IllegalArgumentException("hash " + RandomPicks.printable(r.key()) + " would hold " + size
          + " fields; the limit is " + maxFields + " fields per hash (--max-collection-elements)");
    }
  }

  private static List<byte[]> flatten(LinkedHashMap<Bytes, byte[]> hash, boolean fields, boolean values) {
    List<byte[]> out = new ArrayList<>(hash.size() * (fields && values ? 2 : 1));
    for (Map.Entry<Bytes, byte[]> e : hash.entrySet()) {
      if (fields) {
        out.add(e.getKey().b());
      }
      if (values) {
        out.add(e.getValue());
      }
    }
    return out;
  }

  private static byte[] one(List<byte[]> args, String command) {
    if (args.isEmpty()) {
      throw new IllegalArgumentException(command + " needs a field, got none");
    }
    return args.get(0);
  }
}
