package io.distcache.server.store;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;

/*
 * Design: INCRBY and INCRBYFLOAT must accept and print exactly what Redis does, because clients
 * read these values back as strings. Integers follow Redis's string2ll: optional '-', no '+', no
 * leading zeros, no spaces, at most 20 characters, 64-bit range. Floats are added in BigDecimal so
 * 10.5 + 0.1 prints "10.6" as Redis's long double arithmetic does, not 10.599999999999999.
 */
final class RedisNumbers {
  private static final int MAX_FLOAT_SCALE = 17;

  private RedisNumbers() {}

  static long parseLong(byte[] v) {
    int n = v.length;
    if (n == 0 || n > 20) {
      throw notAnInteger();
    }
    if (n == 1 && v[0] == '0') {
      return 0;
    }
    int i = 0;
    boolean negative = v[0] == '-';
    if (negative) {
      i = 1;
      if (n == 1) {
        throw notAnInteger();
      }
    }
    if (v[i] < '1' || v[i] > '9') {
      throw notAnInteger();
    }
    long acc = 0; // accumulated as a negative number so Long.MIN_VALUE fits
    for (; i < n; i++) {
      int d = v[i] - '0';
      if (d < 0 || d > 9) {
        throw notAnInteger();
      }
      if (acc < Long.MIN_VALUE / 10) {
        throw notAnInteger();
      }
      acc *= 10;
      if (acc < Long.MIN_VALUE + d) {
        throw notAnInteger();
      }
      acc -= d;
    }
    if (!negative) {
      if (acc == Long.MIN_VALUE) {
        throw notAnInteger();
      }
      return -acc;
    }
    return acc;
  }

  static long add(long current, long delta) {
    long r = current + delta;
    if (((current ^ r) & (delta ^ r)) < 0) {
      throw new StoreException(
          StoreException.Reason.OVERFLOW, "increment or decrement would overflow");
    }
    return r;
  }

  static byte[] addFloat(byte[] current, double delta) {
    if (Double.isNaN(delta) || Double.isInfinite(delta)) {
      throw new StoreException(
          StoreException.Reason.OVERFLOW, "increment would produce NaN or Infinity");
    }
    BigDecimal base = current == null ? BigDecimal.ZERO : parseDecimal(current);
    BigDecimal sum = base.add(new BigDecimal(Double.toString(delta)));
    double asDouble = sum.doubleValue();
    if (Double.isInfinite(asDouble) || Double.isNaN(asDouble)) {
      throw new StoreException(
          StoreException.Reason.OVERFLOW, "increment would produce NaN or Infinity");
    }
    if (sum.scale() > MAX_FLOAT_SCALE) {
      sum = sum.setScale(MAX_FLOAT_SCALE, RoundingMode.HALF_EVEN);
    }
    String text = sum.signum() == 0 ? "0" : sum.stripTrailingZeros().toPlainString();
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  private static BigDecimal parseDecimal(byte[] v) {
    if (v.length == 0 || v.length > 5000) {
      throw notAFloat();
    }
    for (byte b : v) {
      boolean ok = (b >= '0' && b <= '9') || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E';
      if (!ok) {
        throw notAFloat();
      }
    }
    try {
      BigDecimal d = new BigDecimal(new String(v, StandardCharsets.US_ASCII));
      if (Double.isInfinite(d.doubleValue())) {
        throw notAFloat();
      }
      return d;
    } catch (NumberFormatException e) {
      throw notAFloat();
    }
  }

  private static StoreException notAnInteger() {
    return new StoreException(
        StoreException.Reason.NOT_A_NUMBER, "value is not an integer or out of range");
  }

  private static StoreException notAFloat() {
    return new StoreException(StoreException.Reason.NOT_A_NUMBER, "value is not a valid float");
  }
}
