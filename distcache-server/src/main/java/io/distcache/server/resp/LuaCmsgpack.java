package io.distcache.server.resp;

import java.io.ByteArrayOutputStream;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

/*
 * Design: Redis's cmsgpack library (lua-cmsgpack 0.4.0), written on LuaJ's API, with the
 * encodings, results and error texts of Redis 7.0.15 (checked side by side, LuaLibrariesTest).
 *
 * pack(v, ...) concatenates one MessagePack object per argument: integral numbers in the smallest
 * int/uint form, other numbers as float 32 when that is exact, else float 64; strings as fixstr /
 * str 8 / 16 / 32; a table whose keys are exactly 1..n as an array (the empty table too), any other
 * as a map; tables nested deeper than 16 levels, functions and other values as nil (lua-cmsgpack's
 * rule). unpack(s) returns every object; unpack_one(s [, offset]) and unpack_limit(s, limit
 * [, offset]) return the offset after the last object read (-1 at the end) before the objects,
 * except unpack_limit(s, 0), which is unpack(s).
 * bin and ext types are "Bad data format in input.", as in 0.4.0.
 *
 * Bounds against hostile input: an array or map header is checked against the bytes left (each
 * element takes at least one) before a table is built, so a 5-byte input cannot claim 4 billion
 * elements; nesting is limited to MAX_DEPTH levels (a chain of 0x91 bytes cannot overflow the
 * stack); at most 7,999 values are returned at once, Lua 5.1's stack, with Redis's text; what is
 * built counts against the script's memory budget.
 */

/** The cmsgpack table for scripts. */
final class LuaCmsgpack {
  static final int MAX_NESTING = 16;
  static final int MAX_DEPTH = 1000;
  /** Values returned at once at most (Lua 5.1's stack, as Redis measures it). */
  static final int MAX_RESULTS = 7999;

  private final LuaEngine engine;

  LuaCmsgpack(LuaEngine engine) {
    this.engine = engine;
  }

