package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import static org.assertj.core.api.Assertions.fail;

import io.distcache.server.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * Membership engines on an {@link InMemoryNetwork}, driven by a manual clock: each step advances
 * the clock by one tick interval, delivers what is due, ticks every running engine, and delivers
 * again. With seeded randomness every run is the same run.
 */
final class SimCluster {
  final ManualClock clock = new ManualClock();
  final InMemoryNetwork net = new InMemoryNetwork(clock);
  final MembershipConfig config;
  private final long seed;
  private final Random ids;
  private final Map<String, MembershipEngine> running = new LinkedHashMap<>();
  private final long startNanos = clock.nanos();

  SimCluster(MembershipConfig config, long seed) {
    this.config = config;
    this.seed = seed;
    this.ids = new Random(seed);
  }

  SimCluster(MembershipConfig config) {
    this(config, 1);
  }

  SimCluster() {
    this(MembershipConfig.defaults());
  }

  static Address address(String name) {
    return new Address(name + ".test", 7000);
  }

  /** Starts a node (a fresh id each time) that joins through the named seeds. */
  MembershipEngine start(String name, String... seedNames) {
    Member member = new Member(Member.newId(clock.millis(), ids), address(name));
    MembershipEngine e = new MembershipEngine(
        member, config, net.transportFor(member.address()), clock, new Random(seed * 31 + name.hashCode()));
    net.attach(e);
    running.put(name, e);
    e.join(Arrays.stream(seedNames).map(SimCluster::address).toList());
    return e;
  }

  /** The process dies: no more ticks, messages to it vanish. */
  void crash(String name) {
    MembershipEngine e = running.remove(name);
    net.detach(e.self().address());
  }

  MembershipEngine node(String name) {
    return running.get(name);
  }

  List<MembershipEngine> nodes() {
    return new ArrayList<>(running.values());
  }

  void step() {
    clock.advance(config.tickInterval());
    net.deliverDue();
    for (MembershipEngine e : nodes()) {
      e.tick();
    }
    net.deliverDue();
  }

  void runFor(Duration d) {
    long end = clock.nanos() + d.toNanos();
    while (clock.nanos() < end) {
      step();
    }
  }

  /** Steps until the condition holds; fails, printing every view, if it does not within {@code max}. */
  Duration runUntil(Duration max, String what, BooleanSupplier condition) {
    long start = clock.nanos();
    while (!condition.getAsBoolean()) {
      if (clock.nanos() - start >= max.toNanos()) {
        fail("not true within %s: %s%n%s", max, what, views());
      }
      step();
    }
    return Duration.ofNanos(clock.nanos() - start);
  }

  /** True when every running node sees exactly the running nodes as owning keys, and all ALIVE. */
  boolean converged() {
    List<Member> expected = nodes().stream().map(MembershipEngine::self).sorted((a, b) -> a.id().compareTo(b.id())).toList();
    for (MembershipEngine e : nodes()) {
      MembershipSnapshot s = e.snapshot();
      if (!s.ringMembers().equals(expected)) {
        return false;
      }
      for (Member m : expected) {
        if (s.state(m.id()).orElse(null) != MemberState.ALIVE) {
          return false;
        }
      }
    }
    return true;
  }

  Duration elapsed() {
    return Duration.ofNanos(clock.nanos() - startNanos);
  }

  String views() {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, MembershipEngine> en : running.entrySet()) {
      MembershipSnapshot s = en.getValue().snapshot();
      sb.append("  ").append(en.getKey()).append(" (").append(s.self().id()).append(") v").append(s.version())
          .append(": ")
          .append(s.members().stream()
              .map(m -> m.member().address().host() + "/" + m.id().substring(m.id().length() - 4) + "=" + m.state()
                  + "#" + m.incarnation())
              .collect(Collectors.joining(", ")))
          .append('\n');
    }
    return sb.toString();
  }
}
