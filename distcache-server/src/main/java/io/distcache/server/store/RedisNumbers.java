package io.distcache.server.store;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;

/*
 * Design: Redis clients depend on exactly which texts count as numbers and on the exact text
 * INCRBYFLOAT stores, so every Store implementation, the executor and the RESP handler parse and
 * format through this one class and cannot drift apart.
 *
 * Integers follow Redis' string2ll: an optional '-', then "0" alone or a digit 1-9 followed by
 * digits, fitting in 64 bits. No '+', no spaces, no leading zeros, no "-0": only the text that
 * Long.toString would give back is a number, so a stored counter always round-trips.
 *
 * Floats follow Redis' string2ld (strtold plus checks): optional sign, decimal digits with an
 * optional point and exponent, or "inf"/"infinity"; never NaN, no leading or trailing spaces, at
 * most 5119 characters. A finite text beyond double's range is not a number (strtold's ERANGE).
 * Hexadecimal floats, which strtold also reads, are not accepted.
 *
 * INCRBYFLOAT: Redis adds in C long double (about 19 significant digits) and prints with "%.17Lf"
 * minus trailing zeros, so 10.5 + 0.1 gives "10.6", not the binary double's 10.600000000000001.
 * We get the same texts by adding exactly in decimal (the stored text plus the delta's shortest
 * decimal form) and rounding to 17 significant digits and at most 17 decimals; plain notation,
 * never an exponent, "-0" printed as "0".
 */

/** Redis' rules for numbers stored as text: parsing integers and floats, INCRBYFLOAT's arithmetic. */
public final class RedisNumbers {
  /** Redis' message for a value or argument that is not a 64-bit integer. */
  public static final String NOT_AN_INTEGER = "value is not an integer or out of range";
  /** Redis' message for a value or argument that is not a float. */
  public static final String NOT_A_FLOAT = "value is not a valid float";
  /** Redis' message when INCRBY's result does not fit in 64 bits. */
  public static final String INTEGER_OVERFLOW = "increment or decrement would overflow";
  /** Redis' message when INCRBYFLOAT's result is not finite. */
  public static final String FLOAT_OVERFLOW = "increment would produce NaN or Infinity";

  /** Redis' LONG_STR_SIZE: "-9223372036854775808" is 20 characters. */
  private static final int MAX_INTEGER_CHARS = 20;
  /** Redis' MAX_LONG_DOUBLE_CHARS is 5 KiB including the terminating NUL. */
  private static final int MAX_FLOAT_CHARS = 5 * 1024 - 1;
  private static final int MAX_DECIMALS = 17;
  private static final MathContext SEVENTEEN_DIGITS = new MathContext(17, RoundingMode.HALF_EVEN);

  private RedisNumbers() {}

  /**
   * Parses a canonical decimal 64-bit integer.
   *
   * @throws StoreException NOT_A_NUMBER when the text is not one
   */
  public static long parseLong(byte[] text) {
    int len = text.length;
    if (len == 0 || len > MAX_INTEGER_CHARS) {
      throw notAnInteger();
    }
    if (len == 1 && text[0] == '0') {
      return 0;
    }
    boolean negative = text[0] == '-';
    int i = negative ? 1 : 0;
    if (i == len || text[i] < '1' || text[i] > '9') {
      throw notAnInteger();
    }
    // Accumulate as a negative number: its range holds Long.MIN_VALUE, the positive range does not.
    long acc = 0;
    for (; i < len; i++) {
      int digit = text[i] - '0';
      if (digit < 0 || digit > 9 || acc < Long.MIN_VALUE / 10) {
        throw notAnInteger();
      }
      acc *= 10;
      if (acc < Long.MIN_VALUE + digit) {
        throw notAnInteger();
      }
      acc -= digit;
    }
    if (negative) {
      return acc;
    }
    if (acc == Long.MIN_VALUE) {
      throw notAnInteger();
    }
    return -acc;
  }

