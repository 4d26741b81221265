package io.distcache.server.store;

import io.distcache.protocol.SortedSets;
import io.distcache.server.store.ScoredMembers.Scored;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ranges as ScoredMembers answered them on the decoded set before ZsetRanges walked the
 * payload (ScoredMembers.firstFrom, lexRange and removeRange, as they were at 3eafb401): the
 * reference the differential tests hold the walks to.
 */
public final class DecodedZsetRanges {
  private DecodedZsetRanges() {}

  /** The first ascending rank whose score is above {@code bound} (or at it, when not exclusive): a binary search. */
  public static int firstFrom(ScoredMembers z, double bound, boolean exclusive) {
    int lo = 0;
    int hi = z.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      double s = z.get(mid).score();
      if (exclusive ? s > bound : s >= bound) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** The ascending ranks [from, to) of the lex range, walked as Redis walks a listpack. */
  public static int[] lexRange(ScoredMembers z, byte[] min, byte[] max, boolean reverse) {
    int n = z.size();
    if (n == 0 || emptyLex(min, max) || !atLeast(z.get(n - 1).member(), min) || !atMost(z.get(0).member(), max)) {
      return new int[] {0, 0};
    }
    if (!reverse) {
      int from = 0;
      while (from < n && !atLeast(z.get(from).member(), min)) {
        from++;
      }
      int to = from;
      while (to < n && atMost(z.get(to).member(), max)) {
        to++;
      }
      return new int[] {from, to};
    }
    int last = n - 1;
    while (last >= 0 && !atMost(z.get(last).member(), max)) {
      last--;
    }
    int first = last;
    while (first >= 0 && atLeast(z.get(first).member(), min)) {
      first--;
    }
    return new int[] {first + 1, last + 1};
  }

  /** The payload of the set without ranks [from, to): removed from the decoded list, encoded; null when empty. */
  public static byte[] without(ScoredMembers z, int from, int to) {
    List<Scored> rest = new ArrayList<>(z.slice(0, from));
    rest.addAll(z.slice(to, z.size()));
    return rest.isEmpty() ? null : CollectionCodec.encodeZset(rest);
  }

  private static boolean emptyLex(byte[] min, byte[] max) {
    checkLex(min);
    checkLex(max);
    int c;
    if (Arrays.equals(min, max) && min.length == 1) {
      c = 0;
    } else if (min.length == 1 && min[0] == '-' || max.length == 1 && max[0] == '+') {
      c = -1;
    } else if (min.length == 1 && min[0] == '+' || max.length == 1 && max[0] == '-') {
      c = 1;
    } else {
      c = Arrays.compareUnsigned(min, 1, min.length, max, 1, max.length);
    }
    return c > 0 || c == 0 && (min[0] == '(' || max[0] == '(');
  }

  private static boolean atLeast(byte[] member, byte[] min) {
    checkLex(min);
    if (min.length == 1 && min[0] == '-') {
      return true;
    }
    if (min.length == 1 && min[0] == '+') {
      return false;
    }
    int c = Arrays.compareUnsigned(member, 0, member.length, min, 1, min.length);
    return min[0] == '[' ? c >= 0 : c > 0;
  }

  private static boolean atMost(byte[] member, byte[] max) {
    checkLex(max);
    if (max.length == 1 && max[0] == '+') {
      return true;
    }
    if (max.length == 1 && max[0] == '-') {
      return false;
    }
    int c = Arrays.compareUnsigned(member, 0, member.length, max, 1, max.length);
    return max[0] == '[' ? c <= 0 : c < 0;
  }

  private static void checkLex(byte[] bound) {
    if (!SortedSets.isLexBound(bound)) {
      throw new IllegalArgumentException("min or max not valid string range item");
    }
  }
}
