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
 * Design: as HashCommands: arguments checked in Redis's order with Redis's texts, one SETS
 * request (docs/PROTOCOL.md, "Sets"), the reply rendered here; the set is read and changed on the
 * owner of its key (cluster/SetRequests). SMOVE and the multi-key commands carry their other keys
 * in the request, so in a cluster with other owners they need one slot (CROSSSLOT otherwise), as
 * in Redis Cluster. Members are RESP3 sets (`~`) where Redis answers a set, arrays in RESP2.
 */

/** SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER(CARD|STORE), SUNION(STORE), SDIFF(STORE), SSCAN. */
final class SetCommands {
  private SetCommands() {}

  // The SETS opcode's commands (extra 0); cluster/SetRequests has the same numbers.
  private static final long SADD = 0;
  private static final long SREM = 1;
  private static final long SMEMBERS = 2;
  private static final long SISMEMBER = 3;
  private static final long SMISMEMBER = 4;
  private static final long SCARD = 5;
  private static final long SPOP = 6;
  private static final long SRANDMEMBER = 7;
  private static final long SMOVE = 8;
  private static final long SINTER = 9;
  private static final long SINTERCARD = 10;
  private static final long SUNION = 11;
  private static final long SDIFF = 12;
  private static final long SINTERSTORE = 13;
  private static final long SUNIONSTORE = 14;
  private static final long SDIFFSTORE = 15;

  static final String SPOP_NEGATIVE = "ERR value is out of range, must be positive";

  static void register(CommandTable.Registry r) {
    r.add("sadd", -3, "write denyoom fast", 1, 1, 1, "set", (s, a) -> send(s, a[1], SADD, rest(a, 2), StringCommands::firstExtra));
    r.add("srem", -3, "write fast", 1, 1, 1, "set", (s, a) -> send(s, a[1], SREM, rest(a, 2), StringCommands::firstExtra));
    r.add("smembers", 2, "readonly", 1, 1, 1, "set", (s, a) -> send(s, a[1], SMEMBERS, List.of(), SetCommands::members));
    r.add("sismember", 3, "readonly fast", 1, 1, 1, "set",
        (s, a) -> send(s, a[1], SISMEMBER, List.of(a[2]), StringCommands::firstExtra));
    r.add("smismember", -3, "readonly fast", 1, 1, 1, "set", (s, a) -> send(s, a[1], SMISMEMBER, rest(a, 2), (f, w) -> {
      if (!StringCommands.failed(f, w)) {
        List<byte[]> flags = ListCodec.decodeValues(f.value());
        w.array(flags.size());
        for (byte[] flag : flags) {
          w.integer(flag[0]);
        }
      }
    }));
    r.add("scard", 2, "readonly fast", 1, 1, 1, "set", (s, a) -> send(s, a[1], SCARD, List.of(), StringCommands::firstExtra));
    r.add("spop", -2, "write fast", 1, 1, 1, "set", SetCommands::spop);
    r.add("srandmember", -2, "readonly", 1, 1, 1, "set", SetCommands::srandmember);
    r.add("smove", 4, "write fast", 1, 2, 1, "set",
        (s, a) -> send(s, a[1], SMOVE, List.of(key(a[2]), a[3]), StringCommands::firstExtra));
    r.add("sinter", -2, "readonly", 1, -1, 1, "set", (s, a) -> send(s, a[1], SINTER, keys(a, 2), SetCommands::members));
    r.add("sunion", -2, "readonly", 1, -1, 1, "set", (s, a) -> send(s, a[1], SUNION, keys(a, 2), SetCommands::members));
    r.add("sdiff", -2, "readonly", 1, -1, 1, "set", (s, a) -> send(s, a[1], SDIFF, keys(a, 2), SetCommands::members));
    r.add("sinterstore", -3, "write denyoom", 1, -1, 1, "set",
        (s, a) -> send(s, a[1], SINTERSTORE, keys(a, 2), StringCommands::firstExtra));
    r.add("sunionstore", -3, "write denyoom", 1, -1, 1, "set",
        (s, a) -> send(s, a[1], SUNIONSTORE, keys(a, 2), StringCommands::firstExtra));
    r.add("sdiffstore", -3, "write denyoom", 1, -1, 1, "set",
        (s, a) -> send(s, a[1], SDIFFSTORE, keys(a, 2), StringCommands::firstExtra));
    r.add("sintercard", -3, "readonly", 2, 2, 1, "set", SetCommands::sintercard);
    r.add("sscan", -3, "readonly", 1, 1, 1, "set", SetCommands::sscan);
  }

