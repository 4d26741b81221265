package io.distcache.server.placement;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: decides, per slot, whether this node may serve it now. Owning a slot in the newest
 * placement this node knows is necessary but not enough, because placements reach nodes at
 * different moments and a node can be stalled without knowing it. Three rules close the gaps:
 *
 * 1. A gained slot waits for the others. A slot this node did not own in its previous placement
 *    becomes servable only when every other owning member has reported (in the extras of a
 *    CLUSTER_GOSSIP frame) a placement with the same owners (fingerprint) at an epoch at least
 *    ours. A member reports the placement it has installed, and a member that has installed ours
 *    has stopped serving every slot it lost in it; so two nodes never serve one slot at once, even
 *    while the news of a join or a departure is still spreading. Reports are asked for at once
 *    when a placement changes (see ClusterMembership.announce), so the wait is one round trip.
 *    A slot stays servable while this node keeps owning it (an epoch adopted from a peer for the
 *    same owners changes nothing); it is forgotten the moment the slot is lost.
 *
 * 2. A lease. With other members in the placement, this node serves only within the lease
 *    after sending a request that a peer answered without saying this node was suspect or dead:
 *    the lease runs from the moment the request was SENT, so a reply that sat in a socket buffer
 *    while this node was stalled renews nothing. The peer held this node alive when it answered,
 *    after that moment; to declare it dead it must first suspect it (a probe timeout) and then
 *    wait the suspicion timeout, so a lease of half that sum ends well before any peer can give
 *    this node's slots away. Requests from peers never renew it: a PING queued in the socket
 *    during a stall (SIGSTOP, a long GC pause, a frozen VM) says nothing about now. So a node
 *    that was stalled or cut off resumes with its lease run out and does not answer the requests
 *    waiting in its sockets from its old data; the first replies it gets tell it the truth,
 *    because peers always include a suspect or dead member's own status in what they send it.
 *
 * 3. Declared dead means empty. When this node learns that it was declared dead (or LEFT), the
 *    others have given its slots away and may have accepted writes for them: it drops every key
 *    and forgets every servable slot before it refutes, so when it is back in the placement it
 *    serves its slots empty (a miss), never with values older than the writes made meanwhile.
 *
 * 4. A joiner serves nothing alone. A node started with seeds to join does not serve as a cluster
 *    of one while it waits for them: writes it took then would sit in slots whose current values
 *    are on the cluster it is about to join, and win over them once it owns those slots. Once it
 *    has been in a placement with other members, a placement of itself alone (every other member
 *    gone) is served as usual. And whatever a node took while alone is dropped when it first shares
 *    a placement with others, unless it is the oldest of them (the smallest id: ids begin with the
 *    start time): the founder of a cluster keeps its data when others join it, but a node that was
 *    restarted without seeds, served alone and is then found by the cluster it belonged to, drops
 *    its writes instead of letting them win over the newer ones the cluster took meanwhile.
 *
 * Dropping data is the cleaner's job (SlotCleaner, off the request path). A slot with a drop still
 * queued or running is not servable, so a regained slot never shows the keys it had before.
 *
 * Threads: the membership loop calls placementChanged/declaredDead/heard; event loops call
 * report/heard and mayServe. The servable bitmap is copy-on-write behind a volatile, so mayServe is
 * one volatile read, one clock read and one array read. Mutators are synchronized.
 */

/** Which slots this node may serve now: owned, confirmed by every other owner, cleaned, within the lease. */
public final class SlotGuard {
  private static final Logger log = LoggerFactory.getLogger(SlotGuard.class);
  private static final int WORDS = KeySlot.SLOTS / 64;

  private final Clock clock;
  private final long leaseNanos;
  private final Map<String, long[]> reports = new ConcurrentHashMap<>();
  /** Guarded by this: drops queued or running per slot. */
  private final int[] pendingDrops = new int[KeySlot.SLOTS];

  private volatile long[] servable = new long[WORDS];
  private volatile long lastHeardNanos;
  /** True from start until this node, given seeds, first shares a placement with another member. */
  private volatile boolean awaitingJoin;
  /** Guarded by this. */
  private Placement placement = Placement.empty();
  /** Guarded by this. */
  private Member self;
  /** Guarded by this: owned slots of the current placement still waiting for confirmation. */
  private boolean waiting;

  public SlotGuard(Clock clock, long leaseNanos) {
    if (leaseNanos <= 0) {
      throw new IllegalArgumentException("lease must be positive: " + leaseNanos + " ns");
    }
    this.clock = clock;
    this.leaseNanos = leaseNanos;
    this.lastHeardNanos = clock.nanos() - leaseNanos - 1;
  }

  /** The lease: half the time others need to declare this node dead (probe + suspicion timeouts). */
  public static long leaseFor(java.time.Duration probeTimeout, java.time.Duration suspicionTimeout) {
    return (probeTimeout.toNanos() + suspicionTimeout.toNanos()) / 2;
  }

  /**
   * True when this node may serve {@code slot} of {@code current}, which names it as the owner.
   * One-member placements need no confirmation and no lease.
   */
  public boolean mayServe(Placement current, int slot) {
    if (current.size() <= 1) {
      return !awaitingJoin;
    }
    if (clock.nanos() - lastHeardNanos > leaseNanos) {
      return false;
    }
    return (servable[slot >>> 6] & (1L << slot)) != 0;
  }

