package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/*
 * Design: like the bit commands, each handler checks its arguments in Redis's order with Redis's
 * texts, builds one HASH request (docs/PROTOCOL.md, "Hashes") and renders the reply; the hash
 * itself is read and changed on the key's owner (cluster/HashRequests), atomically. HGETALL answers
 * a map in RESP3 (a flat array in RESP2), as Redis does; HRANDFIELD WITHVALUES a flat array in
 * both (Redis 7 nests [field, value] pairs in RESP3: a difference PROTOCOL.md lists). HSCAN
 * answers every field in one step with cursor 0, which Redis also does for a packed hash.
 */

/** HSET, HSETNX, HGET, HMSET, HMGET, HGETALL, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN. */
final class HashCommands {
  private HashCommands() {}

  // The HASH opcode's commands (extra 0); cluster/HashRequests has the same numbers.
  private static final long HSET = 0;
  private static final long HSETNX = 1;
  private static final long HGET = 2;
  private static final long HMGET = 3;
  private static final long HGETALL = 4;
  private static final long HDEL = 5;
  private static final long HLEN = 6;
  private static final long HSTRLEN = 7;
  private static final long HEXISTS = 8;
  private static final long HKEYS = 9;
  private static final long HVALS = 10;
  private static final long HINCRBY = 11;
  private static final long HINCRBYFLOAT = 12;
  private static final long HRANDFIELD = 13;

  static void register(CommandTable.Registry r) {
    r.add("hset", -4, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hset(s, a, false));
    r.add("hmset", -4, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hset(s, a, true));
    r.add("hsetnx", 4, "write denyoom fast", 1, 1, 1, "hash",
        (s, a) -> send(s, a[1], HSETNX, List.of(a[2], a[3]), StringCommands::firstExtra));
    r.add("hget", 3, "readonly fast", 1, 1, 1, "hash",
        (s, a) -> send(s, a[1], HGET, List.of(a[2]), StringCommands::valueOrNull));
    r.add("hmget", -3, "readonly fast", 1, 1, 1, "hash",
        (s, a) -> send(s, a[1], HMGET, rest(a, 2), (f, w) -> list(f, w, false)));
    r.add("hgetall", 2, "readonly", 1, 1, 1, "hash", (s, a) -> send(s, a[1], HGETALL, List.of(), (f, w) -> list(f, w, true)));
    r.add("hkeys", 2, "readonly", 1, 1, 1, "hash", (s, a) -> send(s, a[1], HKEYS, List.of(), (f, w) -> list(f, w, false)));
    r.add("hvals", 2, "readonly", 1, 1, 1, "hash", (s, a) -> send(s, a[1], HVALS, List.of(), (f, w) -> list(f, w, false)));
    r.add("hdel", -3, "write fast", 1, 1, 1, "hash", (s, a) -> send(s, a[1], HDEL, rest(a, 2), StringCommands::firstExtra));
    r.add("hlen", 2, "readonly fast", 1, 1, 1, "hash", (s, a) -> send(s, a[1], HLEN, List.of(), StringCommands::firstExtra));
    r.add("hstrlen", 3, "readonly fast", 1, 1, 1, "hash",
        (s, a) -> send(s, a[1], HSTRLEN, List.of(a[2]), StringCommands::firstExtra));
    r.add("hexists", 3, "readonly fast", 1, 1, 1, "hash",
        (s, a) -> send(s, a[1], HEXISTS, List.of(a[2]), StringCommands::firstExtra));
    r.add("hincrby", 4, "write denyoom fast", 1, 1, 1, "hash", HashCommands::hincrby);
    r.add("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, "hash", HashCommands::hincrbyfloat);
    r.add("hrandfield", -2, "readonly", 1, 1, 1, "hash", HashCommands::hrandfield);
    r.add("hscan", -3, "readonly", 1, 1, 1, "hash", HashCommands::hscan);
  }

  private static List<byte[]> rest(byte[][] a, int from) {
    return Arrays.asList(a).subList(from, a.length);
  }

  private static void send(RespSession s, byte[] key, long command, List<byte[]> args, RespSession.Reply reply, long... more) {
    long[] extras = new long[1 + more.length];
    extras[0] = command;
    System.arraycopy(more, 0, extras, 1, more.length);
    s.route(Frame.request(Opcode.HASH, 0, key(key), ListCodec.encodeValues(args), extras), reply);
  }

  private static void hset(RespSession s, byte[][] a, boolean hmset) {
    if (a.length % 2 != 0) {
      throw new CommandException(RespErrors.wrongArity(hmset ? "hmset" : "hset"));
    }
    send(s, a[1], HSET, rest(a, 2), hmset ? (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        w.ok();
      }
    } : StringCommands::firstExtra);
  }