  private static List<byte[]> rest(byte[][] a, int from) {
    return Arrays.asList(a).subList(from, a.length);
  }

  private static List<byte[]> keys(byte[][] a, int from) {
    List<byte[]> out = new ArrayList<>(a.length - from);
    for (int i = from; i < a.length; i++) {
      out.add(key(a[i]));
    }
    return out;
  }

  private static void send(RespSession s, byte[] key, long command, List<byte[]> args, RespSession.Reply reply, long... more) {
    StringCommands.sendTyped(s, Opcode.SETS, key, command, args, reply, more);
  }

  /** A member list as a RESP3 set (RESP2 array). */
  private static void members(Frame r, RespWriter w) {
    if (StringCommands.failed(r, w)) {
      return;
    }
    List<byte[]> values = ListCodec.decodeValues(r.value());
    w.set(values.size());
    for (byte[] v : values) {
      w.bulk(v);
    }
  }

  /** A member list as an array (SRANDMEMBER with a count, whose members may repeat: Redis answers an array). */
  private static void array(Frame r, RespWriter w) {
    if (StringCommands.failed(r, w)) {
      return;
    }
    List<byte[]> values = ListCodec.decodeValues(r.value());
    w.array(values.size());
    for (byte[] v : values) {
      w.bulk(v);
    }
  }

  private static void spop(RespSession s, byte[][] a) {
    if (a.length == 2) {
      send(s, a[1], SPOP, List.of(), StringCommands::valueOrNull, 0, 0);
      return;
    }
    if (a.length != 3) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    long count = Args.parseLong(a[2], SPOP_NEGATIVE);
    if (count < 0) {
      throw new CommandException(SPOP_NEGATIVE);
    }
    // A set in RESP3 (distinct members, as Redis 7 answers), unlike SRANDMEMBER's array.
    send(s, a[1], SPOP, List.of(), SetCommands::members, 1, Math.min(count, ProtocolConstants.MAX_COLLECTION_ELEMENTS));
  }

  private static void srandmember(RespSession s, byte[][] a) {
    if (a.length == 2) {
      send(s, a[1], SRANDMEMBER, List.of(), StringCommands::valueOrNull, 0, 0);
      return;
    }
    if (a.length != 3) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    long count = Args.parseLong(a[2]);
    if (count < -ProtocolConstants.MAX_RANDOM_PICK || count > ProtocolConstants.MAX_RANDOM_PICK) {
      throw new CommandException("ERR value is out of range");
    }
    send(s, a[1], SRANDMEMBER, List.of(), SetCommands::array, 1, count);
  }

  private static void sintercard(RespSession s, byte[][] a) {
    // Redis's texts: a numkeys that is not a positive integer, then LIMIT options where the last wins.
    long numkeys = Args.parseLong(a[1], ZSetAlgebraCommands.NUMKEYS_POSITIVE);
    if (numkeys <= 0) {
      throw new CommandException(ZSetAlgebraCommands.NUMKEYS_POSITIVE);
    }
    if (numkeys > a.length - 2) {
      throw new CommandException("ERR Number of keys can't be greater than number of args");
    }
    int end = 2 + (int) numkeys;
    long limit = 0;
    for (int i = end; i < a.length; i += 2) {
      if (i + 1 < a.length && is(a[i], "limit")) {
        limit = Args.parseLong(a[i + 1], "ERR LIMIT can't be negative");
        if (limit < 0) {
          throw new CommandException("ERR LIMIT can't be negative");
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    send(s, a[2], SINTERCARD, keys(Arrays.copyOfRange(a, 0, end), 3), StringCommands::firstExtra, limit);
  }

  private static void sscan(RespSession s, byte[][] a) {
    long cursor = Args.parseCursor(a[2]);
    byte[] match = Args.scanMatch(a, 3);
    boolean pastEnd = cursor != 0;
    send(s, a[1], SMEMBERS, List.of(), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      List<byte[]> kept = new ArrayList<>();
      if (r.status() == Status.OK && !pastEnd) {
        for (byte[] m : ListCodec.decodeValues(r.value())) {
          if (match == null || GlobMatcher.matches(match, m)) {
            kept.add(m);
          }
        }
      }
      lastScanStep(w, kept);
    });
  }

  /** A SCAN-family reply that ends the scan: cursor 0 and the items. */
  static void lastScanStep(RespWriter w, List<byte[]> items) {
    w.array(2);
    w.bulk("0");
    w.array(items.size());
    for (byte[] item : items) {
      w.bulk(item);
    }
  }
}
