package io.distcache.server.placement;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.Clock;
import java.util.ArrayList;
import java.util.List;
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
 *    after sending requests that a MAJORITY of the quorum base (rule 5; this node counts for
 *    itself) answered saying, explicitly, that they hold this node alive:
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
 * 5. A majority. A node serves only while its placement holds a strict majority of the last
 *    placement every one of its members confirmed (the quorum base; members that LEFT gracefully
 *    leave the base at once). A node cut off from the others declares them dead and would
 *    otherwise serve every slot alone while the others, on their side, serve them too (found in
 *    review); with the rule, only the side with a majority serves, and a cluster split in halves
 *    serves nowhere. So a cluster keeps serving while a majority of its last agreed membership is
 *    reachable: one loss in three, two in five; a two-member cluster stops when either member is
 *    lost without leaving. The same majority decides who may declare a member dead
 *    (majorityAlive, asked by the membership engine), so a node on the minority side of a
 *    partition never spreads deaths of the majority, which would make them drop their data.
 *
 * 6. A taken-over slot waits a lease. When a placement without a member that did not leave is
 *    confirmed, the slots gained from it become servable only a lease later: the last reply
 *    that let that member renew its lease was sent before every other owner confirmed its death,
 *    so by then its lease has run out everywhere (found in review).
 *
 * 7. Replica reads (READONLY connections, sync replication only). A replica answers a read of a
 *    slot it replicates while rule 2's lease and rule 5's majority hold and its copy has not been
 *    dropped since it was last whole: under sync replication every acknowledged write of the slot
 *    was applied there. Two gaps, both closed: a replica that stalls or is cut off is declared
 *    dead only after its lease ran out (rule 2), and only then do owners acknowledge without it;
 *    and a placement that takes a slot's replica away while that member lives would let the owner
 *    acknowledge writes the old replica, not yet aware, never gets. So an owner keeps such a slot
 *    unservable (its requests wait, as for a gained slot) until every member has confirmed the new
 *    placement, by when the old replica has stopped answering for it.
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
  /** Per member: the send time of the latest request it answered holding this node alive. */
  private final Map<String, Long> heard = new ConcurrentHashMap<>();
  /** Until when a majority's answers keep the lease; Long.MAX_VALUE: this node alone is a majority. */
  private volatile long leaseUntil;
  private volatile boolean leaseForever;
  /** Slots taken over from a member that died: servable only from delayUntil (rule 6). */
  private volatile long[] delayed = new long[WORDS];
  private volatile long delayUntil;
  /** True from start until this node, given seeds, first shares a placement with another member. */
  private volatile boolean awaitingJoin;
  /** Guarded by this: the members of the last placement every member confirmed, less those that left. */
  private final java.util.Set<String> base = new java.util.HashSet<>();
  /** The current placement holds a strict majority of the base. */
  private volatile boolean quorum = true;
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
    this.leaseUntil = clock.nanos() - 1;
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
    if (!quorum || learning) {
      return false;
    }
    if (current.size() <= 1) {
      return !awaitingJoin;
    }
    long now = clock.nanos();
    return leaseValid(now) && !(delayUntil - now > 0 && has(delayed, slot)) && has(servable, slot);
  }

  private boolean leaseValid(long now) {
    return leaseForever || now - leaseUntil <= 0;
  }

  /**
   * True when this node may answer a READONLY read of a slot it replicates under {@code current}
   * (rule 7): it is no learner, is in touch with a majority and holds its lease. The caller also
   * checks that its copy of the slot is current (not dropped since its last whole copy).
   */
  public boolean mayServeReplica(Placement current) {
    return replicaReads && quorum && !learning && current.size() > 1 && current.fingerprint() == installed
        && leaseValid(clock.nanos());
  }

  /**
   * The fingerprint of the last placement placementChanged finished with: the copies it gained or
   * lost are marked dropping by then (Dropper), so ReplicaSyncRequester.current is false for them.
   * The router sees a new placement a moment before this guard has processed it; a READONLY read of
   * a copy gained in it, not marked yet, answered nil from a copy that had not arrived (a tester).
   */
  private volatile long installed;

  /** The fingerprint of the last placement this guard has processed (its drops marked), 0 before any. */
  public long processedFingerprint() {
    return installed;
  }

  /** Replicas answer READONLY reads (sync replication): owners then keep rule 7. */
  public void replicaReads(boolean on) {
    replicaReads = on;
  }

  private volatile boolean replicaReads;

  /** The owner (no learner) with the smallest id: members are in id order, and ids begin with the start time. */
  private static Member oldestOwner(Placement p) {
    for (Member m : p.members()) {
      if (!p.isLearner(m)) {
        return m;
      }
    }
    return null;
  }

  /**
   * True when a replica of {@code slot} under {@code previous} (no learner: learners answer no
   * reads) is still a member of {@code next} but no longer replicates the slot there: until it has
   * confirmed {@code next}, it may still answer READONLY reads of the slot from a copy that writes
   * acknowledged under {@code next} no longer reach.
   */
  private static boolean droppedLiveReplica(Placement previous, Placement next, int[] prevToNext, long prevLearners,
      int slot) {
    long nextCopies = next.replicaBits(slot);
    for (long bits = previous.replicaBits(slot) & ~prevLearners; bits != 0; bits &= bits - 1) {
      int j = prevToNext[Long.numberOfTrailingZeros(bits)];
      if (j >= 0 && (nextCopies & (1L << j)) == 0) {
        return true;
      }
    }
    return false;
  }

  /** True while the lease holds (always true without peers). */
  public boolean leaseHeld(Placement current) {
    if (!quorum) {
      return false;
    }
    return current.size() <= 1 ? !awaitingJoin : leaseValid(clock.nanos());
  }

  /**
   * True when the lease is not held but ran out less than one lease ago, with a majority present:
   * a member that just joined and was not probed yet, or a probe reply late on a busy machine.
   * Requests wait through such a moment (SlotWaits), so readiness does not flip for it (notReady).
   */
  public boolean leaseLapsedMoments(Placement current) {
    if (leaseHeld(current) || !quorum || current.size() <= 1) {
      return false;
    }
    return clock.nanos() - leaseUntil < leaseNanos;
  }

  /** A member left gracefully: it no longer counts in the majority. */
  public synchronized void left(String memberId) {
    if (base.remove(memberId)) {
      updateQuorum();
    }
  }

  /** Guarded by this. */
  private void updateQuorum() {
    updateLease();
    if (base.isEmpty()) {
      quorum = true;
      return;
    }
    int present = 0;
    for (Member m : placement.members()) {
      if (base.contains(m.id())) {
        present++;
      }
    }
    boolean had = quorum;
    quorum = present * 2 > base.size();
    if (had && !quorum) {
      log.warn("this node sees {} of the {} members of the last agreed placement: not a majority, it serves nothing"
          + " until it is back in contact with a majority", present, base.size());
    }
  }

  /** True while this node is joining: it learns slots and serves none (see placementChanged). */
  private volatile boolean learning;
  /** Whether this node's copy of a slot is whole (copied in full since its last drop). */
  private volatile java.util.function.IntPredicate whole = s -> false;

  /** This node is joining (learning its slots) or has joined. */
  public void learning(boolean joining) {
    learning = joining;
  }

  /** Tells the guard which copies here are whole (cluster/ReplicaSyncRequester). */
  public void wholeCopies(java.util.function.IntPredicate wholeCopies) {
    whole = wholeCopies;
  }

  /** The slots this node owned until the current placement gave them to a member that learned them. */
  private volatile long[] handedOverSlots = new long[WORDS];

  /**
   * True when the current placement moved {@code slot} from this node to the member that learned
   * it (a join), this node staying its replica, and not every member has confirmed that table
   * yet (at any epoch): a peer that forwards a request for it here has not heard yet, and the new owner, whose
   * placement is at least as new as ours, serves it. Once every member confirmed, a peer that
   * still sends it here is ahead of us (the new owner died and we are its first replica), and the
   * request must wait for our placement instead (found by CI: forwarded on to the dead owner).
   */
  public boolean handedOver(int slot) {
    if (!gaveAway(slot)) {
      return false;
    }
    synchronized (this) {
      // Again under the lock: a placement change between the two reads replaces both the slots and
      // the flag, and the new table's cleared flag must not be read beside the old table's slots.
      return gaveAway(slot) && !tableConfirmed;
    }
  }

  /**
   * Guarded by this: every member has reported the current table (at its epoch then), since the
   * table last changed. Not {@code !waiting}, which an epoch adoption, a drop or this node's death
   * reopens with the table unchanged: handedOver would again take a peer that is ahead (the new
   * owner died, and we are its first replica) for one that has not heard of the join, and pass its
   * request on to the dead owner (a reviewer).
   */
  private boolean tableConfirmed;

  /**
   * True when the placement this guard last processed moved {@code slot} from this node to the
   * member that learned it (a join), whether or not every member has confirmed it since. For a
   * request known to have been sent under an older placement (it arrived before this guard
   * processed the current one), which handedOver's confirmation test cannot tell: every peer
   * may have confirmed meanwhile (a reviewer).
   */
  public boolean gaveAway(int slot) {
    return (handedOverSlots[slot >>> 6] & (1L << slot)) != 0;
  }

  /** This node was started with seeds to join: alone, it serves nothing until it has joined. */
  public void awaitJoin() {
    awaitingJoin = true;
  }

  /** None of the seeds answered (see ClusterMembership.foundAloneAfter): serve alone after all. */
  public void stopAwaitingJoin() {
    awaitingJoin = false;
  }

  /** Started with seeds and not yet sharing a placement with another member. */
  public boolean awaitingJoin() {
    return awaitingJoin;
  }

  /**
   * A peer answered, holding this node alive, a request sent at {@code sentNanos} (a {@link
   * Clock#nanos()} reading): the lease runs from then.
   */
  public synchronized void renew(String memberId, long sentNanos) {
    Long last = heard.get(memberId);
    if (last == null || sentNanos - last > 0) {
      heard.put(memberId, sentNanos);
      updateLease();
    }
  }

  /**
   * True when the members ALIVE in this node's eyes ({@code aliveIds}, this node included) are a
   * majority of the quorum base: only then may it declare another member dead.
   */
  public synchronized boolean majorityAlive(java.util.Set<String> aliveIds) {
    if (base.size() <= 1) {
      return true;
    }
    int present = 0;
    for (String id : base) {
      if (aliveIds.contains(id)) {
        present++;
      }
    }
    return present * 2 > base.size();
  }

  /** Guarded by this: the lease lasts while a majority of the base (self included) answered lately. */
  private void updateLease() {
    String me = self == null ? null : self.id();
    int need = base.size() / 2 + 1 - (me != null && base.contains(me) ? 1 : 0);
    if (base.isEmpty()) {
      need = 1; // nothing agreed yet: one peer's answer
    }
    if (need <= 0) {
      leaseForever = true;
      return;
    }
    boolean wasForever = leaseForever;
    leaseForever = false;
    List<Long> times = new ArrayList<>();
    for (Map.Entry<String, Long> e : heard.entrySet()) {
      if ((base.isEmpty() || base.contains(e.getKey())) && !e.getKey().equals(me)) {
        times.add(e.getValue());
      }
    }
    if (times.size() < need) {
      // Ends now, or stays ended since when it ran out: a minority's renewals must not move that
      // moment (readiness counts from it, leaseLapsedMoments; a reviewer).
      long now = clock.nanos();
      if (wasForever || leaseUntil - now >= 0) {
        leaseUntil = now - 1;
      }
      return;
    }
    times.sort(java.util.Comparator.reverseOrder());
    leaseUntil = times.get(need - 1) + leaseNanos;
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
    // The oldest among the owners keeps what it took alone; learners do not count: a member that
    // joins learns from this node and has served nothing (rule 4), so a founder joined by a
    // learner whose id happens to be smaller (a JVM that started faster) kept nothing it had
    // served (found in CI: every write of a fresh node's first second was lost).
    boolean aloneJoinsOthers = previous.size() == 1 && previous.contains(me) && next.size() > 1
        && !me.equals(oldestOwner(next));
    long[] gave = new long[WORDS];
    // Every question below is about member positions (Placement's index queries), each member
    // looked up once: this loop runs once per change, too rarely to be compiled.
    int meNext = next.indexOf(me);
    int mePrev = previous.indexOf(me);
    long meNextBit = meNext < 0 ? 0 : 1L << meNext;
    long mePrevBit = mePrev < 0 ? 0 : 1L << mePrev;
    boolean learnerNext = (next.learnerMask() & meNextBit) != 0;
    int[] prevToNext = next.indexesOf(previous);
    int[] nextToPrev = previous.indexesOf(next);
    long prevLearners = previous.learnerMask();
    long nextLearners = next.learnerMask();
    // Per owner in previous: it left the ring in next (gone, or back only as a learner, not this node).
    boolean[] leftRing = new boolean[prevToNext.length];
    for (int i = 0; i < leftRing.length; i++) {
      int j = prevToNext[i];
      leftRing[i] = j < 0 || (nextLearners & (1L << j)) != 0 && i != mePrev;
    }
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      int on = next.ownerIndex(s);
      int ob = previous.ownerIndex(s);
      boolean nowOwned = meNext >= 0 && on == meNext;
      if (nowOwned && (old[s >>> 6] & (1L << s)) != 0
          && !(replicaReads && droppedLiveReplica(previous, next, prevToNext, prevLearners, s))) {
        keep[s >>> 6] |= 1L << s;
      }
      // A copy (owned or replicated) is kept only while this node holds it under the same owner:
      // a copy gained, lost, or under a new owner (which starts the slot empty) is dropped.
      boolean replicaNow = (next.replicaBits(s) & meNextBit) != 0;
      boolean holdsNow = nowOwned || replicaNow;
      boolean ownedBefore = mePrev >= 0 && ob == mePrev;
      boolean heldBefore = !aloneJoinsOthers && (ownedBefore || (previous.replicaBits(s) & mePrevBit) != 0);
      // A failover keeps the copies: when the owner left the ring, its first replica becomes the
      // owner and the others stay replicas, each with the copy it replicated (sync replication:
      // every acknowledged write is on it). Not a learner's copy: owners acknowledge without
      // waiting for a learner (Replicator.acknowledge), so the dead owner's last acknowledged
      // writes may never have reached it; it learns the slot again from the new owner. Another
      // owner back in next only as a learner left the ring too: it was declared dead (or left) in
      // a placement this node skipped, emptied its store (rule 3) and joins again. Taken for a
      // mere change of owner, the copy here, the only one left, was dropped (a tester: a 3.5 s
      // stall lost a third of the keys when one member went from "all three" straight to "two,
      // and the stalled one learning"). Not this node's own step to learning (it was declared
      // dead): what it held is dropped and learned again (its copies are asked for once dropped).
      boolean failover = ob >= 0 && leftRing[ob] && (previous.learningBits(s) & mePrevBit) == 0;
      // A learner that has joined keeps the slots it learned whole: their old owner stopped
      // applying writes to them and it had every effect before the learner joined (Replicator,
      // MIGRATE_PREPARE); the old owner, now the slot's replica under the learner, keeps its copy.
      // A slot it learned as a replica is kept too (heldBefore: a learner is a replica): its
      // owner acknowledged no write since MIGRATE_PREPARE before the learner had it.
      boolean tookOver = nowOwned && mePrev >= 0 && (previous.wouldOwnBits(s) & mePrevBit) != 0 && whole.test(s);
      // Not to a placement where this node learns: it was declared dead meanwhile and emptied its
      // store, so it holds no copy to keep (its requester gave the slot up while it owned it, and
      // only this drop asks for it again; a tester's rejoin waited for the next membership change).
      boolean handedOver = ownedBefore && !nowOwned && on >= 0 && nextToPrev[on] >= 0
          && replicaNow && !learnerNext && (previous.wouldOwnBits(s) & (1L << nextToPrev[on])) != 0;
      boolean newOwner = holdsNow && heldBefore && !(ob >= 0 && prevToNext[ob] == on) && !failover && !tookOver
          && !handedOver;
      if (handedOver) {
        gave[s >>> 6] |= 1L << s;
      }
      // The first placement drops nothing: the store holds only what a founder served alone before
      // it (every key is its own), and dropping that raced with the writes it was serving (found in
      // CI: a SET then GET on a fresh single node missed).
      if (changedOwners && !previous.isEmpty() && (holdsNow != heldBefore || newOwner)) {
        dirty[s >>> 6] |= 1L << s;
      }
    }
    servable = keep;
    // The same table at a higher epoch (a peer installed it first with a greater one, and this node
    // adopts it: PlacementHolder.observe, dozens of times in one RebalanceTest run, mostly within
    // milliseconds of the change itself) hands nothing over, but the slots the table's change handed
    // over still are: forgetting them made a forward from a peer that had not heard of the join yet
    // wait for an ownership that never comes here, then TRY_AGAIN.
    handedOverSlots = changedOwners ? gave : handedOverSlots;
    if (changedOwners) {
      tableConfirmed = false;
    }
    updateQuorum();
    if (cleaner != null && !isEmpty(dirty)) {
      forEach(dirty, s -> pendingDrops[s]++);
      cleaner.drop(dirty, () -> dropped(dirty));
    }
    installed = next.fingerprint();
    waiting = true;
    confirmIfAgreed();
  }

  /**
   * Drops this node's copies of {@code slots} (a 16,384-bit map) outside a placement change: an
   * owner said this node's copy missed writes (a FRESH effect, Replicator). Like a placement's
   * drops, the slots take no effect until {@code cleaner} is done.
   */
  public synchronized void drop(long[] slots, Dropper cleaner) {
    long[] copy = slots.clone();
    // A slot this node owns now (it was promoted meanwhile) keeps its copy: it is the one served.
    forEach(slots, s -> {
      if (self != null && placement.owns(self, s)) {
        copy[s >>> 6] &= ~(1L << s);
      }
    });
    if (isEmpty(copy)) {
      return;
    }
    forEach(copy, s -> pendingDrops[s]++);
    cleaner.drop(copy, () -> dropped(copy));
  }

  /**
   * True when a replicated effect for {@code slot}, sent under the placement with {@code
   * fingerprint}, may be applied here: this node has installed that placement and no drop of the
   * slot's keys is queued or running (it would delete the effect).
   */
  public synchronized boolean mayApply(long fingerprint, int slot) {
    return placement.fingerprint() == fingerprint && pendingDrops[slot] == 0;
  }

  /** This node learned it was declared dead or gone: nothing is servable until confirmed again. */
  public synchronized void declaredDead() {
    servable = new long[WORDS];
    reports.clear(); // reports from before our death confirm nothing about the placement we come back to
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
    tableConfirmed = true;
    boolean someoneDied = false;
    for (String id : base) {
      if (!containsId(placement, id)) {
        someoneDied = true; // it did not leave (left() took those out of the base)
      }
    }
    updateQuorum();
    if (quorum) {
      // Every member confirmed this placement, and it holds a majority of the old base: it is the
      // new base. A placement without a majority (a node alone after the others were lost) never
      // becomes one, or it would confirm itself.
      base.clear();
      for (Member m : placement.members()) {
        base.add(m.id());
      }
      heard.keySet().retainAll(base);
      updateQuorum();
    }
    long[] before = servable;
    long[] all = new long[WORDS];
    boolean blocked = false;
    int me = placement.indexOf(self); // contained: checked above
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (placement.ownerIndex(s) == me) {
        if (pendingDrops[s] == 0) {
          all[s >>> 6] |= 1L << s;
        } else {
          blocked = true;
        }
      }
    }
    if (someoneDied) {
      long[] taken = new long[WORDS];
      for (int w = 0; w < WORDS; w++) {
        taken[w] = all[w] & ~before[w];
      }
      delayed = taken;
      delayUntil = clock.nanos() + leaseNanos;
    }
    servable = all;
    waiting = blocked;
  }

  private static boolean containsId(Placement p, String id) {
    for (Member m : p.members()) {
      if (m.id().equals(id)) {
        return true;
      }
    }
    return false;
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

  public static void forEach(long[] bits, IntConsumer action) {
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
