package io.distcache.server.resp;

import java.io.ByteArrayOutputStream;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaUserdata;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

/*
 * Design: Redis's cjson library (lua-cjson 2.1.0 with Redis's defaults), written on LuaJ's API,
 * with the behaviour and error texts of Redis 7.0.15 (checked side by side, LuaLibrariesTest).
 *
 * encode: numbers as C's "%.14g" (NaN and infinities refused); strings with '/' escaped and bytes
 * 0-31 and 127 as \\u and four hex digits (or \\b \\t \\n \\f \\r); a table whose keys are all integers >= 1 is an
 * array (holes become null) unless it is excessively sparse (largest index over 10 and over twice
 * the number of items: refused, as Redis's default); an empty table is "{}"; any other table is an
 * object whose keys must be strings or numbers. cjson.null encodes as null.
 *
 * decode: RFC 8259 plus what lua-cjson accepts by default (hex and leading-zero numbers, as C's
 * strtod reads them); null decodes to cjson.null; \\u escapes (surrogate pairs included) to UTF-8.
 *
 * Bounds: both directions stop at 1,000 nested arrays/objects (Redis's defaults), with Redis's
 * texts; the encoder's output and the decoder's values count against the script's memory budget
 * (what decode builds is at most a few dozen bytes of heap per input byte, and the input is a Lua
 * string the script already holds). Configuration functions (encode_max_depth and the like) are
 * not offered: in Redis they change the library for every later script.
 */

/** The cjson table for scripts. */
final class LuaCjson {
  static final int MAX_DEPTH = 1000;
  /** Redis's cjson.null: a userdata that is none of the script's values. */
  static final LuaUserdata NULL = new LuaUserdata(new Object());

  private final LuaEngine engine;

  LuaCjson(LuaEngine engine) {
    this.engine = engine;
  }

