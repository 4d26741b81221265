package io.distcache.server.resp;

import org.luaj.vm2.LuaDouble;
import org.luaj.vm2.LuaInteger;
import org.luaj.vm2.LuaString;
import org.luaj.vm2.LuaValue;

/*
 * Design: numbers and their texts as Redis's Lua 5.1 has them, where LuaJ 3.0.1 differs. LuaJ
 * prints a non-integral double through Java's float (single precision: 1/3 gives "0.33333334",
 * 1e100 "Infinity"), an integral one out of int range as a long (2^63 gives
 * "9223372036854775807"); Lua 5.1 prints every number with "%.14g" (LUAI_NUMFFORMAT), and Redis
 * passes numbers to commands with "%.17g". LuaDouble cannot be changed or subclassed, so the
 * engine calls text() wherever Lua 5.1 turns a number into a string: tostring, "..", the string
 * library's arguments, table.concat, string.format, the redis library.
 *
 * Text to number (tonumber) is Lua 5.1's luaO_str2d, which is C's strtod: leading and trailing
 * white space, a sign, decimal or hexadecimal ("0x10", "0x1p4"), "inf", "infinity" and "nan" in
 * any case; anything else left over makes it not a number. LuaJ refuses "inf" and "0x1p4" and
 * throws ArrayIndexOutOfBoundsException on "1e".
 *
 * NaN's sign: glibc prints a NaN with its sign bit set as "-nan", and x86's invalid operations
 * (0/0, inf-inf, sqrt(-1)) produce that one, so Redis prints tostring(0/0) as "-nan" and
 * tostring(-(0/0)) as "nan". Java's arithmetic produces the same bits, but LuaJ answers x/0 from a
 * constant, LuaDouble.NAN, that holds Java's canonical NaN with the sign bit clear. Its value is
 * set once, at class initialization, to the NaN x86 would have produced, so that 0/0 and what is
 * computed from it print as in Redis (and cmsgpack packs them as Redis does).
 */

/** Lua 5.1's number texts and number parsing. */
final class LuaNumbers {
  private LuaNumbers() {}

  /** The NaN x86 produces for an invalid operation: sign bit set, quiet. */
  static final double X86_NAN = Double.longBitsToDouble(0xfff8000000000000L);

  static {
    try {
      java.lang.reflect.Field v = LuaDouble.class.getDeclaredField("v");
      v.setAccessible(true);
      v.setDouble(LuaDouble.NAN, X86_NAN);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // LuaJ changed: 0/0 then prints "nan" where Redis prints "-nan"; nothing else depends on it
    }
  }

  /** Makes sure the class (and so the NaN above) is initialized before a script runs. */
  static void init() {}

  /** Lua 5.1's text of a number: "%.14g". */
  static String text(LuaValue number) {
    if (number instanceof LuaInteger) {
      return number.tojstring();
    }
    return CPrintf.g(number.todouble(), 14);
  }

  /** The text Redis's redis.call gives a number argument: "%.17g". */
  static String argument(LuaValue number) {
    if (number instanceof LuaInteger) {
      return number.tojstring();
    }
    return CPrintf.g(number.todouble(), 17);
  }

  /** A string or a number as a Lua string (a number as its "%.14g" text); anything else unchanged. */
  static LuaValue asString(LuaValue v) {
    return v.type() == LuaValue.TNUMBER ? LuaString.valueOf(text(v)) : v;
  }

  /** The text of an error value or a log argument: numbers as "%.14g", strings as themselves, others by tojstring. */
  static String display(LuaValue v) {
    return v.type() == LuaValue.TNUMBER ? text(v) : v.tojstring();
  }

  /**
   * What C's (long long) of a Lua number gives on x86-64, as Redis converts a script's number
   * reply: the value truncated, Long.MIN_VALUE for NaN and anything out of range.
   */
  static long reply(LuaValue number) {
    return CPrintf.toLong(number.todouble());
  }

