package io.distcache.server.resp;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/*
 * Design: one conversion of C's printf as glibc on x86-64 performs it, for the texts Redis's Lua
 * makes of numbers: Lua 5.1's tostring and concatenation ("%.14g"), Redis's redis.call arguments
 * ("%.17g"), cjson ("%.14g") and string.format (LuaStringFormat parses its format and calls here).
 *
 * Exactness: a double's binary value is a finite decimal, so new BigDecimal(d) holds it exactly,
 * and rounding that to the digits asked for with HALF_EVEN is what glibc prints in the default
 * rounding mode (a tie only happens when the exact value is one; "%.0f" of 2.5 is "2", of 3.5 "4",
 * "%.2f" of 1.005 is "1.00" because 1.005 is stored as 1.00499999...). "%f" of 1e300 prints all
 * 301 digits, as glibc does.
 *
 * Bounds: the caller bounds width and precision (Lua 5.1 allows two digits each, so at most 99),
 * so one conversion is at most a few hundred characters: a double's integer part has at most 309
 * digits, plus 99 decimals, a sign and the padding.
 *
 * Casts: string.format converts the Lua number (a double) the way Lua 5.1's C code does, and what
 * C leaves undefined is what gcc's x86-64 code gives: (long) of NaN or of a value out of range is
 * 0x8000000000000000 (cvttsd2si), (unsigned long) of a value from 2^63 up is taken from d - 2^63
 * with the top bit flipped, and (int) for %c of an out-of-range value is 0x80000000.
 */

/** C printf conversions (glibc, x86-64) for doubles and 64-bit integers. */
final class CPrintf {
  private CPrintf() {}

  /** A parsed conversion: the flags "-+ #0", the width and precision (-1: none), the letter. */
  record Spec(boolean left, boolean plus, boolean space, boolean alt, boolean zero, int width, int precision, char conv) {
    static Spec plain(char conv, int precision) {
      return new Spec(false, false, false, false, false, -1, precision, conv);
    }
  }

  private static final double TWO_63 = 9.223372036854775808E18;

  /** printf("%.{precision}g", d): "%.14g" is Lua 5.1's number text, "%.17g" Redis's for command arguments. */
  static String g(double d, int precision) {
    if (d == Math.rint(d) && Math.abs(d) < 1e14 && (d != 0 || 1 / d > 0)) {
      return Long.toString((long) d); // an integer of at most 14 digits prints as itself in %.14g and %.17g
    }
    return format(Spec.plain('g', precision), d);
  }

  /** C's (long) d, as x86-64 computes it: NaN and values out of range give Long.MIN_VALUE. */
  static long toLong(double d) {
    return d >= -TWO_63 && d < TWO_63 ? (long) d : Long.MIN_VALUE;
  }

  /** C's (unsigned long) d as gcc's x86-64 code computes it, as the 64 bits of a long. */
  static long toUnsignedLong(double d) {
    return d >= TWO_63 ? toLong(d - TWO_63) ^ Long.MIN_VALUE : toLong(d);
  }

  /** C's (int) d on x86-64: NaN and values out of range give Integer.MIN_VALUE. */
  static int toInt(double d) {
    return d > -2147483649.0 && d < 2147483648.0 ? (int) d : Integer.MIN_VALUE;
  }

