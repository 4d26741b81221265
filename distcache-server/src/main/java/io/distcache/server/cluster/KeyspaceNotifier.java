package io.distcache.server.cluster;

import static io.distcache.server.pubsub.KeyspaceEvents.GENERIC;
import static io.distcache.server.pubsub.KeyspaceEvents.HASH;
import static io.distcache.server.pubsub.KeyspaceEvents.KEY_MISS;
import static io.distcache.server.pubsub.KeyspaceEvents.SET;
import static io.distcache.server.pubsub.KeyspaceEvents.STRING;
import static io.distcache.server.pubsub.KeyspaceEvents.ZSET;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.server.pubsub.KeyspaceEvents;
import io.distcache.server.store.Store;
import java.util.List;

/*
 * Design: the keyspace events of a write, worked out from the request and its response after the
 * executor ran it (on the thread that ran it, with its key stripes still held, so the events of
 * one key come out in the order its writes were applied). Keeping the mapping here, one switch
 * beside LocalExecutor's, leaves the store untouched (a handler only says in its reply what the
 * request alone cannot tell, as BITFIELD's extra 0 whether it changed the value); the executor calls
 * it only while some class is on. Event names are Redis's for the command the opcode carries.
 *
 * Class n ("new") needs what the response cannot tell: whether a key was there before the request
 * ran. The executor asks before running it, for the keys the request may create only (Absent), and
 * the events below send "new" right before the event of the key's creation, where Redis 7 sends
 * it: first for a single-key write, before "sadd" on SMOVE's destination (after the source's
 * "srem"), before each created key's "set" of MSET (once for a repeated key). RENAME and COPY
 * send it for their destination even when one was there: Redis deletes it and adds it anew. The
 * empty result of BITOP or a set STORE form sends "del" only for a destination that was there
 * (Redis), so their key is asked too (the sorted-set STORE forms tell it in their reply).
 */

/** Publishes the keyspace events of one executed request. */
final class KeyspaceNotifier {
  private KeyspaceNotifier() {}

  /* True for a request that may create its own key: the single-key writes, and the STORE forms
   * (their key is the destination). */
  private static boolean createsKey(Frame r) {
    if (r.op() == null || r.key() == null || r.key().length == 0) {
      return false;
    }
    return switch (r.op()) {
      case SET, COMPARE_AND_SET, GET_AND_SET, INCREMENT, INCREMENT_FLOAT, APPEND, SET_RANGE, BITS, HASH, SETS, ZSETS -> true;
      default -> false;
    };
  }

  /** True for a request whose "new" events depend on absentBefore: it may create a key. */
  static boolean mayCreateKeys(Frame r) {
    return createsKey(r) || r.op() == Opcode.MULTI_SET || r.op() == Opcode.MULTI_SET_IF_ABSENT;
  }

  /**
   * The keys {@code r} may create that are absent now, asked before it runs: only those whose
   * events an enabled class needs (class n: every key it may create; class g: BITOP's destination).
   */
  static Absent absentBefore(KeyspaceEvents ev, Store store, Frame r) {
    try {
      return absentBefore(ev, store, r, r.op());
    } catch (RuntimeException e) {
      // A malformed request or one over a limit (a key too long for the store, an SMOVE without
      // its member): the executor refuses it, with its own error; this must not throw first (a
      // reviewer: a binary SMOVE of a 70,000-byte destination escaped execute()).
      return Absent.NONE;
    }
  }

  private static Absent absentBefore(KeyspaceEvents ev, Store store, Frame r, Opcode op) {
    List<byte[]> candidates;
    if (op != null && ev.enabled(KeyspaceEvents.NEW)) {
      candidates = new java.util.ArrayList<>(4);
      if (createsKey(r)) {
        candidates.add(r.key());
      }
      if (r.op() == Opcode.SETS && r.extra(0, -1) == SetRequests.SMOVE) {
        candidates.add(ListCodec.decodeValues(r.value()).get(0));
      } else if (r.op() == Opcode.MULTI_SET || r.op() == Opcode.MULTI_SET_IF_ABSENT) {
        candidates.addAll(io.distcache.protocol.BufferedPairs.keys(r));
      }
    } else if (ev.enabled(GENERIC) && storesOrDeletes(r)) {
      candidates = new java.util.ArrayList<>(List.of(r.key()));
    } else {
      return Absent.NONE;
    }
    java.util.Set<java.nio.ByteBuffer> absent = new java.util.HashSet<>();
    for (byte[] k : candidates) {
      if (!store.exists(k)) {
        absent.add(java.nio.ByteBuffer.wrap(k));
      }
    }
    return absent.isEmpty() ? Absent.NONE : new Absent(absent);
  }