  /** Lua 5.1's conversion of a string to a number (strtod), or null when it is not one. */
  static Double parse(LuaString s) {
    byte[] b = LuaEngine.bytes(s);
    int end = b.length;
    for (int i = 0; i < b.length; i++) {
      if (b[i] == 0) {
        end = i; // C reads the string up to its first NUL
        break;
      }
    }
    int i = 0;
    while (i < end && space(b[i])) {
      i++;
    }
    int start = i;
    boolean negative = false;
    if (i < end && (b[i] == '+' || b[i] == '-')) {
      negative = b[i] == '-';
      i++;
    }
    double value;
    int stop;
    if (word(b, i, end, "infinity")) {
      value = Double.POSITIVE_INFINITY;
      stop = i + 8;
    } else if (word(b, i, end, "inf")) {
      value = Double.POSITIVE_INFINITY;
      stop = i + 3;
    } else if (word(b, i, end, "nan")) {
      value = Double.longBitsToDouble(0x7ff8000000000000L); // strtod's "nan" is positive, "-nan" negative
      stop = i + 3;
      if (stop < end && b[stop] == '(') {
        int close = stop + 1;
        while (close < end && (Character.isLetterOrDigit(b[close]) || b[close] == '_')) {
          close++;
        }
        if (close < end && b[close] == ')') {
          stop = close + 1;
        }
      }
    } else if (i + 1 < end && b[i] == '0' && (b[i + 1] == 'x' || b[i + 1] == 'X') && hexDigits(b, i + 2, end) > i + 2) {
      stop = hexDigits(b, i + 2, end);
      value = hex(b, i + 2, stop);
      if (Double.isNaN(value)) {
        return null;
      }
    } else {
      stop = decimal(b, i, end);
      if (stop == i) {
        return null;
      }
      value = Double.parseDouble(new String(b, i, stop - i, java.nio.charset.StandardCharsets.US_ASCII));
    }
    if (stop == start) {
      return null;
    }
    while (stop < end && space(b[stop])) {
      stop++;
    }
    if (stop != end) {
      return null;
    }
    return negative ? -value : value;
  }

  private static boolean space(byte c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
  }

  private static boolean word(byte[] b, int at, int end, String w) {
    if (end - at < w.length()) {
      return false;
    }
    for (int k = 0; k < w.length(); k++) {
      if (Character.toLowerCase((char) b[at + k]) != w.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** The end of a decimal number's text at {@code at} (digits, a point, an exponent with digits), or {@code at}. */
  private static int decimal(byte[] b, int at, int end) {
    return significand(b, at, end, 10, 'e');
  }

  /** The end of a hexadecimal significand (digits, a point, digits) and its binary exponent at {@code at}. */
  private static int hexDigits(byte[] b, int at, int end) {
    return significand(b, at, end, 16, 'p');
  }

  /**
   * The end of digits of {@code radix} with at most one point among them (at least one digit),
   * then an optional exponent ({@code exp} or its upper case, a sign, decimal digits), or
   * {@code at} when there is no digit. An exponent without digits is not part of the number.
   */
  private static int significand(byte[] b, int at, int end, int radix, char exp) {
    int i = at;
    int digits = 0;
    boolean point = false;
    while (i < end && (Character.digit(b[i], radix) >= 0 || (b[i] == '.' && !point))) {
      point |= b[i] == '.';
      digits += b[i] == '.' ? 0 : 1;
      i++;
    }
    if (digits == 0) {
      return at;
    }
    if (i < end && Character.toLowerCase(b[i]) == exp) {
      int e = i + 1;
      if (e < end && (b[e] == '+' || b[e] == '-')) {
        e++;
      }
      if (e < end && b[e] >= '0' && b[e] <= '9') {
        while (e < end && b[e] >= '0' && b[e] <= '9') {
          e++;
        }
        i = e;
      }
    }
    return i;
  }

  private static double hex(byte[] b, int from, int to) {
    String text = new String(b, from, to - from, java.nio.charset.StandardCharsets.US_ASCII);
    if (text.indexOf('p') < 0 && text.indexOf('P') < 0) {
      text += "p0";
    }
    try {
      return Double.parseDouble("0x" + text);
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }
}
