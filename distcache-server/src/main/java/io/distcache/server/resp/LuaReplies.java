package io.distcache.server.resp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;

/*
 * Design: Redis's two type conversions, done the way Redis does them. A command called from a
 * script renders its reply in RESP exactly as it would for a client (in the protocol the script
 * chose with redis.setresp), and that reply is read back into Lua here, so every command's reply
 * converts by one rule whatever command it is. The script's return value is written as a RESP
 * reply for the client the same way.
 *
 * Redis to Lua: integer -> number; bulk string -> string; null bulk or null array -> false (RESP2)
 * or nil (RESP3 null); array -> table; status -> {ok=...}; error -> {err=...}; RESP3 map ->
 * {map={...}}, set -> {set={member=true}}, boolean -> boolean, double -> {double=...}, big number ->
 * {big_number=...}, verbatim -> {verbatim_string={format=..., string=...}}.
 *
 * Lua to Redis: string -> bulk; number -> integer (truncated); boolean -> 1 / null with RESP2 (the
 * script's protocol), RESP3 boolean otherwise; a table with err -> error, ok -> status, double,
 * big_number, map, set -> those types (down-converted for a RESP2 client by the writer); any other
 * table -> array of its elements 1..n up to the first nil; nil and anything else -> null.
 *
 * Both walks stop at MAX_DEPTH levels, so a table that contains itself cannot overflow the stack.
 */

/** RESP replies to Lua values and Lua values to RESP replies, by Redis's rules. */
final class LuaReplies {
  private LuaReplies() {}

  static final int MAX_DEPTH = 1000;
  private static final LuaString OK = LuaValue.valueOf("ok");
  private static final LuaString ERR = LuaValue.valueOf("err");
  private static final LuaString DOUBLE = LuaValue.valueOf("double");
  private static final LuaString BIG_NUMBER = LuaValue.valueOf("big_number");
  private static final LuaString MAP = LuaValue.valueOf("map");
  private static final LuaString SET = LuaValue.valueOf("set");
  private static final LuaString VERBATIM = LuaValue.valueOf("verbatim_string");

  // ---- RESP -> Lua ----

  /** Reads one reply from {@code in} (a complete RESP reply rendered by this node). */
  static LuaValue toLua(ByteBuf in) {
    return read(in, 0);
  }

  private static LuaValue read(ByteBuf in, int depth) {
    if (depth > MAX_DEPTH) {
      throw new LuaError("reply nested more than " + MAX_DEPTH + " levels");
    }
    byte type = in.readByte();
    switch (type) {
      case '+': {
        LuaTable t = new LuaTable();
        t.rawset(OK, LuaValue.valueOf(line(in)));
        return t;
      }
      case '-':
        return LuaEngine.errorTable(new String(line(in), StandardCharsets.UTF_8));
      case ':':
        return LuaValue.valueOf((double) Long.parseLong(ascii(line(in))));
      case '$': {
        long n = Long.parseLong(ascii(line(in)));
        if (n < 0) {
          return LuaValue.FALSE;
        }
        byte[] b = new byte[(int) n];
        in.readBytes(b);
        in.skipBytes(2);
        return LuaValue.valueOf(b);
      }
      case '*':
      case '>': {
        long n = Long.parseLong(ascii(line(in)));
        if (n < 0) {
          return LuaValue.FALSE;
        }
        LuaTable t = new LuaTable((int) Math.min(n, 1024), 0);
        for (int i = 1; i <= n; i++) {
          t.rawset(i, read(in, depth + 1));
        }
        return t;
      }
      case '_':
        line(in);
        return LuaValue.NIL;
      case '#':
        return line(in)[0] == 't' ? LuaValue.TRUE : LuaValue.FALSE;
      case ',': {
        LuaTable t = new LuaTable();
        t.rawset(DOUBLE, LuaValue.valueOf(parseDouble(ascii(line(in)))));
        return t;
      }
      case '(': {
        LuaTable t = new LuaTable();
        t.rawset(BIG_NUMBER, LuaValue.valueOf(line(in)));
        return t;
      }
      case '%': {
        long n = Long.parseLong(ascii(line(in)));
        LuaTable map = new LuaTable();
        for (long i = 0; i < n; i++) {
          LuaValue k = read(in, depth + 1);
          LuaValue v = read(in, depth + 1);
          if (!k.isnil()) {
            map.rawset(k, v);
          }
        }
        LuaTable t = new LuaTable();
        t.rawset(MAP, map);
        return t;
      }
      case '~': {
        long n = Long.parseLong(ascii(line(in)));
        LuaTable set = new LuaTable();
        for (long i = 0; i < n; i++) {
          LuaValue k = read(in, depth + 1);
          if (!k.isnil()) {
            set.rawset(k, LuaValue.TRUE);
          }
        }
        LuaTable t = new LuaTable();
        t.rawset(SET, set);
        return t;
      }
      case '=': {
        long n = Long.parseLong(ascii(line(in)));
        byte[] b = new byte[(int) n];
        in.readBytes(b);
        in.skipBytes(2);
        LuaTable v = new LuaTable();
        v.rawset("format", LuaValue.valueOf(new String(b, 0, Math.min(3, b.length), StandardCharsets.US_ASCII)));
        v.rawset("string", LuaValue.valueOf(java.util.Arrays.copyOfRange(b, Math.min(4, b.length), b.length)));
        LuaTable t = new LuaTable();
        t.rawset(VERBATIM, v);
        return t;
      }
      case '|': {
        long n = Long.parseLong(ascii(line(in)));
        for (long i = 0; i < 2 * n; i++) {
          read(in, depth + 1); // attributes are not shown to scripts
        }
        return read(in, depth);
      }
      default:
        throw new LuaError("unexpected reply type '" + (char) type + "' from a command");
    }
  }