  private static void hincrby(RespSession s, byte[][] a) {
    long delta = Args.parseLong(a[3]);
    send(s, a[1], HINCRBY, List.of(a[2]), StringCommands::firstExtra, delta);
  }

  private static void hincrbyfloat(RespSession s, byte[][] a) {
    double delta = Args.parseDouble(a[3]);
    if (Double.isNaN(delta) || Double.isInfinite(delta)) {
      throw new CommandException(RespErrors.FLOAT_OVERFLOW);
    }
    send(s, a[1], HINCRBYFLOAT, List.of(a[2]), (r, w) -> {
      if (!StringCommands.failed(r, w, true)) {
        w.bulk(r.value());
      }
    }, Double.doubleToRawLongBits(delta));
  }

  private static void hrandfield(RespSession s, byte[][] a) {
    if (a.length == 2) {
      send(s, a[1], HRANDFIELD, List.of(), StringCommands::valueOrNull, 0, 0, 0);
      return;
    }
    long count = Args.parseLong(a[2]);
    boolean withValues = false;
    if (a.length == 4 && is(a[3], "withvalues")) {
      withValues = true;
    } else if (a.length != 3) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    if (count < -ProtocolConstants.MAX_RANDOM_PICK || count > ProtocolConstants.MAX_RANDOM_PICK) {
      throw new CommandException("ERR value is out of range");
    }
    send(s, a[1], HRANDFIELD, List.of(), (r, w) -> list(r, w, false), 1, count, withValues ? 1 : 0);
  }

  private static void hscan(RespSession s, byte[][] a) {
    long cursor = Args.parseCursor(a[2]);
    byte[] pattern = null;
    boolean noValues = false;
    for (int i = 3; i < a.length; i++) {
      boolean hasNext = i + 1 < a.length;
      if (is(a[i], "match") && hasNext) {
        pattern = a[++i];
      } else if (is(a[i], "count") && hasNext) {
        if (Args.parseLong(a[++i]) < 1) {
          throw new CommandException(RespErrors.SYNTAX);
        }
      } else if (is(a[i], "novalues")) {
        noValues = true;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    byte[] match = pattern;
    boolean fieldsOnly = noValues;
    boolean pastEnd = cursor != 0;
    send(s, a[1], fieldsOnly ? HKEYS : HGETALL, List.of(), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      List<byte[]> all = r.status() == Status.OK && !pastEnd ? ListCodec.decodeValues(r.value()) : List.of();
      List<byte[]> kept = new ArrayList<>();
      int step = fieldsOnly ? 1 : 2;
      for (int i = 0; i + step - 1 < all.size(); i += step) {
        if (match == null || GlobMatcher.matches(match, all.get(i))) {
          kept.add(all.get(i));
          if (!fieldsOnly) {
            kept.add(all.get(i + 1));
          }
        }
      }
      w.array(2);
      w.bulk("0");
      w.array(kept.size());
      for (byte[] b : kept) {
        w.bulk(b);
      }
    });
  }

  /** A value list as an array (nil elements allowed), or as a map of pairs in RESP3 when {@code pairs}. */
  private static void list(Frame r, RespWriter w, boolean pairs) {
    if (StringCommands.failed(r, w)) {
      return;
    }
    List<byte[]> values = r.status() == Status.OK ? ListCodec.decodeValues(r.value()) : List.of();
    if (pairs) {
      w.map(values.size() / 2);
    } else {
      w.array(values.size());
    }
    for (byte[] v : values) {
      w.bulkOrNull(v);
    }
  }
}
