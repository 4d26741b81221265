package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the member list and the rules that decide which of two statuses of a member is newer.
 * Every node applies the same rules to whatever gossip reaches it, in whatever order, and so all
 * nodes converge on the same list. For one member id (current c, incoming u):
 *
 *   u ALIVE   wins if u.incarnation > c.incarnation (only the member raises it: a refutation);
 *             over DEAD only at c.incarnation + REVIVAL_STEP or more
 *   u SUSPECT wins over ALIVE at >= incarnation, over SUSPECT at a higher one, over DEAD only at
 *             c.incarnation + REVIVAL_STEP or more
 *   u DEAD    wins over ALIVE and SUSPECT at >= incarnation, over DEAD only at a higher one
 *   u LEFT    always wins; LEFT is final (a process that left never returns under its id)
 *
 * DEAD yields because a member declared dead across a partition, or while it was stalled, is
 * still running; when it hears of its death it refutes, and the refutation must be able to revive
 * it. But only a refutation of the death itself: a member that refutes a death first drops all its
 * data (the others gave its slots away and took writes for them meanwhile) and then jumps its
 * incarnation by REVIVAL_STEP, where refuting a suspicion adds 1. A stalled member that wakes up
 * and first reads an old suspicion of itself refutes that (+1) without knowing it was declared
 * dead; were that enough to revive it, it would serve its old data again. With the step, the
 * others keep it DEAD and tell it so, and it comes back only empty.
 *
 * One address, one process: when two ids that own keys claim the same address, the greater id is
 * the newer process (ids start with the start time) and the older one is marked DEAD at once. This
 * is how a restarted node replaces its previous run without waiting for failure detection. Our own
 * entry always keeps our address.
 *
 * DEAD and LEFT entries stay as tombstones for a while: they stop old gossip from resurrecting a
 * member and give the engine addresses to retry after a partition. Not thread-safe: the engine
 * serializes access.
 */
final class MemberTable {
  private static final Logger log = LoggerFactory.getLogger(MemberTable.class);

  /** At most this many entries, tombstones included: a flood of invented members cannot grow us. */
  static final int MAX_MEMBERS = GossipCodec.MAX_LISTED;
  /** At most this many members own keys (the cluster size): a full sync carries them all. */
  static final int MAX_LIVE_MEMBERS = GossipCodec.MAX_STATUSES;

  /** How far a member's incarnation jumps when it refutes its own death (see the design note). */
  static final long REVIVAL_STEP = 1L << 20;

  static final class Entry {
    final Member member;
    MemberState state;
    long incarnation;
    /** Clock nanos of the last state change: starts the suspicion and tombstone timers. */
    long sinceNanos;
    /** Still learning its slots (MemberStatus.joining). */
    boolean joining;
    /** Handing its copies over before it leaves (MemberStatus.departing). */
    boolean departing;

    Entry(Member member, MemberState state, long incarnation, long sinceNanos, boolean joining, boolean departing) {
      this.member = member;
      this.state = state;
      this.incarnation = incarnation;
      this.sinceNanos = sinceNanos;
      this.joining = joining;
      this.departing = departing;
    }

    MemberStatus status() {
      return new MemberStatus(member, state, incarnation, joining, departing);
    }
  }

  private final Member self;
  private final Map<String, Entry> entries = new HashMap<>();
  private long version;

  MemberTable(Member self, long nowNanos) {
    this(self, nowNanos, false);
  }

  MemberTable(Member self, long nowNanos, boolean joining) {
    this.self = self;
    entries.put(self.id(), new Entry(self, MemberState.ALIVE, 0, nowNanos, joining, false));
    version = 1;
  }

  Entry get(String id) {
    return entries.get(id);
  }

  Entry self() {
    return entries.get(self.id());
  }

  Collection<Entry> entries() {
    return entries.values();
  }

  long version() {
    return version;
  }

  /** Changes our own entry (refutation, leave); only the engine decides these. */
  void setSelf(MemberState state, long incarnation, long nowNanos) {
    setSelf(state, incarnation, nowNanos, self().joining);
  }

  /**
   * Changes our own entry, joining or not (a new incarnation must come with a change of joining);
   * departing stays as it is (only {@link #setSelfDeparting} sets it).
   */
  void setSelf(MemberState state, long incarnation, long nowNanos, boolean joining) {
    Entry e = self();
    e.joining = joining;
    e.state = state;
    e.incarnation = incarnation;
    e.sinceNanos = nowNanos;
    version++;
  }

  /** Our own entry becomes departing at {@code incarnation} (a new one: the status changes). */
  void setSelfDeparting(long incarnation, long nowNanos) {
    Entry e = self();
    e.departing = true;
    e.incarnation = incarnation;
    e.sinceNanos = nowNanos;
    version++;
  }

