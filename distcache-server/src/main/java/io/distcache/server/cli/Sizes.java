package io.distcache.server.cli;

import java.util.Locale;

/*
 * Design: sizes follow Redis's configuration syntax because the people running this node already
 * know it: "k", "m", "g" are powers of 1000 and "kb", "mb", "gb" powers of 1024, case-insensitive,
 * and a plain number is bytes. Every rejection names the bad text, so a typo in a flag is found
 * from the error alone.
 */

/** Parses and prints byte sizes such as {@code 512mb}, {@code 4gb}, {@code 1g}, {@code 100kb}. */
final class Sizes {
  private Sizes() {}

  private static final String[] UNITS = {"kb", "mb", "gb", "tb", "k", "m", "g", "t", "b"};
  private static final long[] FACTORS = {
    1L << 10, 1L << 20, 1L << 30, 1L << 40, 1_000L, 1_000_000L, 1_000_000_000L, 1_000_000_000_000L, 1L
  };

  /**
   * The number of bytes {@code text} names.
   *
   * @throws IllegalArgumentException naming the text when it is not a size or does not fit in 63 bits
   */
  static long parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty size: expected a number of bytes with an optional unit, e.g. 512mb");
    }
    String s = text.trim().toLowerCase(Locale.ROOT);
    long factor = 1;
    String digits = s;
    for (int i = 0; i < UNITS.length; i++) {
      if (s.endsWith(UNITS[i])) {
        factor = FACTORS[i];
        digits = s.substring(0, s.length() - UNITS[i].length());
        break;
      }
    }
    if (digits.isEmpty() || !digits.chars().allMatch(c -> c >= '0' && c <= '9') || digits.length() > 19) {
      throw new IllegalArgumentException(
          "invalid size '" + text + "': expected a number of bytes with an optional unit"
              + " b, k, kb, m, mb, g, gb, t, tb (e.g. 512mb, 4gb, 1g, 100kb)");
    }
    long n;
    try {
      n = Long.parseLong(digits);
      return Math.multiplyExact(n, factor);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("size '" + text + "' is too large: the limit is " + Long.MAX_VALUE + " bytes");
    }
  }

  /** A size that must fit in an int, e.g. a frame or value limit. */
  static int parseInt(String text) {
    long n = parse(text);
    if (n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "size '" + text + "' (" + n + " bytes) exceeds the limit " + Integer.MAX_VALUE + " bytes");
    }
    return (int) n;
  }

  /** A short human form in binary units, e.g. {@code 1.5 GiB}; exact bytes below 1 KiB. */
  static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return (v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.1f", v)) + " " + units[u];
  }
}
