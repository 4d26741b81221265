package io.distcache.server.store;

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
 * The ranges by score, lex and rank are found on the payload itself (ZsetRanges), not here.
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

  /** The member's ascending rank, or -1 when it is not a member. */
  public int rank(byte[] member) {
    Double score = score(member);
    return score == null ? -1 : indexOf(score, member);
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
