package io.distcache.server.resp;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaTable;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

/*
 * Design: Redis's struct library (Roberto Ierusalimschy's struct 0.2 for Lua 5.1, as an x86-64
 * Redis builds it: long and size_t 8 bytes, int 4, native order little-endian, native alignment
 * 8), written on LuaJ's API with the results and error texts of Redis 7.0.15 (LuaLibrariesTest).
 *
 * Formats: '>' big-endian, '<' and '=' little-endian, '![n]' alignment (a power of 2, default 8),
 * 'x' a zero byte, 'b'/'B' 1 byte, 'h'/'H' 2, 'l'/'L' 8, 'T' 8, 'i'/'I'[n] n bytes (default 4, at
 * most 32), 'f' float, 'd' double, 's' zero-terminated string, 'c'[n] n bytes (c0: the whole
 * string when packing; when unpacking, the length is the number unpacked just before), ' '
 * ignored. Integers are packed as C's unsigned long long of the number, bytes past the eighth 0;
 * unpacked with C's shifts (which x86 takes modulo 64, as Java does).
 *
 * Bounds: pack's output is bounded by its format and arguments (each 'c' takes from a string the
 * script holds, each 'x' one byte per format byte); unpack checks every size against the data
 * before reading and returns at most 7,997 values and the position (Lua 5.1's stack).
 */

/** The struct table for scripts. */
final class LuaStruct {
  static final int MAX_INT_SIZE = 32;
  static final int MAX_ALIGN = 8;
  /** Values unpack returns at most, its final position aside (Lua 5.1's stack, as Redis measures it). */
  static final int MAX_RESULTS = 7997;

  private LuaStruct() {}

