package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.HashFieldExpiry;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import io.distcache.server.pubsub.KeyspaceEvents;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.FieldExpiryIndex;
import io.distcache.server.store.RedisNumbers;
import io.distcache.server.store.PackedChange;
import io.distcache.server.store.PackedEdit;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the HASH opcode (Redis's hash commands) against the store. A hash is one entry of type
 * HASH whose payload is CollectionCodec's packed array. A read holds the key's gate stripe shared;
 * a write holds it exclusive from its read to its write back, so no other request on the key runs
 * in between: every command is atomic, also inside a TRANSACTION (which holds the stripes
 * already). The point reads (HGET, HMGET of any number of fields, HEXISTS, HSTRLEN, HLEN) and
 * HRANDFIELD of up to RandomPicks.DRAWS_IN_PLACE fields look into the payload where the store
 * keeps it (PackedLookup; on a large hash through its offset table, O(fields named or drawn)), and
 * so does HTTL on a large hash; HSET, HSETNX, HDEL (of any number of fields on an indexed hash, up
 * to MAX_NAMES on a plain one), HINCRBY, HINCRBYFLOAT, HEXPIRE, HPERSIST, HGETDEL, HGETEX and
 * HSETEX build the new payload
 * from that view (PackedEdit: no object per element), inside Store.editPacked, which applies it
 * under the key's segment lock. On a hash of more than 128 fields (PackedIndex's layout, its field
 * times beside its table) they find their fields through the payload's offset table instead of a
 * walk, and the store edits such a hash where it lies (a new or same-length field writes that
 * field only: Segment.editInPlace). On a large hash whose earliest bound is not after now, the
 * fields whose time came are removed for good in the same edit, before the command (up to
 * MAX_REAPED_IN_EDIT; past them by decoding). Every other command, and these on a plain (small)
 * hash with field expiry times, decodes the payload into a map,
 * changes it and encodes it again, copying the whole payload. A write keeps the key's expiry, and one that removes the last field removes the key, as in Redis. A
 * write that would pass MAX_COLLECTION_ELEMENTS fields is refused before the new payload is built;
 * the payload's bytes are checked against the store's value limit (PackedEdit before it
 * allocates).
 *
 * Arguments are checked here too (binary clients send HASH directly); the Redis handler has
 * already refused, with Redis's texts, what Redis refuses.
 *
 * Field expiry (HashFieldExpiry's commands): each field's absolute expiry lives in the payload
 * (CollectionCodec's trailer on a small hash, PackedIndex's times on a large one), so it is
 * replicated, migrated and copied with the value. A field
 * whose time has come is invisible to every command from that moment (the clock is read once per
 * request). Reads only hide it; a write on the hash, or the node's active sweep (HREAP, from
 * FieldExpirySweeper), removes it for good, publishes "hexpired" (and "del" when it was the last
 * field, which removes the key), counts it in the store's FieldExpiryIndex (INFO expired_subkeys)
 * and so ships the shorter value to the replicas like any write.
 * Reads never write, so they keep their shared stripe and the replicas see no extra effects. HSET
 * and HSETNX (a new field) drop a field's expiry, HINCRBY and HINCRBYFLOAT keep it, HSETEX sets,
 * keeps or drops it as its options say, as in Redis.
 * The key's own expiry is independent of its fields' and kept by every field write.
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
  static final int HEXPIRE = HashFieldExpiry.HEXPIRE;
  static final int HTTL = HashFieldExpiry.HTTL;
  static final int HPERSIST = HashFieldExpiry.HPERSIST;
  static final int HREAP = HashFieldExpiry.HREAP;
  static final int HGETDEL = HashFieldExpiry.HGETDEL;
  static final int HGETEX = HashFieldExpiry.HGETEX;
  static final int HSETEX = HashFieldExpiry.HSETEX;
  private static final int LAST = HSETEX;

  static final String NOT_INTEGER = "hash value is not an integer";
  /**
   * The most expired fields a write on a large hash removes in its own edit (more are removed by
   * decoding the hash, whose copy they pay for): each is one more call shipped to the replicas,
   * where EditJournal.MAX_OPS calls still ship as calls.
   */
  static final int MAX_REAPED_IN_EDIT = 32;
  static final String NOT_FLOAT = "hash value is not a float";

  private final Store store;
  private final TransactionGate gate;

  private final int maxFields;
  private final Clock clock;
  /** Where "hexpired" goes; null while nobody listens (LocalExecutor.pubSub). */
  private volatile KeyspaceEvents events;

  HashRequests(Store store, TransactionGate gate, int maxFields) {
    this.store = store;
    this.gate = gate;
    this.maxFields = maxFields;
    this.clock = store.config().clock();
  }

  void events(KeyspaceEvents events) {
    this.events = events;
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
        || command == HINCRBYFLOAT || command == HEXPIRE || command == HPERSIST || command == HREAP
        || command == HGETDEL || command == HGETEX || command == HSETEX;
    long mask = 1L << TransactionGate.stripe(r.key());
    long[] stamps = lock ? gate.lockAll(mask, write) : null;
    try {
      List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
      if (!write && pointRead((int) command)) {
        return lookUp(r, (int) command, args);
      }
      if (command == HTTL) {
        checkFields(args, "HTTL");
        long now = clock.millis();
        // one read (one keyspace hit or miss): through a large hash's table, a small one decoded
        long[] times = store.readTyped(r.key(), ValueType.HASH, p -> PackedLookup.hashTimes(p, args, now));
        return r.reply(Status.OK, 0, HashFieldExpiry.encodeCodes(times), new long[] {now});
      }
      if (command == HRANDFIELD) {
        Frame drawn = RandomPicks.drawInPlace(store, r, ValueType.HASH, clock.millis());
        if (drawn != null) {
          return drawn;
        }
      }
      if (write && editable((int) command, args)) {
        Frame edited = edit(r, (int) command, args);
        if (edited != null) {
          return edited;
        }
      }
      TypedEntry e = store.getTyped(r.key());
      if (e != null && e.type() != ValueType.HASH) {
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      Map<Bytes, Long> ttl = new HashMap<>();
      LinkedHashMap<Bytes, byte[]> hash = CollectionCodec.decodeHash(e == null ? null : e.value(), ttl);
      long expireAt = e == null ? Store.NO_EXPIRY : e.expireAtMillis();
      long now = clock.millis();
      int expired = hideExpired(hash, ttl, now);
      if (expired > 0 && write) {
        save(r, hash, ttl, expireAt);
        fieldsExpired(r.key(), hash.isEmpty());
        FieldExpiryIndex index = store.fieldExpiryIndex();
        if (index != null) {
          index.countExpired(expired); // INFO's expired_subkeys: only fields removed for good count
        }
        if (hash.isEmpty()) {
          expireAt = Store.NO_EXPIRY; // the key is gone; a write below makes a new one
        }
      }
      return switch ((int) command) {
        case HSET -> hset(r, args, hash, ttl, expireAt);
        case HSETNX -> hsetnx(r, args, hash, ttl, expireAt);
        case HGET -> {
          byte[] v = hash.get(new Bytes(one(args, "HGET")));
          yield v == null ? r.reply(Status.NOT_FOUND) : r.replyValue(v);
        }
        case HGETALL -> r.replyValue(ListCodec.encodeValues(flatten(hash, true, true)));
        case HKEYS -> r.replyValue(ListCodec.encodeValues(flatten(hash, true, false)));
        case HVALS -> r.replyValue(ListCodec.encodeValues(flatten(hash, false, true)));
        case HDEL -> hdel(r, args, hash, ttl, expireAt);
        case HLEN -> r.replyOk(hash.size());
        case HSTRLEN -> {
          byte[] v = hash.get(new Bytes(one(args, "HSTRLEN")));
          yield r.replyOk(v == null ? 0 : v.length);
        }
        case HEXISTS -> r.replyOk(hash.containsKey(new Bytes(one(args, "HEXISTS"))) ? 1 : 0);
        case HINCRBY, HINCRBYFLOAT -> hincr(r, (int) command, args, hash, ttl, expireAt);
        case HEXPIRE -> hexpire(r, args, hash, ttl, expireAt, now);
        case HTTL -> httl(r, args, hash, ttl, now);
        case HPERSIST -> hpersist(r, args, hash, ttl, expireAt);
        case HREAP -> r.replyOk(expired);
        case HGETDEL -> hgetdel(r, args, hash, ttl, expireAt);
        case HGETEX -> hgetex(r, args, hash, ttl, expireAt, now);
        case HSETEX -> hsetex(r, args, hash, ttl, expireAt, now);
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

  private Frame hset(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt) {
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
      ttl.remove(field); // a new value is a new field: Redis drops its expiry
    }
    save(r, hash, ttl, expireAt);
    return r.replyOk(added);
  }

  private Frame hsetnx(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt) {
    if (args.size() != 2) {
      throw new IllegalArgumentException("HSETNX needs a field and a value, got " + args.size() + " values");
    }
    Bytes field = new Bytes(args.get(0));
    if (hash.containsKey(field)) {
      return r.replyOk(0);
    }
    checkRoom(r, hash.size() + 1);
    hash.put(field, args.get(1));
    ttl.remove(field);
    save(r, hash, ttl, expireAt);
    return r.replyOk(1);
  }

  private Frame hdel(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt) {
    int removed = 0;
    for (byte[] f : args) {
      Bytes field = new Bytes(f);
      if (hash.remove(field) != null) {
        ttl.remove(field);
        removed++;
      }
    }
    if (removed > 0) {
      save(r, hash, ttl, expireAt);
    }
    return r.replyOk(removed);
  }

  /** HINCRBY and HINCRBYFLOAT on the decoded hash; the field's expiry stays, as in Redis. */
  private Frame hincr(Frame r, int command, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash,
      Map<Bytes, Long> ttl, long expireAt) {
    Bytes field = new Bytes(one(args, command == HINCRBY ? "HINCRBY" : "HINCRBYFLOAT"));
    byte[] old = hash.get(field);
    Incremented next = increment(r, command, old);
    if (next.value() == null) {
      return next.reply();
    }
    if (old == null) {
      checkRoom(r, hash.size() + 1);
    }
    hash.put(field, next.value());
    save(r, hash, ttl, expireAt);
    return next.reply();
  }

  /** An increment's new value and its reply; no value (null) when the reply is an error. */
  private record Incremented(byte[] value, Frame reply) {}

  /**
   * HINCRBY's (extra 1 the delta) or HINCRBYFLOAT's (extra 1 the delta's IEEE 754 bits) new value
   * of {@code old} (null: absent, counts as 0), or the error it gets.
   */
  private static Incremented increment(Frame r, int command, byte[] old) {
    if (command == HINCRBY) {
      long current;
      try {
        current = old == null ? 0 : RedisNumbers.parseLong(old);
      } catch (StoreException notAnInteger) {
        return new Incremented(null, r.replyError(Status.BAD_REQUEST, NOT_INTEGER));
      }
      long next;
      try {
        next = Math.addExact(current, r.extra(1, 0));
      } catch (ArithmeticException overflow) {
        return new Incremented(null, r.reply(Status.OVERFLOW));
      }
      return new Incremented(RedisNumbers.formatLong(next), r.replyOk(next));
    }
    byte[] next;
    try {
      next = RedisNumbers.addFloat(old, Double.longBitsToDouble(r.extra(1, 0)));
    } catch (StoreException e) {
      if (e.reason() == StoreException.Reason.NOT_A_NUMBER) {
        return new Incremented(null, r.replyError(Status.BAD_REQUEST, NOT_FLOAT));
      }
      return new Incremented(null, r.reply(Status.OVERFLOW));
    }
    return new Incremented(next, r.replyValue(next));
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
    RandomPicks.checkBytes(out);
    return r.replyValue(ListCodec.encodeValues(out));
  }

  private void save(Frame r, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl, long expireAt) {
    if (hash.isEmpty()) {
      store.delete(r.key());
    } else {
      store.putTyped(r.key(), ValueType.HASH, CollectionCodec.encodeHash(hash, ttl), expireAt);
    }
  }

  /** The reads answered by walking the payload (PackedLookup) instead of decoding it. */
  private static boolean pointRead(int command) {
    return command == HGET || command == HEXISTS || command == HSTRLEN || command == HLEN || command == HMGET;
  }

  private Frame lookUp(Frame r, int command, List<byte[]> args) {
    long now = clock.millis();
    return switch (command) {
      case HLEN -> {
        int n = store.readTyped(r.key(), ValueType.HASH, p -> PackedLookup.hashSize(p, now));
        yield r.replyOk(n);
      }
      case HMGET -> r.replyValue(ListCodec.encodeValues(java.util.Arrays.asList(
          store.readTyped(r.key(), ValueType.HASH, p -> PackedLookup.hashValues(p, args, now)))));
      default -> {
        String name = command == HGET ? "HGET" : command == HEXISTS ? "HEXISTS" : "HSTRLEN";
        List<byte[]> field = List.of(one(args, name));
        byte[] v = store.readTyped(r.key(), ValueType.HASH, p -> PackedLookup.hashValues(p, field, now))[0];
        yield switch (command) {
          case HGET -> v == null ? r.reply(Status.NOT_FOUND) : r.replyValue(v);
          case HEXISTS -> r.replyOk(v == null ? 0 : 1);
          default -> r.replyOk(v == null ? 0 : v.length);
        };
      }
    };
  }

  /**
   * The writes that edit the payload in place (PackedEdit): well-formed ones (a malformed one gets
   * the decoding path's answer, after its type check); of more than MAX_NAMES fields only on an
   * indexed hash, and on a small hash with field expiry times not at all (edit() decides under
   * the lock).
   */
  private static boolean editable(int command, List<byte[]> args) {
    return switch (command) {
      case HSET -> !args.isEmpty() && args.size() % 2 == 0;
      case HSETNX -> args.size() == 2;
      case HDEL -> !args.isEmpty();
      case HINCRBY, HINCRBYFLOAT -> !args.isEmpty();
      case HEXPIRE, HPERSIST, HGETDEL, HGETEX -> !args.isEmpty();
      case HSETEX -> !args.isEmpty() && args.size() % 2 == 0;
      default -> false;
    };
  }

  /**
   * The writes editable() names on the payload's view (PackedEdit), with the decoding path's
   * replies, limits and order; null when the decoding path must answer: a malformed request (after
   * its type check there), a small hash with field expiry times (its trailer), a large one with
   * more than MAX_REAPED_IN_EDIT fields whose time came, a result that would need the trailer, or
   * more than MAX_NAMES fields named on a hash that is not indexed (a plain hash's edit walks it
   * once per name).
   */
  private Frame edit(Frame r, int command, List<byte[]> args) {
    long now = clock.millis();
    long at = 0;
    try {
      at = switch (command) {
        case HEXPIRE, HPERSIST, HGETDEL, HGETEX -> {
          checkFields(args, "the command");
          yield command == HEXPIRE ? expiryAt(r, now) : command == HGETEX ? hgetexAt(r, now) : 0;
        }
        case HSETEX -> hsetexAt(r, args, now);
        default -> 0;
      };
    } catch (IllegalArgumentException malformed) {
      return null; // the decoding path answers it, after its type check
    }
    long time = at;
    List<byte[]> names = switch (command) {
      case HSET, HSETEX -> {
        List<byte[]> fields = new ArrayList<>(args.size() / 2);
        for (int i = 0; i < args.size(); i += 2) {
          fields.add(args.get(i));
        }
        yield fields;
      }
      case HDEL, HEXPIRE, HPERSIST, HGETDEL, HGETEX -> args;
      default -> List.of(args.get(0));
    };
    int n = names.size();
    // Fields removed because their time came. Never all of the hash: it has more than 128 fields,
    // at most MAX_REAPED_IN_EDIT go, and a result of 128 or fewer is decoded instead (needsDecode).
    int[] reaped = new int[1];
    PackedChange<Frame> change;
    try {
      change = editReaping(r, command, args, names, n, time, now, reaped);
    } catch (IllegalArgumentException | StoreException refused) {
      if (reaped[0] > 0) {
        // Refused after a reap in the same edit (over the field or value limit): nothing was
        // written, so the decoding path removes the expired fields for good (their events and
        // count), then refuses the command the same way (a reviewer).
        return null;
      }
      throw refused;
    }
    if (change.wrote() && reaped[0] > 0) {
      fieldsExpired(r.key(), false);
      FieldExpiryIndex index = store.fieldExpiryIndex();
      if (index != null) {
        index.countExpired(reaped[0]); // INFO's expired_subkeys
      }
    }
    return change.result();
  }

  /** edit()'s store step: the edit decided under the key's segment lock, expired fields reaped first. */
  private PackedChange<Frame> editReaping(Frame r, int command, List<byte[]> args, List<byte[]> names, int n, long time,
      long now, int[] reaped) {
    return store.editPacked(r.key(), ValueType.HASH, payload -> {
      if (n > PackedLookup.MAX_NAMES && !PackedIndex.isIndexed(payload)) {
        return PackedChange.decline();
      }
      PackedEdit e = PackedEdit.hash(payload, names);
      if (e.hasTrailer()) {
        return PackedChange.decline(); // a small hash with times: the decoding path
      }
      if (e.mayHoldExpiredFields(now)) {
        // A large hash whose bound says a field may have expired: the fields whose time came are
        // removed for good in this same edit, before the command (named after its own names, so
        // the command's indices stay 0..n-1), as the decoding path removes them; past
        // MAX_REAPED_IN_EDIT of them the decoding path does it (its copy is paid for by them).
        PackedLookup.Expired expired = PackedLookup.expiredFields(payload, now, MAX_REAPED_IN_EDIT);
        if (expired == null) {
          return PackedChange.decline();
        }
        List<byte[]> all = new ArrayList<>(n + expired.names().size());
        all.addAll(names);
        all.addAll(expired.names());
        e = PackedEdit.hash(payload, all);
        for (int j = 0; j < expired.names().size(); j++) {
          e.remove(n + j);
        }
        e.reaped(expired.restEarliest());
        reaped[0] = expired.names().size();
      } else {
        reaped[0] = 0;
      }
      Frame reply = switch (command) {
        case HSET -> { // present(): as the edit leaves the hash so far, so a field just reaped counts as new
          int added = 0;
          for (int i = 0; i < n; i++) {
            added += e.present(i) ? 0 : 1;
            e.put(i, args.get(2 * i + 1));
          }
          yield r.replyOk(added);
        }
        case HSETNX -> {
          if (e.present(0)) {
            yield r.replyOk(0);
          }
          e.put(0, args.get(1));
          yield r.replyOk(1);
        }
        case HDEL -> {
          int removed = 0;
          for (int i = 0; i < n; i++) {
            removed += e.present(i) ? 1 : 0;
            e.remove(i);
          }
          yield r.replyOk(removed);
        }
        case HEXPIRE -> r.replyValue(HashFieldExpiry.encodeCodes(hexpire(r, e, n, time, now)));
        case HPERSIST -> {
          long[] codes = new long[n];
          for (int i = 0; i < codes.length; i++) {
            codes[i] = !e.present(i) ? HashFieldExpiry.NO_FIELD : e.time(i) == 0 ? HashFieldExpiry.NO_TTL
                : HashFieldExpiry.SET;
            if (codes[i] == HashFieldExpiry.SET) {
              e.expire(i, 0);
            }
          }
          yield r.replyValue(HashFieldExpiry.encodeCodes(codes));
        }
        case HGETDEL -> {
          List<byte[]> out = new ArrayList<>(n);
          int deleted = 0;
          for (int i = 0; i < n; i++) {
            out.add(e.value(i));
            if (e.present(i)) {
              e.remove(i);
              deleted++;
            }
          }
          yield r.replyValue(ListCodec.encodeValues(out), deleted);
        }
        case HGETEX -> hgetex(r, e, n, time, now);
        case HSETEX -> hsetex(r, e, n, args, time, now);
        default -> {
          Incremented next = increment(r, command, e.value(0));
          if (next.value() != null) {
            e.putKeepingTime(0, next.value()); // Redis keeps an incremented field's time
          }
          yield next.reply();
        }
      };
      if (e.needsDecode()) {
        return PackedChange.decline(); // a small hash's times live in its trailer, which the decoding path writes
      }
      if (e.size() > e.count() && e.size() > maxFields) {
        checkRoom(r, Math.max(e.count(), maxFields) + 1); // the size the decoding path names
      }
      return new PackedChange<>(reply, e);
    });
  }

  // ---- field expiry ----

  /** Drops the fields whose time has come (at or before {@code now}) from the decoded hash; how many. */
  private static int hideExpired(LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl, long now) {
    if (ttl.isEmpty()) {
      return 0;
    }
    int expired = 0;
    for (Iterator<Map.Entry<Bytes, Long>> it = ttl.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Bytes, Long> t = it.next();
      if (t.getValue() <= now) {
        it.remove();
        hash.remove(t.getKey());
        expired++;
      }
    }
    return expired;
  }

  /** Redis's events for fields removed because their time came: "hexpired", then "del" for the key. */
  private void fieldsExpired(byte[] key, boolean keyRemoved) {
    KeyspaceEvents ev = events;
    if (ev == null || ev.flags() == 0) {
      return;
    }
    ev.notify(KeyspaceEvents.HASH, "hexpired", key);
    if (keyRemoved) {
      ev.notify(KeyspaceEvents.GENERIC, "del", key);
    }
  }

  /**
   * HEXPIRE on the payload's view (PackedEdit), with the decoding path's codes (below); {@code at}
   * is expiryAt()'s.
   */
  private static long[] hexpire(Frame r, PackedEdit e, int n, long at, long now) {
    int condition = (int) (r.extra(2, 0) & HashFieldExpiry.CONDITION_MASK);
    long[] codes = new long[n];
    for (int i = 0; i < codes.length; i++) {
      if (!e.present(i)) {
        codes[i] = HashFieldExpiry.NO_FIELD;
        continue;
      }
      long current = e.time(i);
      codes[i] = !holds(condition, current == 0 ? null : current, at) ? HashFieldExpiry.CONDITION_NOT_MET
          : expireOrRemove(e, i, at, now) ? HashFieldExpiry.DELETED : HashFieldExpiry.SET;
    }
    return codes;
  }

  /** HGETEX on the payload's view (PackedEdit), with the decoding path's reply (below). */
  private static Frame hgetex(Frame r, PackedEdit e, int n, long at, long now) {
    boolean persist = (r.extra(2, 0) & HashFieldExpiry.PERSIST) != 0;
    boolean setExpiry = (r.extra(2, 0) & HashFieldExpiry.SET_EXPIRY) != 0;
    List<byte[]> out = new ArrayList<>(n);
    int updated = 0;
    int deleted = 0;
    for (int i = 0; i < n; i++) {
      byte[] v = e.value(i);
      out.add(v);
      if (v == null) {
        continue;
      }
      if (persist) {
        if (e.time(i) != 0) {
          e.expire(i, 0);
          updated++;
        }
      } else if (setExpiry) {
        if (expireOrRemove(e, i, at, now)) {
          deleted++;
        } else {
          updated++;
        }
      }
    }
    return r.replyValue(ListCodec.encodeValues(out), updated, deleted);
  }

  /** Sets field {@code i}'s time, or removes the field when the time is now or past (Redis's rule); true when removed. */
  private static boolean expireOrRemove(PackedEdit e, int i, long at, long now) {
    if (at <= now) {
      e.remove(i);
      return true;
    }
    e.expire(i, at);
    return false;
  }

  /** HSETEX on the payload's view (PackedEdit), with the decoding path's reply and order (below). */
  private static Frame hsetex(Frame r, PackedEdit e, int n, List<byte[]> args, long at, long now) {
    SetExFlags f = SetExFlags.of(r);
    if (f.fnx() || f.fxx()) {
      for (int i = 0; i < n; i++) {
        if (f.fnx() == e.present(i)) { // FNX found one, or FXX missed one
          return r.replyOk(0, 0, 0);
        }
      }
    }
    int updated = 0;
    int deleted = 0;
    for (int i = 0; i < n; i++) {
      if (f.keepTtl()) {
        e.putKeepingTime(i, args.get(2 * i + 1));
      } else {
        e.put(i, args.get(2 * i + 1));
      }
      if (f.setExpiry()) {
        if (expireOrRemove(e, i, at, now)) {
          deleted++;
        } else {
          updated++;
        }
      }
    }
    return r.replyOk(1, updated, deleted);
  }

  /** HSETEX's flags (extra 2), read once for either path. */
  private record SetExFlags(boolean setExpiry, boolean keepTtl, boolean fnx, boolean fxx) {
    static SetExFlags of(Frame r) {
      long flags = r.extra(2, 0);
      return new SetExFlags((flags & HashFieldExpiry.SET_EXPIRY) != 0, (flags & HashFieldExpiry.KEEP_TTL) != 0,
          (flags & HashFieldExpiry.FNX) != 0, (flags & HashFieldExpiry.FXX) != 0);
    }
  }

  /** HEXPIRE's condition on a field's current time (null: none, infinite for GT and LT) and the new one. */
  private static boolean holds(int condition, Long current, long at) {
    return switch (condition) {
      case HashFieldExpiry.NX -> current == null;
      case HashFieldExpiry.XX -> current != null;
      case HashFieldExpiry.GT -> current != null && at > current;
      case HashFieldExpiry.LT -> current == null || at < current;
      default -> true;
    };
  }

  /** HEXPIRE's absolute time (Unix ms) from its extras [command, time ms, flags], checked. */
  private static long expiryAt(Frame r, long now) {
    long time = r.extra(1, -1);
    long flags = r.extra(2, 0);
    int condition = (int) (flags & HashFieldExpiry.CONDITION_MASK);
    if (time < 0 || condition > HashFieldExpiry.LT || (flags & ~(HashFieldExpiry.CONDITION_MASK | HashFieldExpiry.ABSOLUTE)) != 0) {
      throw new IllegalArgumentException("HEXPIRE needs a time >= 0 ms and flags of a condition 0..4 and ABSOLUTE, got "
          + time + " and " + flags);
    }
    boolean absolute = (flags & HashFieldExpiry.ABSOLUTE) != 0;
    if (time > HashFieldExpiry.MAX_EXPIRE_AT_MILLIS - (absolute ? 0 : now)) {
      throw new IllegalArgumentException("HEXPIRE time " + time + " ms" + (absolute ? "" : " from now")
          + " is past the latest field expiry " + HashFieldExpiry.MAX_EXPIRE_AT_MILLIS);
    }
    return absolute ? time : now + time;
  }

  /*
   * extras: [command, time ms, flags]. Per field, in Redis's order: absent (-2); condition (0),
   * where a field without expiry counts as an infinite one for GT and LT; a time at or before now
   * deletes the field (2); else the expiry is set (1). Saved once, when anything changed.
   */
  private Frame hexpire(Frame r, List<byte[]> fields, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt, long now) {
    long at = expiryAt(r, now);
    int condition = (int) (r.extra(2, 0) & HashFieldExpiry.CONDITION_MASK);
    checkFields(fields, "HEXPIRE");
    long[] codes = new long[fields.size()];
    boolean changed = false;
    for (int i = 0; i < codes.length; i++) {
      Bytes field = new Bytes(fields.get(i));
      if (!hash.containsKey(field)) {
        codes[i] = HashFieldExpiry.NO_FIELD;
        continue;
      }
      if (!holds(condition, ttl.get(field), at)) {
        codes[i] = HashFieldExpiry.CONDITION_NOT_MET;
      } else if (at <= now) {
        hash.remove(field);
        ttl.remove(field);
        codes[i] = HashFieldExpiry.DELETED;
        changed = true;
      } else {
        ttl.put(field, at);
        codes[i] = HashFieldExpiry.SET;
        changed = true;
      }
    }
    if (changed) {
      save(r, hash, ttl, expireAt);
    }
    return r.replyValue(HashFieldExpiry.encodeCodes(codes));
  }

  /** Per field its absolute expiry, NO_TTL or NO_FIELD; extra 0 is "now" for the caller's TTLs. */
  private Frame httl(Frame r, List<byte[]> fields, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long now) {
    checkFields(fields, "HTTL");
    long[] out = new long[fields.size()];
    for (int i = 0; i < out.length; i++) {
      Bytes field = new Bytes(fields.get(i));
      Long at = ttl.get(field);
      out[i] = !hash.containsKey(field) ? HashFieldExpiry.NO_FIELD : at == null ? HashFieldExpiry.NO_TTL : at;
    }
    return r.reply(Status.OK, 0, HashFieldExpiry.encodeCodes(out), new long[] {now});
  }

  private Frame hpersist(Frame r, List<byte[]> fields, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt) {
    checkFields(fields, "HPERSIST");
    long[] codes = new long[fields.size()];
    boolean changed = false;
    for (int i = 0; i < codes.length; i++) {
      Bytes field = new Bytes(fields.get(i));
      if (!hash.containsKey(field)) {
        codes[i] = HashFieldExpiry.NO_FIELD;
      } else if (ttl.remove(field) == null) {
        codes[i] = HashFieldExpiry.NO_TTL;
      } else {
        codes[i] = HashFieldExpiry.SET;
        changed = true;
      }
    }
    if (changed) {
      save(r, hash, ttl, expireAt);
    }
    return r.replyValue(HashFieldExpiry.encodeCodes(codes));
  }

  /** Redis 8's HGETDEL: the values (absent where absent), then the fields deleted; one save. */
  private Frame hgetdel(Frame r, List<byte[]> fields, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt) {
    checkFields(fields, "HGETDEL");
    List<byte[]> out = new ArrayList<>(fields.size());
    int deleted = 0;
    for (byte[] f : fields) {
      Bytes field = new Bytes(f);
      byte[] v = hash.remove(field);
      ttl.remove(field);
      out.add(v);
      if (v != null) {
        deleted++;
      }
    }
    if (deleted > 0) {
      save(r, hash, ttl, expireAt);
    }
    return r.replyValue(ListCodec.encodeValues(out), deleted);
  }

  /*
   * Redis 8's HGETEX: the values, and for each field found, its expiry set (no condition; a time
   * now or past deletes it after its value was read) or removed (PERSIST). extras: [command,
   * time ms, flags]; reply extras: [expiries set or removed, fields deleted].
   */
  private Frame hgetex(Frame r, List<byte[]> fields, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt, long now) {
    checkFields(fields, "HGETEX");
    long at = hgetexAt(r, now);
    boolean persist = (r.extra(2, 0) & HashFieldExpiry.PERSIST) != 0;
    boolean setExpiry = (r.extra(2, 0) & HashFieldExpiry.SET_EXPIRY) != 0;
    List<byte[]> out = new ArrayList<>(fields.size());
    int updated = 0;
    int deleted = 0;
    for (byte[] f : fields) {
      Bytes field = new Bytes(f);
      byte[] v = hash.get(field);
      out.add(v);
      if (v == null) {
        continue;
      }
      if (persist) {
        if (ttl.remove(field) != null) {
          updated++;
        }
      } else if (setExpiry) {
        if (at <= now) {
          hash.remove(field);
          ttl.remove(field);
          deleted++;
        } else {
          ttl.put(field, at);
          updated++;
        }
      }
    }
    if (updated + deleted > 0) {
      save(r, hash, ttl, expireAt);
    }
    return r.replyValue(ListCodec.encodeValues(out), updated, deleted);
  }

  /** HGETEX's absolute time (Unix ms; unused without SET_EXPIRY) from its extras [command, time ms, flags], checked. */
  private static long hgetexAt(Frame r, long now) {
    long time = r.extra(1, 0);
    long flags = r.extra(2, 0);
    boolean persist = (flags & HashFieldExpiry.PERSIST) != 0;
    boolean setExpiry = (flags & HashFieldExpiry.SET_EXPIRY) != 0;
    boolean absolute = (flags & HashFieldExpiry.ABSOLUTE) != 0;
    if ((flags & ~(HashFieldExpiry.PERSIST | HashFieldExpiry.SET_EXPIRY | HashFieldExpiry.ABSOLUTE)) != 0
        || (persist && setExpiry) || time < 0 || time > HashFieldExpiry.MAX_EXPIRE_AT_MILLIS - (absolute ? 0 : now)) {
      throw new IllegalArgumentException("HGETEX needs flags of PERSIST or SET_EXPIRY (with ABSOLUTE) and a time of 0 to "
          + HashFieldExpiry.MAX_EXPIRE_AT_MILLIS + " ms, got flags " + flags + " and " + time);
    }
    return absolute ? time : now + time;
  }

  /*
   * Redis 8's HSETEX. extras: [command, time ms, flags]; value: field, value pairs. FNX and FXX look
   * at the fields before anything changes (an expired field is absent) and, when they fail, answer
   * 0 and change nothing. Otherwise each pair is set in order and its expiry set (SET_EXPIRY; a time
   * now or past deletes the field once set, as Redis does), kept (KEEP_TTL) or dropped (neither, as
   * HSET). Saved once. Reply extras: [1 or 0, expiries set, fields deleted].
   */
  private Frame hsetex(Frame r, List<byte[]> args, LinkedHashMap<Bytes, byte[]> hash, Map<Bytes, Long> ttl,
      long expireAt, long now) {
    long at = hsetexAt(r, args, now);
    SetExFlags f = SetExFlags.of(r);
    boolean setExpiry = f.setExpiry();
    boolean keepTtl = f.keepTtl();
    boolean fnx = f.fnx();
    if (fnx || f.fxx()) {
      for (int i = 0; i < args.size(); i += 2) {
        boolean exists = hash.containsKey(new Bytes(args.get(i)));
        if (fnx == exists) { // FNX found one, or FXX missed one
          return r.replyOk(0, 0, 0);
        }
      }
    }
    int updated = 0;
    int deleted = 0;
    for (int i = 0; i < args.size(); i += 2) {
      Bytes field = new Bytes(args.get(i));
      if (!hash.containsKey(field) && !(setExpiry && at <= now)) { // a field set with a past time never stays
        checkRoom(r, hash.size() + 1);
      }
      hash.put(field, args.get(i + 1));
      if (setExpiry) {
        if (at <= now) {
          hash.remove(field);
          ttl.remove(field);
          deleted++;
        } else {
          ttl.put(field, at);
          updated++;
        }
      } else if (!keepTtl) {
        ttl.remove(field);
      }
    }
    save(r, hash, ttl, expireAt);
    return r.replyOk(1, updated, deleted);
  }

  /** HSETEX's absolute time (Unix ms; unused without SET_EXPIRY) from its pairs and extras [command, time ms, flags], checked. */
  private long hsetexAt(Frame r, List<byte[]> args, long now) {
    if (args.isEmpty() || args.size() % 2 != 0) {
      throw new IllegalArgumentException("HSETEX needs field value pairs, got " + args.size() + " values");
    }
    if (args.size() / 2 > maxFields) {
      throw new IllegalArgumentException("HSETEX needs 1 to " + maxFields + " fields (--max-collection-elements), got "
          + args.size() / 2);
    }
    long time = r.extra(1, 0);
    long flags = r.extra(2, 0);
    boolean setExpiry = (flags & HashFieldExpiry.SET_EXPIRY) != 0;
    boolean keepTtl = (flags & HashFieldExpiry.KEEP_TTL) != 0;
    boolean absolute = (flags & HashFieldExpiry.ABSOLUTE) != 0;
    boolean fnx = (flags & HashFieldExpiry.FNX) != 0;
    boolean fxx = (flags & HashFieldExpiry.FXX) != 0;
    long known = HashFieldExpiry.SET_EXPIRY | HashFieldExpiry.ABSOLUTE | HashFieldExpiry.KEEP_TTL | HashFieldExpiry.FNX
        | HashFieldExpiry.FXX;
    if ((flags & ~known) != 0 || (fnx && fxx) || (setExpiry && keepTtl) || (absolute && !setExpiry) || time < 0
        || (!setExpiry && time != 0) || time > HashFieldExpiry.MAX_EXPIRE_AT_MILLIS - (absolute ? 0 : now)) {
      throw new IllegalArgumentException("HSETEX needs flags of SET_EXPIRY (with ABSOLUTE) or KEEP_TTL, and FNX or FXX,"
          + " with a time of 0 to " + HashFieldExpiry.MAX_EXPIRE_AT_MILLIS + " ms, got flags " + flags + " and " + time);
    }
    return absolute ? time : now + time;
  }

  /** One to maxFields fields (a hash holds no more distinct ones), which bounds the 8-byte-per-field reply. */
  private void checkFields(List<byte[]> fields, String command) {
    if (fields.isEmpty() || fields.size() > maxFields) {
      throw new IllegalArgumentException(command + " needs 1 to " + maxFields + " fields (--max-collection-elements), got "
          + fields.size());
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
