package io.distcache.server.resp;

/*
 * Design: Redis's stringmatch semantics (KEYS, SCAN MATCH, CONFIG GET), over raw bytes because keys
 * are binary. Redis recurses on '*', which is exponential for patterns like "a*a*a*a*b"; here every
 * token other than '*' matches exactly one byte, so remembering only the last '*' and retrying from
 * one byte further is enough (a later '*' can absorb anything an earlier one could), giving
 * O(pattern * subject) time and no recursion.
 *
 * That product is still large when both sides are long: a 64 KiB pattern against a 64 KiB key took
 * 4.3 s, stalling its event loop. So every match runs on a step budget. A step is one byte of the
 * pattern looked at (a [class] costs its length each time it is tried); a match may take
 * STEPS_PER_BYTE steps per byte of its subject plus BASE_STEPS. A pattern whose '*'-separated
 * pieces are shorter than STEPS_PER_BYTE bytes can never need more (each retry of the last '*'
 * walks one piece and one step more; the literal prefix and each run of '*'s are walked once), so
 * ordinary patterns never meet the budget however long their literal prefix is, while a command's matching costs at most a constant factor more than reading its
 * subjects: KEYS stays linear in the bytes of the keys. We chose a budget over a length limit
 * because a long literal pattern is cheap and honest (a key used as a SCAN MATCH); what costs is
 * retrying long pieces. A caller that can answer an error gets one naming the sizes and the budget
 * (matches); PubSubHub shares one budget among all its patterns (matches with a Budget).
 */

/** Redis glob matching: {@code * ? [abc] [^a] [a-z] \x}, with a bound on the work of one match. */
public final class GlobMatcher {
  /** Steps one match may take per byte of its subject. */
  public static final int STEPS_PER_BYTE = 64;
  /** Steps one match may take besides: a short subject still allows a pattern of a few hundred bytes. */
  public static final int BASE_STEPS = 1024;

  private GlobMatcher() {}

  /** What one match, or several sharing it, may spend; counts what they spent. */
  public static final class Budget {
    private final long limit;
    private long steps;

    public Budget(long limit) {
      this.limit = limit;
    }

    /** Steps spent so far. */
    public long steps() {
      return steps;
    }

    public long limit() {
      return limit;
    }

    /** True once a match was stopped for want of steps (its answer was then false). */
    public boolean exhausted() {
      return steps > limit;
    }
  }

  /** The steps one match against a subject of {@code subjectLength} bytes may take. */
  public static long stepsFor(int subjectLength) {
    return (long) STEPS_PER_BYTE * subjectLength + BASE_STEPS;
  }

  /**
   * True when {@code subject} matches {@code pattern} entirely, for a pattern a client sent; throws
   * CommandException naming the sizes and the limit when the match needs more than
   * {@link #stepsFor} steps.
   */
  public static boolean matches(byte[] pattern, byte[] subject) {
    Budget b = new Budget(stepsFor(subject.length));
    boolean m = matches(pattern, subject, b);
    if (b.exhausted()) {
      throw new CommandException("ERR pattern of " + pattern.length + " bytes needs more than " + b.limit()
          + " steps to match " + subject.length + " bytes, the limit (" + STEPS_PER_BYTE + " per byte matched + "
          + BASE_STEPS + "); use fewer or shorter pieces between '*'s");
    }
    return m;
  }

  /**
   * For the operator's own patterns (ACL rules), whose cost the operator chose: no budget.
   */
  public static boolean matchesTrusted(byte[] pattern, byte[] subject) {
    return matches(pattern, subject, new Budget(Long.MAX_VALUE));
  }

  /**
   * True when {@code subject} matches {@code pattern} entirely within what is left of
   * {@code budget}; false, with {@code budget.exhausted()}, when the steps ran out first.
   */
  public static boolean matches(byte[] pattern, byte[] subject, Budget budget) {
    long steps = budget.steps;
    long limit = budget.limit;
    int p = 0;
    int s = 0;
    int starP = -1;
    int starS = -1;
    try {
      while (s < subject.length) {
        if (++steps > limit) {
          return false;
        }
        if (p < pattern.length) {
          if (pattern[p] == '*') {
            while (p < pattern.length && pattern[p] == '*') {
              p++;
              steps++;
            }
            if (p == pattern.length) {
              return steps <= limit;
            }
            starP = p;
            starS = s;
            continue;
          }
          int next = matchOne(pattern, p, subject[s]);
          int end = next >= 0 ? next : ~next;
          steps += end - p - 1;
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
        steps++;
      }
      return p == pattern.length && steps <= limit;
    } finally {
      budget.steps = steps;
    }
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
   * or its bitwise complement (negative) when it does not match, so the caller can charge the bytes
   * of the token either way.
   */
  private static int matchOne(byte[] pattern, int p, byte c) {
    byte t = pattern[p];
    if (t == '?') {
      return p + 1;
    }
    if (t == '\\' && p + 1 < pattern.length) {
      return pattern[p + 1] == c ? p + 2 : ~(p + 2);
    }
    if (t != '[') {
      return t == c ? p + 1 : ~(p + 1);
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
    int after = Math.min(i + 1, pattern.length);
    return match ? after : ~after;
  }
}