  /* BITOP and the set STORE forms: an empty result deletes the destination, and Redis sends "del"
   * only when there was one to delete. */
  private static boolean storesOrDeletes(Frame r) {
    long command = r.extra(0, -1);
    return r.op() == Opcode.BITS && command == BitRequests.BITOP
        || r.op() == Opcode.SETS && (command == SetRequests.SINTERSTORE || command == SetRequests.SUNIONSTORE
            || command == SetRequests.SDIFFSTORE);
  }

  /** The keys a request may create that were not there before it ran (class n, BITOP's "del"). */
  static final class Absent {
    static final Absent NONE = new Absent(java.util.Set.of());
    /* Hashed: an MSET of 80,000 new keys asks once per key (a list made it quadratic, 87 s with
     * the node's other clients stalled behind it; a reviewer). */
    private final java.util.Set<java.nio.ByteBuffer> keys;

    private Absent(java.util.Set<java.nio.ByteBuffer> keys) {
      this.keys = keys;
    }

    boolean was(byte[] key) {
      return !keys.isEmpty() && keys.contains(java.nio.ByteBuffer.wrap(key));
    }

    /* "new" for a key the request created, once (MSET a 1 a 2 sends one), where Redis sends it:
     * right before the event that tells of its creation. */
    void created(KeyspaceEvents ev, Store store, byte[] key) {
      if (was(key) && store.exists(key)) {
        keys.remove(java.nio.ByteBuffer.wrap(key));
        ev.notify(KeyspaceEvents.NEW, "new", key);
      }
    }
  }

  static void after(KeyspaceEvents ev, Store store, Frame r, Frame reply, Absent absent) {
    if (reply.status() == Status.NOT_FOUND && r.op() == Opcode.GET) {
      ev.notify(KEY_MISS, "keymiss", r.key()); // class m: a read of a key that is not there
      return;
    }
    if (reply.status() != Status.OK || r.op() == null) {
      return;
    }
    byte[] key = r.key();
    if (createsKey(r)) {
      absent.created(ev, store, key); // before the command's own event, as Redis
    }
    switch (r.op()) {
      case SET, COMPARE_AND_SET, GET_AND_SET -> {
        ev.notify(STRING, "set", key);
        if (r.extra(r.op() == Opcode.COMPARE_AND_SET ? 1 : 0, 0) != 0) {
          ev.notify(GENERIC, "expire", key);
        }
      }
      case GET_AND_DELETE, DELETE -> ev.notify(GENERIC, "del", key);
      case EXPIRE -> ev.notify(GENERIC, store.exists(key) ? "expire" : "del", key);
      case PERSIST -> ev.notify(GENERIC, "persist", key);
      case INCREMENT -> ev.notify(STRING, "incrby", key);
      case INCREMENT_FLOAT -> ev.notify(STRING, "incrbyfloat", key);
      case APPEND -> ev.notify(STRING, "append", key);
      case SET_RANGE -> {
        if (r.value().length > 0) {
          ev.notify(STRING, "setrange", key);
        }
      }
      case MULTI_SET, MULTI_SET_IF_ABSENT -> {
        boolean expires = r.op() == Opcode.MULTI_SET && r.extra(0, 0) != 0;
        for (byte[] k : io.distcache.protocol.BufferedPairs.keys(r)) {
          absent.created(ev, store, k);
          ev.notify(STRING, "set", k);
          if (expires) {
            ev.notify(GENERIC, "expire", k);
          }
        }
      }
      case BITS -> bits(ev, r, reply, absent);
      case KEY_OP -> keyOp(ev, r, reply);
      case HASH -> hash(ev, store, r, reply);
      case SETS -> sets(ev, store, r, reply, absent);
      case ZSETS -> zsets(ev, store, r, reply);
      default -> {
        // reads, MULTI_DELETE (the executor reports each deleted key), FLUSH (Redis sends none)
      }
    }
  }