  LuaTable library() {
    LuaTable t = new LuaTable();
    t.rawset("encode", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1) {
          throw new LuaEngine.LibraryError("bad argument #1 to 'encode' (expected 1 argument)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        encode(a.arg1(), out, 0);
        return LuaValue.valueOf(out.toByteArray());
      }
    });
    t.rawset("decode", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() != 1) {
          throw new LuaEngine.LibraryError("bad argument #1 to 'decode' (expected 1 argument)");
        }
        return new Decoder(LuaEngine.bytes(a.checkstring(1))).document();
      }
    });
    t.rawset("null", NULL);
    t.rawset("_NAME", "cjson");
    t.rawset("_VERSION", "2.1.0");
    return t;
  }

  // ---- encode ----

  private void encode(LuaValue v, ByteArrayOutputStream out, int depth) {
    switch (v.type()) {
      case LuaValue.TNIL -> out.writeBytes(NULL_BYTES);
      case LuaValue.TBOOLEAN -> out.writeBytes(v.toboolean() ? TRUE_BYTES : FALSE_BYTES);
      case LuaValue.TNUMBER -> out.writeBytes(number(v.todouble()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      case LuaValue.TSTRING -> string((LuaString) v, out);
      case LuaValue.TTABLE -> table((LuaTable) v, out, depth + 1);
      case LuaValue.TUSERDATA -> {
        if (v == NULL) {
          out.writeBytes(NULL_BYTES);
        } else {
          throw new LuaEngine.LibraryError("Cannot serialise userdata: type not supported");
        }
      }
      default -> throw new LuaEngine.LibraryError("Cannot serialise " + v.typename() + ": type not supported");
    }
  }

  private static final byte[] NULL_BYTES = {'n', 'u', 'l', 'l'};
  private static final byte[] TRUE_BYTES = {'t', 'r', 'u', 'e'};
  private static final byte[] FALSE_BYTES = {'f', 'a', 'l', 's', 'e'};

  private void table(LuaTable t, ByteArrayOutputStream out, int depth) {
    if (depth > MAX_DEPTH) {
      throw new LuaEngine.LibraryError("Cannot serialise, excessive nesting (" + depth + ")");
    }
    engine.checkMemory(out.size());
    long max = 0;
    long items = 0;
    boolean array = true;
    for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
      LuaValue k = n.arg1();
      double d = k.type() == LuaValue.TNUMBER ? k.todouble() : 0;
      if (k.type() == LuaValue.TNUMBER && d >= 1 && Math.floor(d) == d) {
        max = Math.max(max, d >= Long.MAX_VALUE ? Long.MAX_VALUE : (long) d);
        items++;
      } else {
        array = false;
        break;
      }
    }
    if (array && max > items * 2 && max > 10) {
      throw new LuaEngine.LibraryError("Cannot serialise table: excessively sparse array");
    }
    if (array && max > 0) {
      out.write('[');
      for (long i = 1; i <= max; i++) {
        if (i > 1) {
          out.write(',');
        }
        encode(t.get(LuaValue.valueOf((double) i)), out, depth);
      }
      out.write(']');
      return;
    }
    out.write('{');
    boolean first = true;
    for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
      LuaValue k = n.arg1();
      if (!first) {
        out.write(',');
      }
      first = false;
      if (k.type() == LuaValue.TSTRING) {
        string((LuaString) k, out);
      } else if (k.type() == LuaValue.TNUMBER) {
        out.write('"');
        out.writeBytes(number(k.todouble()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        out.write('"');
      } else {
        throw new LuaEngine.LibraryError("Cannot serialise " + k.typename() + ": table key must be a number or string");
      }
      out.write(':');
      encode(n.arg(2), out, depth);
    }
    out.write('}');
  }

  private static void string(LuaString s, ByteArrayOutputStream out) {
    out.write('"');
    for (int i = 0; i < s.m_length; i++) {
      int c = s.luaByte(i);
      switch (c) {
        case '"' -> out.writeBytes(new byte[] {'\\', '"'});
        case '\\' -> out.writeBytes(new byte[] {'\\', '\\'});
        case '/' -> out.writeBytes(new byte[] {'\\', '/'});
        case '\b' -> out.writeBytes(new byte[] {'\\', 'b'});
        case '\t' -> out.writeBytes(new byte[] {'\\', 't'});
        case '\n' -> out.writeBytes(new byte[] {'\\', 'n'});
        case '\f' -> out.writeBytes(new byte[] {'\\', 'f'});
        case '\r' -> out.writeBytes(new byte[] {'\\', 'r'});
        default -> {
          if (c < 32 || c == 127) {
            out.writeBytes(String.format("\\u%04x", c).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
          } else {
            out.write(c);
          }
        }
      }
    }
    out.write('"');
  }

  private static String number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      throw new LuaEngine.LibraryError("Cannot serialise number: must not be NaN or Inf");
    }
    return CPrintf.g(d, 14); // "%.14g", as lua-cjson prints numbers with Redis's defaults
  }

  // ---- decode ----

  private final class Decoder {
    private final byte[] in;
    private int pos;
    private long values;

    Decoder(byte[] in) {
      this.in = in;
    }

    LuaValue document() {
      if (in.length >= 2 && (in[0] == 0 || in[1] == 0)) {
        throw new LuaEngine.LibraryError("JSON parser does not support UTF-16 or UTF-32");
      }
      LuaValue v = value(0, "value");
      skipSpace();
      if (pos < in.length) {
        throw expected("the end", tokenAt(pos));
      }
      return v;
    }

    private void skipSpace() {
      while (pos < in.length && (in[pos] == ' ' || in[pos] == '\t' || in[pos] == '\n' || in[pos] == '\r')) {
        pos++;
      }
    }

    /** The name lua-cjson gives the token at {@code p}, for an error. */
    private String tokenAt(int p) {
      if (p >= in.length) {
        return "T_END";
      }
      return switch (in[p]) {
        case '{' -> "T_OBJ_BEGIN";
        case '}' -> "T_OBJ_END";
        case '[' -> "T_ARR_BEGIN";
        case ']' -> "T_ARR_END";
        case ':' -> "T_COLON";
        case ',' -> "T_COMMA";
        case '"' -> "T_STRING";
        case 't', 'f' -> word(p, "true") || word(p, "false") ? "T_BOOLEAN" : "invalid token";
        case 'n' -> word(p, "null") ? "T_NULL" : "invalid token";
        default -> in[p] == '-' || (in[p] >= '0' && in[p] <= '9') ? "T_NUMBER" : "invalid token";
      };
    }

    private boolean word(int p, String w) {
      if (p + w.length() > in.length) {
        return false;
      }
      for (int i = 0; i < w.length(); i++) {
        if (in[p + i] != w.charAt(i)) {
          return false;
        }
      }
      return true;
    }

    private LuaError expected(String what, String found) {
      return expectedAt(what, found, pos);
    }

    private LuaError expectedAt(String what, String found, int at) {
      return new LuaEngine.LibraryError("Expected " + what + " but found " + found + " at character " + (at + 1));
    }

    private LuaValue value(int depth, String what) {
      skipSpace();
      if (++values % 4096 == 0) {
        engine.checkMemory(0);
      }
      if (pos >= in.length) {
        throw expected(what, "T_END");
      }
      byte c = in[pos];
      switch (c) {
        case '{':
          return object(depth + 1);
        case '[':
          return array(depth + 1);
        case '"':
          return LuaValue.valueOf(string());
        case 't':
          return literal("true", LuaValue.TRUE, what);
        case 'f':
          return literal("false", LuaValue.FALSE, what);
        case 'n':
          return literal("null", NULL, what);
        default:
          if (c == '-' || (c >= '0' && c <= '9')) {
            return number(what);
          }
          throw expected(what, tokenAt(pos));
      }
    }

    private LuaValue literal(String w, LuaValue v, String what) {
      if (!word(pos, w)) {
        throw expected(what, "invalid token");
      }
      pos += w.length();
      return v;
    }

    private LuaValue number(String what) {
      int start = pos;
      int p = pos;
      if (in[p] == '-') {
        p++;
      }
      boolean hex = p + 1 < in.length && in[p] == '0' && (in[p + 1] == 'x' || in[p + 1] == 'X');
      if (hex) {
        p += 2;
        int digits = p;
        while (p < in.length && Character.digit(in[p], 16) >= 0) {
          p++;
        }
        if (p == digits || p - digits > 16) {
          throw expectedAt(what, "invalid number", start);
        }
        double v = (double) Long.parseUnsignedLong(new String(in, digits, p - digits, java.nio.charset.StandardCharsets.US_ASCII), 16);
        pos = p;
        return LuaValue.valueOf(in[start] == '-' ? -v : v);
      }
      while (p < in.length && (in[p] >= '0' && in[p] <= '9' || in[p] == '.' || in[p] == 'e' || in[p] == 'E'
          || ((in[p] == '+' || in[p] == '-') && (in[p - 1] == 'e' || in[p - 1] == 'E')))) {
        p++;
      }
      try {
        double v = Double.parseDouble(new String(in, start, p - start, java.nio.charset.StandardCharsets.US_ASCII));
        pos = p;
        return LuaValue.valueOf(v);
      } catch (NumberFormatException e) {
        throw expectedAt(what, "invalid number", start);
      }
    }

    private byte[] string() {
      pos++; // the opening quote
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      while (true) {
        if (pos >= in.length) {
          throw expectedAt("value", "unexpected end of string", in.length);
        }
        byte c = in[pos];
        if (c == '"') {
          pos++;
          return out.toByteArray();
        }
        if (c != '\\') {
          out.write(c);
          pos++;
          continue;
        }
        if (pos + 1 >= in.length) {
          throw expectedAt("value", "unexpected end of string", in.length);
        }
        byte e = in[pos + 1];
        int escape = pos;
        switch (e) {
          case '"', '\\', '/' -> out.write(e);
          case 'b' -> out.write('\b');
          case 'f' -> out.write('\f');
          case 'n' -> out.write('\n');
          case 'r' -> out.write('\r');
          case 't' -> out.write('\t');
          case 'u' -> {
            int cp = unicode(escape);
            out.writeBytes(new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            continue; // unicode() moved pos
          }
          default -> throw expectedAt("value", "invalid escape code", escape);
        }
        pos += 2;
      }
    }

    /** A \\u escape (four hex digits) at pos (a high surrogate takes the low one after it); returns the code point. */
    private int unicode(int start) {
      int hi = hex4(pos + 2, start);
      pos += 6;
      if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (pos + 1 < in.length && in[pos] == '\\' && in[pos + 1] == 'u') {
          int lo = hex4(pos + 2, start);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            pos += 6;
            return Character.toCodePoint((char) hi, (char) lo);
          }
        }
        throw expectedAt("value", "invalid unicode escape code", start);
      }
      if (hi >= 0xDC00 && hi <= 0xDFFF) {
        throw expectedAt("value", "invalid unicode escape code", start);
      }
      return hi;
    }

    private int hex4(int p, int start) {
      if (p + 4 > in.length) {
        throw expectedAt("value", "invalid unicode escape code", start);
      }
      int v = 0;
      for (int i = 0; i < 4; i++) {
        int d = Character.digit(in[p + i], 16);
        if (d < 0) {
          throw expectedAt("value", "invalid unicode escape code", start);
        }
        v = v * 16 + d;
      }
      return v;
    }

    private void nested(int depth) {
      if (depth > MAX_DEPTH) {
        throw new LuaEngine.LibraryError("Found too many nested data structures (" + depth + ") at character " + (pos + 1));
      }
    }

    private LuaValue array(int depth) {
      nested(depth);
      pos++;
      LuaTable t = new LuaTable();
      skipSpace();
      if (pos < in.length && in[pos] == ']') {
        pos++;
        return t;
      }
      for (int i = 1; ; i++) {
        t.rawset(i, value(depth, "value"));
        skipSpace();
        if (pos < in.length && in[pos] == ']') {
          pos++;
          return t;
        }
        if (pos >= in.length || in[pos] != ',') {
          throw expected("comma or array end", tokenAt(pos));
        }
        pos++;
      }
    }

    private LuaValue object(int depth) {
      nested(depth);
      pos++;
      LuaTable t = new LuaTable();
      skipSpace();
      if (pos < in.length && in[pos] == '}') {
        pos++;
        return t;
      }
      while (true) {
        skipSpace();
        if (pos >= in.length || in[pos] != '"') {
          throw expected("object key string", tokenAt(pos));
        }
        LuaString key = LuaValue.valueOf(string());
        skipSpace();
        if (pos >= in.length || in[pos] != ':') {
          throw expected("colon", tokenAt(pos));
        }
        pos++;
        t.rawset(key, value(depth, "value"));
        skipSpace();
        if (pos < in.length && in[pos] == '}') {
          pos++;
          return t;
        }
        if (pos >= in.length || in[pos] != ',') {
          throw expected("comma or object end", tokenAt(pos));
        }
        pos++;
      }
    }
  }
}