  /** A floating conversion (e, E, f, g, G) of {@code d}. */
  static String format(Spec s, double d) {
    boolean upper = Character.isUpperCase(s.conv());
    boolean negative = (Double.doubleToRawLongBits(d) & Long.MIN_VALUE) != 0;
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      String body = Double.isNaN(d) ? "nan" : "inf";
      return pad(s, sign(s, negative), upper ? body.toUpperCase(java.util.Locale.ROOT) : body, false);
    }
    int precision = s.precision() < 0 ? 6 : s.precision();
    BigDecimal abs = new BigDecimal(Math.abs(d));
    String body = switch (Character.toLowerCase(s.conv())) {
      case 'f' -> fixed(abs, precision, s.alt());
      case 'e' -> exponent(abs, precision, s.alt(), upper);
      case 'g' -> general(abs, precision, s.alt(), upper);
      default -> throw new IllegalArgumentException("not a floating conversion: " + s.conv());
    };
    return pad(s, sign(s, negative), body, true);
  }

  /** A signed integer conversion (d, i) of {@code v}. */
  static String formatSigned(Spec s, long v) {
    String digits = v < 0 ? Long.toUnsignedString(-v) : Long.toString(v);
    return pad(s, sign(s, v < 0), precise(digits, v == 0, s.precision()), s.precision() < 0);
  }

  /** An unsigned integer conversion (o, u, x, X) of the 64 bits of {@code v}. */
  static String formatUnsigned(Spec s, long v) {
    String digits = switch (s.conv()) {
      case 'o' -> Long.toOctalString(v);
      case 'x' -> Long.toHexString(v);
      case 'X' -> Long.toHexString(v).toUpperCase(java.util.Locale.ROOT);
      default -> Long.toUnsignedString(v);
    };
    digits = precise(digits, v == 0, s.precision());
    String prefix = "";
    if (s.alt()) {
      if (s.conv() == 'o' && !digits.startsWith("0")) {
        digits = "0" + digits;
      } else if (v != 0 && (s.conv() == 'x' || s.conv() == 'X')) {
        prefix = s.conv() == 'x' ? "0x" : "0X";
      }
    }
    return pad(s, prefix, digits, s.precision() < 0);
  }

  /** Pads {@code body} with spaces to the spec's width (%s and %c), left-justified with '-'. */
  static byte[] pad(Spec s, byte[] body) {
    if (s.width() <= body.length) {
      return body;
    }
    byte[] out = new byte[s.width()];
    java.util.Arrays.fill(out, (byte) ' ');
    System.arraycopy(body, 0, out, s.left() ? 0 : s.width() - body.length, body.length);
    return out;
  }

  private static String sign(Spec s, boolean negative) {
    return negative ? "-" : s.plus() ? "+" : s.space() ? " " : "";
  }

  /** An integer's digits with the precision's minimum count: precision 0 prints 0 as nothing. */
  private static String precise(String digits, boolean zero, int precision) {
    if (precision == 0 && zero) {
      return "";
    }
    return digits.length() < precision ? "0".repeat(precision - digits.length()) + digits : digits;
  }

  /** Width padding: zeros after the sign or prefix when asked and allowed, else spaces before or after. */
  private static String pad(Spec s, String prefix, String body, boolean zeroAllowed) {
    int fill = s.width() - prefix.length() - body.length();
    if (fill <= 0) {
      return prefix + body;
    }
    if (s.left()) {
      return prefix + body + " ".repeat(fill);
    }
    if (s.zero() && zeroAllowed) {
      return prefix + "0".repeat(fill) + body;
    }
    return " ".repeat(fill) + prefix + body;
  }

  private static String fixed(BigDecimal abs, int precision, boolean alt) {
    String text = abs.setScale(precision, RoundingMode.HALF_EVEN).toPlainString();
    return precision == 0 && alt ? text + "." : text;
  }

  private static String exponent(BigDecimal abs, int precision, boolean alt, boolean upper) {
    int exp = 0;
    String digits = "0";
    if (abs.signum() != 0) {
      BigDecimal r = abs.round(new MathContext(precision + 1, RoundingMode.HALF_EVEN));
      exp = r.precision() - r.scale() - 1;
      digits = r.unscaledValue().toString();
    }
    StringBuilder sb = new StringBuilder(precision + 8);
    sb.append(digits.charAt(0));
    if (precision > 0 || alt) {
      sb.append('.');
    }
    for (int i = 1; i <= precision; i++) {
      sb.append(i < digits.length() ? digits.charAt(i) : '0');
    }
    sb.append(upper ? 'E' : 'e').append(exp < 0 ? '-' : '+');
    int e = Math.abs(exp);
    if (e < 10) {
      sb.append('0');
    }
    return sb.append(e).toString();
  }

  /** %g: %e or %f by the exponent the value has once rounded to P digits, trailing zeros dropped unless '#'. */
  private static String general(BigDecimal abs, int precision, boolean alt, boolean upper) {
    int p = precision == 0 ? 1 : precision;
    int exp = 0;
    if (abs.signum() != 0) {
      BigDecimal r = abs.round(new MathContext(p, RoundingMode.HALF_EVEN));
      exp = r.precision() - r.scale() - 1;
    }
    String text;
    if (exp < -4 || exp >= p) {
      text = exponent(abs, p - 1, alt, upper);
      if (!alt) {
        int e = text.indexOf(upper ? 'E' : 'e');
        text = stripZeros(text.substring(0, e)) + text.substring(e);
      }
    } else {
      text = fixed(abs, p - 1 - exp, alt);
      if (!alt) {
        text = stripZeros(text);
      }
    }
    return text;
  }

  private static String stripZeros(String number) {
    if (number.indexOf('.') < 0) {
      return number;
    }
    int end = number.length();
    while (number.charAt(end - 1) == '0') {
      end--;
    }
    if (number.charAt(end - 1) == '.') {
      end--;
    }
    return number.substring(0, end);
  }
}
