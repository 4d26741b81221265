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
  /*
   * The commands over several sorted sets (Redis's ZUNION, ZINTER, ZDIFF, ZINTERCARD and their
   * STORE forms) share one shape: extras [command, n, aggregate, weighted, limit]; value: n keys,
   * then, when weighted is 1, one weight per source (8-byte doubles, as scores). The key field is
   * the first source for the reads and the destination for the STORE forms; the sources are then
   * the key and the n keys (reads) or the n keys alone (STORE forms). A source may hold a sorted
   * set or a set (each member scores 1, as in Redis); any other type is WRONG_TYPE. The reads
   * answer the value list member, score, ... in ascending (score, member) order; a STORE form
   * replaces its destination (no expiry) and deletes it for an empty result, answering extras
   * [members stored, 1 when the destination existed and was deleted].
   */
  /** The union of the key and the n keys → value list of pairs. */
  public static final int ZUNION = 11;
  /** Their intersection → value list of pairs. */
  public static final int ZINTER = 12;
  /** The key's members in none of the n keys (no weights, no aggregate) → value list of pairs. */
  public static final int ZDIFF = 13;
  /** How many members the intersection has, counting up to limit (0: no limit) → extras:[count]. */
  public static final int ZINTERCARD = 14;
  /** ZUNION of the n keys into the key (the destination). */
  public static final int ZUNIONSTORE = 15;
  /** ZINTER of the n keys into the key. */
  public static final int ZINTERSTORE = 16;
  /** ZDIFF of the n keys into the key. */
  public static final int ZDIFFSTORE = 17;
  /**
   * The range extras (REV and LIMIT allowed); key: the destination; value: [source, then the two
   * lex bounds for a range by lex] → extras:[members stored, 1 when the destination existed and
   * was deleted]. The source must hold a sorted set (WRONG_TYPE otherwise, a set too, as Redis).
   */
  public static final int ZRANGESTORE = 18;
  /**
   * Pops from the first of the key and the other keys that holds members (Redis's ZMPOP; the
   * blocking pops run it too). extras:[19, 1 the highest scores / 0 the lowest, count ≥ 1]; value:
   * the other keys → value list: the key popped, then member, score, ...; extras:[members popped]
   * | NOT_FOUND (every key empty). A key of another type before the first non-empty one is
   * WRONG_TYPE; keys after it are not looked at, as in Redis.
   */
  public static final int ZMPOP = 19;
  /** The highest command code. */
  public static final int LAST = ZMPOP;

  /** The aggregate extra of ZUNION, ZINTER and their STORE forms. */
  public static final long AGGREGATE_SUM = 0;
  public static final long AGGREGATE_MIN = 1;
  public static final long AGGREGATE_MAX = 2;

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
