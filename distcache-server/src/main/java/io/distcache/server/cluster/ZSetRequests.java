package io.distcache.server.cluster;

import static io.distcache.protocol.SortedSets.decodeScore;
import static io.distcache.protocol.SortedSets.encodeScore;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.ScoredMembers;
import io.distcache.server.store.ScoredMembers.Scored;
import io.distcache.server.store.ZSetAlgebra;
import io.distcache.server.store.ZsetEdit;
import io.distcache.server.store.ZsetRanges;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/*
 * Design: the ZSETS opcode (Redis's sorted-set commands), as SetRequests does sets: a sorted set
 * is one entry of type ZSET whose payload is CollectionCodec's packed member list in (score,
 * member) order. A command holds its key's gate stripe (shared to read, exclusive to write) while
 * it decodes, computes and writes back, so it is atomic, inside a TRANSACTION too; a write keeps
 * the key's expiry and a write that removes the last member removes the key. ZSCORE, ZMSCORE,
 * ZCARD, ZRANK, ZRANDMEMBER and ZRANGE by rank read the payload where the store keeps it
 * (PackedLookup), ZCOUNT and the ranges by score and lex (ZRANGE's forms, ZRANGESTORE's source)
 * walk it to their range (ZsetRanges), ZADD, ZINCRBY and ZREM build the new payload from it
 * (ZsetEdit) and ZREMRANGE, ZPOP and ZMPOP from the copies around the removed run (ZsetRanges),
 * and put that: none of them decodes the set (docs/BENCHMARKS.md, "Large sorted sets without
 * decoding"), but for ZRANDMEMBER's large negative counts and the algebra over several keys.
 *
 * The commands over several keys (ZUNION, ZINTER, ZDIFF, ZINTERCARD, the STORE forms, ZRANGESTORE,
 * ZMPOP) name their other keys in the value (otherKeys), as SetRequests' multi-key commands do: the
 * router refuses them in a cluster with other owners unless every key shares the key's slot
 * (CROSS_SLOT, BatchKeys.sameSlotKeys), they hold every key's stripe, and the replicator ships the
 * state of every key they name. A STORE form replaces its destination whatever it held, with no
 * expiry, and deletes it for an empty result (telling the keyspace events whether it existed).
 * Every source is type-checked before anything is computed, as Redis does; the sources of the
 * algebra may be sets (their members score 1), ZRANGESTORE's and ZMPOP's must be sorted sets.
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
  /** The most bytes of sources one command over several keys may load (AlgebraSources). */
  private volatile long maxLoadBytes = AlgebraSources.DEFAULT_MAX_BYTES;

  ZSetRequests(Store store, TransactionGate gate, int maxMembers) {
    this.store = store;
    this.gate = gate;
    this.maxMembers = maxMembers;
  }

  /** The keys a request names beside its key (see the design note); empty for the one-key commands. */
  static List<byte[]> otherKeys(Frame r) {
    long command = r.extra(0, -1);
    if (command < SortedSets.ZUNION || command > SortedSets.LAST) {
      return List.of();
    }
    List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
    if (command == SortedSets.ZRANGESTORE) {
      return args.isEmpty() ? List.of() : List.of(args.get(0));
    }
    if (command == SortedSets.ZMPOP) {
      return args;
    }
    long n = r.extra(1, 0);
    if (n < 0 || n > args.size()) {
      throw new IllegalArgumentException("ZSETS command " + command + " names " + n + " other keys, but its value holds "
          + args.size() + " items");
    }
    return args.subList(0, (int) n);
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
        || command == SortedSets.ZPOP || command >= SortedSets.ZUNIONSTORE;
    long mask = (1L << TransactionGate.stripe(r.key())) | TransactionGate.mask(otherKeys(r));
    long[] stamps = lock ? gate.lockAll(mask, write) : null;
    try {
      List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
      if (command >= SortedSets.ZUNION) {
        return severalKeys(r, (int) command, args);
      }
      if (command == SortedSets.ZSCORE || command == SortedSets.ZCARD || command == SortedSets.ZMSCORE
          || command == SortedSets.ZRANK) {
        return lookUp(r, (int) command, args);
      }
      if (command == SortedSets.ZRANGE && r.extra(1, SortedSets.BY_RANK) == SortedSets.BY_RANK) {
        return rankRangeInPlace(r);
      }
      if (command == SortedSets.ZADD) {
        return zadd(r, args);
      }
      if (command == SortedSets.ZREM) {
        return zrem(r, args);
      }
      return switch ((int) command) {
        case SortedSets.ZCOUNT -> r.replyOk(store.readTyped(r.key(), ValueType.ZSET, p -> range(r, args, p, false)).size());
        case SortedSets.ZRANGE -> r.replyValue(ListCodec.encodeValues(pairs(
            store.readTyped(r.key(), ValueType.ZSET, p -> ranged(r, args, p)))));
        case SortedSets.ZREMRANGE -> apply(r.key(), store.readTyped(r.key(), ValueType.ZSET, (payload, expireAt) -> {
          ZsetRanges.Span range = range(r, args, payload, false);
          return range.size() <= 0 ? new Decided(r.replyOk(0), false, null, expireAt)
              : new Decided(r.replyOk(range.size()), true, ZsetRanges.without(payload, range), expireAt);
        }));
        case SortedSets.ZPOP -> zpop(r);
        default -> zrandmember(r);
      };
    } catch (SetRequests.WrongType e) {
      return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
    } catch (StoreException e) {
      if (e.reason() == StoreException.Reason.WRONG_TYPE) { // Store.readTyped (lookUp)
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      throw e;
    } finally {
      if (lock) {
        gate.unlockAll(mask, stamps);
      }
    }
  }

  /** ZSCORE, ZMSCORE, ZRANK and ZCARD by walking the payload (PackedLookup) instead of decoding it. */
  private Frame lookUp(Frame r, int command, List<byte[]> args) {
    if (command == SortedSets.ZRANK) {
      byte[] member = one(args, "ZRANK");
      PackedLookup.Ranked found = store.readTyped(r.key(), ValueType.ZSET, p -> PackedLookup.zsetRank(p, member));
      if (found == null) {
        return r.reply(Status.NOT_FOUND);
      }
      int rank = r.extra(1, 0) != 0 ? found.size() - 1 - found.rank() : found.rank();
      return r.replyValue(encodeScore(found.score()), rank);
    }
    if (command == SortedSets.ZCARD) {
      int n = store.readTyped(r.key(), ValueType.ZSET, PackedLookup::count);
      return r.replyOk(n);
    }
    if (command == SortedSets.ZSCORE) {
      List<byte[]> member = List.of(one(args, "ZSCORE"));
      Double score = store.readTyped(r.key(), ValueType.ZSET, p -> PackedLookup.zsetScores(p, member))[0];
      return score == null ? r.reply(Status.NOT_FOUND) : r.replyValue(encodeScore(score));
    }
    Double[] scores = store.readTyped(r.key(), ValueType.ZSET, p -> PackedLookup.zsetScores(p, args));
    List<byte[]> out = new ArrayList<>(scores.length);
    for (Double score : scores) {
      out.add(score == null ? null : encodeScore(score));
    }
    return r.replyValue(ListCodec.encodeValues(out));
  }

  private static byte[] one(List<byte[]> args, String command) {
    if (args.size() != 1) {
      throw new IllegalArgumentException(command + " needs one member, got " + args.size());
    }
    return args.get(0);
  }

  /**
   * ZRANGE by rank (ZREVRANGE too) by walking the payload to the range and copying only it
   * (PackedLookup.zsetRange), instead of decoding the set: ZREVRANGE 0 9 of 10,000 members skips
   * 9,990 by their lengths.
   */
  private Frame rankRangeInPlace(Frame r) {
    boolean rev = (r.extra(2, 0) & SortedSets.REV) != 0;
    List<Scored> members = store.readTyped(r.key(), ValueType.ZSET, p -> {
      int[] picked = picked(r, rankRange(r, p == null ? 0 : PackedLookup.count(p), rev));
      return PackedLookup.zsetRange(p, picked[0], picked[1]);
    });
    if (rev) {
      java.util.Collections.reverse(members);
    }
    return r.replyValue(ListCodec.encodeValues(pairs(members)));
  }

  /** What a write decided from the payload's view: its reply, and the payload to put (null: delete). */
  private record Decided(Frame reply, boolean write, byte[] payload, long expireAt) {}

  /** Writes what a ZsetEdit decided (outside the view's lock: the reader must not call the store). */
  private Frame apply(byte[] key, Decided d) {
    if (d.write()) {
      if (d.payload() == null) {
        store.delete(key);
      } else {
        store.putTyped(key, ValueType.ZSET, d.payload(), d.expireAt());
      }
    }
    return d.reply();
  }

  /** The new payload of an edit that changed the set (null: it is empty, the key goes). */
  private byte[] built(ZsetEdit z) {
    if (z.size() == 0) {
      return null;
    }
    store.config().checkValueLength(z.length()); // a field read of the store's settings: no lock, no store call
    return z.build();
  }

  /*
   * extras: [command, flags]; value: score, member pairs. Redis's zsetAdd, pair by pair, on a
   * ZsetEdit of the payload where it lies (the state each pair leaves is the next one's).
   */
  private Frame zadd(Frame r, List<byte[]> args) {
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
    List<byte[]> members = new ArrayList<>(scores.length);
    for (int i = 0; i < scores.length; i++) {
      members.add(args.get(2 * i + 1));
    }
    return apply(r.key(), store.readTyped(r.key(), ValueType.ZSET, (payload, expireAt) -> {
      ZsetEdit z = ZsetEdit.of(payload, members);
      return zadd(r, flags, scores, z, expireAt);
    }));
  }

  private Decided zadd(Frame r, long flags, double[] scores, ZsetEdit z, long expireAt) {
    boolean nx = (flags & SortedSets.NX) != 0;
    boolean xx = (flags & SortedSets.XX) != 0;
    boolean gt = (flags & SortedSets.GT) != 0;
    boolean lt = (flags & SortedSets.LT) != 0;
    boolean incr = (flags & SortedSets.INCR) != 0;
    int added = 0;
    int changed = 0;
    Double result = null;
    for (int i = 0; i < scores.length; i++) {
      double score = scores[i];
      Double current = z.score(i);
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
          z.put(i, score);
          changed++;
        }
      } else if (!xx) {
        if (z.size() + 1 > maxMembers) {
          throw new IllegalArgumentException("sorted set " + RandomPicks.printable(r.key()) + " would hold "
              + (z.size() + 1) + " members; the limit is " + maxMembers
              + " members per sorted set (--max-collection-elements)");
        }
        z.put(i, score);
        added++;
        result = score;
      }
    }
    boolean write = added + changed > 0;
    byte[] payload = write ? built(z) : null;
    // Extra 1, the members added or changed, tells the keyspace events whether anything changed.
    if (incr) {
      Frame reply = result == null ? r.reply(Status.NOT_FOUND)
          : r.replyValue(encodeScore(result), added + changed, added + changed);
      return new Decided(reply, write, payload, expireAt);
    }
    return new Decided(r.replyOk((flags & SortedSets.CH) != 0 ? added + changed : added, added + changed), write,
        payload, expireAt);
  }

  private Frame zrem(Frame r, List<byte[]> args) {
    return apply(r.key(), store.readTyped(r.key(), ValueType.ZSET, (payload, expireAt) -> {
      ZsetEdit z = ZsetEdit.of(payload, args);
      int removed = 0;
      for (int i = 0; i < args.size(); i++) {
        if (z.remove(i)) {
          removed++;
        }
      }
      return new Decided(r.replyOk(removed), removed > 0, removed > 0 ? built(z) : null, expireAt);
    }));
  }

  /**
   * The range a request names (extras [command, by, flags, lo, hi, offset, count]; a lex range's
   * bounds in {@code args}), before LIMIT, found by walking the payload (ZsetRanges; null: an empty
   * set). Its arguments are checked in the order they were when the set was decoded first: REV,
   * then the kind's own (a lex bound only when the set has members).
   */
  private static ZsetRanges.Span range(Frame r, List<byte[]> args, java.nio.ByteBuffer payload, boolean reverseAllowed) {
    long by = r.extra(1, SortedSets.BY_RANK);
    long flags = r.extra(2, 0);
    boolean rev = (flags & SortedSets.REV) != 0;
    if (rev && !reverseAllowed) {
      throw new IllegalArgumentException("REV applies to ZRANGE only");
    }
    if (by == SortedSets.BY_RANK) {
      int[] ranks = rankRange(r, PackedLookup.count(payload), rev);
      return ZsetRanges.byRank(payload, ranks[0], ranks[1]);
    }
    if (by == SortedSets.BY_SCORE) {
      double lo = Double.longBitsToDouble(r.extra(3, 0));
      double hi = Double.longBitsToDouble(r.extra(4, 0));
      if (Double.isNaN(lo) || Double.isNaN(hi)) {
        throw new IllegalArgumentException("min or max is not a float");
      }
      return ZsetRanges.byScore(payload, lo, (flags & SortedSets.EXCLUSIVE_LO) != 0, hi,
          (flags & SortedSets.EXCLUSIVE_HI) != 0);
    }
    if (by == SortedSets.BY_LEX) {
      if (args.size() != 2) {
        throw new IllegalArgumentException("a lex range needs two bounds, got " + args.size());
      }
      return ZsetRanges.byLex(payload, args.get(0), args.get(1), rev);
    }
    throw new IllegalArgumentException("range kind " + by + " is not 0 (rank), 1 (score) or 2 (lex)");
  }

  /* The ascending ranks [from, to) of a range by rank (extras 3 and 4: start, stop) in a set of n. */
  static int[] rankRange(Frame r, int n, boolean rev) {
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

  /*
   * The ascending ranks [from, to) that LIMIT (extras 5 and 6: offset, count) picks from a range's
   * [from, to); REV takes them from the top, to be read from to - 1 down.
   */
  static int[] picked(Frame r, int[] range) {
    boolean rev = (r.extra(2, 0) & SortedSets.REV) != 0;
    long offset = r.extra(5, 0);
    long count = r.extra(6, SortedSets.NO_LIMIT);
    int size = Math.max(0, range[1] - range[0]);
    if (offset < 0 || offset >= size) {
      return new int[] {0, 0};
    }
    long take = count < 0 ? size - offset : Math.min(count, size - offset);
    return rev ? new int[] {(int) (range[1] - offset - take), (int) (range[1] - offset)}
        : new int[] {(int) (range[0] + offset), (int) (range[0] + offset + take)};
  }

  /*
   * The members a ZRANGE or ZRANGESTORE request picks from a payload (null: empty), in the order
   * asked for, after LIMIT: only LIMIT's pick is copied.
   */
  private static List<Scored> ranged(Frame r, List<byte[]> args, java.nio.ByteBuffer payload) {
    ZsetRanges.Span range = range(r, args, payload, true);
    int[] picked = picked(r, new int[] {range.from(), range.to()});
    List<Scored> out = ZsetRanges.members(payload, range, picked[0], picked[1]);
    if ((r.extra(2, 0) & SortedSets.REV) != 0) {
      java.util.Collections.reverse(out);
    }
    return out;
  }

  static List<byte[]> pairs(List<Scored> members) {
    List<byte[]> out = new ArrayList<>(2 * members.size());
    for (Scored s : members) {
      out.add(s.member());
      out.add(encodeScore(s.score()));
    }
    return out;
  }

  /* extras: [command, 1 max / 0 min, count]. */
  private Frame zpop(Frame r) {
    List<byte[]> out = new ArrayList<>();
    int take = Math.max(0, pop(r.key(), r.extra(1, 0) != 0, r.extra(2, 1), "ZPOP", out));
    return r.replyValue(ListCodec.encodeValues(out), take);
  }

  /*
   * Pops up to count members from the lowest (or highest) scores of the sorted set at key into out
   * as pairs, the highest first for max, and writes the rest back (ZsetRanges: the popped elements
   * read where they lie, the others copied around them in bulk). Returns how many, -1 when the key
   * is absent. The count is checked after the key's type, as when the set was decoded first.
   */
  private int pop(byte[] key, boolean max, long count, String command, List<byte[]> out) {
    int[] take = {-1};
    apply(key, store.readTyped(key, ValueType.ZSET, (payload, expireAt) -> {
      if (count < 0) {
        throw new IllegalArgumentException(command + " count " + count + " is negative");
      }
      int n = PackedLookup.count(payload);
      take[0] = payload == null ? -1 : (int) Math.min(count, n);
      if (take[0] <= 0) {
        return new Decided(null, false, null, expireAt);
      }
      ZsetRanges.Span span = max ? ZsetRanges.byRank(payload, n - take[0], n) : ZsetRanges.byRank(payload, 0, take[0]);
      List<Scored> popped = ZsetRanges.members(payload, span, span.from(), span.to());
      if (max) {
        java.util.Collections.reverse(popped);
      }
      out.addAll(pairs(popped));
      return new Decided(null, true, ZsetRanges.without(payload, span), expireAt);
    }));
    return take[0];
  }

  // ---- the commands over several keys ----

  private Frame severalKeys(Frame r, int command, List<byte[]> args) {
    return switch (command) {
      case SortedSets.ZRANGESTORE -> zrangestore(r, args);
      case SortedSets.ZMPOP -> zmpop(r, args);
      default -> algebra(r, command, args);
    };
  }

  void maxLoadBytes(long bytes) {
    this.maxLoadBytes = bytes;
  }

  /** Where the sources' bytes count besides maxLoadBytes: the node's heap budgets together. */
  private volatile io.distcache.server.HeapBudgets heap = io.distcache.server.HeapBudgets.unbounded();

  void heapBudgets(io.distcache.server.HeapBudgets heap) {
    this.heap = heap;
  }

  /* A source of the algebra: a sorted set, a set (members score 1), or nothing (empty; e null). */
  private static Map<Bytes, Double> source(TypedEntry e) {
    if (e == null) {
      return Map.of();
    }
    if (e.type() == ValueType.ZSET) {
      return ZSetAlgebra.scores(ScoredMembers.decode(e.value()));
    }
    if (e.type() == ValueType.SET) {
      return ZSetAlgebra.scores(CollectionCodec.decodeSet(e.value()).keySet());
    }
    throw new SetRequests.WrongType();
  }

  /* extras: [command, n, aggregate, weighted, limit]; value: n keys, then the weights. */
  private Frame algebra(Frame r, int command, List<byte[]> args) {
    try (AlgebraSources<Map<Bytes, Double>> loads = new AlgebraSources<>(store, maxLoadBytes, heap, ZSetRequests::source)) {
      return algebra(r, command, args, loads);
    }
  }

  private Frame algebra(Frame r, int command, List<byte[]> args, AlgebraSources<Map<Bytes, Double>> loads) {
    boolean stored = command >= SortedSets.ZUNIONSTORE;
    int n = otherKeys(r).size();
    List<byte[]> keys = new ArrayList<>(n + 1);
    if (!stored) {
      keys.add(r.key());
    }
    keys.addAll(args.subList(0, n));
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("ZSETS command " + command + " needs at least one source key");
    }
    int op = stored ? command - (SortedSets.ZUNIONSTORE - SortedSets.ZUNION)
        : command == SortedSets.ZINTERCARD ? SortedSets.ZINTER : command;
    long aggregate = r.extra(2, SortedSets.AGGREGATE_SUM);
    boolean weighted = r.extra(3, 0) != 0;
    long limit = r.extra(4, 0);
    if (aggregate < SortedSets.AGGREGATE_SUM || aggregate > SortedSets.AGGREGATE_MAX) {
      throw new IllegalArgumentException("aggregate " + aggregate + " is not 0 (SUM), 1 (MIN) or 2 (MAX)");
    }
    if (op == SortedSets.ZDIFF && (weighted || aggregate != SortedSets.AGGREGATE_SUM)) {
      throw new IllegalArgumentException("ZDIFF takes no weights and no aggregate");
    }
    if (limit < 0 || limit > 0 && command != SortedSets.ZINTERCARD) {
      throw new IllegalArgumentException("limit " + limit + ": only ZINTERCARD takes one, at least 0");
    }
    int expected = n + (weighted ? keys.size() : 0);
    if (args.size() != expected) {
      throw new IllegalArgumentException("ZSETS command " + command + " with " + keys.size() + " sources"
          + (weighted ? " and their weights" : "") + " needs " + expected + " values, got " + args.size());
    }
    List<ZSetAlgebra.Source> sources = new ArrayList<>(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      double weight = weighted ? decodeScore(args.get(n + i)) : 1.0;
      if (Double.isNaN(weight)) {
        throw new IllegalArgumentException("weight value is not a float");
      }
      sources.add(new ZSetAlgebra.Source(loads.get(keys.get(i)), weight)); // every source type-checked first
    }
    List<Scored> result = switch (op) {
      case SortedSets.ZUNION -> ZSetAlgebra.union(sources, aggregate);
      case SortedSets.ZINTER -> ZSetAlgebra.inter(sources, aggregate, limit);
      default -> ZSetAlgebra.diff(sources);
    };
    if (command == SortedSets.ZINTERCARD) {
      return r.replyOk(result.size());
    }
    if (!stored) {
      return r.replyValue(ListCodec.encodeValues(pairs(result)));
    }
    return storeResult(r.key(), result, r);
  }

  /* A STORE form's last step: the destination replaced, or deleted for an empty result. */
  private Frame storeResult(byte[] destination, List<Scored> ascending, Frame r) {
    if (ascending.isEmpty()) {
      return r.replyOk(0, store.delete(destination) ? 1 : 0);
    }
    if (ascending.size() > maxMembers) {
      throw new IllegalArgumentException("sorted set " + RandomPicks.printable(destination) + " would hold "
          + ascending.size() + " members; the limit is " + maxMembers
          + " members per sorted set (--max-collection-elements)");
    }
    store.putTyped(destination, ValueType.ZSET, CollectionCodec.encodeZset(ascending), Store.NO_EXPIRY);
    return r.replyOk(ascending.size(), 0);
  }

  /* key: the destination; value: [source, lex bounds]; the range extras. */
  private Frame zrangestore(Frame r, List<byte[]> args) {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("ZRANGESTORE needs its source key in the value");
    }
    List<Scored> picked = store.readTyped(args.get(0), ValueType.ZSET, p -> ranged(r, args.subList(1, args.size()), p));
    picked.sort(ScoredMembers.ORDER);
    return storeResult(r.key(), picked, r);
  }

  /* extras: [command, 1 max / 0 min, count ≥ 1]; value: the other keys. */
  private Frame zmpop(Frame r, List<byte[]> others) {
    long count = r.extra(2, 1);
    if (count < 1) {
      throw new IllegalArgumentException("ZMPOP count " + count + " is not positive");
    }
    List<byte[]> keys = new ArrayList<>(others.size() + 1);
    keys.add(r.key());
    keys.addAll(others);
    for (byte[] key : keys) { // a wrong type only up to the first sorted set with members, as Redis
      List<byte[]> out = new ArrayList<>();
      out.add(key);
      int take = pop(key, r.extra(1, 0) != 0, count, "ZMPOP", out);
      if (take >= 0) {
        return r.replyValue(ListCodec.encodeValues(out), take);
      }
    }
    return r.reply(Status.NOT_FOUND);
  }

  /*
   * extras: [command, has count, count]. Drawn from the payload where it lies (one walk for the
   * elements' offsets, then the draws copied), as RandomPicks.pick draws from the decoded set, but
   * for a negative count past RandomPicks.DRAWS_IN_PLACE draws, which would hold the segment's read
   * lock that long: that one decodes a copy, as HRANDFIELD and SRANDMEMBER do.
   */
  private Frame zrandmember(Frame r) {
    if (r.extra(1, 0) != 0 && r.extra(2, 0) < -RandomPicks.DRAWS_IN_PLACE) {
      TypedEntry e = store.getTyped(r.key());
      if (e != null && e.type() != ValueType.ZSET) {
        throw new SetRequests.WrongType();
      }
      return zrandmember(r, ScoredMembers.decode(e == null ? null : e.value()));
    }
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    return store.readTyped(r.key(), ValueType.ZSET, p -> {
      int n = PackedLookup.count(p);
      if (r.extra(1, 0) == 0) {
        if (n == 0) {
          return r.reply(Status.NOT_FOUND);
        }
        int i = rnd.nextInt(n);
        return r.replyValue(PackedLookup.zsetRange(p, i, i + 1).get(0).member());
      }
      long count = r.extra(2, 0);
      RandomPicks.checkCount(count);
      return r.replyValue(ListCodec.encodeValues(pairs(PackedLookup.randomZsetMembers(p, count, rnd))));
    });
  }

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
    RandomPicks.checkBytes(out);
    return r.replyValue(ListCodec.encodeValues(out));
  }
}
