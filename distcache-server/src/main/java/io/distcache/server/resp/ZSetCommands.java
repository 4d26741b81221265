package io.distcache.server.resp;

import static io.distcache.server.resp.Args.is;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import java.util.ArrayList;
import java.util.List;

/*
 * Design: as SetCommands: arguments checked in Redis 7's order with its texts (scores parsed here,
 * sent as 8-byte doubles), one ZSETS request (docs/PROTOCOL.md, "Sorted sets"), the reply rendered
 * here; the sorted set is read and changed on its key's owner (cluster/ZSetRequests). ZRANGE and
 * its older forms (ZRANGEBYSCORE, ZREVRANGE, ...) are one parser, as in Redis, fed with the range
 * kind and direction the old names fix. Scores are RESP3 doubles where Redis answers doubles, and
 * a WITHSCORES reply is an array of [member, score] pairs in RESP3, a flat array in RESP2.
 */

/**
 * ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, Z(REV)RANK, ZRANGE, Z(REV)RANGEBYSCORE,
 * Z(REV)RANGEBYLEX, ZREVRANGE, ZREMRANGEBY(SCORE|RANK|LEX), ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZSCAN;
 * ZRANGESTORE's parsing (registered with the multi-key commands, ZSetAlgebraCommands).
 */
final class ZSetCommands {
  private ZSetCommands() {}

  static final String NOT_FLOAT_RANGE = "ERR min or max is not a float";
  static final String NOT_LEX_RANGE = "ERR min or max not valid string range item";
  static final String POSITIVE = "ERR value is out of range, must be positive";

  /** What the command name fixes of ZRANGE's options: nothing (ZRANGE) or the kind and direction. */
  private record Form(long by, boolean rev, boolean free) {}

  private static final Form ZRANGE = new Form(SortedSets.BY_RANK, false, true);

  static void register(CommandTable.Registry r) {
    r.add("zadd", -4, "write denyoom fast", 1, 1, 1, "sortedset", ZSetCommands::zadd);
    r.add("zincrby", 4, "write denyoom fast", 1, 1, 1, "sortedset", (s, a) -> {
      double delta = Args.parseDouble(a[2]);
      send(s, a[1], SortedSets.ZADD, List.of(SortedSets.encodeScore(delta), a[3]), ZSetCommands::scoreOrNull,
          SortedSets.INCR);
    });
    r.add("zrem", -3, "write fast", 1, 1, 1, "sortedset",
        (s, a) -> send(s, a[1], SortedSets.ZREM, rest(a, 2), StringCommands::firstExtra));
    r.add("zscore", 3, "readonly fast", 1, 1, 1, "sortedset",
        (s, a) -> send(s, a[1], SortedSets.ZSCORE, List.of(a[2]), ZSetCommands::scoreOrNull));
    r.add("zmscore", -3, "readonly fast", 1, 1, 1, "sortedset", (s, a) -> send(s, a[1], SortedSets.ZMSCORE, rest(a, 2),
        (f, w) -> {
          if (!StringCommands.failed(f, w)) {
            List<byte[]> scores = ListCodec.decodeValues(f.value());
            w.array(scores.size());
            for (byte[] score : scores) {
              if (score == null) {
                w.nil();
              } else {
                w.dbl(SortedSets.decodeScore(score));
              }
            }
          }
        }));
    r.add("zcard", 2, "readonly fast", 1, 1, 1, "sortedset",
        (s, a) -> send(s, a[1], SortedSets.ZCARD, List.of(), StringCommands::firstExtra));
    r.add("zcount", 4, "readonly fast", 1, 1, 1, "sortedset", (s, a) -> count(s, a, SortedSets.ZCOUNT, SortedSets.BY_SCORE));
    r.add("zlexcount", 4, "readonly fast", 1, 1, 1, "sortedset", (s, a) -> count(s, a, SortedSets.ZCOUNT, SortedSets.BY_LEX));
    r.add("zrank", -3, "readonly fast", 1, 1, 1, "sortedset", (s, a) -> zrank(s, a, false));
    r.add("zrevrank", -3, "readonly fast", 1, 1, 1, "sortedset", (s, a) -> zrank(s, a, true));
    r.add("zrange", -4, "readonly", 1, 1, 1, "sortedset", (s, a) -> zrange(s, a, ZRANGE));
    r.add("zrangebyscore", -4, "readonly", 1, 1, 1, "sortedset",
        (s, a) -> zrange(s, a, new Form(SortedSets.BY_SCORE, false, false)));
    r.add("zrevrangebyscore", -4, "readonly", 1, 1, 1, "sortedset",
        (s, a) -> zrange(s, a, new Form(SortedSets.BY_SCORE, true, false)));
    r.add("zrangebylex", -4, "readonly", 1, 1, 1, "sortedset",
        (s, a) -> zrange(s, a, new Form(SortedSets.BY_LEX, false, false)));
    r.add("zrevrangebylex", -4, "readonly", 1, 1, 1, "sortedset",
        (s, a) -> zrange(s, a, new Form(SortedSets.BY_LEX, true, false)));
    r.add("zrevrange", -4, "readonly", 1, 1, 1, "sortedset",
        (s, a) -> zrange(s, a, new Form(SortedSets.BY_RANK, true, false)));
    r.add("zremrangebyscore", 4, "write", 1, 1, 1, "sortedset",
        (s, a) -> count(s, a, SortedSets.ZREMRANGE, SortedSets.BY_SCORE));
    r.add("zremrangebyrank", 4, "write", 1, 1, 1, "sortedset",
        (s, a) -> count(s, a, SortedSets.ZREMRANGE, SortedSets.BY_RANK));
    r.add("zremrangebylex", 4, "write", 1, 1, 1, "sortedset",
        (s, a) -> count(s, a, SortedSets.ZREMRANGE, SortedSets.BY_LEX));
    r.add("zpopmin", -2, "write fast", 1, 1, 1, "sortedset", (s, a) -> zpop(s, a, false));
    r.add("zpopmax", -2, "write fast", 1, 1, 1, "sortedset", (s, a) -> zpop(s, a, true));
    r.add("zrandmember", -2, "readonly", 1, 1, 1, "sortedset", ZSetCommands::zrandmember);
    r.add("zscan", -3, "readonly", 1, 1, 1, "sortedset", ZSetCommands::zscan);
  }