  static LuaTable library() {
    LuaTable t = new LuaTable();
    t.rawset("pack", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return pack(a);
      }
    });
    t.rawset("unpack", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return unpack(a);
      }
    });
    t.rawset("size", new VarArgFunction() {
      @Override
      public Varargs invoke(Varargs a) {
        return size(a);
      }
    });
    return t;
  }

  /** The format's reading state: position, byte order, alignment. */
  private static final class Format {
    final byte[] f;
    int i;
    boolean little = true;
    int align = 1;

    Format(LuaString s) {
      f = LuaEngine.bytes(s);
    }

    boolean more() {
      return i < f.length;
    }

    /** The digits after an option, or {@code dflt} when there are none. */
    int number(int dflt) {
      if (i >= f.length || f[i] < '0' || f[i] > '9') {
        return dflt;
      }
      long n = 0;
      while (i < f.length && f[i] >= '0' && f[i] <= '9') {
        n = Math.min(n * 10 + (f[i++] - '0'), Integer.MAX_VALUE);
      }
      return (int) n;
    }

    /** The size of option {@code opt} (reading its digits); 0 for 's', 'c0' and the controls. */
    int size(char opt, String fn) {
      switch (opt) {
        case 'b', 'B', 'x':
          return 1;
        case 'h', 'H':
          return 2;
        case 'l', 'L', 'T', 'd':
          return 8;
        case 'f':
          return 4;
        case 'c':
          return number(1);
        case 'i', 'I': {
          int n = number(4);
          if (n > MAX_INT_SIZE) {
            throw new LuaEngine.LibraryError("integral size " + n + " is larger than limit of " + MAX_INT_SIZE);
          }
          return n;
        }
        case 's', ' ', '>', '<', '=':
          return 0;
        case '!': {
          int a = number(MAX_ALIGN);
          if (a == 0 || (a & (a - 1)) != 0) {
            throw new LuaEngine.LibraryError("alignment " + a + " is not a power of 2");
          }
          align = a;
          return 0;
        }
        default:
          throw new LuaEngine.LibraryError("bad argument #1 to '" + fn + "' (invalid format option '" + opt + "')");
      }
    }

    void order(char opt) {
      if (opt == '>') {
        little = false;
      } else if (opt == '<' || opt == '=') {
        little = true;
      }
    }

    /** Padding before an item of {@code size} at {@code pos}. */
    int padding(long pos, char opt, int size) {
      if (size <= 1 || opt == 'c' || opt == 's') {
        return 0;
      }
      int a = Math.min(size, align);
      if ((a & (a - 1)) != 0) {
        throw new LuaEngine.LibraryError("alignment " + a + " is not a power of 2");
      }
      return (int) ((a - (pos & (a - 1))) & (a - 1));
    }
  }

  private static Varargs pack(Varargs a) {
    Format f = new Format(a.checkstring(1));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int arg = 2;
    while (f.more()) {
      char opt = (char) (f.f[f.i++] & 0xff);
      int size = f.size(opt, "pack");
      f.order(opt);
      int pad = f.padding(out.size(), opt, size);
      for (int p = 0; p < pad; p++) {
        out.write(0);
      }
      switch (opt) {
        case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I' -> {
          double d = number(a, arg++, "pack");
          long v = d < 0 ? (long) d : unsigned(d);
          putInteger(v, size, f.little, out);
        }
        case 'x' -> out.write(0);
        case 'f' -> putInteger(Float.floatToRawIntBits((float) number(a, arg++, "pack")) & 0xffffffffL, 4, f.little, out);
        case 'd' -> putInteger(Double.doubleToRawLongBits(number(a, arg++, "pack")), 8, f.little, out);
        case 'c', 's' -> {
          LuaString s = string(a, arg, "pack");
          int n = size == 0 || opt == 's' ? s.m_length : size;
          if (s.m_length < n) {
            throw new LuaEngine.LibraryError("bad argument #" + (arg + 1) + " to 'pack' (string too short)");
          }
          out.write(LuaEngine.bytes(s), 0, n);
          if (opt == 's') {
            out.write(0);
          }
          arg++;
        }
        default -> { }
      }
    }
    return LuaValue.valueOf(out.toByteArray());
  }

  /** C's conversion of a non-negative double to unsigned long long, as x86-64 does it. */
  private static long unsigned(double d) {
    if (d < 0x1p63) {
      return (long) d;
    }
    if (d < 0x1p64) {
      return (long) (d - 0x1p63) ^ Long.MIN_VALUE;
    }
    return Long.MIN_VALUE; // out of range: x86-64's "integer indefinite" value
  }

  private static double number(Varargs a, int arg, String fn) {
    LuaValue v = a.arg(arg);
    if (!v.isnumber()) {
      throw new LuaEngine.LibraryError("bad argument #" + arg + " to '" + fn + "' (number expected, got " + typeName(v) + ")");
    }
    return v.todouble();
  }

  private static LuaString string(Varargs a, int arg, String fn) {
    LuaValue v = a.arg(arg);
    if (!v.isstring()) {
      throw new LuaEngine.LibraryError("bad argument #" + arg + " to '" + fn + "' (string expected, got " + typeName(v) + ")");
    }
    return LuaNumbers.asString(v).checkstring();
  }

  private static String typeName(LuaValue v) {
    return v.isnil() ? "nil" : v.typename();
  }

  private static void putInteger(long v, int size, boolean little, ByteArrayOutputStream out) {
    byte[] b = new byte[size];
    long value = v;
    for (int k = 0; k < size; k++) {
      b[little ? k : size - 1 - k] = (byte) (value & 0xff);
      value >>>= 8;
    }
    out.writeBytes(b);
  }

  private static Varargs unpack(Varargs a) {
    Format f = new Format(a.checkstring(1));
    LuaString data = string(a, 2, "unpack");
    byte[] d = LuaEngine.bytes(data);
    long init = a.isnoneornil(3) ? 1 : (long) number(a, 3, "unpack");
    if (init < 1) {
      throw new LuaEngine.LibraryError("bad argument #3 to 'unpack' (offset must be 1 or greater)");
    }
    long pos = init - 1;
    List<LuaValue> values = new ArrayList<>();
    while (f.more()) {
      char opt = (char) (f.f[f.i++] & 0xff);
      int size = f.size(opt, "unpack");
      f.order(opt);
      pos += f.padding(pos, opt, size);
      if (pos + size > d.length) {
        throw new LuaEngine.LibraryError("bad argument #2 to 'unpack' (data string too short)");
      }
      if (values.size() >= MAX_RESULTS) {
        throw new LuaEngine.LibraryError("stack overflow (too many results)");
      }
      switch (opt) {
        case 'b', 'h', 'l', 'i' -> values.add(LuaValue.valueOf(signed(integer(d, (int) pos, size, f.little), size)));
        case 'B', 'H', 'L', 'T', 'I' -> values.add(LuaValue.valueOf(unsignedToDouble(integer(d, (int) pos, size, f.little))));
        case 'x' -> { }
        case 'f' -> values.add(LuaValue.valueOf(Float.intBitsToFloat((int) integer(d, (int) pos, 4, f.little))));
        case 'd' -> values.add(LuaValue.valueOf(Double.longBitsToDouble(integer(d, (int) pos, 8, f.little))));
        case 'c' -> {
          if (size == 0) {
            if (values.isEmpty() || !values.get(values.size() - 1).isnumber()) {
              throw new LuaEngine.LibraryError("format 'c0' needs a previous size");
            }
            size = (int) Math.min(Integer.MAX_VALUE, Math.max(0, values.remove(values.size() - 1).todouble()));
            if (pos + size > d.length) {
              throw new LuaEngine.LibraryError("bad argument #2 to 'unpack' (data string too short)");
            }
          }
          values.add(LuaValue.valueOf(java.util.Arrays.copyOfRange(d, (int) pos, (int) pos + size)));
        }
        case 's' -> {
          int end = (int) pos;
          while (end < d.length && d[end] != 0) {
            end++;
          }
          if (end >= d.length) {
            throw new LuaEngine.LibraryError("unfinished string in data");
          }
          values.add(LuaValue.valueOf(java.util.Arrays.copyOfRange(d, (int) pos, end)));
          size = end - (int) pos + 1;
        }
        default -> { }
      }
      pos += size;
    }
    values.add(LuaValue.valueOf((double) (pos + 1)));
    return LuaValue.varargsOf(values.toArray(new LuaValue[0]));
  }

  /** The bytes as C's unsigned long long, shifting as x86-64 does (counts modulo 64). */
  private static long integer(byte[] d, int pos, int size, boolean little) {
    long l = 0;
    for (int k = 0; k < size; k++) {
      l = l << 8 | (d[little ? pos + size - 1 - k : pos + k] & 0xff);
    }
    return l;
  }

  private static double signed(long l, int size) {
    long mask = -1L << (size * 8 - 1);
    if ((l & mask) != 0) {
      l |= mask;
    }
    return (double) l;
  }

  private static double unsignedToDouble(long l) {
    return l >= 0 ? (double) l : (double) (l >>> 1) * 2 + (l & 1);
  }

  private static Varargs size(Varargs a) {
    Format f = new Format(a.checkstring(1));
    long pos = 0;
    while (f.more()) {
      char opt = (char) (f.f[f.i++] & 0xff);
      int size = f.size(opt, "size");
      f.order(opt);
      if (opt == 's') {
        throw new LuaEngine.LibraryError("bad argument #1 to 'size' (option 's' has no fixed size)");
      }
      if (opt == 'c' && size == 0) {
        throw new LuaEngine.LibraryError("bad argument #1 to 'size' (option 'c0' has no fixed size)");
      }
      pos += f.padding(pos, opt, size) + size;
    }
    return LuaValue.valueOf((double) pos);
  }
}
