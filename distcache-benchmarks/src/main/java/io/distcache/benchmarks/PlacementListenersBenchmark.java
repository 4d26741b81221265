package io.distcache.benchmarks;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.Clock;
import io.distcache.server.placement.SlotGuard;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What the slot guard of one node does with the placements a join and a graceful leave go through
 * (three owners; a fourth learning; four owners; one of them departing; three owners again; one
 * replica, 1,024 points each), seen from a member that stays: SlotGuard.placementChanged walks
 * the 16,384 slots once per change. Like the placement build, a node runs it a few times per
 * membership change, mostly before the JIT has compiled it, so run it both warm (average time)
 * and cold (single shots in fresh forks, {@code -bm ss -wi 0}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PlacementListenersBenchmark {
  private final List<Placement> changes = new ArrayList<>();
  private Member me;

  @Setup
  public void setUp() {
    Random random = new Random(1);
    List<Member> all = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      all.add(new Member(Member.newId(1_700_000_000_000L + i, random), new Address("127.0.0.1", 7000 + i)));
    }
    int vn = HashRing.DEFAULT_VIRTUAL_NODES;
    List<Member> three = all.subList(0, 3);
    changes.add(Placement.of(1, three, List.of(), vn, 1));
    changes.add(Placement.of(2, three, List.of(all.get(3)), vn, 1));
    changes.add(Placement.of(3, all, List.of(), vn, 1));
    changes.add(Placement.of(4, all, List.of(), List.of(all.get(0)), vn, 1));
    changes.add(Placement.of(5, all.subList(1, 4), List.of(), vn, 1));
    // Asked with an equal member, not the placements' own instance, as a node's own view is.
    me = new Member(all.get(1).id(), all.get(1).address());
    // A node has logging running and its guard built before any change: keep both out of a cold shot.
    org.slf4j.LoggerFactory.getLogger(PlacementListenersBenchmark.class).info("placements built");
    new SlotGuard(Clock.system(), TimeUnit.SECONDS.toNanos(1)).report(me.id(), 0, 0);
  }

  /** The five changes, each confirmed by every member before the next. */
  @Benchmark
  public SlotGuard joinThenLeave() {
    SlotGuard guard = new SlotGuard(Clock.system(), TimeUnit.SECONDS.toNanos(1));
    Placement previous = Placement.empty();
    for (Placement next : changes) {
      guard.placementChanged(me, previous, next, (slots, done) -> done.run());
      for (Member m : next.members()) {
        guard.report(m.id(), next.epoch(), next.fingerprint());
      }
      previous = next;
    }
    return guard;
  }
}