  private static void bits(KeyspaceEvents ev, Frame r, Frame reply, Absent absent) {
    long command = r.extra(0, -1);
    if (command == BitRequests.SETBIT || command == BitRequests.BITFIELD && reply.extra(0, 0) == 1) {
      ev.notify(STRING, "setbit", r.key()); // BITFIELD: once, when a SET or INCRBY wrote (Redis)
    } else if (command == BitRequests.BITOP) {
      if (reply.extra(0, 0) > 0) {
        ev.notify(STRING, "set", r.key());
      } else if (!absent.was(r.key())) { // Redis: an empty result deletes a destination that was there
        ev.notify(GENERIC, "del", r.key());
      }
    }
  }

  private static void keyOp(KeyspaceEvents ev, Frame r, Frame reply) {
    long op = r.extra(0, -1);
    if (reply.extra(0, 0) != 1 || java.util.Arrays.equals(r.key(), r.value())) {
      return; // nothing done, or RENAME of a key to itself (Redis sends no event)
    }
    // Redis deletes a destination that was there and adds it anew: "new" whether or not it existed.
    if (op == KeyRequests.RENAME || op == KeyRequests.RENAMENX) {
      ev.notify(KeyspaceEvents.NEW, "new", r.value());
      ev.notify(GENERIC, "rename_from", r.key());
      ev.notify(GENERIC, "rename_to", r.value());
    } else if (op == KeyRequests.COPY) {
      ev.notify(KeyspaceEvents.NEW, "new", r.value());
      ev.notify(GENERIC, "copy_to", r.value());
    }
  }

  private static void hash(KeyspaceEvents ev, Store store, Frame r, Frame reply) {
    long command = r.extra(0, -1);
    byte[] key = r.key();
    if (command == HashRequests.HSET) {
      ev.notify(HASH, "hset", key);
    } else if (command == HashRequests.HSETNX) {
      if (reply.extra(0, 0) == 1) {
        ev.notify(HASH, "hset", key);
      }
    } else if (command == HashRequests.HDEL) {
      if (reply.extra(0, 0) > 0) {
        ev.notify(HASH, "hdel", key);
        if (!store.exists(key)) {
          ev.notify(GENERIC, "del", key);
        }
      }
    } else if (command == HashRequests.HINCRBY) {
      ev.notify(HASH, "hincrby", key);
    } else if (command == HashRequests.HINCRBYFLOAT) {
      ev.notify(HASH, "hincrbyfloat", key);
    } else if (command == HashRequests.HEXPIRE || command == HashRequests.HPERSIST) {
      fieldExpiry(ev, store, command, key, reply);
    } else if (command == HashRequests.HGETDEL) {
      if (reply.extra(0, 0) > 0) {
        ev.notify(HASH, "hdel", key);
        delIfGone(ev, store, key);
      }
    } else if (command == HashRequests.HGETEX) {
      // Redis 8: "hpersist" or "hexpire" when an expiry changed, else "hdel" for a past time.
      long flags = r.extra(2, 0);
      if (reply.extra(0, 0) > 0) {
        ev.notify(HASH, (flags & io.distcache.protocol.HashFieldExpiry.PERSIST) != 0 ? "hpersist" : "hexpire", key);
      } else if (reply.extra(1, 0) > 0) {
        ev.notify(HASH, "hdel", key);
      }
      if (reply.extra(1, 0) > 0) {
        delIfGone(ev, store, key);
      }
    } else if (command == HashRequests.HSETEX) {
      // Redis 8: "hset" when the fields were set, then "hdel" for a past time or "hexpire" for a
      // time set, then "del" when the past time removed the last field.
      if (reply.extra(0, 0) == 1) {
        ev.notify(HASH, "hset", key);
        if (reply.extra(2, 0) > 0) {
          ev.notify(HASH, "hdel", key);
          delIfGone(ev, store, key);
        } else if (reply.extra(1, 0) > 0) {
          ev.notify(HASH, "hexpire", key);
        }
      }
    }
  }

  /* Redis: one "hdel" when HEXPIRE deleted a field (a time in the past), else one "hexpire" when it
   * set one, then "del" if the key went; one "hpersist" when HPERSIST removed an expiry. */
  private static void fieldExpiry(KeyspaceEvents ev, Store store, long command, byte[] key, Frame reply) {
    boolean set = false;
    boolean deleted = false;
    for (long code : io.distcache.protocol.HashFieldExpiry.decodeCodes(reply.value())) {
      set |= code == io.distcache.protocol.HashFieldExpiry.SET;
      deleted |= code == io.distcache.protocol.HashFieldExpiry.DELETED;
    }
    if (command == HashRequests.HPERSIST) {
      if (set) {
        ev.notify(HASH, "hpersist", key);
      }
    } else if (deleted || set) {
      ev.notify(HASH, deleted ? "hdel" : "hexpire", key);
      if (deleted) {
        delIfGone(ev, store, key);
      }
    }
  }

