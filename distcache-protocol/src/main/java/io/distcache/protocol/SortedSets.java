package io.distcache.protocol;

import java.nio.ByteBuffer;

/*
 * Design: the wire facts of the ZSETS opcode (Redis's sorted-set commands), defined once for the
 * node that builds a request (the Redis side, a binary client) and the owner that runs it. Scores
 * travel as 8-byte big-endian IEEE 754 doubles, never as text: the Redis side parses the text
 * with Redis's rules and errors, and the owner formats nothing, so no score is rounded twice.
 *
 * The three ways of choosing members, by rank, by score and by lex, share one shape of extras so
 * ZRANGE, ZCOUNT and the ZREMRANGEBY* commands are one code path each: [command, by, flags, lo,
 * hi, offset, count]. By rank lo and hi are Redis's start and stop (negative from the end, of the
 * order REV chooses); by score they are the bits of the two doubles, lo the smaller, with
 * EXCLUSIVE_LO / EXCLUSIVE_HI for "(" bounds; by lex they are unused and the value list holds the
 * two bounds in Redis's own syntax ("-", "+", "[member", "(member"), the smaller first.
 */

/** ZSETS commands, flags and the score encoding. See docs/PROTOCOL.md, "Sorted sets". */
public final class SortedSets {
  private SortedSets() {}

  /**
   * extras:[0, flags ({@link #NX} ... {@link #INCR})]; value: score, member, score, member... →
   * extras:[members added (changed too with CH)] | with INCR: value:[the new score] | NOT_FOUND (the
   * condition kept the member unchanged).
   */
  public static final int ZADD = 0;
  /** value: members → extras:[members removed]. */
  public static final int ZREM = 1;
  /** value: [member] → value:[score] | NOT_FOUND. */
  public static final int ZSCORE = 2;
  /** value: members → value list of scores, missing where absent. */
  public static final int ZMSCORE = 3;
  /** → extras:[members]. */
  public static final int ZCARD = 4;
  /** The range extras (by score or lex) → extras:[members in range]; ZCOUNT and ZLEXCOUNT. */
  public static final int ZCOUNT = 5;
  /** value: [member]; extras:[6, 1 for ZREVRANK] → extras:[rank] value:[score] | NOT_FOUND. */
  public static final int ZRANK = 6;
  /** The range extras → value list: member, score, member, score... in the order asked for. */
  public static final int ZRANGE = 7;
  /** The range extras (no REV, no LIMIT) → extras:[members removed]. */
  public static final int ZREMRANGE = 8;
  /** extras:[9, 1 for the highest scores (ZPOPMAX) else 0, count ≥ 0] → value list of pairs. */
  public static final int ZPOP = 9;
  /**
   * extras:[10, has count, count] → no count: value:[a member] | NOT_FOUND; a count: value list of
   * pairs (count ≥ 0 distinct members, at most all; negative: |count| members that may repeat).
   */
  public static final int ZRANDMEMBER = 10;
  /** The highest command code. */
  public static final int LAST = ZRANDMEMBER;

  /** ZADD flags. */
  public static final long NX = 1;
  public static final long XX = 2;
  public static final long GT = 4;
  public static final long LT = 8;
  public static final long CH = 16;
  public static final long INCR = 32;

  /** The range's "by" extra. */
  public static final long BY_RANK = 0;
  public static final long BY_SCORE = 1;
  public static final long BY_LEX = 2;

  /** Range flags: the reverse order, and "(" bounds of a score range. */
  public static final long REV = 1;
  public static final long EXCLUSIVE_LO = 2;
  public static final long EXCLUSIVE_HI = 4;

  /** The count extra of a range without LIMIT: every member. */
  public static final long NO_LIMIT = -1;

  /**
   * True for a lex bound in Redis's syntax: "-" (below every member), "+" (above every member),
   * "[member" (inclusive) or "(member" (exclusive).
   */
  public static boolean isLexBound(byte[] b) {
    if (b == null || b.length == 0) {
      return false;
    }
    return b.length == 1 && (b[0] == '-' || b[0] == '+') || b[0] == '[' || b[0] == '(';
  }

  /** A score on the wire. */
  public static byte[] encodeScore(double score) {
    return ByteBuffer.allocate(Double.BYTES).putDouble(score).array();
  }

  /** A score from the wire; throws IllegalArgumentException for anything but 8 bytes. */
  public static double decodeScore(byte[] bytes) {
    if (bytes == null || bytes.length != Double.BYTES) {
      throw new IllegalArgumentException("a score is 8 bytes, got " + (bytes == null ? "none" : bytes.length));
    }
    return ByteBuffer.wrap(bytes).getDouble();
  }
}