  /** True while the lease holds (always true without peers). */
  public boolean leaseHeld(Placement current) {
    return current.size() <= 1 ? !awaitingJoin : clock.nanos() - lastHeardNanos <= leaseNanos;
  }

  /** This node was started with seeds to join: alone, it serves nothing until it has joined. */
  public void awaitJoin() {
    awaitingJoin = true;
  }

  /**
   * A peer answered, holding this node alive, a request sent at {@code sentNanos} (a {@link
   * Clock#nanos()} reading): the lease runs from then.
   */
  public synchronized void renew(long sentNanos) {
    if (sentNanos - lastHeardNanos > 0) {
      lastHeardNanos = sentNanos;
    }
  }

  /**
   * This node's placement changed. Lost slots stop being servable now; gained slots wait for
   * confirmation and for {@code cleaner} (given the slots that need their keys dropped: lost and
   * gained) to finish.
   */
  public synchronized void placementChanged(Member me, Placement previous, Placement next, Dropper cleaner) {
    self = me;
    placement = next;
    if (next.size() > 1) {
      awaitingJoin = false;
    }
    if (me == null) {
      return;
    }
    long[] keep = new long[WORDS];
    long[] dirty = new long[WORDS];
    long[] old = servable;
    boolean changedOwners = previous.fingerprint() != next.fingerprint() || previous.isEmpty();
    boolean aloneJoinsOthers = previous.size() == 1 && previous.contains(me) && next.size() > 1
        && !next.members().get(0).equals(me); // members are in id order: the first is the oldest
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      boolean nowOwned = next.owns(me, s);
      boolean wasOwned = previous.owns(me, s) && !aloneJoinsOthers;
      if (nowOwned && (old[s >>> 6] & (1L << s)) != 0) {
        keep[s >>> 6] |= 1L << s;
      }
      if (changedOwners && nowOwned != wasOwned) {
        dirty[s >>> 6] |= 1L << s;
      }
    }
    servable = keep;
    if (cleaner != null && !isEmpty(dirty)) {
      forEach(dirty, s -> pendingDrops[s]++);
      cleaner.drop(dirty, () -> dropped(dirty));
    }
    waiting = true;
    confirmIfAgreed();
  }

  /** This node learned it was declared dead or gone: nothing is servable until confirmed again. */
  public synchronized void declaredDead() {
    servable = new long[WORDS];
    waiting = true;
    log.warn("this node was declared dead by the cluster: its data is dropped and its slots wait for confirmation");
  }

  /** A peer reported its placement. */
  public void report(String memberId, long epoch, long fingerprint) {
    reports.put(memberId, new long[] {epoch, fingerprint});
    synchronized (this) {
      if (waiting) {
        confirmIfAgreed();
      }
    }
  }

  /** True when every owned slot is servable (nothing waits for a peer or a drop). */
  public synchronized boolean settled() {
    return !waiting;
  }

  /** Members of the current placement whose last report does not match it (for the announcer). */
  public synchronized java.util.List<Member> unconfirmedPeers() {
    java.util.List<Member> out = new java.util.ArrayList<>();
    if (!waiting) {
      return out;
    }
    for (Member m : placement.members()) {
      if (!m.equals(self) && !confirms(reports.get(m.id()))) {
        out.add(m);
      }
    }
    return out;
  }

  /** Forgets reports of members no longer known. */
  public void retainReports(java.util.Set<String> memberIds) {
    reports.keySet().retainAll(memberIds);
  }

  private synchronized void dropped(long[] slots) {
    forEach(slots, s -> pendingDrops[s]--);
    waiting = true;
    confirmIfAgreed();
  }

  /** Guarded by this. */
  private void confirmIfAgreed() {
    if (self == null || !placement.contains(self)) {
      servable = new long[WORDS];
      waiting = false;
      return;
    }
    for (Member m : placement.members()) {
      if (!m.equals(self) && !confirms(reports.get(m.id()))) {
        return;
      }
    }
    long[] all = new long[WORDS];
    boolean blocked = false;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (placement.owns(self, s)) {
        if (pendingDrops[s] == 0) {
          all[s >>> 6] |= 1L << s;
        } else {
          blocked = true;
        }
      }
    }
    servable = all;
    waiting = blocked;
  }

  /** Guarded by this. */
  private boolean confirms(long[] report) {
    return report != null && report[1] == placement.fingerprint() && report[0] >= placement.epoch();
  }

  private static boolean isEmpty(long[] bits) {
    for (long w : bits) {
      if (w != 0) {
        return false;
      }
    }
    return true;
  }

  static void forEach(long[] bits, IntConsumer action) {
    for (int w = 0; w < bits.length; w++) {
      long word = bits[w];
      while (word != 0) {
        int b = Long.numberOfTrailingZeros(word);
        action.accept(w * 64 + b);
        word &= word - 1;
      }
    }
  }

  /** Drops the keys of the slots set in a 16,384-bit map, then runs {@code done} (SlotCleaner). */
  @FunctionalInterface
  public interface Dropper {
    void drop(long[] slots, Runnable done);
  }

  /** True when bit {@code slot} is set. */
  static boolean has(long[] bits, int slot) {
    return (bits[slot >>> 6] & (1L << slot)) != 0;
  }
}