  private static void sets(KeyspaceEvents ev, Store store, Frame r, Frame reply, Absent absent) {
    long command = r.extra(0, -1);
    byte[] key = r.key();
    if (command == SetRequests.SADD) {
      if (reply.extra(0, 0) > 0) {
        ev.notify(SET, "sadd", key);
      }
    } else if (command == SetRequests.SREM) {
      if (reply.extra(0, 0) > 0) {
        ev.notify(SET, "srem", key);
        delIfGone(ev, store, key);
      }
    } else if (command == SetRequests.SPOP) {
      if (reply.extra(0, 0) > 0) { // popped some: Redis sends nothing for a missing key or a count of 0
        ev.notify(SET, "spop", key);
        delIfGone(ev, store, key);
      }
    } else if (command == SetRequests.SMOVE) {
      if (reply.extra(0, 0) == 1) {
        byte[] destination = ListCodec.decodeValues(r.value()).get(0);
        if (!java.util.Arrays.equals(key, destination)) {
          ev.notify(SET, "srem", key);
          delIfGone(ev, store, key);
          if (reply.extra(1, 0) == 1) { // Redis: no "sadd" when the destination held the member already
            absent.created(ev, store, destination);
            ev.notify(SET, "sadd", destination);
          }
        }
      }
    } else if (command == SetRequests.SINTERSTORE || command == SetRequests.SUNIONSTORE
        || command == SetRequests.SDIFFSTORE) {
      if (reply.extra(0, 0) > 0) {
        String name = command == SetRequests.SINTERSTORE ? "sinterstore"
            : command == SetRequests.SUNIONSTORE ? "sunionstore" : "sdiffstore";
        ev.notify(SET, name, key);
      } else if (!absent.was(key)) { // an empty result deleted the destination that was there
        ev.notify(GENERIC, "del", key);
      }
    }
  }

  /* Redis's zset events: zadd or zincr when a member was added or changed, zrem, zremrangeby*,
   * zpopmin and zpopmax when members went, then del when the last one did; a STORE form's event
   * for a stored result, del for a destination an empty result deleted; ZMPOP's pop names the key
   * it popped (the first item of its reply). */
  private static void zsets(KeyspaceEvents ev, Store store, Frame r, Frame reply) {
    long command = r.extra(0, -1);
    byte[] key = r.key();
    if (command == SortedSets.ZADD) {
      if (reply.extra(1, 0) > 0) {
        ev.notify(ZSET, (r.extra(1, 0) & SortedSets.INCR) != 0 ? "zincr" : "zadd", key);
      }
      return;
    }
    if (command >= SortedSets.ZUNIONSTORE && command <= SortedSets.ZRANGESTORE) {
      if (reply.extra(0, 0) > 0) {
        String stored = switch ((int) command) {
          case SortedSets.ZUNIONSTORE -> "zunionstore";
          case SortedSets.ZINTERSTORE -> "zinterstore";
          case SortedSets.ZDIFFSTORE -> "zdiffstore";
          default -> "zrangestore";
        };
        ev.notify(ZSET, stored, key);
      } else if (reply.extra(1, 0) == 1) {
        ev.notify(GENERIC, "del", key);
      }
      return;
    }
    if (command == SortedSets.ZMPOP) {
      key = ListCodec.decodeValues(reply.value()).get(0);
    }
    String name;
    if (command == SortedSets.ZREM) {
      name = "zrem";
    } else if (command == SortedSets.ZREMRANGE) {
      long by = r.extra(1, -1);
      name = by == SortedSets.BY_SCORE ? "zremrangebyscore" : by == SortedSets.BY_LEX ? "zremrangebylex" : "zremrangebyrank";
    } else if (command == SortedSets.ZPOP || command == SortedSets.ZMPOP) {
      name = r.extra(1, 0) != 0 ? "zpopmax" : "zpopmin";
    } else {
      return;
    }
    if (reply.extra(0, 0) > 0) { // members removed (ZPOP: popped)
      ev.notify(ZSET, name, key);
      delIfGone(ev, store, key);
    }
  }

  private static void delIfGone(KeyspaceEvents ev, Store store, byte[] key) {
    if (!store.exists(key)) {
      ev.notify(GENERIC, "del", key);
    }
  }
}