  private static List<byte[]> rest(byte[][] a, int from) {
    return java.util.Arrays.asList(a).subList(from, a.length);
  }

  private static void send(RespSession s, byte[] key, long command, List<byte[]> args, RespSession.Reply reply, long... more) {
    StringCommands.sendTyped(s, Opcode.ZSETS, key, command, args, reply, more);
  }

  /** A score (RESP3 double), or nil for NOT_FOUND. */
  private static void scoreOrNull(Frame r, RespWriter w) {
    if (!StringCommands.failed(r, w)) {
      if (r.status() == Status.OK) {
        w.dbl(SortedSets.decodeScore(r.value()));
      } else {
        w.nil();
      }
    }
  }

  private static void zadd(RespSession s, byte[][] a) {
    long flags = 0;
    int i = 2;
    for (; i < a.length; i++) {
      if (is(a[i], "nx")) {
        flags |= SortedSets.NX;
      } else if (is(a[i], "xx")) {
        flags |= SortedSets.XX;
      } else if (is(a[i], "gt")) {
        flags |= SortedSets.GT;
      } else if (is(a[i], "lt")) {
        flags |= SortedSets.LT;
      } else if (is(a[i], "ch")) {
        flags |= SortedSets.CH;
      } else if (is(a[i], "incr")) {
        flags |= SortedSets.INCR;
      } else {
        break;
      }
    }
    int elements = a.length - i;
    if (elements == 0 || elements % 2 != 0) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    boolean nx = (flags & SortedSets.NX) != 0;
    boolean gt = (flags & SortedSets.GT) != 0;
    boolean lt = (flags & SortedSets.LT) != 0;
    if (nx && (flags & SortedSets.XX) != 0) {
      throw new CommandException("ERR XX and NX options at the same time are not compatible");
    }
    if (gt && nx || lt && nx || gt && lt) {
      throw new CommandException("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if ((flags & SortedSets.INCR) != 0 && elements > 2) {
      throw new CommandException("ERR INCR option supports a single increment-element pair");
    }
    List<byte[]> args = new ArrayList<>(elements);
    for (int j = i; j < a.length; j += 2) {
      args.add(SortedSets.encodeScore(Args.parseDouble(a[j]))); // every score before anything runs, as Redis
      args.add(a[j + 1]);
    }
    send(s, a[1], SortedSets.ZADD, args,
        (flags & SortedSets.INCR) != 0 ? ZSetCommands::scoreOrNull : StringCommands::firstExtra, flags);
  }

  /** A score bound: "(" for exclusive, then a float (inf and -inf too); NaN refused. */
  private static double bound(byte[] b, boolean[] exclusive) {
    boolean open = b.length > 0 && b[0] == '(';
    exclusive[0] = open;
    try {
      double d = Args.parseDouble(open ? java.util.Arrays.copyOfRange(b, 1, b.length) : b);
      if (Double.isNaN(d)) {
        throw new CommandException(NOT_FLOAT_RANGE);
      }
      return d;
    } catch (CommandException e) {
      throw new CommandException(NOT_FLOAT_RANGE);
    }
  }

  /**
   * The range extras [by, flags, lo, hi, offset, count] and value list for {@code min} and {@code
   * max} as the user gave them (already swapped to min, max for a reverse form); throws Redis's
   * error for a bad bound.
   */
  private static long[] rangeExtras(long by, boolean rev, byte[] min, byte[] max, List<byte[]> value) {
    long flags = rev ? SortedSets.REV : 0;
    if (by == SortedSets.BY_RANK) {
      return new long[] {by, flags, Args.parseLong(min), Args.parseLong(max), 0, SortedSets.NO_LIMIT};
    }
    if (by == SortedSets.BY_SCORE) {
      boolean[] open = new boolean[1];
      double lo = bound(min, open);
      flags |= open[0] ? SortedSets.EXCLUSIVE_LO : 0;
      double hi = bound(max, open);
      flags |= open[0] ? SortedSets.EXCLUSIVE_HI : 0;
      return new long[] {by, flags, Double.doubleToRawLongBits(lo), Double.doubleToRawLongBits(hi), 0,
          SortedSets.NO_LIMIT};
    }
    if (!SortedSets.isLexBound(min) || !SortedSets.isLexBound(max)) {
      throw new CommandException(NOT_LEX_RANGE);
    }
    value.add(min);
    value.add(max);
    return new long[] {by, flags, 0, 0, 0, SortedSets.NO_LIMIT};
  }

  /* ZCOUNT, ZLEXCOUNT and the ZREMRANGEBY* commands: key min max, an integer answer. */
  private static void count(RespSession s, byte[][] a, long command, long by) {
    List<byte[]> value = new ArrayList<>(2);
    long[] range = rangeExtras(by, false, a[2], a[3], value);
    send(s, a[1], command, value, StringCommands::firstExtra, range);
  }

  private static void zrange(RespSession s, byte[][] a, Form form) {
    zrange(s, a, form, null);
  }

  /** ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: ZRANGE's parser, storing. */
  static void zrangestore(RespSession s, byte[][] a) {
    zrange(s, java.util.Arrays.copyOfRange(a, 1, a.length), ZRANGE, Args.key(a[1]));
  }

  /*
   * Redis's zrangeGenericCommand: options, then the conflicts, then the range itself. With a
   * destination (ZRANGESTORE, a[0] the destination, a[1] the source) WITHSCORES is a syntax error.
   */
  private static void zrange(RespSession s, byte[][] a, Form form, byte[] destination) {
    boolean withScores = false;
    long offset = 0;
    long limit = SortedSets.NO_LIMIT;
    boolean rev = form.rev();
    boolean revGiven = false;
    long by = form.by();
    boolean byGiven = false;
    for (int j = 4; j < a.length; j++) {
      int left = a.length - j - 1;
      if (destination == null && is(a[j], "withscores")) {
        withScores = true;
      } else if (is(a[j], "limit") && left >= 2) {
        offset = Args.parseLong(a[j + 1]);
        limit = Args.parseLong(a[j + 2]);
        j += 2;
      } else if (form.free() && !revGiven && is(a[j], "rev")) {
        rev = true;
        revGiven = true;
      } else if (form.free() && !byGiven && is(a[j], "bylex")) {
        by = SortedSets.BY_LEX;
        byGiven = true;
      } else if (form.free() && !byGiven && is(a[j], "byscore")) {
        by = SortedSets.BY_SCORE;
        byGiven = true;
      } else {
        throw new CommandException(RespErrors.SYNTAX);
      }
    }
    if (limit != SortedSets.NO_LIMIT && by == SortedSets.BY_RANK) {
      throw new CommandException("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if (withScores && by == SortedSets.BY_LEX) {
      throw new CommandException("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    // A reverse range by score or lex is given max first.
    boolean swap = rev && by != SortedSets.BY_RANK;
    List<byte[]> value = new ArrayList<>(2);
    long[] range = rangeExtras(by, rev, swap ? a[3] : a[2], swap ? a[2] : a[3], value);
    range[4] = offset;
    range[5] = limit;
    if (destination != null) {
      value.add(0, Args.key(a[1]));
      send(s, destination, SortedSets.ZRANGESTORE, value, StringCommands::firstExtra, range);
      return;
    }
    boolean scores = withScores;
    send(s, a[1], SortedSets.ZRANGE, value, (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        pairs(w, ListCodec.decodeValues(r.value()), scores, true);
      }
    }, range);
  }

  /**
   * Member, score pairs: members only, or with scores, as [member, score] arrays in RESP3 when
   * {@code nested} (a flat array in RESP2).
   */
  static void pairs(RespWriter w, List<byte[]> values, boolean withScores, boolean nested) {
    int n = values.size() / 2;
    if (!withScores) {
      w.array(n);
      for (int i = 0; i < values.size(); i += 2) {
        w.bulk(values.get(i));
      }
      return;
    }
    boolean asPairs = nested && w.resp3();
    w.array(asPairs ? n : 2 * n);
    for (int i = 0; i < values.size(); i += 2) {
      if (asPairs) {
        w.array(2);
      }
      w.bulk(values.get(i));
      w.dbl(SortedSets.decodeScore(values.get(i + 1)));
    }
  }

  /* ZRANK key member [WITHSCORE] (WITHSCORE: Redis 7.2). */
  private static void zrank(RespSession s, byte[][] a, boolean rev) {
    if (a.length > 4) {
      throw new CommandException(RespErrors.wrongArity(rev ? "zrevrank" : "zrank"));
    }
    boolean withScore = a.length == 4;
    if (withScore && !is(a[3], "withscore")) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    send(s, a[1], SortedSets.ZRANK, List.of(a[2]), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      if (r.status() != Status.OK) {
        if (withScore) {
          w.nullArray();
        } else {
          w.nil();
        }
        return;
      }
      if (withScore) {
        w.array(2);
        w.integer(r.extra(0, 0));
        w.dbl(SortedSets.decodeScore(r.value()));
      } else {
        w.integer(r.extra(0, 0));
      }
    }, rev ? 1 : 0);
  }

  private static void zpop(RespSession s, byte[][] a, boolean max) {
    if (a.length > 3) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    boolean hasCount = a.length == 3;
    long count = 1;
    if (hasCount) {
      count = Args.parseLong(a[2], POSITIVE);
      if (count < 0) {
        throw new CommandException(POSITIVE);
      }
    }
    send(s, a[1], SortedSets.ZPOP, List.of(), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        // Redis: a flat array without a count; [member, score] pairs in RESP3 with one.
        pairs(w, ListCodec.decodeValues(r.value()), true, hasCount);
      }
    }, max ? 1 : 0, Math.min(count, ProtocolConstants.MAX_COLLECTION_ELEMENTS_LIMIT));
  }

