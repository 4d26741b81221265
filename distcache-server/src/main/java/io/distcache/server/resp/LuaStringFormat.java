package io.distcache.server.resp;

import java.io.ByteArrayOutputStream;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaValue;
import org.luaj.vm2.Varargs;
import org.luaj.vm2.lib.VarArgFunction;

/*
 * Design: string.format as Lua 5.1's str_format, which Redis scripts run: the format is scanned
 * as Lua 5.1 scans it and each conversion is C's printf (CPrintf), where LuaJ 3.0.1 ignores
 * precision and width for %f, %e, %g and %s and prints numbers through Java.
 *
 * Lua 5.1's rules, kept here because scripts see them: an item takes the next argument, missing
 * ones are "bad argument #N to 'format' (no value)" even before the item is read; at most five
 * flag characters ("invalid format (repeated flags)"), two width digits and two precision digits
 * ("invalid format (width or precision too long)"), which is what bounds one item's output to a
 * few hundred bytes whatever the script asks; the conversions c d i o u x X e E f g G q s, any
 * other letter "invalid option '%y' to 'format'". Numbers may be given as numeric strings
 * ("%d" of "0x10" is 16), strings as numbers (their "%.14g" text). %s without a precision copies a
 * string of 100 bytes or more whole (width ignored); otherwise, as C's sprintf, it stops at the
 * string's first NUL, and %c of 0 adds nothing. %q quotes as Lua 5.1 does: \" \\ \<newline>
 * \r \000, other bytes as they are.
 *
 * Memory: the result grows by at most one item's bounded text per argument, plus whole strings
 * the script already holds; past ScriptMemory's small size the total is checked before each
 * string is copied in.
 */

/** Lua 5.1's string.format. */
final class LuaStringFormat extends VarArgFunction {
  /** How the function reaches the engine: errors positioned at the script's line, the memory budget. */
  interface Host {
    /** An error raised by a library function, positioned as luaL_error does ("user_script:LINE: text"). */
    LuaError error(String text);

    /** Refuses (by throwing) a result of {@code bytes} the script's memory cannot take. */
    void reserve(long bytes, String what);
  }

  private static final String FLAGS = "-+ #0";
  private static final byte[] CR = {'\\', 'r'};
  private static final byte[] NUL = {'\\', '0', '0', '0'};
  private final Host host;

  LuaStringFormat(Host host) {
    this.host = host;
  }

  @Override
  public Varargs invoke(Varargs a) {
    LuaValue first = a.arg1();
    if (!first.isstring()) {
      throw host.error("bad argument #1 to 'format' (string expected, got " + typeName(a, 1) + ")");
    }
    byte[] fmt = LuaEngine.bytes(first.type() == LuaValue.TSTRING ? (LuaString) first : LuaString.valueOf(LuaNumbers.text(first)));
    ByteArrayOutputStream out = new ByteArrayOutputStream(fmt.length + 16);
    int arg = 1;
    int i = 0;
    while (i < fmt.length) {
      byte b = fmt[i++];
      if (b != '%') {
        out.write(b);
        continue;
      }
      if (at(fmt, i) == '%') {
        out.write('%');
        i++;
        continue;
      }
      if (++arg > a.narg()) {
        throw host.error("bad argument #" + arg + " to 'format' (no value)");
      }
      int p = i;
      while (at(fmt, p) != 0 && FLAGS.indexOf(at(fmt, p)) >= 0) {
        p++;
      }
      if (p - i > FLAGS.length()) {
        throw host.error("invalid format (repeated flags)");
      }
      String flags = new String(fmt, i, p - i, java.nio.charset.StandardCharsets.US_ASCII);
      int width = -1;
      int precision = -1;
      for (int d = 0; d < 2 && digit(at(fmt, p)); d++) {
        width = Math.max(width, 0) * 10 + (fmt[p++] - '0');
      }
      if (at(fmt, p) == '.') {
        p++;
        precision = 0;
        for (int d = 0; d < 2 && digit(at(fmt, p)); d++) {
          precision = precision * 10 + (fmt[p++] - '0');
        }
      }
      if (digit(at(fmt, p))) {
        throw host.error("invalid format (width or precision too long)");
      }
      char conv = (char) at(fmt, p);
      i = p + 1;
      CPrintf.Spec spec = new CPrintf.Spec(flags.indexOf('-') >= 0, flags.indexOf('+') >= 0, flags.indexOf(' ') >= 0,
          flags.indexOf('#') >= 0, flags.indexOf('0') >= 0, width, precision, conv);
      switch (conv) {
        case 'c' -> {
          byte[] one = CPrintf.pad(spec, new byte[] {(byte) CPrintf.toInt(number(a, arg))});
          out.write(one, 0, untilNul(one));
        }
        case 'd', 'i' -> ascii(out, CPrintf.formatSigned(spec, CPrintf.toLong(number(a, arg))));
        case 'o', 'u', 'x', 'X' -> ascii(out, CPrintf.formatUnsigned(spec, CPrintf.toUnsignedLong(number(a, arg))));
        case 'e', 'E', 'f', 'g', 'G' -> ascii(out, CPrintf.format(spec, number(a, arg)));
        case 'q' -> quoted(out, string(a, arg));
        case 's' -> {
          byte[] s = string(a, arg);
          if (precision < 0 && s.length >= 100) {
            reserve(out, s.length);
            out.write(s, 0, s.length); // Lua 5.1 copies a long string whole, NULs and all
          } else {
            int n = untilNul(s);
            if (precision >= 0) {
              n = Math.min(n, precision);
            }
            byte[] item = CPrintf.pad(spec, java.util.Arrays.copyOf(s, n));
            reserve(out, item.length);
            out.writeBytes(item);
          }
        }
        default -> throw host.error("invalid option '%" + (conv == 0 ? "" : String.valueOf(conv)) + "' to 'format'");
      }
    }
    return LuaValue.valueOf(out.toByteArray());
  }

