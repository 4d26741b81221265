package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.DecodedZsetRanges;
import io.distcache.server.store.ScoredMembers;
import io.distcache.server.store.ScoredMembers.Scored;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import io.distcache.server.store.TypedEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * ZSetRequests' range commands as they were before they walked the payload (3eafb401): the set
 * decoded from a copy (getTyped), ranged on ScoredMembers (DecodedZsetRanges), changed and encoded
 * whole. ZCOUNT, ZRANGE (every kind, REV, LIMIT), ZREMRANGE, ZPOP, ZMPOP and ZRANGESTORE; the
 * reference ZSetRangeRequestsTest holds the walks to, reply and resulting state. LIMIT's pick, the
 * rank arithmetic and the reply's pairs are ZSetRequests' own (unchanged by the walks).
 */
final class DecodedZSetRanges {
  private final Store store;

  DecodedZSetRanges(Store store) {
    this.store = store;
  }

  Frame run(Frame r) {
    long command = r.extra(0, -1);
    List<byte[]> args = r.value().length == 0 ? List.of() : ListCodec.decodeValues(r.value());
    try {
      if (command == SortedSets.ZRANGESTORE) {
        ScoredMembers z = sortedSet(args.get(0));
        List<Scored> picked = new ArrayList<>(ranged(r, args.subList(1, args.size()), z));
        picked.sort(ScoredMembers.ORDER);
        if (picked.isEmpty()) {
          return r.replyOk(0, store.delete(r.key()) ? 1 : 0);
        }
        store.putTyped(r.key(), ValueType.ZSET, CollectionCodec.encodeZset(picked), Store.NO_EXPIRY);
        return r.replyOk(picked.size(), 0);
      }
      if (command == SortedSets.ZMPOP) {
        return zmpop(r, args);
      }
      TypedEntry e = store.getTyped(r.key());
      if (e != null && e.type() != ValueType.ZSET) {
        return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
      }
      ScoredMembers z = ScoredMembers.decode(e == null ? null : e.value());
      long expireAt = e == null ? Store.NO_EXPIRY : e.expireAtMillis();
      if (command == SortedSets.ZCOUNT) {
        int[] range = range(r, args, z, false);
        return r.replyOk(range[1] - range[0]);
      }
      if (command == SortedSets.ZRANGE) {
        return r.replyValue(ListCodec.encodeValues(ZSetRequests.pairs(ranged(r, args, z))));
      }
      if (command == SortedSets.ZREMRANGE) {
        int[] range = range(r, args, z, false);
        int removed = Math.max(0, range[1] - range[0]);
        if (removed > 0) {
          save(r.key(), DecodedZsetRanges.without(z, range[0], range[1]), expireAt);
        }
        return r.replyOk(removed);
      }
      if (command == SortedSets.ZPOP) {
        long count = r.extra(2, 1);
        if (count < 0) {
          throw new IllegalArgumentException("ZPOP count " + count + " is negative");
        }
        List<byte[]> out = new ArrayList<>();
        int take = pop(r.key(), z, r.extra(1, 0) != 0, count, expireAt, out);
        return r.replyValue(ListCodec.encodeValues(out), take);
      }
      throw new IllegalArgumentException("not a range command: " + command);
    } catch (SetRequests.WrongType wrong) {
      return r.replyError(Status.WRONG_TYPE, StoreException.WRONG_TYPE_TEXT);
    }
  }

  private ScoredMembers sortedSet(byte[] key) {
    TypedEntry e = store.getTyped(key);
    if (e != null && e.type() != ValueType.ZSET) {
      throw new SetRequests.WrongType();
    }
    return ScoredMembers.decode(e == null ? null : e.value());
  }

  private void save(byte[] key, byte[] payload, long expireAt) {
    if (payload == null) {
      store.delete(key);
    } else {
      store.putTyped(key, ValueType.ZSET, payload, expireAt);
    }
  }

  private static int[] range(Frame r, List<byte[]> args, ScoredMembers z, boolean reverseAllowed) {
    long by = r.extra(1, SortedSets.BY_RANK);
    long flags = r.extra(2, 0);
    boolean rev = (flags & SortedSets.REV) != 0;
    if (rev && !reverseAllowed) {
      throw new IllegalArgumentException("REV applies to ZRANGE only");
    }
    int n = z.size();
    if (by == SortedSets.BY_RANK) {
      return ZSetRequests.rankRange(r, n, rev);
    }
    if (by == SortedSets.BY_SCORE) {
      double lo = Double.longBitsToDouble(r.extra(3, 0));
      double hi = Double.longBitsToDouble(r.extra(4, 0));
      if (Double.isNaN(lo) || Double.isNaN(hi)) {
        throw new IllegalArgumentException("min or max is not a float");
      }
      int from = DecodedZsetRanges.firstFrom(z, lo, (flags & SortedSets.EXCLUSIVE_LO) != 0);
      int to = DecodedZsetRanges.firstFrom(z, hi, (flags & SortedSets.EXCLUSIVE_HI) == 0);
      return new int[] {from, Math.max(from, to)};
    }
    if (by == SortedSets.BY_LEX) {
      if (args.size() != 2) {
        throw new IllegalArgumentException("a lex range needs two bounds, got " + args.size());
      }
      return DecodedZsetRanges.lexRange(z, args.get(0), args.get(1), rev);
    }
    throw new IllegalArgumentException("range kind " + by + " is not 0 (rank), 1 (score) or 2 (lex)");
  }

  private static List<Scored> ranged(Frame r, List<byte[]> args, ScoredMembers z) {
    int[] picked = ZSetRequests.picked(r, range(r, args, z, true));
    List<Scored> out = new ArrayList<>(z.slice(picked[0], picked[1]));
    if ((r.extra(2, 0) & SortedSets.REV) != 0) {
      java.util.Collections.reverse(out);
    }
    return out;
  }

  private int pop(byte[] key, ScoredMembers z, boolean max, long count, long expireAt, List<byte[]> out) {
    int take = (int) Math.min(count, z.size());
    for (int i = 0; i < take; i++) {
      Scored s = z.get(max ? z.size() - 1 - i : i);
      out.add(s.member());
      out.add(SortedSets.encodeScore(s.score()));
    }
    if (take > 0) {
      save(key, max ? DecodedZsetRanges.without(z, z.size() - take, z.size()) : DecodedZsetRanges.without(z, 0, take),
          expireAt);
    }
    return take;
  }

  private Frame zmpop(Frame r, List<byte[]> others) {
    long count = r.extra(2, 1);
    if (count < 1) {
      throw new IllegalArgumentException("ZMPOP count " + count + " is not positive");
    }
    List<byte[]> keys = new ArrayList<>(others.size() + 1);
    keys.add(r.key());
    keys.addAll(others);
    for (byte[] key : keys) {
      TypedEntry e = store.getTyped(key);
      if (e == null) {
        continue;
      }
      if (e.type() != ValueType.ZSET) {
        throw new SetRequests.WrongType();
      }
      List<byte[]> out = new ArrayList<>();
      out.add(key);
      int take = pop(key, ScoredMembers.decode(e.value()), r.extra(1, 0) != 0, count, e.expireAtMillis(), out);
      return r.replyValue(ListCodec.encodeValues(out), take);
    }
    return r.reply(Status.NOT_FOUND);
  }
}
