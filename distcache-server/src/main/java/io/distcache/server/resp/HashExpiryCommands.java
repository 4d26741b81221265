package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;
import static io.distcache.server.resp.Args.key;

import io.distcache.protocol.Frame;
import io.distcache.protocol.HashFieldExpiry;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import java.util.Arrays;
import java.util.List;

/*
 * Design: Redis 7.4's hash field expiry commands. Each handler checks its arguments in Redis's
 * order with Redis's texts (including the three wordings Redis uses for a bad field count), then
 * sends one HASH request (HashFieldExpiry's commands) that the key's owner runs atomically. The
 * four HTTL-like commands share one request that answers absolute expiries and the owner's clock,
 * from which each derives its number as Redis does (seconds are rounded up).
 *
 * One order differs from Redis: Redis looks the key up before it parses the arguments, so a key of
 * another type answers WRONGTYPE even when the arguments are bad; here the arguments are checked
 * first (they are checked before anything is routed), so bad arguments win.
 */

/** HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST, HGETDEL, HGETEX, HSETEX. */
final class HashExpiryCommands {
  private HashExpiryCommands() {}

  static final String NO_FIELDS = "ERR Mandatory argument FIELDS is missing or not at the right position";
  static final String EXPIRE_NUMFIELDS = "ERR Parameter `numFields` should be greater than 0";
  static final String READ_NUMFIELDS = "ERR Number of fields must be a positive integer";
  static final String MISMATCH = "ERR The `numfields` parameter must match the number of arguments";
  static final String NEGATIVE = "ERR invalid expire time, must be >= 0";

  private enum Unit { SECONDS_LEFT, MILLIS_LEFT, SECONDS_AT, MILLIS_AT }

  static void register(CommandTable.Registry r) {
    r.add("hexpire", -6, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hexpire(s, a, true, false, "hexpire"));
    r.add("hpexpire", -6, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hexpire(s, a, false, false, "hpexpire"));
    r.add("hexpireat", -6, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hexpire(s, a, true, true, "hexpireat"));
    r.add("hpexpireat", -6, "write denyoom fast", 1, 1, 1, "hash", (s, a) -> hexpire(s, a, false, true, "hpexpireat"));
    r.add("httl", -5, "readonly fast", 1, 1, 1, "hash", (s, a) -> httl(s, a, Unit.SECONDS_LEFT));
    r.add("hpttl", -5, "readonly fast", 1, 1, 1, "hash", (s, a) -> httl(s, a, Unit.MILLIS_LEFT));
    r.add("hexpiretime", -5, "readonly fast", 1, 1, 1, "hash", (s, a) -> httl(s, a, Unit.SECONDS_AT));
    r.add("hpexpiretime", -5, "readonly fast", 1, 1, 1, "hash", (s, a) -> httl(s, a, Unit.MILLIS_AT));
    r.add("hpersist", -5, "write fast", 1, 1, 1, "hash", HashExpiryCommands::hpersist);
    r.add("hgetdel", -5, "write fast", 1, 1, 1, "hash", HashExpiryCommands::hgetdel);
    r.add("hgetex", -5, "write fast", 1, 1, 1, "hash", HashExpiryCommands::hgetex);
    r.add("hsetex", -6, "write denyoom fast", 1, 1, 1, "hash", HashExpiryCommands::hsetex);
  }

  /* HGETDEL key FIELDS numfields field [field ...] (Redis 8.0) */
  private static void hgetdel(RespSession s, byte[][] a) {
    send(s, a[1], HashFieldExpiry.HGETDEL, fields(a, 3, READ_NUMFIELDS), HashExpiryCommands::values);
  }

  /* HGETEX key [EX seconds | PX ms | EXAT unix-seconds | PXAT unix-ms | PERSIST] FIELDS numfields field... (Redis 8.0) */
  private static void hgetex(RespSession s, byte[][] a) {
    int numFieldsAt = 3;
    long ms = 0;
    int flags = 0;
    boolean ex = is(a[2], "ex");
    boolean px = is(a[2], "px");
    boolean exat = is(a[2], "exat");
    boolean pxat = is(a[2], "pxat");
    if (ex || px || exat || pxat) {
      ms = expireMillis(s, a[3], ex || exat, exat || pxat, "hgetex");
      flags = HashFieldExpiry.SET_EXPIRY | (exat || pxat ? HashFieldExpiry.ABSOLUTE : 0);
      numFieldsAt = 5;
    } else if (is(a[2], "persist")) {
      flags = HashFieldExpiry.PERSIST;
      numFieldsAt = 4;
    }
    send(s, a[1], HashFieldExpiry.HGETEX, fields(a, numFieldsAt, READ_NUMFIELDS), HashExpiryCommands::values, ms, flags);
  }