  /** The format's byte at {@code i}, or 0 past its end (where C reads the terminating NUL). */
  private static int at(byte[] fmt, int i) {
    return i < fmt.length ? fmt[i] & 0xff : 0;
  }

  private static boolean digit(int c) {
    return c >= '0' && c <= '9';
  }

  private static int untilNul(byte[] b) {
    for (int k = 0; k < b.length; k++) {
      if (b[k] == 0) {
        return k;
      }
    }
    return b.length;
  }

  private void ascii(ByteArrayOutputStream out, String s) {
    reserve(out, s.length());
    for (int k = 0; k < s.length(); k++) {
      out.write(s.charAt(k));
    }
  }

  private void reserve(ByteArrayOutputStream out, long more) {
    long total = out.size() + more;
    if (total > ScriptMemory.SMALL_BYTES) {
      host.reserve(total, "string.format result");
    }
  }

  /** luaL_checknumber: a number, or a string that converts to one. */
  private double number(Varargs a, int arg) {
    LuaValue v = a.arg(arg);
    if (v.type() == LuaValue.TNUMBER) {
      return v.todouble();
    }
    if (v.type() == LuaValue.TSTRING) {
      Double d = LuaNumbers.parse((LuaString) v);
      if (d != null) {
        return d;
      }
    }
    throw host.error("bad argument #" + arg + " to 'format' (number expected, got " + typeName(a, arg) + ")");
  }

  /** luaL_checklstring: a string, or a number as its "%.14g" text. */
  private byte[] string(Varargs a, int arg) {
    LuaValue v = a.arg(arg);
    if (v.type() == LuaValue.TSTRING) {
      return LuaEngine.bytes((LuaString) v);
    }
    if (v.type() == LuaValue.TNUMBER) {
      return LuaNumbers.text(v).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
    throw host.error("bad argument #" + arg + " to 'format' (string expected, got " + typeName(a, arg) + ")");
  }

  private static String typeName(Varargs a, int arg) {
    return arg > a.narg() ? "no value" : a.arg(arg).typename();
  }

  /** Lua 5.1's addquoted. */
  private void quoted(ByteArrayOutputStream out, byte[] s) {
    reserve(out, 4L * s.length + 2);
    out.write('"');
    for (byte c : s) {
      switch (c) {
        case '"', '\\', '\n' -> {
          out.write('\\');
          out.write(c);
        }
        case '\r' -> out.writeBytes(CR);
        case 0 -> out.writeBytes(NUL);
        default -> out.write(c);
      }
    }
    out.write('"');
  }
}
