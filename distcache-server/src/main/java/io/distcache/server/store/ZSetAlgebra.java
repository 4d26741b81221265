package io.distcache.server.store;

import io.distcache.protocol.SortedSets;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.ScoredMembers.Scored;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/*
 * Design: Redis's union, intersection and difference of sorted sets (zunionInterDiffGenericCommand),
 * on sources already read: each a map from member to score (a set's members score 1, as Redis reads
 * a set). A weight multiplies a source's scores and a product that is NaN (0 * inf) counts as 0; SUM
 * of inf and -inf is 0 too, as in Redis. The intersection walks the smallest source and looks each
 * member up in the others, as Redis does after sorting its sources by size, so with SUM the scores
 * are added in that order (ascending size, the given order among equal sizes). The difference keeps
 * the first source's members that no other source has, with their scores. Results come out in
 * ascending (score, member) order, the order of the sorted set Redis builds.
 */

/** Union, intersection and difference of sorted sets with weights and an aggregate. */
public final class ZSetAlgebra {
  private ZSetAlgebra() {}

  /** A source: its members and scores, weighted. */
  public record Source(Map<Bytes, Double> scores, double weight) {}

  /** The members of a sorted set as a source. */
  public static Map<Bytes, Double> scores(ScoredMembers z) {
    Map<Bytes, Double> out = new HashMap<>(Math.max(16, z.size() * 4 / 3 + 1));
    for (int i = 0; i < z.size(); i++) {
      Scored s = z.get(i);
      out.put(new Bytes(s.member()), s.score());
    }
    return out;
  }

  /** The members of a set as a source: each scores 1. */
  public static Map<Bytes, Double> scores(Iterable<Bytes> set) {
    Map<Bytes, Double> out = new HashMap<>();
    for (Bytes b : set) {
      out.put(b, 1.0);
    }
    return out;
  }

  /** The union, scores weighted and aggregated. */
  public static List<Scored> union(List<Source> sources, long aggregate) {
    Map<Bytes, Double> acc = new HashMap<>();
    for (Source s : sources) {
      for (Map.Entry<Bytes, Double> e : s.scores().entrySet()) {
        double v = weighted(e.getValue(), s.weight());
        acc.merge(e.getKey(), v, (a, b) -> aggregate(a, b, aggregate));
      }
    }
    return sorted(acc);
  }

  /** The intersection, scores weighted and aggregated; stops at {@code limit} members (0: none). */
  public static List<Scored> inter(List<Source> sources, long aggregate, long limit) {
    List<Source> bySize = new ArrayList<>(sources);
    bySize.sort(Comparator.comparingInt(s -> s.scores().size())); // stable: equal sizes keep their order
    Map<Bytes, Double> acc = new HashMap<>();
    if (bySize.isEmpty()) {
      return List.of();
    }
    Source first = bySize.get(0);
    outer:
    for (Map.Entry<Bytes, Double> e : first.scores().entrySet()) {
      double score = weighted(e.getValue(), first.weight());
      for (int i = 1; i < bySize.size(); i++) {
        Double other = bySize.get(i).scores().get(e.getKey());
        if (other == null) {
          continue outer;
        }
        score = aggregate(score, weighted(other, bySize.get(i).weight()), aggregate);
      }
      acc.put(e.getKey(), score);
      if (limit > 0 && acc.size() >= limit) {
        break;
      }
    }
    return sorted(acc);
  }

  /** The first source's members that no other source has, with their own scores. */
  public static List<Scored> diff(List<Source> sources) {
    Map<Bytes, Double> acc = new HashMap<>(sources.get(0).scores());
    for (int i = 1; i < sources.size() && !acc.isEmpty(); i++) {
      acc.keySet().removeAll(sources.get(i).scores().keySet());
    }
    return sorted(acc);
  }

  private static double weighted(double score, double weight) {
    double v = score * weight;
    return Double.isNaN(v) ? 0.0 : v;
  }

  private static double aggregate(double a, double b, long aggregate) {
    // As Redis's zunionInterAggregate: the value so far stays on a tie.
    if (aggregate == SortedSets.AGGREGATE_MIN) {
      return b < a ? b : a;
    }
    if (aggregate == SortedSets.AGGREGATE_MAX) {
      return b > a ? b : a;
    }
    double sum = a + b;
    return Double.isNaN(sum) ? 0.0 : sum;
  }

  private static List<Scored> sorted(Map<Bytes, Double> acc) {
    List<Scored> out = new ArrayList<>(acc.size());
    for (Map.Entry<Bytes, Double> e : acc.entrySet()) {
      out.add(new Scored(e.getKey().b(), e.getValue()));
    }
    out.sort(ScoredMembers.ORDER);
    return out;
  }
}
