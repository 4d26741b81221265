package io.distcache.server.store;

import io.distcache.protocol.SortedSets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: the ranges of a sorted set by score, by lex and by rank (ZCOUNT, ZLEXCOUNT, ZRANGE's
 * forms with LIMIT and REV, ZRANGESTORE, ZREMRANGEBY*, ZPOPMIN/MAX and ZMPOP) found by walking the
 * packed payload where the store keeps it (Store.readTyped's view), as ZRANK's walk does, instead of
 * decoding it into ScoredMembers (a Scored, an array and a map entry per member) to binary-search
 * it. The layout is CollectionCodec's, unchanged: a varint count, then per member a varint length,
 * its bytes and an 8-byte big-endian score, in ascending (score, member) order. Every range is a
 * run of consecutive elements, so a walk finds it as a Span: its ascending ranks [from, to) and
 * the byte offsets of its first element and of the element after it. Then:
 *
 *  - a count is to - from, read without copying anything;
 *  - the members of LIMIT's pick are copied by a second walk that starts at the span's first
 *    element (members()), so nothing before the range is read twice;
 *  - a removal builds the new payload in two bulk copies around the span (without()): the new
 *    count, the elements before it, the elements after it. Byte for byte what removing the ranks
 *    from the decoded set and encoding it gives.
 *
 * A walk by score reads each element's length and score (never its member) and stops at the first
 * element past the range: O(elements up to the range's end). One by rank skips to the range's end
 * by lengths. One by lex walks the whole payload, comparing members: Redis answers a lex range as
 * its listpack walk does (ScoredMembers' note before this: the range must be able to hold anything,
 * the last member at or above min and the first at or below max; forward, the first member at or
 * above min, then on while at or below max; REV, from the end, the last member at or below max, then
 * down while at or above min). For members of mixed scores those walks are not a binary search, so
 * this one reproduces them in one forward pass (the REV walk's two ends are the last element at or
 * below max and the last element before it below min).
 *
 * The payload comes only from this store and is read so that no byte outside it is read: every
 * length is checked against what is left (CollectionCodec.zsetMemberLength). Unlike the decoder, a
 * walk does not check the order of the elements nor, when it stops early, that the count matches
 * the bytes: a payload corrupted in memory is answered from, where decoding refused it (as
 * ZsetEdit's note says of the edits).
 */

/** Ranges of a packed sorted-set payload by score, lex and rank, found and removed without decoding it. */
public final class ZsetRanges {
  private ZsetRanges() {}

  /**
   * The ascending ranks [from, to) of a range in a set of {@code count} members, and where they
   * lie: {@code fromAt} is the offset of element {@code from} (the payload's end when there is
   * none), {@code toAt} that of element {@code to} (the end when {@code to} is the count).
   */
  public record Span(int count, int from, int to, int fromAt, int toAt) {
    /** The members in the range. */
    public int size() {
      return to - from;
    }
  }

  private static final Span NONE = new Span(0, 0, 0, 0, 0);

  /** A view positioned after the count, and the count. */
  private static ByteBuffer open(ByteBuffer payload, int[] count) {
    ByteBuffer b = payload.duplicate(); // big-endian, as the scores are written
    count[0] = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    return b;
  }

  /**
   * The range of scores from {@code lo} to {@code hi} (each excluded when its flag says so) of a
   * payload (null: empty): from the first score above lo (or at it) to the first after it above hi
   * (or at it, when hi is excluded). A walk reading lengths and scores, stopping there.
   */
  public static Span byScore(ByteBuffer payload, double lo, boolean exclusiveLo, double hi, boolean exclusiveHi) {
    if (payload == null) {
      return NONE;
    }
    int[] count = new int[1];
    ByteBuffer b = open(payload, count);
    int n = count[0];
    int from = -1;
    int fromAt = 0;
    int at = b.position();
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.zsetMemberLength(b);
      b.position(b.position() + len);
      double s = b.getDouble();
      if (from < 0 && (exclusiveLo ? s > lo : s >= lo)) {
        from = i;
        fromAt = at;
      }
      if (from >= 0 && (exclusiveHi ? s >= hi : s > hi)) {
        return new Span(n, from, i, fromAt, at);
      }
      at = b.position();
    }
    return from < 0 ? new Span(n, n, n, at, at) : new Span(n, from, n, fromAt, at);
  }

  /**
   * Ascending ranks [from, to) of a payload (null: empty; the caller bounds them by its count):
   * a walk skipping elements by their lengths up to {@code to}.
   */
  public static Span byRank(ByteBuffer payload, int from, int to) {
    if (payload == null) {
      return NONE;
    }
    int[] count = new int[1];
    ByteBuffer b = open(payload, count);
    int n = count[0];
    if (from < 0 || from > to || to > n) {
      throw new IllegalArgumentException("ranks " + from + ".." + to + " out of a sorted set of " + n);
    }
    int fromAt = b.position();
    for (int i = 0; i < to; i++) {
      if (i == from) {
        fromAt = b.position();
      }
      int len = CollectionCodec.zsetMemberLength(b);
      b.position(b.position() + len + Double.BYTES);
    }
    return new Span(n, from, to, from == to ? b.position() : fromAt, b.position());
  }

  /**
   * The lex range {@code min}..{@code max} (SortedSets.isLexBound syntax, checked only when the set
   * has members, as before) of a payload (null: empty), walked as Redis walks a listpack, from the
   * start or ({@code reverse}) from the end (see the design note).
   */
  public static Span byLex(ByteBuffer payload, byte[] min, byte[] max, boolean reverse) {
    if (payload == null) {
      return NONE;
    }
    int[] count = new int[1];
    ByteBuffer b = open(payload, count);
    int n = count[0];
    int elementsAt = b.position();
    Span empty = new Span(n, 0, 0, elementsAt, elementsAt);
    if (n == 0 || emptyLex(min, max)) {
      return empty;
    }
    ByteBuffer minText = ByteBuffer.wrap(min);
    ByteBuffer maxText = ByteBuffer.wrap(max);
    int from = -1; // forward: the first member at or above min; REV: after the last below min
    int fromAt = elementsAt;
    int below = -1; // REV: the last member below min so far, and the offset after it
    int belowEnd = elementsAt;
    int to = -1; // forward: the first after from above max; REV: after the last at or below max
    int toAt = 0;
    boolean firstAtMost = false;
    boolean lastAtLeast = false;
    int at = elementsAt;
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.zsetMemberLength(b);
      int memberAt = b.position();
      b.position(memberAt + len + Double.BYTES);
      int end = b.position();
      boolean last = i == n - 1;
      if (!reverse && to >= 0 && !last) {
        at = end; // the range is found: only the last member is still compared, for Redis's first test
        continue;
      }
      boolean atLeast = atLeast(b, memberAt, len, minText);
      boolean atMost = atMost(b, memberAt, len, maxText);
      if (i == 0) {
        firstAtMost = atMost;
      }
      lastAtLeast = atLeast;
      if (reverse) {
        if (!atLeast) {
          below = i;
          belowEnd = end;
        }
        if (atMost) { // the REV walk's start so far: it goes down to the last member below min before it
          from = below + 1;
          fromAt = belowEnd;
          to = i + 1;
          toAt = end;
        }
      } else if (from < 0) {
        if (atLeast) {
          from = i;
          fromAt = at;
          if (!atMost) {
            to = i;
            toAt = at;
          }
        }
      } else if (to < 0 && !atMost) {
        to = i;
        toAt = at;
      }
      at = end;
    }
    if (!firstAtMost || !lastAtLeast) {
      return empty;
    }
    if (reverse) {
      return to < 0 ? empty : new Span(n, from, to, fromAt, toAt);
    }
    if (from < 0) {
      return new Span(n, n, n, at, at);
    }
    return to < 0 ? new Span(n, from, n, fromAt, at) : new Span(n, from, to, fromAt, toAt);
  }

  /**
   * The members of ascending ranks [from, to), within {@code span}, copied by a walk starting at
   * the span's first element (LIMIT's pick of a range, in ascending order).
   */
  public static List<ScoredMembers.Scored> members(ByteBuffer payload, Span span, int from, int to) {
    List<ScoredMembers.Scored> out = new ArrayList<>(Math.max(0, to - from));
    if (from >= to) {
      return out;
    }
    if (from < span.from() || to > span.to()) {
      throw new IllegalArgumentException("ranks " + from + ".." + to + " out of the range " + span.from() + ".."
          + span.to());
    }
    ByteBuffer b = payload.duplicate();
    b.position(span.fromAt());
    for (int i = span.from(); i < to; i++) {
      int len = CollectionCodec.zsetMemberLength(b);
      if (i < from) {
        b.position(b.position() + len + Double.BYTES);
        continue;
      }
      byte[] member = new byte[len];
      b.get(member);
      out.add(new ScoredMembers.Scored(member, b.getDouble()));
    }
    return out;
  }

  /**
   * The payload without the span's elements (the span not empty), null when nothing is left: the
   * new count, then the elements before and after the span in two bulk copies.
   */
  public static byte[] without(ByteBuffer payload, Span span) {
    if (span.size() <= 0) {
      throw new IllegalArgumentException("an empty span " + span.from() + ".." + span.to() + " removes nothing");
    }
    int left = span.count() - span.size();
    if (left == 0) {
      return null;
    }
    ByteBuffer b = payload.duplicate();
    CollectionCodec.readVarint(b, b.remaining());
    int elementsAt = b.position();
    int before = span.fromAt() - elementsAt;
    int after = b.limit() - span.toAt();
    byte[] out = new byte[CollectionCodec.varintSize(left) + before + after];
    ByteBuffer o = ByteBuffer.wrap(out);
    CollectionCodec.writeVarint(o, left);
    o.put(o.position(), payload, elementsAt, before);
    o.put(o.position() + before, payload, span.toAt(), after);
    return out;
  }

  /** A range no member can be in: min above max, or equal with one end exclusive (checks both bounds). */
  private static boolean emptyLex(byte[] min, byte[] max) {
    checkLex(min);
    checkLex(max);
    int c;
    if (java.util.Arrays.equals(min, max) && min.length == 1) {
      c = 0; // "-" to "-" or "+" to "+"
    } else if (min.length == 1 && min[0] == '-' || max.length == 1 && max[0] == '+') {
      c = -1;
    } else if (min.length == 1 && min[0] == '+' || max.length == 1 && max[0] == '-') {
      c = 1;
    } else {
      c = java.util.Arrays.compareUnsigned(min, 1, min.length, max, 1, max.length);
    }
    return c > 0 || c == 0 && (min[0] == '(' || max[0] == '(');
  }

  /** Whether the member at {@code at} is at or above the lex bound {@code min} (its text wrapped). */
  private static boolean atLeast(ByteBuffer b, int at, int len, ByteBuffer min) {
    byte kind = min.get(0);
    if (min.limit() == 1 && kind != '[' && kind != '(') {
      return kind == '-';
    }
    int c = compare(b, at, len, min);
    return kind == '[' ? c >= 0 : c > 0;
  }

  /** Whether the member at {@code at} is at or below the lex bound {@code max} (its text wrapped). */
  private static boolean atMost(ByteBuffer b, int at, int len, ByteBuffer max) {
    byte kind = max.get(0);
    if (max.limit() == 1 && kind != '[' && kind != '(') {
      return kind == '+';
    }
    int c = compare(b, at, len, max);
    return kind == '[' ? c <= 0 : c < 0;
  }

  /**
   * The member's bytes against a bound's text (after its '[' or '('), unsigned, as
   * Arrays.compareUnsigned: 8 bytes a read while both have them (big-endian, so the first
   * differing byte decides), then byte by byte, then the shorter first.
   */
  static int compare(ByteBuffer b, int at, int len, ByteBuffer bound) {
    int boundLen = bound.limit() - 1;
    int n = Math.min(len, boundLen);
    int i = 0;
    for (; i + Long.BYTES <= n; i += Long.BYTES) {
      long x = b.getLong(at + i);
      long y = bound.getLong(1 + i);
      if (x != y) {
        return Long.compareUnsigned(x, y);
      }
    }
    for (; i < n; i++) {
      int c = (b.get(at + i) & 0xFF) - (bound.get(1 + i) & 0xFF);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(len, boundLen);
  }

  private static void checkLex(byte[] bound) {
    if (!SortedSets.isLexBound(bound)) {
      throw new IllegalArgumentException("min or max not valid string range item");
    }
  }
}