  /**
   * Applies news about another member. Returns the statuses that changed here and are worth
   * spreading (the update itself, and any member it superseded at its address); empty if the news
   * was old.
   */
  List<MemberStatus> apply(MemberStatus u, long nowNanos) {
    if (u.id().equals(self.id())) {
      throw new IllegalArgumentException("news about ourselves is the engine's to handle: " + u);
    }
    Entry c = entries.get(u.id());
    if (c == null) {
      if (entries.size() >= MAX_MEMBERS) {
        log.warn("ignoring {}: already tracking the limit of {} members", u, MAX_MEMBERS);
        return List.of();
      }
      return u.state().ownsKeys() ? admit(u, null, nowNanos) : List.of(put(u, nowNanos));
    }
    if (!c.member.address().equals(u.member().address())) {
      log.warn("ignoring {}: member {} is known at {}", u, c.member.id(), c.member.address());
      return List.of();
    }
    if (!newer(c, u)) {
      return List.of();
    }
    if (u.state().ownsKeys() && !c.state.ownsKeys()) {
      return admit(u, c, nowNanos); // coming back: check nobody newer holds its address now
    }
    change(c, u.state(), u.incarnation(), nowNanos);
    c.joining = u.joining();
    c.departing = u.departing();
    return List.of(c.status());
  }

  /** Removes tombstones older than the timeout; true if any went. */
  boolean expireTombstones(long nowNanos, long timeoutNanos) {
    boolean removed = entries.values().removeIf(
        e -> !e.state.ownsKeys() && e != self() && nowNanos - e.sinceNanos >= timeoutNanos);
    if (removed) {
      version++;
    }
    return removed;
  }

  /** Marks a member DEAD from our own observation (suspicion timed out); returns the news. */
  MemberStatus declareDead(Entry e, long nowNanos) {
    change(e, MemberState.DEAD, e.incarnation, nowNanos);
    return e.status();
  }

  /** Marks a live member SUSPECT from our own observation (probe failed); returns the news. */
  MemberStatus suspect(Entry e, long nowNanos) {
    change(e, MemberState.SUSPECT, e.incarnation, nowNanos);
    return e.status();
  }

  MembershipSnapshot snapshot() {
    List<MemberStatus> list = new ArrayList<>(entries.size());
    for (Entry e : entries.values()) {
      list.add(e.status());
    }
    list.sort(Comparator.comparing(MemberStatus::id));
    return new MembershipSnapshot(version, self, list);
  }

  private static boolean newer(Entry c, MemberStatus u) {
    if (c.state == MemberState.LEFT) {
      return false;
    }
    if (c.state == MemberState.DEAD && (u.state() == MemberState.ALIVE || u.state() == MemberState.SUSPECT)) {
      return u.incarnation() - c.incarnation >= REVIVAL_STEP; // only a refutation of the death revives
    }
    return switch (u.state()) {
      case ALIVE -> u.incarnation() > c.incarnation;
      case SUSPECT -> c.state == MemberState.ALIVE
          ? u.incarnation() >= c.incarnation
          : u.incarnation() > c.incarnation;
      case DEAD -> c.state == MemberState.DEAD
          ? u.incarnation() > c.incarnation
          : u.incarnation() >= c.incarnation;
      case LEFT -> true;
    };
  }

  /** Admits a member that owns keys, settling who holds its address. */
  private List<MemberStatus> admit(MemberStatus u, Entry existing, long nowNanos) {
    Entry holder = liveHolderOf(u.member().address(), u.id());
    if (holder != null) {
      boolean incomingIsNewer = u.id().compareTo(holder.member.id()) > 0;
      if (holder == self()) {
        if (incomingIsNewer) {
          log.warn("ignoring {}: it claims our address {}; is another node configured with it?", u, self.address());
          return List.of();
        }
        return List.of(bury(u, existing, nowNanos)); // an earlier run of this node
      }
      if (!incomingIsNewer) {
        return List.of(bury(u, existing, nowNanos)); // old news of a process since replaced
      }
      log.info("{} replaces {} at {}", u.member(), holder.member, holder.member.address());
      change(holder, MemberState.DEAD, holder.incarnation, nowNanos);
      MemberStatus buried = holder.status();
      return List.of(admitted(u, existing, nowNanos), buried);
    }
    return List.of(admitted(u, existing, nowNanos));
  }

  private MemberStatus admitted(MemberStatus u, Entry existing, long nowNanos) {
    if (existing == null) {
      MemberStatus s = put(u, nowNanos);
      log.info("member {} joined as {}", u.member(), u.state());
      return s;
    }
    change(existing, u.state(), u.incarnation(), nowNanos);
    existing.joining = u.joining();
    existing.departing = u.departing();
    return existing.status();
  }

  /** Records a superseded process as DEAD so that its old gossip cannot bring it back. */
  private MemberStatus bury(MemberStatus u, Entry existing, long nowNanos) {
    MemberStatus dead = new MemberStatus(u.member(), MemberState.DEAD, u.incarnation(), u.joining(), u.departing());
    if (existing == null) {
      return put(dead, nowNanos);
    }
    change(existing, MemberState.DEAD, Math.max(existing.incarnation, u.incarnation()), nowNanos);
    return existing.status();
  }

  private Entry liveHolderOf(Address address, String exceptId) {
    for (Entry e : entries.values()) {
      if (e.state.ownsKeys() && e.member.address().equals(address) && !e.member.id().equals(exceptId)) {
        return e;
      }
    }
    return null;
  }

  private MemberStatus put(MemberStatus u, long nowNanos) {
    entries.put(u.id(), new Entry(u.member(), u.state(), u.incarnation(), nowNanos, u.joining(), u.departing()));
    version++;
    return u;
  }

  private void change(Entry e, MemberState state, long incarnation, long nowNanos) {
    if (e.state != state) {
      log.info("member {} is now {} (incarnation {})", e.member, state, incarnation);
      e.sinceNanos = nowNanos;
    }
    e.state = state;
    e.incarnation = incarnation;
    version++;
  }
}
