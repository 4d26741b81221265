package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Random sorted sets, scores, lex bounds and lent payloads for the differential tests of the walks. */
public final class RandomZsets {
  private RandomZsets() {}

  /** Scores with ties, both zeros, the infinities and the extremes. */
  public static final double[] SCORES = {Double.NEGATIVE_INFINITY, -Double.MAX_VALUE, -2, -1.5, -0.0, 0.0, Double.MIN_VALUE,
      0.5, 1, 2, 3, Double.MAX_VALUE, Double.POSITIVE_INFINITY};
  /** Member stems: a shared 8+ byte prefix (the 8-byte compare), a high byte, a zero byte, the empty member. */
  private static final String[] STEMS = {"", "a", "ab", "b", "\u00ff", "\u0000", "mmmmmmmmmm", "mmmmmmmmmmmmmmmmx",
      "mmmmmmmm\u00ff"};

  /** A random sorted set: few or many members (a count and member lengths past one varint byte sometimes). */
  public static ScoredMembers randomSet(Random rnd) {
    ScoredMembers z = ScoredMembers.decode(null);
    int n = rnd.nextInt(10) == 0 ? 130 + rnd.nextInt(70) : rnd.nextInt(25);
    boolean oneScore = rnd.nextInt(4) == 0; // what Redis documents lex ranges for
    while (z.size() < n) {
      z.put(randomMember(rnd), oneScore ? 0.0 : randomScore(rnd));
    }
    return z;
  }

  public static byte[] randomMember(Random rnd) {
    StringBuilder m = new StringBuilder(STEMS[rnd.nextInt(STEMS.length)]);
    for (int i = rnd.nextInt(4); i > 0; i--) {
      m.append("ab\u00ff\u0000z".charAt(rnd.nextInt(5)));
    }
    if (rnd.nextInt(40) == 0) {
      m.append("L".repeat(130));
    }
    return m.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  public static double randomScore(Random rnd) {
    return rnd.nextInt(4) == 0 ? rnd.nextInt(7) - 3 : SCORES[rnd.nextInt(SCORES.length)];
  }

  /** A lex bound: mostly valid ("-", "+", "[" or "(" and a member-like text), sometimes not. */
  public static byte[] randomLexBound(Random rnd, ScoredMembers z) {
    int kind = rnd.nextInt(20);
    if (kind == 0) {
      return "-".getBytes();
    }
    if (kind == 1) {
      return "+".getBytes();
    }
    if (kind == 2) {
      return rnd.nextBoolean() ? new byte[0] : "x".getBytes();
    }
    byte[] text = z.size() > 0 && rnd.nextBoolean() ? z.get(rnd.nextInt(z.size())).member() : randomMember(rnd);
    byte[] bound = new byte[text.length + 1];
    bound[0] = (byte) (rnd.nextBoolean() ? '[' : '(');
    System.arraycopy(text, 0, bound, 1, text.length);
    return bound;
  }

  /** The payload as the store lends it (null for an empty set, as for an absent key). */
  public static ByteBuffer lent(byte[] payload) {
    if (payload == null) {
      return null;
    }
    ByteBuffer around = ByteBuffer.allocateDirect(payload.length + 12);
    around.put(new byte[] {9, 9, 9, 9, 9}).put(payload).put(new byte[] {7, 7, 7, 7, 7, 7, 7});
    return around.slice(5, payload.length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }
}
