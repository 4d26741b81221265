package io.distcache.server.resp;

/*
 * Design: Redis's stringmatch semantics (KEYS, SCAN MATCH, CONFIG GET), over raw bytes because keys
 * are binary. Redis recurses on '*', which is exponential for patterns like "a*a*a*a*b"; here every
 * token other than '*' matches exactly one byte, so remembering only the last '*' and retrying from
 * one byte further is enough (a later '*' can absorb anything an earlier one could), giving
 * O(pattern * subject) time and no recursion.
 */

/** Redis glob matching: {@code * ? [abc] [^a] [a-z] \x}. */
public final class GlobMatcher {
  private GlobMatcher() {}

  /** True when {@code subject} matches {@code pattern} entirely. */
  public static boolean matches(byte[] pattern, byte[] subject) {
    int p = 0;
    int s = 0;
    int starP = -1;
    int starS = -1;
    while (s < subject.length) {
      if (p < pattern.length) {
        if (pattern[p] == '*') {
          while (p < pattern.length && pattern[p] == '*') {
            p++;
          }
          if (p == pattern.length) {
            return true;
          }
          starP = p;
          starS = s;
          continue;
        }
        int next = matchOne(pattern, p, subject[s]);
        if (next >= 0) {
          p = next;
          s++;
          continue;
        }
      }
      if (starP < 0) {
        return false;
      }
      p = starP;
      s = ++starS;
    }
    while (p < pattern.length && pattern[p] == '*') {
      p++;
    }
    return p == pattern.length;
  }

  /** True when the pattern has no special characters, so it can only match itself. */
  public static boolean isLiteral(byte[] pattern) {
    for (byte b : pattern) {
      if (b == '*' || b == '?' || b == '[' || b == '\\') {
        return false;
      }
    }
    return true;
  }

  /**
   * Matches the single-byte token at {@code p} against {@code c}; returns the index after the token,
   * or -1 when it does not match.
   */
  private static int matchOne(byte[] pattern, int p, byte c) {
    byte t = pattern[p];
    if (t == '?') {
      return p + 1;
    }
    if (t == '\\' && p + 1 < pattern.length) {
      return pattern[p + 1] == c ? p + 2 : -1;
    }
    if (t != '[') {
      return t == c ? p + 1 : -1;
    }
    int i = p + 1;
    boolean negate = i < pattern.length && pattern[i] == '^';
    if (negate) {
      i++;
    }
    boolean match = false;
    int ch = c & 0xFF;
    while (true) {
      if (i >= pattern.length) {
        // Unterminated class: Redis treats the end of the pattern as its end.
        break;
      }
      if (pattern[i] == '\\' && i + 1 < pattern.length) {
        i++;
        if (pattern[i] == c) {
          match = true;
        }
      } else if (pattern[i] == ']') {
        break;
      } else if (i + 2 < pattern.length && pattern[i + 1] == '-') {
        int start = pattern[i] & 0xFF;
        int end = pattern[i + 2] & 0xFF;
        if (start > end) {
          int tmp = start;
          start = end;
          end = tmp;
        }
        if (ch >= start && ch <= end) {
          match = true;
        }
        i += 2;
      } else if (pattern[i] == c) {
        match = true;
      }
      i++;
    }
    if (negate) {
      match = !match;
    }
    return match ? Math.min(i + 1, pattern.length) : -1;
  }
}
