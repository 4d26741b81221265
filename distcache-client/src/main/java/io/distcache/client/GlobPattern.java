package io.distcache.client;

import java.nio.charset.StandardCharsets;

/*
 * Design: Redis's MATCH patterns (glob-style: * any run of bytes, ? one byte, [abc] / [^abc] /
 * [a-z] a class, \x the byte x), matched on bytes as Redis does. The binary protocol's SCAN has no
 * pattern, so the client filters each step's keys itself; Redis also applies MATCH to the keys a
 * step has already collected, so the results are the same (a step may return no keys), at the
 * price of the unmatched keys crossing the network.
 *
 * Matching backtracks only to the last '*', which makes it O(pattern x key) at worst rather than
 * exponential: a later star can always absorb what an earlier one would.
 */
final class GlobPattern {
  private final byte[] pattern;

  private GlobPattern(byte[] pattern) {
    this.pattern = pattern;
  }

  static GlobPattern of(String pattern) {
    return new GlobPattern(pattern.getBytes(StandardCharsets.UTF_8));
  }

  /** True when the pattern is "*", which matches every key. */
  boolean matchesEverything() {
    return pattern.length == 1 && pattern[0] == '*';
  }

  boolean matches(byte[] key) {
    int p = 0;
    int k = 0;
    int starP = -1;
    int starK = -1;
    while (k < key.length) {
      if (p < pattern.length) {
        byte c = pattern[p];
        if (c == '*') {
          starP = ++p;
          starK = k;
          continue;
        }
        int next = matchOne(p, key[k]);
        if (next >= 0) {
          p = next;
          k++;
          continue;
        }
      }
      if (starP < 0) {
        return false;
      }
      p = starP;
      k = ++starK;
    }
    while (p < pattern.length && pattern[p] == '*') {
      p++;
    }
    return p == pattern.length;
  }

  /** The pattern position after matching {@code b} at {@code p}, or -1 when it does not match. */
  private int matchOne(int p, byte b) {
    byte c = pattern[p];
    if (c == '?') {
      return p + 1;
    }
    if (c == '\\' && p + 1 < pattern.length) {
      return pattern[p + 1] == b ? p + 2 : -1;
    }
    if (c == '[') {
      return matchClass(p + 1, b);
    }
    return c == b ? p + 1 : -1;
  }

  /** A class starting after '[': the position after its ']' when {@code b} is in it, else -1. */
  private int matchClass(int p, byte b) {
    boolean negate = p < pattern.length && pattern[p] == '^';
    if (negate) {
      p++;
    }
    boolean found = false;
    int ub = b & 0xFF;
    while (p < pattern.length && pattern[p] != ']') {
      if (pattern[p] == '\\' && p + 1 < pattern.length) {
        found |= pattern[p + 1] == b;
        p += 2;
      } else if (p + 2 < pattern.length && pattern[p + 1] == '-' && pattern[p + 2] != ']') {
        int lo = pattern[p] & 0xFF;
        int hi = pattern[p + 2] & 0xFF;
        if (lo > hi) {
          int t = lo;
          lo = hi;
          hi = t;
        }
        found |= ub >= lo && ub <= hi;
        p += 3;
      } else {
        found |= pattern[p] == b;
        p++;
      }
    }
    // An unclosed class ends at the pattern's end, as in Redis.
    int after = p < pattern.length ? p + 1 : p;
    return found != negate ? after : -1;
  }
}
