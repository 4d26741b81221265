package io.distcache.server.cluster;

import static io.distcache.protocol.SortedSets.decodeScore;
import static io.distcache.protocol.SortedSets.encodeScore;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.ScoredMembers;
import io.distcache.server.store.ScoredMembers.Scored;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the ZSETS opcode (Redis's sorted-set commands), as SetRequests does sets: a sorted set
 * is one entry of type ZSET whose payload is CollectionCodec's packed member list in (score,
 * member) order. A command holds its key's gate stripe (shared to read, exclusive to write) while
 * it decodes, computes and writes back, so it is atomic, inside a TRANSACTION too; a write keeps
 * the key's expiry and a write that removes the last member removes the key. Every command names
 * one key, so the router and the replicator treat ZSETS like HASH: one owner, and the entry's
 * whole new state as the replicated effect.
 *
 * Arguments are checked here too (binary clients send ZSETS directly), with Redis's texts where
 * the Redis side relies on them (NaN scores, ZADD's incompatible options).
 */

/** Runs ZSETS requests (docs/PROTOCOL.md, "Sorted sets") under the transaction gate. */
final class ZSetRequests {
  static final String NAN_RESULT = "resulting score is not a number (NaN)";
  static final String NOT_FLOAT = "value is not a valid float";
  static final String XX_AND_NX = "XX and NX options at the same time are not compatible";
  static final String GT_LT_NX = "GT, LT, and/or NX options at the same time are not compatible";
  static final String INCR_PAIRS = "INCR option supports a single increment-element pair";

  private final Store store;
  private final TransactionGate gate;
  private final int maxMembers;

  ZSetRequests(Store store, TransactionGate gate, int maxMembers) {
    this.store = store;
    this.gate = gate;
    this.maxMembers = maxMembers;
  }

  Frame run(Frame r, boolean lock) {
    if (r.extras().length == 0) {
      throw new IllegalArgumentException("ZSETS needs extra 0 (command), but the request has 0 extras");
    }
    long command = r.extras()[0];
    if (command < 0 || command > SortedSets.LAST) {
      throw new IllegalArgumentException("ZSETS command " + command + " is not one of 0.." + SortedSets.LAST);
    }
    boolean write = command == SortedSets.ZADD || command == SortedSets.ZREM || command == SortedSets.ZREMRANGE
        || command == SortedSets.ZPOP;
    long mask = 1L << TransactionGate.stripe(r.key());
    long[] stamps = lock ? gate.lockAll(mask, write) : null;
    try {
      List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
      TypedEntry e = store.getTyped(r.key());
      if (e != null && e.type() != ValueType.ZSET) {
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      ScoredMembers z = ScoredMembers.decode(e == null ? null : e.value());
      long expireAt = e == null ? Store.NO_EXPIRY : e.expireAtMillis();
      return switch ((int) command) {
        case SortedSets.ZADD -> zadd(r, args, z, expireAt);
        case SortedSets.ZREM -> zrem(r, args, z, expireAt);
        case SortedSets.ZSCORE -> {
          Double score = z.score(one(args, "ZSCORE"));
          yield score == null ? r.reply(Status.NOT_FOUND) : r.replyValue(encodeScore(score));
        }
        case SortedSets.ZMSCORE -> {
          List<byte[]> out = new ArrayList<>(args.size());
          for (byte[] member : args) {
            Double score = z.score(member);
            out.add(score == null ? null : encodeScore(score));
          }
          yield r.replyValue(ListCodec.encodeValues(out));
        }
        case SortedSets.ZCARD -> r.replyOk(z.size());
        case SortedSets.ZCOUNT -> {
          int[] range = range(r, args, z, false);
          yield r.replyOk(range[1] - range[0]);
        }
        case SortedSets.ZRANK -> {
          byte[] member = one(args, "ZRANK");
          int rank = z.rank(member);
          if (rank < 0) {
            yield r.reply(Status.NOT_FOUND);
          }
          yield r.replyValue(encodeScore(z.get(rank).score()), r.extra(1, 0) != 0 ? z.size() - 1 - rank : rank);
        }
        case SortedSets.ZRANGE -> zrange(r, args, z);
        case SortedSets.ZREMRANGE -> {
          int[] range = range(r, args, z, false);
          int removed = Math.max(0, range[1] - range[0]);
          if (removed > 0) {
            z.removeRange(range[0], range[1]);
            save(r.key(), z, expireAt);
          }
          yield r.replyOk(removed);
        }
        case SortedSets.ZPOP -> zpop(r, z, expireAt);
        default -> zrandmember(r, z);
      };
    } finally {
      if (lock) {
        gate.unlockAll(mask, stamps);
      }
    }
  }

  private static byte[] one(List<byte[]> args, String command) {
    if (args.size() != 1) {
      throw new IllegalArgumentException(command + " needs one member, got " + args.size());
    }
    return args.get(0);
  }

  private void save(byte[] key, ScoredMembers z, long expireAt) {
    if (z.size() == 0) {
      store.delete(key);
    } else {
      store.putTyped(key, ValueType.ZSET, z.encode(), expireAt);
    }
  }

  /* extras: [command, flags]; value: score, member pairs. Redis's zsetAdd, pair by pair. */
  private Frame zadd(Frame r, List<byte[]> args, ScoredMembers z, long expireAt) {
    long flags = r.extra(1, 0);
    boolean nx = (flags & SortedSets.NX) != 0;
    boolean xx = (flags & SortedSets.XX) != 0;
    boolean gt = (flags & SortedSets.GT) != 0;
    boolean lt = (flags & SortedSets.LT) != 0;
    boolean incr = (flags & SortedSets.INCR) != 0;
    if (nx && xx) {
      throw new IllegalArgumentException(XX_AND_NX);
    }
    if ((gt ? 1 : 0) + (lt ? 1 : 0) + (nx ? 1 : 0) > 1) {
      throw new IllegalArgumentException(GT_LT_NX);
    }
    if (args.isEmpty() || args.size() % 2 != 0) {
      throw new IllegalArgumentException("ZADD needs score, member pairs, got " + args.size() + " values");
    }
    if (incr && args.size() != 2) {
      throw new IllegalArgumentException(INCR_PAIRS);
    }
    double[] scores = new double[args.size() / 2];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = decodeScore(args.get(2 * i));
      if (Double.isNaN(scores[i])) {
        throw new IllegalArgumentException(NOT_FLOAT);
      }
    }
    int added = 0;
    int changed = 0;
    Double result = null;
    for (int i = 0; i < scores.length; i++) {
      byte[] member = args.get(2 * i + 1);
      double score = scores[i];
      Double current = z.score(member);
      if (current != null) {
        if (nx) {
          continue;
        }
        if (incr) {
          score += current;
          if (Double.isNaN(score)) {
            throw new IllegalArgumentException(NAN_RESULT);
          }
        }
        if (gt && score <= current || lt && score >= current) {
          continue;
        }
        result = score;
        if (score != current) { // -0.0 and 0.0 are one score, as in Redis
          z.put(member, score);
          changed++;
        }
      } else if (!xx) {
        if (z.size() + 1 > maxMembers) {
          throw new IllegalArgumentException("sorted set " + RandomPicks.printable(r.key()) + " would hold "
              + (z.size() + 1) + " members; the limit is " + maxMembers
              + " members per sorted set (--max-collection-elements)");
        }
        z.put(member, score);
        added++;
        result = score;
      }
    }
    if (added + changed > 0) {
      save(r.key(), z, expireAt);
    }
    // Extra 1, the members added or changed, tells the keyspace events whether anything changed.
    if (incr) {
      return result == null ? r.reply(Status.NOT_FOUND) : r.replyValue(encodeScore(result), added + changed, added + changed);
    }
    return r.replyOk((flags & SortedSets.CH) != 0 ? added + changed : added, added + changed);
  }

  private Frame zrem(Frame r, List<byte[]> args, ScoredMembers z, long expireAt) {
    int removed = 0;
    for (byte[] member : args) {
      if (z.remove(member)) {
        removed++;
      }
    }
    if (removed > 0) {
      save(r.key(), z, expireAt);
    }
    return r.replyOk(removed);
  }

  /**
   * The ascending ranks [from, to) a range request names (extras [command, by, flags, lo, hi,
   * offset, count]), before LIMIT; from ≥ to when nothing is in range.
   */
  private static int[] range(Frame r, List<byte[]> args, ScoredMembers z, boolean reverseAllowed) {
    long by = r.extra(1, SortedSets.BY_RANK);
    long flags = r.extra(2, 0);
    boolean rev = (flags & SortedSets.REV) != 0;
    if (rev && !reverseAllowed) {
      throw new IllegalArgumentException("REV applies to ZRANGE only");
    }
    int n = z.size();
    if (by == SortedSets.BY_RANK) {
      long start = r.extra(3, 0);
      long stop = r.extra(4, -1);
      start = start < 0 ? start + n : start;
      stop = stop < 0 ? stop + n : stop;
      start = Math.max(0, start);
      if (start > stop || start >= n) {
        return new int[] {0, 0};
      }
      stop = Math.min(stop, n - 1);
      // REV counts ranks from the highest score.
      return rev ? new int[] {(int) (n - 1 - stop), (int) (n - start)} : new int[] {(int) start, (int) stop + 1};
    }
    if (by == SortedSets.BY_SCORE) {
      double lo = Double.longBitsToDouble(r.extra(3, 0));
      double hi = Double.longBitsToDouble(r.extra(4, 0));
      if (Double.isNaN(lo) || Double.isNaN(hi)) {
        throw new IllegalArgumentException("min or max is not a float");
      }
      int from = z.firstFrom(lo, (flags & SortedSets.EXCLUSIVE_LO) != 0);
      int to = z.firstFrom(hi, (flags & SortedSets.EXCLUSIVE_HI) == 0);
      return new int[] {from, Math.max(from, to)};
    }
    if (by == SortedSets.BY_LEX) {
      if (args.size() != 2) {
        throw new IllegalArgumentException("a lex range needs two bounds, got " + args.size());
      }
      return z.lexRange(args.get(0), args.get(1), rev);
    }
    throw new IllegalArgumentException("range kind " + by + " is not 0 (rank), 1 (score) or 2 (lex)");
  }

  /* The range, in the order asked for, after LIMIT: member, score pairs. */
  private static Frame zrange(Frame r, List<byte[]> args, ScoredMembers z) {
    int[] range = range(r, args, z, true);
    boolean rev = (r.extra(2, 0) & SortedSets.REV) != 0;
    long offset = r.extra(5, 0);
    long count = r.extra(6, SortedSets.NO_LIMIT);
    List<byte[]> out = new ArrayList<>();
    int size = Math.max(0, range[1] - range[0]);
    if (offset >= 0 && offset < size) {
      long take = count < 0 ? size - offset : Math.min(count, size - offset);
      for (long i = offset; i < offset + take; i++) {
        Scored s = z.get(rev ? (int) (range[1] - 1 - i) : (int) (range[0] + i));
        out.add(s.member());
        out.add(encodeScore(s.score()));
      }
    }
    return r.replyValue(ListCodec.encodeValues(out));
  }

  /* extras: [command, 1 max / 0 min, count]. */
  private Frame zpop(Frame r, ScoredMembers z, long expireAt) {
    boolean max = r.extra(1, 0) != 0;
    long count = r.extra(2, 1);
    if (count < 0) {
      throw new IllegalArgumentException("ZPOP count " + count + " is negative");
    }
    int take = (int) Math.min(count, z.size());
    List<byte[]> out = new ArrayList<>(2 * take);
    for (int i = 0; i < take; i++) {
      Scored s = z.get(max ? z.size() - 1 - i : i);
      out.add(s.member());
      out.add(encodeScore(s.score()));
    }
    if (take > 0) {
      if (max) {
        z.removeRange(z.size() - take, z.size());
      } else {
        z.removeRange(0, take);
      }
      save(r.key(), z, expireAt);
    }
    return r.replyValue(ListCodec.encodeValues(out), take);
  }

  /* extras: [command, has count, count]. */
  private static Frame zrandmember(Frame r, ScoredMembers z) {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    if (r.extra(1, 0) == 0) {
      return z.size() == 0 ? r.reply(Status.NOT_FOUND) : r.replyValue(z.get(rnd.nextInt(z.size())).member());
    }
    List<Scored> picked = RandomPicks.pick(z.slice(0, z.size()), r.extra(2, 0), rnd);
    List<byte[]> out = new ArrayList<>(2 * picked.size());
    for (Scored s : picked) {
      out.add(s.member());
      out.add(encodeScore(s.score()));
    }
    return r.replyValue(ListCodec.encodeValues(out));
  }
}