  private static double parseDouble(String s) {
    return switch (s) {
      case "inf" -> Double.POSITIVE_INFINITY;
      case "-inf" -> Double.NEGATIVE_INFINITY;
      case "nan" -> Double.NaN;
      default -> Double.parseDouble(s);
    };
  }

  private static byte[] line(ByteBuf in) {
    int end = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\r');
    byte[] b = new byte[end - in.readerIndex()];
    in.readBytes(b);
    in.skipBytes(2);
    return b;
  }

  private static String ascii(byte[] b) {
    return new String(b, StandardCharsets.US_ASCII);
  }

  // ---- Lua -> RESP ----

  /**
   * Writes {@code v} as the script's reply. {@code scriptResp}: the protocol the script chose
   * (redis.setresp), which decides how booleans are written; the writer's own protocol (the
   * client's) decides how RESP3 types are written.
   */
  static void write(LuaValue v, RespWriter w, int scriptResp) {
    write(v, w, scriptResp, 0);
  }

  private static void write(LuaValue v, RespWriter w, int scriptResp, int depth) {
    if (depth > MAX_DEPTH) {
      throw new LuaError("reached lua stack limit");
    }
    switch (v.type()) {
      case LuaValue.TSTRING -> w.bulk(LuaEngine.bytes(v.checkstring()));
      case LuaValue.TNUMBER -> w.integer(LuaNumbers.reply(v));
      case LuaValue.TBOOLEAN -> {
        if (scriptResp == 2) {
          if (v.toboolean()) {
            w.integer(1);
          } else {
            w.nil();
          }
        } else {
          w.bool(v.toboolean());
        }
      }
      case LuaValue.TTABLE -> writeTable(v.checktable(), w, scriptResp, depth);
      default -> w.nil();
    }
  }

  private static void writeTable(LuaTable t, RespWriter w, int scriptResp, int depth) {
    LuaValue err = t.rawget(ERR);
    if (err.type() == LuaValue.TSTRING) {
      w.error(LuaEngine.oneLine(err.tojstring()));
      return;
    }
    LuaValue ok = t.rawget(OK);
    if (ok.type() == LuaValue.TSTRING) {
      w.simple(LuaEngine.oneLine(ok.tojstring()));
      return;
    }
    LuaValue dbl = t.rawget(DOUBLE);
    if (dbl.isnumber()) {
      w.dbl(dbl.todouble());
      return;
    }
    LuaValue big = t.rawget(BIG_NUMBER);
    if (big.isstring()) {
      if (w.resp3()) {
        w.rawLine('(', LuaEngine.oneLine(big.tojstring()));
      } else {
        w.bulk(LuaEngine.bytes(big.checkstring()));
      }
      return;
    }
    LuaValue map = t.rawget(MAP);
    if (map.istable()) {
      LuaTable m = map.checktable();
      int n = 0;
      for (LuaValue k = m.next(LuaValue.NIL).arg1(); !k.isnil(); k = m.next(k).arg1()) {
        n++;
      }
      w.map(n);
      for (LuaValue k = m.next(LuaValue.NIL).arg1(); !k.isnil(); k = m.next(k).arg1()) {
        write(k, w, scriptResp, depth + 1);
        write(m.rawget(k), w, scriptResp, depth + 1);
      }
      return;
    }
    LuaValue set = t.rawget(SET);
    if (set.istable()) {
      LuaTable s = set.checktable();
      int n = 0;
      for (LuaValue k = s.next(LuaValue.NIL).arg1(); !k.isnil(); k = s.next(k).arg1()) {
        n++;
      }
      w.set(n);
      for (LuaValue k = s.next(LuaValue.NIL).arg1(); !k.isnil(); k = s.next(k).arg1()) {
        write(k, w, scriptResp, depth + 1);
      }
      return;
    }
    int n = 0;
    while (!t.rawget(n + 1).isnil()) {
      n++;
    }
    w.array(n);
    for (int i = 1; i <= n; i++) {
      write(t.rawget(i), w, scriptResp, depth + 1);
    }
  }
}