  static final String HSETEX_EXPIRY = "ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified";
  static final String HSETEX_CONDITION = "ERR Only one of FXX or FNX arguments can be specified";
  static final String HSETEX_NUMFIELDS = "ERR invalid number of fields";
  static final String HSETEX_NO_TIME = "ERR missing expire time";
  /** How much of an unknown argument the error quotes. */
  private static final int QUOTED_BYTES = 128;

  /*
   * HSETEX key [FNX | FXX] [EX seconds | PX ms | EXAT unix-seconds | PXAT unix-ms | KEEPTTL]
   * FIELDS numfields field value [field value ...] (Redis 8.0). Options in any order, each once, up
   * to the first FIELDS, which must leave exactly numfields pairs after its count; Redis's checks
   * in Redis's order and texts (a bad pair count is an arity error, as in Redis).
   */
  private static void hsetex(RespSession s, byte[][] a) {
    int flags = 0;
    long ms = 0;
    for (int i = 2; i < a.length; i++) {
      byte[] arg = a[i];
      if (is(arg, "fields")) {
        if (i >= a.length - 3) {
          throw new CommandException(RespErrors.wrongArity("hsetex"));
        }
        long n = Args.parseLong(a[i + 1], HSETEX_NUMFIELDS);
        if (n < 1 || n > Integer.MAX_VALUE) {
          throw new CommandException(HSETEX_NUMFIELDS);
        }
        int remaining = a.length - i - 2;
        if (remaining % 2 != 0 || n != remaining / 2) {
          throw new CommandException(RespErrors.wrongArity("hsetex"));
        }
        List<byte[]> pairs = Arrays.asList(a).subList(i + 2, a.length);
        send(s, a[1], HashFieldExpiry.HSETEX, pairs, (r, w) -> {
          if (!StringCommands.failed(r, w)) {
            w.integer(r.extra(0, 0));
          }
        }, ms, flags);
        return;
      }
      boolean ex = is(arg, "ex");
      boolean px = is(arg, "px");
      boolean exat = is(arg, "exat");
      boolean pxat = is(arg, "pxat");
      boolean keepTtl = is(arg, "keepttl");
      if (ex || px || exat || pxat || keepTtl) {
        if ((flags & (HashFieldExpiry.SET_EXPIRY | HashFieldExpiry.KEEP_TTL)) != 0) {
          throw new CommandException(HSETEX_EXPIRY);
        }
        if (keepTtl) {
          flags |= HashFieldExpiry.KEEP_TTL;
          continue;
        }
        if (i >= a.length - 1) {
          throw new CommandException(HSETEX_NO_TIME);
        }
        ms = expireMillis(s, a[++i], ex || exat, exat || pxat, "hsetex");
        flags |= HashFieldExpiry.SET_EXPIRY | (exat || pxat ? HashFieldExpiry.ABSOLUTE : 0);
      } else if (is(arg, "fnx") || is(arg, "fxx")) {
        if ((flags & (HashFieldExpiry.FNX | HashFieldExpiry.FXX)) != 0) {
          throw new CommandException(HSETEX_CONDITION);
        }
        flags |= is(arg, "fnx") ? HashFieldExpiry.FNX : HashFieldExpiry.FXX;
      } else {
        String text = Args.latin1(arg);
        throw new CommandException("ERR unknown argument: "
            + (text.length() > QUOTED_BYTES ? text.substring(0, QUOTED_BYTES) : text));
      }
    }
    // Not reached with 4 or more arguments after the key (the arity): at most three are options.
    throw new CommandException(RespErrors.wrongArity("hsetex"));
  }

  /** Redis's parseExpireTime: an integer >= 0, in ms, not past the latest field expiry (from now when relative). */
  private static long expireMillis(RespSession s, byte[] arg, boolean seconds, boolean absolute, String command) {
    long time = Args.parseLong(arg);
    if (time < 0) {
      throw new CommandException(NEGATIVE);
    }
    long max = HashFieldExpiry.MAX_EXPIRE_AT_MILLIS;
    if (seconds && time > max / 1000) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    long ms = seconds ? time * 1000 : time;
    if (ms > max - (absolute ? 0 : s.context().clock().millis())) {
      throw new CommandException(RespErrors.invalidExpire(command));
    }
    return ms;
  }

