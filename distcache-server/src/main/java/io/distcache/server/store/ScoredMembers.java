package io.distcache.server.store;

import io.distcache.protocol.SortedSets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;

/*
 * Design: a sorted set while one command works on it: the members in ascending (score, member)
 * order in an array list, as CollectionCodec stores them, plus a map from member to score for
 * the lookups by member. Ties are ordered by the members' bytes compared unsigned (Redis's
 * memcmp), and scores compare with < and > so -0.0 and 0.0 are one score, as in Redis.
 *
 * Every change is a binary search and an array insert or remove: O(n) per write, like the
 * decode and encode around it, which is why a sorted set has the per-collection member limit
 * (--max-collection-elements) that hashes and sets have. Redis's skiplist (O(log n) per write
 * for large sets) is not built here; a structure for large collections is separate work.
 *
 * Ranges by lex walk the list as Redis walks a listpack: if the range can hold anything (the last
 * member at or above the lower bound, the first at or below the upper one), the first member at
 * or above the lower bound, then on while members stay at or below the upper one (from the end
 * for REV). For a set
 * whose members all have one score, which is what Redis documents these commands for, that is
 * the lexicographic range; for mixed scores it answers what Redis's listpack answers.
 */

/** A sorted set decoded for one command: ordered members and their scores. */
public final class ScoredMembers {
  /** One member and its score. */
  public record Scored(byte[] member, double score) {}

  /** Ascending by score, then by member bytes (unsigned). */
  public static final Comparator<Scored> ORDER = (a, b) -> compare(a.score(), a.member(), b.score(), b.member());

  private final ArrayList<Scored> sorted;
  private final HashMap<CollectionCodec.Bytes, Double> scores;

  private ScoredMembers(ArrayList<Scored> sorted) {
    this.sorted = sorted;
    this.scores = new HashMap<>(Math.max(16, sorted.size() * 4 / 3 + 1));
    for (Scored s : sorted) {
      scores.put(new CollectionCodec.Bytes(s.member()), s.score());
    }
  }

  /** The set a payload holds (null: empty). */
  public static ScoredMembers decode(byte[] payload) {
    return new ScoredMembers(CollectionCodec.decodeZset(payload));
  }

  public byte[] encode() {
    return CollectionCodec.encodeZset(sorted);
  }

  public int size() {
    return sorted.size();
  }

  /** The member at ascending rank {@code i}. */
  public Scored get(int i) {
    return sorted.get(i);
  }

  /** Members {@code from} (inclusive) to {@code to} (exclusive) in ascending order; a view. */
  public List<Scored> slice(int from, int to) {
    return sorted.subList(from, to);
  }

  /** The member's score, or null when it is not a member. */
  public Double score(byte[] member) {
    return scores.get(new CollectionCodec.Bytes(member));
  }

  /** Sets the member's score; true when it was not a member. */
  public boolean put(byte[] member, double score) {
    if (Double.isNaN(score)) {
      throw new IllegalArgumentException("a score cannot be NaN");
    }
    Double old = scores.put(new CollectionCodec.Bytes(member), score);
    if (old != null) {
      sorted.remove(indexOf(old, member));
    }
    int at = search(score, member);
    sorted.add(-at - 1, new Scored(member, score));
    return old == null;
  }

  /** Removes the member; true when it was one. */
  public boolean remove(byte[] member) {
    Double old = scores.remove(new CollectionCodec.Bytes(member));
    if (old == null) {
      return false;
    }
    sorted.remove(indexOf(old, member));
    return true;
  }

  /** Removes ascending ranks {@code from} (inclusive) to {@code to} (exclusive). */
  public void removeRange(int from, int to) {
    List<Scored> range = sorted.subList(from, to);
    for (Scored s : range) {
      scores.remove(new CollectionCodec.Bytes(s.member()));
    }
    range.clear();
  }

  /** The member's ascending rank, or -1 when it is not a member. */
  public int rank(byte[] member) {
    Double score = score(member);
    return score == null ? -1 : indexOf(score, member);
  }

  /** The first ascending rank whose score is above {@code bound} (or at it, when not exclusive). */
  public int firstFrom(double bound, boolean exclusive) {
    int lo = 0;
    int hi = sorted.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      double s = sorted.get(mid).score();
      if (exclusive ? s > bound : s >= bound) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /**
   * The ascending ranks [from, to) of the lex range {@code min}..{@code max} (SortedSets.isLexBound
   * syntax), walked as Redis walks a listpack, from the start or (reverse) from the end.
   */
  public int[] lexRange(byte[] min, byte[] max, boolean reverse) {
    int n = sorted.size();
    // Redis first tests that the range can hold anything: min not above max, the last member at
    // or above min and the first at or below max; the walks below start only then.
    if (n == 0 || emptyLex(min, max) || !atLeast(sorted.get(n - 1).member(), min)
        || !atMost(sorted.get(0).member(), max)) {
      return new int[] {0, 0};
    }
    if (!reverse) {
      int from = 0;
      while (from < n && !atLeast(sorted.get(from).member(), min)) {
        from++;
      }
      int to = from;
      while (to < n && atMost(sorted.get(to).member(), max)) {
        to++;
      }
      return new int[] {from, to};
    }
    int last = n - 1;
    while (last >= 0 && !atMost(sorted.get(last).member(), max)) {
      last--;
    }
    int first = last;
    while (first >= 0 && atLeast(sorted.get(first).member(), min)) {
      first--;
    }
    return new int[] {first + 1, last + 1};
  }

  /** A range no member can be in: min above max, or equal with one end exclusive. */
  private static boolean emptyLex(byte[] min, byte[] max) {
    checkLex(min);
    checkLex(max);
    int c;
    if (Arrays.equals(min, max) && min.length == 1) {
      c = 0; // "-" to "-" or "+" to "+"
    } else if (min.length == 1 && min[0] == '-' || max.length == 1 && max[0] == '+') {
      c = -1;
    } else if (min.length == 1 && min[0] == '+' || max.length == 1 && max[0] == '-') {
      c = 1;
    } else {
      c = Arrays.compareUnsigned(min, 1, min.length, max, 1, max.length);
    }
    return c > 0 || c == 0 && (min[0] == '(' || max[0] == '(');
  }

  /** True when {@code member} is at or above the lex bound {@code min}. */
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

  /** True when {@code member} is at or below the lex bound {@code max}. */
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

  private int indexOf(double score, byte[] member) {
    int at = search(score, member);
    if (at < 0) {
      throw new IllegalStateException("sorted set index out of step with its order");
    }
    return at;
  }

  /** Collections.binarySearch's contract over the order, without building a probe object. */
  private int search(double score, byte[] member) {
    int lo = 0;
    int hi = sorted.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      Scored m = sorted.get(mid);
      int c = compare(m.score(), m.member(), score, member);
      if (c < 0) {
        lo = mid + 1;
      } else if (c > 0) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -(lo + 1);
  }

  static int compare(double s1, byte[] m1, double s2, byte[] m2) {
    if (s1 < s2) {
      return -1;
    }
    if (s1 > s2) {
      return 1;
    }
    return Arrays.compareUnsigned(m1, m2);
  }
}
