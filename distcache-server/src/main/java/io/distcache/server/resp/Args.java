package io.distcache.server.resp;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.store.RedisNumbers;
import io.distcache.server.store.StoreException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Parsing of command arguments with Redis's rules and error texts. */
final class Args {
  /** Redis's MAX_LONG_DOUBLE_CHARS is 5 KiB including the NUL; a longer float argument is rejected unread. */
  static final int MAX_FLOAT_CHARS = 5 * 1024 - 1;

  private Args() {}

  /** Bytes as a string, one char per byte, so any key or argument can be quoted back exactly. */
  static String latin1(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  static String lower(byte[] b) {
    return latin1(b).toLowerCase(Locale.ROOT);
  }

  static boolean is(byte[] arg, String lowerAscii) {
    if (arg.length != lowerAscii.length()) {
      return false;
    }
    for (int i = 0; i < arg.length; i++) {
      int c = arg[i];
      if (c >= 'A' && c <= 'Z') {
        c += 'a' - 'A';
      }
      if (c != lowerAscii.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A key, checked against the key limit every node enforces. */
  static byte[] key(byte[] key) {
    if (key.length > ProtocolConstants.MAX_KEY_BYTES) {
      throw new CommandException(
          "ERR key length " + key.length + " exceeds the limit " + ProtocolConstants.MAX_KEY_BYTES);
    }
    return key;
  }

  /** Redis string2ll: optional '-', digits, no '+', no blanks, no leading zeros. */
  static long parseLong(byte[] b) {
    return parseLong(b, RespErrors.NOT_INTEGER);
  }

  /** Like {@link #parseLong(byte[])} but fails with the given Redis error. */
  static long parseLong(byte[] b, String error) {
    int n = b.length;
    if (n == 0 || n > 20) {
      throw new CommandException(error);
    }
    int i = 0;
    boolean negative = b[0] == '-';
    if (negative) {
      i = 1;
      if (n == 1) {
        throw new CommandException(error);
      }
    }
    if (b[i] == '0') {
      if (n == 1) {
        return 0;
      }
      throw new CommandException(error);
    }
    // Accumulated negatively (as Long.parseLong does) so that Long.MIN_VALUE fits.
    long limit = negative ? Long.MIN_VALUE : -Long.MAX_VALUE;
    long multmin = limit / 10;
    long acc = 0;
    for (; i < n; i++) {
      int d = b[i] - '0';
      if (d < 0 || d > 9 || acc < multmin) {
        throw new CommandException(error);
      }
      acc *= 10;
      if (acc < limit + d) {
        throw new CommandException(error);
      }
      acc -= d;
    }
    return negative ? acc : -acc;
  }

  /** An int in range, else "value is not an integer or out of range". */
  static int parseInt(byte[] b) {
    long v = parseLong(b);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new CommandException(RespErrors.NOT_INTEGER);
    }
    return (int) v;
  }

  /**
   * A float as Redis's strtold accepts it for INCRBYFLOAT: decimal with optional exponent,
   * inf/infinity, or C hexadecimal ("0x10", "0x1.8p3"); no blanks, no NaN.
   */
  static double parseDouble(byte[] b) {
    // Checked before anything reads the text, so its cost is bounded by the limit.
    if (b.length == 0 || b.length > MAX_FLOAT_CHARS) {
      throw new CommandException(RespErrors.NOT_FLOAT);
    }
    int exponent = hexFloatExponentIndex(b);
    if (exponent >= 0) {
      String s = latin1(b);
      // Java wants the binary exponent that C makes optional.
      return Double.parseDouble(exponent < b.length ? s : s + "p0");
    }
    try {
      return RedisNumbers.parseDouble(b);
    } catch (StoreException e) {
      throw new CommandException(RespErrors.NOT_FLOAT);
    }
  }

  /**
   * Matches C's hexadecimal float, {@code [+-]? 0[xX] (h+ [.] h* | [.] h+) ([pP] [+-]? d+)?}, in one
   * pass (a backtracking regex was quadratic in the digits). Returns the index of the 'p', the length
   * when there is no exponent, or -1 when the text is not a hexadecimal float.
   */
  private static int hexFloatExponentIndex(byte[] b) {
    int n = b.length;
    int i = 0;
    if (i < n && (b[i] == '+' || b[i] == '-')) {
      i++;
    }
    if (i + 1 >= n || b[i] != '0' || (b[i + 1] != 'x' && b[i + 1] != 'X')) {
      return -1;
    }
    i += 2;
    int digits = 0;
    while (i < n && Character.digit(b[i], 16) >= 0) {
      i++;
      digits++;
    }
    if (i < n && b[i] == '.') {
      i++;
      while (i < n && Character.digit(b[i], 16) >= 0) {
        i++;
        digits++;
      }
    }
    if (digits == 0) {
      return -1;
    }
    if (i == n) {
      return n;
    }
    int p = i;
    if (b[i] != 'p' && b[i] != 'P') {
      return -1;
    }
    i++;
    if (i < n && (b[i] == '+' || b[i] == '-')) {
      i++;
    }
    int expStart = i;
    while (i < n && b[i] >= '0' && b[i] <= '9') {
      i++;
    }
    return i == n && i > expStart ? p : -1;
  }

  /** True when {@link #parseDouble} read the text as hexadecimal, which the store does not parse. */
  static boolean isHexFloat(byte[] b) {
    String s = latin1(b).toLowerCase(Locale.ROOT);
    return s.startsWith("0x") || s.startsWith("-0x") || s.startsWith("+0x");
  }

  /**
   * The options of SSCAN and ZSCAN from {@code from} on: MATCH's pattern (null without one); a
   * COUNT below 1 or anything else is a syntax error, and COUNT is otherwise ignored (a packed
   * collection is answered in one step).
   */
  static byte[] scanMatch(byte[][] a, int from) {
    byte[] pattern = null;
    for (int i = from; i < a.length; i++) {
      boolean hasNext = i + 1 < a.length;
      if (is(a[i], "match") && hasNext) {
        pattern = a[++i];
      } else if (is(a[i], "count") && hasNext) {
        if (parseLong(a[++i]) < 1) {
          throw new CommandException(RespErrors.SYNTAX);
        }
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    return pattern;
  }

  /** An unsigned 64-bit cursor (SCAN), else "invalid cursor". */
  static long parseCursor(byte[] b) {
    try {
      String s = latin1(b);
      if (s.isEmpty() || !Character.isDigit(s.charAt(0))) {
        throw new NumberFormatException(s);
      }
      return Long.parseUnsignedLong(s);
    } catch (NumberFormatException e) {
      throw new CommandException(RespErrors.INVALID_CURSOR);
    }
  }
}