  /** The stored text of an integer. */
  public static byte[] formatLong(long value) {
    return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * A double as Redis 7.2+ writes a score (ZSCORE, WITHSCORES, a RESP3 double): the shortest
   * decimal that reads back as the same double, laid out as C's %.17g lays it out (plain from
   * 1e-4 up to below 1e17, else d.ddde+XX with at least two exponent digits), "inf", "-inf",
   * "nan", and "0" for either zero. Redis 7.0 printed 17 significant digits (0.10000000000000001).
   */
  public static String formatDouble(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    if (d == 0) {
      return "0";
    }
    BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = exact.unscaledValue().toString();
    int exponent = digits.length() - 1 - exact.scale();
    String sign = d < 0 ? "-" : "";
    if (exponent >= -4 && exponent < 17) {
      return sign + exact.toPlainString();
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    int e = Math.abs(exponent);
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + e;
  }

  /**
   * Parses a float argument (for example INCRBYFLOAT's increment). May return an infinity ("inf").
   *
   * @throws StoreException NOT_A_NUMBER when the text is not a float
   */
  public static double parseDouble(byte[] text) {
    String s = checkedFloatText(text);
    if (isInfinity(s)) {
      return s.charAt(0) == '-' ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    double d = Double.parseDouble(s);
    if (Double.isInfinite(d)) {
      throw notAFloat();
    }
    return d;
  }

  /**
   * INCRBYFLOAT: {@code current} (null when absent, counting as 0) plus {@code delta}, as the text
   * to store and return.
   *
   * @throws StoreException NOT_A_NUMBER when current is not a float; OVERFLOW when the result
   *     would be NaN or infinite
   */
  public static byte[] addFloat(byte[] current, double delta) {
    if (Double.isNaN(delta) || Double.isInfinite(delta)) {
      throw new StoreException(StoreException.Reason.OVERFLOW, FLOAT_OVERFLOW);
    }
    BigDecimal base = current == null ? BigDecimal.ZERO : parseDecimal(current);
    // The delta's shortest decimal form (0.1, not 0.1000000000000000055...) is what the user typed.
    BigDecimal sum = base.add(BigDecimal.valueOf(delta), SEVENTEEN_DIGITS);
    if (Double.isInfinite(sum.doubleValue())) {
      throw new StoreException(StoreException.Reason.OVERFLOW, FLOAT_OVERFLOW);
    }
    // Below 1e-18 the value rounds to 0 at 17 decimals; deciding it here also keeps setScale from
    // dividing by a power of ten as large as a hostile exponent such as 1e-999999999.
    if (sum.precision() - sum.scale() <= -MAX_DECIMALS - 1) {
      return new byte[] {'0'};
    }
    if (sum.scale() > MAX_DECIMALS) {
      sum = sum.setScale(MAX_DECIMALS, RoundingMode.HALF_EVEN);
    }
    String text = sum.signum() == 0 ? "0" : sum.stripTrailingZeros().toPlainString();
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** A stored float as an exact decimal; an infinite value can only overflow. */
  private static BigDecimal parseDecimal(byte[] text) {
    String s = checkedFloatText(text);
    if (isInfinity(s)) {
      throw new StoreException(StoreException.Reason.OVERFLOW, FLOAT_OVERFLOW);
    }
    BigDecimal d;
    try {
      d = new BigDecimal(s);
    } catch (NumberFormatException e) {
      // Only an exponent beyond the int range gets here: strtold's ERANGE.
      throw notAFloat();
    }
    if (Double.isInfinite(d.doubleValue())) {
      throw notAFloat();
    }
    return d;
  }

  /** The text when it matches the float grammar (finite decimal or infinity), else NOT_A_NUMBER. */
  private static String checkedFloatText(byte[] text) {
    if (text.length == 0 || text.length > MAX_FLOAT_CHARS) {
      throw notAFloat();
    }
    String s = new String(text, StandardCharsets.ISO_8859_1);
    if (!isInfinity(s) && !isDecimal(s)) {
      throw notAFloat();
    }
    return s;
  }

  private static boolean isInfinity(String s) {
    String unsigned = s.charAt(0) == '-' || s.charAt(0) == '+' ? s.substring(1) : s;
    return unsigned.equalsIgnoreCase("inf") || unsigned.equalsIgnoreCase("infinity");
  }

  /** [+-]? (digits ['.' digits?] | '.' digits) ([eE] [+-]? digits)? */
  private static boolean isDecimal(String s) {
    int i = 0;
    int n = s.length();
    if (s.charAt(i) == '+' || s.charAt(i) == '-') {
      i++;
    }
    int intStart = i;
    while (i < n && isDigit(s.charAt(i))) {
      i++;
    }
    int intDigits = i - intStart;
    int fracDigits = 0;
    if (i < n && s.charAt(i) == '.') {
      i++;
      int fracStart = i;
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
      fracDigits = i - fracStart;
    }
    if (intDigits + fracDigits == 0) {
      return false;
    }
    if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
      i++;
      if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
        i++;
      }
      int expStart = i;
      while (i < n && isDigit(s.charAt(i))) {
        i++;
      }
      if (i == expStart) {
        return false;
      }
    }
    return i == n;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static StoreException notAnInteger() {
    return new StoreException(StoreException.Reason.NOT_A_NUMBER, NOT_AN_INTEGER);
  }

  private static StoreException notAFloat() {
    return new StoreException(StoreException.Reason.NOT_A_NUMBER, NOT_A_FLOAT);
  }
}