  private static void values(Frame r, RespWriter w) {
    if (StringCommands.failed(r, w)) {
      return;
    }
    List<byte[]> values = ListCodec.decodeValues(r.value());
    w.array(values.size());
    for (byte[] v : values) {
      w.bulkOrNull(v);
    }
  }

  /* HEXPIRE key time [NX | XX | GT | LT] FIELDS numfields field [field ...] */
  private static void hexpire(RespSession s, byte[][] a, boolean seconds, boolean absolute, String command) {
    long ms = expireMillis(s, a[2], seconds, absolute, command);
    int condition = HashFieldExpiry.ALWAYS;
    int numFieldsAt = 4;
    if (is(a[3], "nx")) {
      condition = HashFieldExpiry.NX;
    } else if (is(a[3], "xx")) {
      condition = HashFieldExpiry.XX;
    } else if (is(a[3], "gt")) {
      condition = HashFieldExpiry.GT;
    } else if (is(a[3], "lt")) {
      condition = HashFieldExpiry.LT;
    }
    if (condition != HashFieldExpiry.ALWAYS) {
      numFieldsAt++;
    }
    List<byte[]> fields = fields(a, numFieldsAt, EXPIRE_NUMFIELDS);
    int flags = condition | (absolute ? HashFieldExpiry.ABSOLUTE : 0);
    send(s, a[1], HashFieldExpiry.HEXPIRE, fields, HashExpiryCommands::codes, ms, flags);
  }

  /* HTTL key FIELDS numfields field [field ...] (and HPTTL, HEXPIRETIME, HPEXPIRETIME) */
  private static void httl(RespSession s, byte[][] a, Unit unit) {
    List<byte[]> fields = fields(a, 3, READ_NUMFIELDS);
    send(s, a[1], HashFieldExpiry.HTTL, fields, (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      long now = r.extra(0, 0);
      long[] at = HashFieldExpiry.decodeCodes(r.value());
      w.array(at.length);
      for (long t : at) {
        if (t < 0) {
          w.integer(t);
          continue;
        }
        w.integer(switch (unit) {
          case SECONDS_LEFT -> (t + 999 - now) / 1000;
          case MILLIS_LEFT -> t - now;
          case SECONDS_AT -> (t + 999) / 1000;
          case MILLIS_AT -> t;
        });
      }
    });
  }

  /* HPERSIST key FIELDS numfields field [field ...] */
  private static void hpersist(RespSession s, byte[][] a) {
    send(s, a[1], HashFieldExpiry.HPERSIST, fields(a, 3, READ_NUMFIELDS), HashExpiryCommands::codes);
  }

  /**
   * The fields of "FIELDS numfields field..." whose count is at {@code numFieldsAt}: the keyword
   * must be just before it, the count 1 or more (else {@code badCount}), and exactly the rest.
   */
  private static List<byte[]> fields(byte[][] a, int numFieldsAt, String badCount) {
    if (numFieldsAt >= a.length || !is(a[numFieldsAt - 1], "fields")) {
      throw new CommandException(NO_FIELDS);
    }
    long n = Args.parseLong(a[numFieldsAt], badCount);
    if (n < 1) {
      throw new CommandException(badCount);
    }
    if (n != a.length - numFieldsAt - 1) {
      throw new CommandException(MISMATCH);
    }
    return Arrays.asList(a).subList(numFieldsAt + 1, a.length);
  }

  private static void codes(Frame r, RespWriter w) {
    if (StringCommands.failed(r, w)) {
      return;
    }
    long[] codes = HashFieldExpiry.decodeCodes(r.value());
    w.array(codes.length);
    for (long c : codes) {
      w.integer(c);
    }
  }

  private static void send(RespSession s, byte[] key, long command, List<byte[]> fields, RespSession.Reply reply,
      long... more) {
    long[] extras = new long[1 + more.length];
    extras[0] = command;
    System.arraycopy(more, 0, extras, 1, more.length);
    s.route(Frame.request(Opcode.HASH, 0, key(key), ListCodec.encodeValues(fields), extras), reply);
  }
}