  private static void zrandmember(RespSession s, byte[][] a) {
    if (a.length == 2) {
      send(s, a[1], SortedSets.ZRANDMEMBER, List.of(), StringCommands::valueOrNull, 0, 0);
      return;
    }
    if (a.length > 4 || a.length == 4 && !is(a[3], "withscores")) {
      throw new CommandException(RespErrors.SYNTAX);
    }
    long count = Args.parseLong(a[2]);
    if (count < -ProtocolConstants.MAX_RANDOM_PICK || count > ProtocolConstants.MAX_RANDOM_PICK) {
      throw new CommandException("ERR value is out of range");
    }
    boolean withScores = a.length == 4;
    send(s, a[1], SortedSets.ZRANDMEMBER, List.of(), (r, w) -> {
      if (!StringCommands.failed(r, w)) {
        pairs(w, ListCodec.decodeValues(r.value()), withScores, true);
      }
    }, 1, count);
  }

  /* Every matching member in one step with cursor 0, as SSCAN; scores as bulk strings. */
  private static void zscan(RespSession s, byte[][] a) {
    long cursor = Args.parseCursor(a[2]);
    byte[] match = Args.scanMatch(a, 3);
    boolean pastEnd = cursor != 0;
    send(s, a[1], SortedSets.ZRANGE, List.of(), (r, w) -> {
      if (StringCommands.failed(r, w)) {
        return;
      }
      List<byte[]> kept = new ArrayList<>();
      if (!pastEnd) {
        List<byte[]> values = ListCodec.decodeValues(r.value());
        for (int i = 0; i < values.size(); i += 2) {
          if (match == null || GlobMatcher.matches(match, values.get(i))) {
            kept.add(values.get(i));
            kept.add(Args.utf8(io.distcache.server.store.RedisNumbers.formatDouble(SortedSets.decodeScore(values.get(i + 1)))));
          }
        }
      }
      SetCommands.lastScanStep(w, kept);
    }, SortedSets.BY_RANK, 0, 0, -1, 0, SortedSets.NO_LIMIT);
  }
}
