package io.distcache.server.membership;

import java.time.Duration;
import java.util.Objects;

/**
 * The timers and limits of the membership protocol. The defaults have a dead node declared DEAD
 * everywhere within about 5 seconds (measured: 3.5-4.5 s with 4 nodes, 3.5-5.5 s with 10: a probe
 * reaches it within a period or a few, 0.5 s to give up on it, 2.5 s of suspicion, then gossip),
 * while a node that stalls for up to about 3 seconds (a long GC pause) gets time to refute.
 *
 * @param tickInterval how often the driver should call {@link MembershipEngine#tick()}; the engine
 *     acts on its timers when a tick finds them due, so this is their resolution
 * @param protocolPeriod a new probe starts every period, to the next member in a shuffled round
 * @param pingTimeout no ack this long after a direct ping: ask other members to ping indirectly
 * @param probeTimeout no ack (direct or relayed) this long after the ping: SUSPECT
 * @param indirectProbes how many members are asked to ping indirectly
 * @param suspicionTimeout SUSPECT this long without a refutation: DEAD
 * @param syncInterval how often the full member list is exchanged with a random member
 * @param reconnectInterval how often a sync is tried with a DEAD member or an unanswered seed,
 *     which is how partitions heal and how a node whose seeds were not up yet finds its cluster
 * @param tombstoneTimeout how long DEAD and LEFT members are remembered (and retried, for DEAD)
 * @param retransmitMultiplier each update is piggybacked multiplier * ceil(log10(members + 1)) times
 * @param maxPiggyback most updates carried on one ping or ack
 * @param newMembersPerSecond members never seen before admitted per second, a token bucket that
 *     holds up to {@link GossipCodec#MAX_STATUSES} (so one full sync from a cluster is admitted at
 *     once); news of more is dropped until tokens return, and the next sync brings it again. Bounds
 *     how fast a flood of invented members could grow the table.
 */
public record MembershipConfig(
    Duration tickInterval,
    Duration protocolPeriod,
    Duration pingTimeout,
    Duration probeTimeout,
    int indirectProbes,
    Duration suspicionTimeout,
    Duration syncInterval,
    Duration reconnectInterval,
    Duration tombstoneTimeout,
    int retransmitMultiplier,
    int maxPiggyback,
    int newMembersPerSecond) {

  private static final MembershipConfig DEFAULTS = new MembershipConfig(
      Duration.ofMillis(100),
      Duration.ofMillis(500),
      Duration.ofMillis(200),
      Duration.ofMillis(500),
      3,
      Duration.ofMillis(2500),
      Duration.ofSeconds(10),
      Duration.ofSeconds(5),
      Duration.ofHours(1),
      4,
      16,
      16);

  public MembershipConfig {
    positive("tickInterval", tickInterval);
    positive("protocolPeriod", protocolPeriod);
    positive("pingTimeout", pingTimeout);
    positive("probeTimeout", probeTimeout);
    positive("suspicionTimeout", suspicionTimeout);
    positive("syncInterval", syncInterval);
    positive("reconnectInterval", reconnectInterval);
    positive("tombstoneTimeout", tombstoneTimeout);
    if (pingTimeout.compareTo(probeTimeout) >= 0) {
      throw new IllegalArgumentException(
          "pingTimeout " + pingTimeout + " must be shorter than probeTimeout " + probeTimeout
              + ", or there is no time left for the indirect probe");
    }
    range("indirectProbes", indirectProbes, 0, 16);
    range("retransmitMultiplier", retransmitMultiplier, 1, 64);
    range("maxPiggyback", maxPiggyback, 1, GossipCodec.MAX_STATUSES);
    range("newMembersPerSecond", newMembersPerSecond, 1, 10_000);
  }

  public static MembershipConfig defaults() {
    return DEFAULTS;
  }

  public MembershipConfig withTickInterval(Duration d) {
    return new MembershipConfig(d, protocolPeriod, pingTimeout, probeTimeout, indirectProbes, suspicionTimeout,
        syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withProtocolPeriod(Duration d) {
    return new MembershipConfig(tickInterval, d, pingTimeout, probeTimeout, indirectProbes, suspicionTimeout,
        syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  /** Both probe timeouts at once, since the ping timeout must stay below the probe timeout. */
  public MembershipConfig withProbeTimeouts(Duration ping, Duration probe) {
    return new MembershipConfig(tickInterval, protocolPeriod, ping, probe, indirectProbes, suspicionTimeout,
        syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withIndirectProbes(int n) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, n, suspicionTimeout,
        syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withSuspicionTimeout(Duration d) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes, d,
        syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withSyncInterval(Duration d) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, d, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withReconnectInterval(Duration d) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, syncInterval, d, tombstoneTimeout, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withTombstoneTimeout(Duration d) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, syncInterval, reconnectInterval, d, retransmitMultiplier, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withRetransmitMultiplier(int n) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, syncInterval, reconnectInterval, tombstoneTimeout, n, maxPiggyback, newMembersPerSecond);
  }

  public MembershipConfig withMaxPiggyback(int n) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, n, newMembersPerSecond);
  }

  public MembershipConfig withNewMembersPerSecond(int n) {
    return new MembershipConfig(tickInterval, protocolPeriod, pingTimeout, probeTimeout, indirectProbes,
        suspicionTimeout, syncInterval, reconnectInterval, tombstoneTimeout, retransmitMultiplier, maxPiggyback, n);
  }

  private static void positive(String name, Duration d) {
    Objects.requireNonNull(d, name);
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " " + d + " must be positive");
    }
  }

  private static void range(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(name + " " + value + " is outside " + min + ".." + max);
    }
  }
}
