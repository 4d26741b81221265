package io.distcache.benchmarks;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What a node computes on every placement change: Placement.of over the 16,384 slots, for the
 * placements a join and a graceful leave go through (1,024 points per member, one replica). A
 * node runs it a few times per membership change, mostly before the JIT has compiled it, so run
 * it both warm (average time) and cold (single shots in fresh forks, {@code -bm ss -wi 0}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PlacementBuildBenchmark {
  /** owners3: three owners; learner: three owners and a joining member; departing: four, one leaving. */
  @Param({"owners3", "learner", "departing"})
  public String change;

  private List<Member> owners;
  private List<Member> learners;
  private List<Member> departing;

  @Setup
  public void setUp() {
    Random random = new Random(1);
    List<Member> all = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      all.add(new Member(Member.newId(1_700_000_000_000L + i, random), new Address("127.0.0.1", 7000 + i)));
    }
    switch (change) {
      case "owners3" -> {
        owners = all.subList(0, 3);
        learners = List.of();
        departing = List.of();
      }
      case "learner" -> {
        owners = all.subList(0, 3);
        learners = List.of(all.get(3));
        departing = List.of();
      }
      case "departing" -> {
        owners = all;
        learners = List.of();
        departing = List.of(all.get(1));
      }
      default -> throw new IllegalArgumentException("change " + change + " is not owners3, learner or departing");
    }
  }

  @Benchmark
  public Placement build() {
    return Placement.of(7, owners, learners, departing, HashRing.DEFAULT_VIRTUAL_NODES, 1);
  }
}
