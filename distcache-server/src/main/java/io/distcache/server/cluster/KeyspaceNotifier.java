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
 * beside LocalExecutor's, leaves the store and the request handlers untouched; the executor calls
 * it only while some class is on. Event names are Redis's for the command the opcode carries.
 *
 * Not derived (documented in docs/PROTOCOL.md): BITFIELD's writes (its operations are inside the
 * value), and the "del" Redis sends when a set STORE form's empty result deletes an existing
 * destination (the sorted-set STORE forms tell it in their reply, and send it).
 */

/** Publishes the keyspace events of one executed request. */
final class KeyspaceNotifier {
  private KeyspaceNotifier() {}

  /**
   * True for a request that may create its key (class n, "new"): the single-key writes. A key that
   * a multi-key request (MSET, RENAME, COPY, a STORE form) creates sends no "new" (documented).
   */
  static boolean createsKey(Frame r) {
    if (r.op() == null || r.key() == null || r.key().length == 0) {
      return false;
    }
    return switch (r.op()) {
      case SET, COMPARE_AND_SET, GET_AND_SET, INCREMENT, INCREMENT_FLOAT, APPEND, SET_RANGE, BITS, HASH, SETS, ZSETS -> true;
      default -> false;
    };
  }

  static void after(KeyspaceEvents ev, Store store, Frame r, Frame reply) {
    if (reply.status() == Status.NOT_FOUND && r.op() == Opcode.GET) {
      ev.notify(KEY_MISS, "keymiss", r.key()); // class m: a read of a key that is not there
      return;
    }
    if (reply.status() != Status.OK || r.op() == null) {
      return;
    }
    byte[] key = r.key();
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
          ev.notify(STRING, "set", k);
          if (expires) {
            ev.notify(GENERIC, "expire", k);
          }
        }
      }
      case BITS -> bits(ev, r, reply);
      case KEY_OP -> keyOp(ev, r, reply);
      case HASH -> hash(ev, store, r, reply);
      case SETS -> sets(ev, store, r, reply);
      case ZSETS -> zsets(ev, store, r, reply);
      default -> {
        // reads, MULTI_DELETE (the executor reports each deleted key), FLUSH (Redis sends none)
      }
    }
  }

  private static void bits(KeyspaceEvents ev, Frame r, Frame reply) {
    long command = r.extra(0, -1);
    if (command == BitRequests.SETBIT) {
      ev.notify(STRING, "setbit", r.key());
    } else if (command == BitRequests.BITOP) {
      ev.notify(reply.extra(0, 0) > 0 ? STRING : GENERIC, reply.extra(0, 0) > 0 ? "set" : "del", r.key());
    }
  }

  private static void keyOp(KeyspaceEvents ev, Frame r, Frame reply) {
    long op = r.extra(0, -1);
    if ((op == KeyRequests.RENAME || op == KeyRequests.RENAMENX) && reply.extra(0, 0) == 1) {
      ev.notify(GENERIC, "rename_from", r.key());
      ev.notify(GENERIC, "rename_to", r.value());
    } else if (op == KeyRequests.COPY && reply.extra(0, 0) == 1) {
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

  private static void sets(KeyspaceEvents ev, Store store, Frame r, Frame reply) {
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