  LuaTable library() {
    LuaTable t = new LuaTable();
    t.rawset("pack", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        if (a.narg() == 0) {
          throw new LuaEngine.LibraryError("bad argument #0 to 'pack' (MessagePack pack needs input.)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        for (int i = 1; i <= a.narg(); i++) {
          encode(a.arg(i), out, 0);
        }
        return LuaValue.valueOf(out.toByteArray());
      }
    });
    t.rawset("unpack", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return unpack(LuaNumbers.asString(a.arg1()).checkstring(), 0, 0, false);
      }
    });
    t.rawset("unpack_one", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return unpack(LuaNumbers.asString(a.arg1()).checkstring(), 1, a.optlong(2, 0), true);
      }
    });
    t.rawset("unpack_limit", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return unpack(LuaNumbers.asString(a.arg1()).checkstring(), a.checklong(2), a.optlong(3, 0), true);
      }
    });
    t.rawset("_NAME", "cmsgpack");
    t.rawset("_VERSION", "lua-cmsgpack 0.4.0");
    return t;
  }

  // ---- pack ----

  private void encode(LuaValue v, ByteArrayOutputStream out, int level) {
    switch (v.type()) {
      case LuaValue.TBOOLEAN -> out.write(v.toboolean() ? 0xc3 : 0xc2);
      case LuaValue.TNUMBER -> number(v.todouble(), out);
      case LuaValue.TSTRING -> string((LuaString) v, out);
      case LuaValue.TTABLE -> {
        if (level == MAX_NESTING) {
          out.write(0xc0);
        } else {
          table((LuaTable) v, out, level);
        }
      }
      default -> out.write(0xc0);
    }
  }

  private static void number(double d, ByteArrayOutputStream out) {
    if (d == Math.rint(d) && d >= -0x1p63 && d < 0x1p63) {
      integer((long) d, out);
    } else if (d == (double) (float) d || Double.isInfinite(d)) {
      out.write(0xca);
      putBE(Float.floatToRawIntBits((float) d), 4, out);
    } else {
      out.write(0xcb);
      putBE(Double.doubleToRawLongBits(d), 8, out);
    }
  }

  private static void integer(long n, ByteArrayOutputStream out) {
    if (n >= 0) {
      if (n <= 127) {
        out.write((int) n);
      } else if (n <= 0xff) {
        out.write(0xcc);
        out.write((int) n);
      } else if (n <= 0xffff) {
        out.write(0xcd);
        putBE(n, 2, out);
      } else if (n <= 0xffffffffL) {
        out.write(0xce);
        putBE(n, 4, out);
      } else {
        out.write(0xcf);
        putBE(n, 8, out);
      }
    } else if (n >= -32) {
      out.write((int) (n & 0xff));
    } else if (n >= -128) {
      out.write(0xd0);
      out.write((int) (n & 0xff));
    } else if (n >= -32768) {
      out.write(0xd1);
      putBE(n, 2, out);
    } else if (n >= Integer.MIN_VALUE) {
      out.write(0xd2);
      putBE(n, 4, out);
    } else {
      out.write(0xd3);
      putBE(n, 8, out);
    }
  }

  private static void putBE(long v, int bytes, ByteArrayOutputStream out) {
    for (int i = bytes - 1; i >= 0; i--) {
      out.write((int) (v >>> (8 * i)) & 0xff);
    }
  }

  private static void string(LuaString s, ByteArrayOutputStream out) {
    int n = s.m_length;
    if (n < 32) {
      out.write(0xa0 | n);
    } else if (n <= 0xff) {
      out.write(0xd9);
      out.write(n);
    } else if (n <= 0xffff) {
      out.write(0xda);
      putBE(n, 2, out);
    } else {
      out.write(0xdb);
      putBE(n, 4, out);
    }
    out.writeBytes(LuaEngine.bytes(s));
  }

  private void table(LuaTable t, ByteArrayOutputStream out, int level) {
    engine.checkMemory(out.size());
    long count = 0;
    double max = 0;
    boolean array = true;
    for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
      LuaValue k = n.arg1();
      count++;
      if (array) {
        double d = k.type() == LuaValue.TNUMBER ? k.todouble() : 0;
        if (d > 0 && d == Math.rint(d)) {
          max = Math.max(max, d);
        } else {
          array = false;
        }
      }
    }
    if (array && max == count) {
      header(count, 0x90, 0xdc, 0xdd, out);
      for (long i = 1; i <= count; i++) {
        encode(t.get(LuaValue.valueOf((double) i)), out, level + 1);
      }
      return;
    }
    header(count, 0x80, 0xde, 0xdf, out);
    for (Varargs n = t.next(LuaValue.NIL); !n.arg1().isnil(); n = t.next(n.arg1())) {
      encode(n.arg1(), out, level + 1);
      encode(n.arg(2), out, level + 1);
    }
  }

  private static void header(long n, int fix, int sixteen, int thirtyTwo, ByteArrayOutputStream out) {
    if (n <= 15) {
      out.write(fix | (int) n);
    } else if (n <= 0xffff) {
      out.write(sixteen);
      putBE(n, 2, out);
    } else {
      out.write(thirtyTwo);
      putBE(n, 4, out);
    }
  }

  // ---- unpack ----

  private Varargs unpack(LuaString s, long limit, long offset, boolean offsetAsked) {
    byte[] in = LuaEngine.bytes(s);
    boolean withOffset = offsetAsked && (limit != 0 || offset != 0); // unpack_limit(s, 0): as unpack
    if (offset < 0 || limit < 0) {
      throw new LuaEngine.LibraryError("Invalid request to unpack with offset of " + offset + " and limit of " + limit + ".");
    }
    if (offset > in.length) {
      throw new LuaEngine.LibraryError("Start offset " + offset + " greater than input length " + in.length + ".");
    }
    Reader r = new Reader(in, (int) offset);
    java.util.List<LuaValue> values = new java.util.ArrayList<>();
    while (r.pos < in.length && (limit == 0 || values.size() < limit)) {
      if (values.size() + (withOffset ? 1 : 0) >= MAX_RESULTS) {
        throw new LuaEngine.LibraryError("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)");
      }
      values.add(r.value(0));
    }
    LuaValue[] out = new LuaValue[values.size() + (withOffset ? 1 : 0)];
    int i = 0;
    if (withOffset) {
      out[i++] = LuaValue.valueOf(r.pos >= in.length ? -1 : r.pos);
    }
    for (LuaValue v : values) {
      out[i++] = v;
    }
    return LuaValue.varargsOf(out);
  }

  private final class Reader {
    private final byte[] in;
    int pos;
    private long count;

    Reader(byte[] in, int pos) {
      this.in = in;
      this.pos = pos;
    }

    private void need(long n) {
      if (n > in.length - pos) {
        throw new LuaEngine.LibraryError("Missing bytes in input.");
      }
    }

    private long be(int n) {
      need(n);
      long v = 0;
      for (int i = 0; i < n; i++) {
        v = v << 8 | (in[pos++] & 0xff);
      }
      return v;
    }

    LuaValue value(int depth) {
      if (depth > MAX_DEPTH) {
        throw new LuaEngine.LibraryError("Bad data format in input. (nested more than " + MAX_DEPTH + " levels)");
      }
      if (++count % 4096 == 0) {
        engine.checkMemory(0);
      }
      need(1);
      int b = in[pos++] & 0xff;
      if (b <= 0x7f) {
        return LuaValue.valueOf(b);
      }
      if (b >= 0xe0) {
        return LuaValue.valueOf(b - 256);
      }
      if (b >= 0xa0 && b <= 0xbf) {
        return str(b & 0x1f);
      }
      if (b >= 0x90 && b <= 0x9f) {
        return array(b & 0x0f, depth);
      }
      if (b >= 0x80 && b <= 0x8f) {
        return map(b & 0x0f, depth);
      }
      return switch (b) {
        case 0xc0 -> LuaValue.NIL;
        case 0xc2 -> LuaValue.FALSE;
        case 0xc3 -> LuaValue.TRUE;
        case 0xca -> LuaValue.valueOf(Float.intBitsToFloat((int) be(4)));
        case 0xcb -> LuaValue.valueOf(Double.longBitsToDouble(be(8)));
        case 0xcc -> LuaValue.valueOf((double) be(1));
        case 0xcd -> LuaValue.valueOf((double) be(2));
        case 0xce -> LuaValue.valueOf((double) be(4));
        case 0xcf -> {
          long v = be(8);
          yield LuaValue.valueOf(v >= 0 ? (double) v : (double) (v >>> 1) * 2 + (v & 1));
        }
        case 0xd0 -> LuaValue.valueOf((double) (byte) be(1));
        case 0xd1 -> LuaValue.valueOf((double) (short) be(2));
        case 0xd2 -> LuaValue.valueOf((double) (int) be(4));
        case 0xd3 -> LuaValue.valueOf((double) be(8));
        case 0xd9 -> str(be(1));
        case 0xda -> str(be(2));
        case 0xdb -> str(be(4));
        case 0xdc -> array(be(2), depth);
        case 0xdd -> array(be(4), depth);
        case 0xde -> map(be(2), depth);
        case 0xdf -> map(be(4), depth);
        default -> throw new LuaEngine.LibraryError("Bad data format in input.");
      };
    }

    private LuaValue str(long n) {
      need(n);
      LuaValue s = LuaValue.valueOf(java.util.Arrays.copyOfRange(in, pos, pos + (int) n));
      pos += (int) n;
      return s;
    }

    private LuaValue array(long n, int depth) {
      need(n); // every element takes a byte at least
      LuaTable t = new LuaTable((int) Math.min(n, 1024), 0);
      for (int i = 1; i <= n; i++) {
        t.rawset(i, value(depth + 1));
      }
      return t;
    }

    private LuaValue map(long n, int depth) {
      need(2 * n);
      LuaTable t = new LuaTable();
      for (long i = 0; i < n; i++) {
        LuaValue k = value(depth + 1);
        LuaValue v = value(depth + 1);
        if (k.isnil()) {
          throw new LuaEngine.LibraryError("table index is nil");
        }
        t.rawset(k, v);
      }
      return t;
    }
  }
}
