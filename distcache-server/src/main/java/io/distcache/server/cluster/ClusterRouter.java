package io.distcache.server.cluster;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.bus.Peers;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: the one place that decides serve-or-forward. Every request from either protocol comes
 * through route(), and the decision is one switch:
 *
 *   cluster opcodes (GOSSIP, MEMBERS, OWNER)    about this node: answered here, never forwarded
 *   node-local opcodes (PING, SCAN, SIZE, ...)  this node's own store, whatever the ring says
 *   multi-key opcodes                           split by owner, see MultiKeyRouting
 *   keyed opcodes                               owner = placement.owner(slot of key), then:
 *       we own it, and may serve it serve locally (SlotGuard: every other owner has confirmed
 *                                   this placement, the slot's old keys are dropped, the lease
 *                                   holds)
 *       we own it, may not yet      TRY_AGAIN: the slot is changing owner
 *       the request is FORWARDED    TRY_AGAIN: the sender's placement differs from ours, and
 *                                   serving a slot we do not own could show stale data; never
 *                                   forwarded again, so two views cannot bounce a request
 *       the request is ROUTED       a smart client picked us from a stale placement: NOT_OWNER
 *                                   with the owner's host:port, the epoch and the slot
 *       otherwise                   forward to the owner with FORWARDED set, relay the reply
 *
 * A request for a slot this node owns but may not serve yet waits for it, in a FIFO per slot
 * (SlotWaits), for up to WAIT_MILLIS when a peer forwarded it (below the sender's forward timeout)
 * and DIRECT_WAIT_MILLIS when a client sent it here: a join settles within a round trip or two, a
 * death within the lease the new owner waits out (1.5 s), and clients that do not retry TRYAGAIN
 * (JedisCluster, Lettuce, plain ones) see no error. While a slot has waiters,
 * new requests for it queue behind them, so waiting never reorders one connection's requests.
 *
 * A TRY_AGAIN for a client's read (not FORWARDED) is retried here every RETRY_MILLIS for up to
 * RETRY_WINDOW_MILLIS, routing afresh each time, so reads ride through a membership change
 * (usually one round trip of confirmations) instead of failing, held (HeldReply) so that the
 * connection's later requests wait for the retries. Writes are never retried here:
 * a write retried 20 ms later could land after a write pipelined behind it on the same
 * connection, already acknowledged, and leave the older value in place (found in review); the
 * client gets TRY_AGAIN and decides. A ROUTED request whose slot turns out to be owned elsewhere
 * still gets NOT_OWNER at once; a peer's FORWARDED request gets TRY_AGAIN at once.
 *
 * A one-member ring (a node that nobody joined) takes the local branch before any hashing, so a
 * standalone node pays one volatile read and a size check per request.
 *
 * Forwarding uses the cluster bus's multiplexed peer connections (bus/PeerBus; never a connection
 * per request). The peer connection gives the request its own id; the reply is rebuilt with the
 * client's original id. Failures on the way (cannot connect, timeout, connection lost) become BUSY
 * "owner host:port unreachable: ...": bounded by the peer request timeout, never a hang, and the
 * future never completes exceptionally, as Router requires.
 *
 * A request over the max frame is refused here with TOO_LARGE, never sent: the owner's decoder
 * would reject it and close the shared peer connection, failing every other request on it. Binary
 * requests arrive within the limit, but a Redis MSET of many values within the value limit can
 * translate into a larger frame.
 */

/** The cluster {@link Router}: serves what this node owns and forwards the rest to the owner. */
public final class ClusterRouter implements Router, ClusterView {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ClusterRouter.class);
  private final LocalExecutor local;
  private final ClusterMembership cluster;
  private final Peers peers;
  private final LongAdder forwarded = new LongAdder();
  private final LongAdder replicaReads = new LongAdder();
  private final MultiKeyRouting multiKey;

  public ClusterRouter(LocalExecutor local, ClusterMembership cluster, Peers peers, Store store,
      ReplicationMode replication) {
    if (local == null || cluster == null || peers == null || store == null || replication == null) {
      throw new IllegalArgumentException("local executor, membership, peers, store and replication mode are all required");
    }
    this.local = local;
    this.cluster = cluster;
    this.peers = peers;
    this.multiKey = new MultiKeyRouting(this);
    this.waits = new SlotWaits(this::servableHere, this::ownedHere, r -> replicated(r, cluster.placement()),
        r -> movingHere(r, waitingSlot(r), cluster.placement()), this::unownedFate, this::passOn,
        WAIT_MILLIS, DIRECT_WAIT_MILLIS);
    this.replicator = new Replicator(store, cluster::placement, cluster::self, peers, replication, local::execute);
    replicator.scripts(local.scripts());
    local.scripts().clustered(() -> !alone(cluster.placement())); // a node that left is no longer alone
    cluster.guard().replicaReads(replication == ReplicationMode.SYNC);
    this.applier = new ReplicaApplier(store, cluster::placement, cluster::self, cluster.guard(),
        replicator.slotCopies());
    replicator.onRelease(this::reroute);
    cluster.guard().wholeCopies(replicator::whole);
    cluster.onLearning(new JoinDriver(cluster, replicator::whole, replicator::askAgainIfStuck,
        replicator::describeMissing, peers));
    cluster.placements().addListener(replicator::placementChanged);
    cluster.placements().addListener((before, after) -> unsent.placementChanged(java.util.concurrent.ForkJoinPool.commonPool()));
    replicator.onStaleCopies(cluster::dropCopies);
    cluster.onEmptying(replicator::emptying);
    cluster.onDeclaredDead(() -> {
      // Emptied: every copy this node replicates is asked for again once the owners have it back.
      applier.forget();
      long[] all = new long[KeySlot.SLOTS / 64];
      java.util.Arrays.fill(all, -1L);
      replicator.slotsDropped(all);
    });
    cluster.onSlotsDropped(replicator::slotsDropped);
    cluster.onSlotsDropping(replicator::slotsDropping);
  }

  private final Replicator replicator;
  private final ReplicaApplier applier;
  private volatile java.util.function.Function<Frame, CompletableFuture<Frame>> functionSync;

  /**
   * Answers peers' FUNCTION_SYNC with {@code handler} (the Redis side's FunctionSync; its future
   * never fails), and lets this node own slots after a join only once {@code ready} (it holds the
   * other members' function libraries).
   */
  public void functionSync(java.util.function.Function<Frame, CompletableFuture<Frame>> handler,
      java.util.function.BooleanSupplier ready) {
    this.functionSync = handler;
    cluster.joinAfter(ready);
  }

  /** The share of time (1..100 percent) a full copy to a new replica or a joining member may use (CopyPacer). */
  public void copyShare(int percent) {
    replicator.copyShare(percent);
  }

  /** Serves a request this node may serve now: locally, and on the slot's replicas for a write. */
  private CompletableFuture<Frame> replicated(Frame request, Placement placement) {
    if (onLane(request)) {
      // Off the event loop: a script may run for seconds (see ScriptHost).
      return local.scripts().submit(request, () -> replicator.execute(request, placement));
    }
    return replicator.execute(request, placement);
  }

  /** A SCRIPT, or a TRANSACTION holding one (Redis's EXEC with EVAL inside): run on the script lane. */
  private static boolean onLane(Frame request) {
    return request.op() == Opcode.SCRIPT
        || request.op() == Opcode.TRANSACTION && TransactionCodec.holds(request.value(), Opcode.SCRIPT);
  }

  /**
   * Serves a request here whatever the key's slot (a keyless script), on the script lane when it
   * runs a script. Through the replicator all the same: a
   * member may join while it waits there, and the write must then reach it (Replicator.execute).
   * On a node that owns every slot such a script may touch any key: it waits until no forward is in
   * flight, as a keyed one does there (routeOnce).
   */
  private CompletableFuture<Frame> served(Frame request) {
    Placement placement = cluster.placement();
    CompletableFuture<Void> earlier = !request.hasFlag(Flags.FORWARDED) && alone(placement) ? inFlight.anyPending()
        : null;
    if (earlier != null) {
      return after(earlier, () -> served(request));
    }
    return replicated(request, placement);
  }

  /** How long a forwarded request waits on its owner for a slot that is moving there. */
  static final long WAIT_MILLIS = 1_500;
  /**
   * How long a client's own request waits there: past the lease a new owner waits out before it
   * serves a dead member's slots (1.5 s after every member confirmed the death), which a request
   * sent just after the death used to miss by a few milliseconds (tester: TRYAGAIN after kill -9).
   */
  static final long DIRECT_WAIT_MILLIS = 3_000;

  private final SlotWaits waits;
  /** Forwards in flight per slot: a request for a slot whose owner changed waits for those to the old one. */
  private final SlotForwards inFlight = new SlotForwards();
  /** Clients' forwards that could not be sent, held for their slot's next owner. */
  private final UnsentForwards unsent = new UnsentForwards(inFlight, this::ownerNow, this::resendHeld, this::unsentExpired);

  /** True when this node owns {@code slot} now and may serve it. */
  private boolean servableHere(int slot) {
    Placement placement = cluster.placement();
    if (alone(placement)) {
      return cluster.guard().mayServe(placement, slot);
    }
    return placement.owns(cluster.self(), slot) && cluster.guard().mayServe(placement, slot);
  }

  private boolean ownedHere(int slot) {
    Placement placement = cluster.placement();
    return alone(placement) || placement.owns(cluster.self(), slot);
  }

  /**
   * True when every key is this node's (Placement.isAlone). A node that left a two-member cluster
   * is not: serving locally would acknowledge writes the cluster never sees (found while making the
   * SIGTERM drain route requests instead of refusing them).
   */
  boolean alone(Placement placement) {
    return placement.isAlone(cluster.self());
  }

  /**
   * True when this node may answer a READONLY read of {@code slot} from its replica copy: sync
   * replication (an async replica may lag acknowledged writes), it replicates the slot, it has not
   * handed off, the guard allows (lease, majority, not learning) and the copy has not been dropped
   * since it was last whole. Otherwise the read goes the owner's way (MOVED for a cluster client).
   */
  private boolean servesReplicaRead(Placement placement, int slot) {
    Member me = cluster.self();
    return replicator.mode() == ReplicationMode.SYNC && !handedOff && me != null && placement.isReplica(me, slot)
        && !placement.isLearner(me) && cluster.guard().mayServeReplica(placement) && replicator.current(slot);
  }

  /**
   * What becomes of a request that waited here for {@code slot} once this node does not own it
   * (SlotWaits). A peer's forward goes on when this node handed the slot to the member that
   * learned it, as routeOnce forwards one arriving now; while the guard has not processed the
   * router's placement yet, whether it did is unknown, so the request waits (the install takes
   * milliseconds to, on a starved node, a few hundred). Otherwise the sender's placement differs:
   * refused (TRY_AGAIN), or, waiting to become the owner (first replica), on until its deadline.
   * A client's own request is refused (TRY_AGAIN, not applied) as before. Routed afresh from here
   * it can wait for itself: a request UnsentForwards held for a killed owner and sends here once
   * this node took the slot over stays counted in SlotForwards as in flight to the dead owner
   * until answered, so forward() would make it wait for its own answer (RebalanceTest, a failover
   * then a join: a SET never answered). A plain client meets the refusal only when a slot it
   * waited for changes owner twice within the wait.
   */
  private SlotWaits.Fate unownedFate(int slot, Frame request, boolean untilOwned, int mark, long waitedNanos) {
    if (!request.hasFlag(Flags.FORWARDED)) {
      return SlotWaits.Fate.REFUSE;
    }
    if (handedOff) {
      return passOnIfTimely(waitedNanos);
    }
    Placement placement = cluster.placement();
    if (guardBehind(placement)) {
      return SlotWaits.Fate.WAIT;
    }
    // A request queued as sent under an older placement (SENDER_BEHIND): the slot this node gave
    // away in the placement it now holds, confirmed everywhere since or not (handedOver alone
    // would take the sender for one ahead once every member confirmed, a reviewer).
    if (mark == SENDER_BEHIND ? cluster.guard().gaveAway(slot) : cluster.guard().handedOver(slot)) {
      return passOnIfTimely(waitedNanos);
    }
    return untilOwned && firstReplica(placement, slot) ? SlotWaits.Fate.WAIT : SlotWaits.Fate.REFUSE;
  }

  /** SlotWaits' mark for a peer's forward sent under a placement older than this node's. */
  private static final int SENDER_BEHIND = 1;

  /**
   * How long a peer's forward may have waited here and still be passed on. The new owner may make
   * it wait WAIT_MILLIS in turn, and the sender gives up at its forward timeout (2 s by default):
   * a request passed on later could be applied after the sender answered BUSY and its client's
   * next write of the key, routed straight to the new owner, was applied first (a reviewer).
   * Refused instead (TRY_AGAIN, not applied). A guard's lag is about 100 ms here, loaded.
   */
  static final long PASS_ON_WITHIN_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

  private static SlotWaits.Fate passOnIfTimely(long waitedNanos) {
    return waitedNanos <= PASS_ON_WITHIN_NANOS ? SlotWaits.Fate.PASS_ON : SlotWaits.Fate.REFUSE;
  }

  /** True when the guard has not processed {@code placement} yet (the router sees a placement first). */
  private boolean guardBehind(Placement placement) {
    return cluster.guard().processedFingerprint() != placement.fingerprint();
  }

  private boolean firstReplica(Placement placement, int slot) {
    List<Member> replicas = placement.replicas(slot);
    return !replicas.isEmpty() && replicas.get(0).equals(cluster.self());
  }

  /**
   * Sends a peer's request SlotWaits passes on (unownedFate), outside its lock, to the slot's owner
   * now; never through routeOnce, which would queue it behind its own slot's pass-on again.
   */
  private CompletableFuture<Frame> passOn(Frame request) {
    Placement placement = cluster.placement();
    int slot = waitingSlot(request);
    Member owner = placement.owner(slot);
    if (owner == null || owner.equals(cluster.self()) || alone(placement)) {
      // Ours again since the drain looked (a placement flapped back): refused; the sender retries.
      return done(movingHere(request, slot, placement));
    }
    return forward(owner, request);
  }

  /** Queues a request for a slot we own but may not serve yet; TRY_AGAIN when too many wait. */
  private CompletableFuture<Frame> waitFor(int slot, Frame request, Placement placement) {
    CompletableFuture<Frame> reply = waits.enqueue(slot, request);
    return reply != null ? reply : done(movingHere(request, slot, placement));
  }

  private volatile boolean handedOff;

  /** This node's hand-off has begun: a member's leave that asks waits for this one if its id is higher. */
  private volatile boolean leaving;

  /**
   * This node is departing (set just before the membership says so): a leave that asks goes after
   * it whatever the ids (goesFirst). Answered from here, not the asker's membership view, which
   * may not have heard yet (a leave begun the moment a third member saw this one departing
   * departed as well).
   */
  private volatile boolean departing;

  /**
   * Graceful leave (SIGTERM, SHUTDOWN) with replicas: new writes to this node's slots are held, the
   * replicas catch up with every write applied here (at most until {@code timeout}), {@code leave}
   * runs (the others then promote each slot's first replica, which is current), and the held
   * writes go to the new owners, in order. Returns the effects the replicas still missed at the
   * deadline (0: nothing acknowledged is lost). Without replicas it only leaves.
   */
  public long handOff(java.time.Duration timeout, Runnable leave) {
    Placement p = cluster.placement();
    if (p.replicasPerSlot() == 0 || p.size() <= 1) {
      handedOff = true;
      leave.run();
      return 0;
    }
    leaving = true;
    long t0 = System.nanoTime();
    long deadline = t0 + timeout.toNanos();
    java.util.Set<String> givenUp = awaitNoSuspects(deadline);
    // Departing first: every slot this node holds a copy of gains the copies the cluster without
    // it will name, and the leave waits (at most a third of the time) until they are whole, so the
    // LEFT only promotes replicas and no slot is down to one copy while new replicas fill (SIGTERM
    // then the death of the member that took a slot over lost what only it held). The copies of
    // this node's own slots are settleCopies' below; the others' are their owners', asked here.
    departAndAwaitCopies(t0 + (deadline - t0) / 3);
    // Departing takes seconds: a member with a lower id may have begun its own leave meanwhile (two
    // SIGTERMs 0.3 s apart), and its LEFT during this node's hold below made this node settle again
    // with writes held, past the 1.5 s after which held forwards are refused (a tester: 16
    // TRYAGAIN). One that saw this node departing waits for it (goesFirst); one that departed too
    // (their pings crossed, or its wait ran out) is waited for now, while this node still serves,
    // and the copies its leave names after it.
    long departedUnder = cluster.placement().fingerprint();
    givenUp = awaitNoSuspects(deadline);
    if (cluster.placement().fingerprint() != departedUnder) {
      replicator.awaitExtrasWhole(t0 + (deadline - t0) / 2);
    }
    // A replica new to a slot since the last change holds it whole only once its full copy ended;
    // leaving before that would have it promoted with what it lacks gone (a tester). The copies
    // run while this node still serves (writes held for their length were refused after 1.5 s, a
    // reviewer), with at most half the time left; what changed meanwhile is settled again once
    // writes are held.
    replicator.settleCopies(t0 + (deadline - t0) / 2);
    long settledUnder = cluster.placement().fingerprint();
    long missed = replicator.holdAndDrain(deadline);
    int owed = replicator.settleCopies(deadline);
    // A member may have died, or left, since the wait (a reviewer: a replica killed during the
    // drain; two members stopped at once, where the first to leave made the second the owner of
    // its slots with a survivor as their new replica, which the second never copied to). While
    // writes stay held: wait for the verdict and its takeover again, and drain and settle under
    // the placement that brings, until one round finds every member answering and the placement
    // unchanged. Members the wait gave up on (a partition, a takeover that is not installed) do
    // not start another round: only a change since does (every round waited the whole timeout at
    // each test's teardown). (Two leaves whose LEFTs cross after this check still lose the slots
    // the first gave the second.)
    while (System.nanoTime() - deadline < 0
        && (cluster.placement().fingerprint() != settledUnder || !givenUp.containsAll(troubled()))) {
      log.info("handing off: the membership changed during the hand-off; settling again");
      givenUp = awaitNoSuspects(deadline);
      replicator.awaitExtrasWhole(deadline); // the change may have named new extras (a reviewer)
      settledUnder = cluster.placement().fingerprint();
      missed = replicator.holdAndDrain(deadline);
      owed = replicator.settleCopies(deadline);
    }
    if (missed == 0 && owed == 0) {
      log.info("handing off {} slots: every replica is current and holds a whole copy after {} ms; leaving",
          p.slotCount(cluster.self()), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    } else {
      log.warn("handing off: replicas still miss {} writes and whole copies of {} slots after {} ms"
          + " (--shutdown-timeout {} s); leaving anyway", missed, owed,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), timeout.toSeconds());
    }
    handedOff = true; // before LEFT: from the moment our placement drops us, late forwards go on
    leave.run();
    replicator.releaseHeld(this::reroute);
    return missed;
  }

  /**
   * Makes this node departing and waits, until {@code until}, for its placement to show it so and
   * for the extra replicas of other owners' slots to hold whole copies (Replicator.awaitExtrasWhole).
   */
  private void departAndAwaitCopies(long until) {
    Member me = cluster.self();
    departing = true;
    cluster.depart();
    Placement p = cluster.placement();
    if (me == null || !p.hasDeparting()) {
      return; // no slot gains a copy (too few members), or the membership is not running
    }
    long t0 = System.nanoTime();
    int lacking = replicator.awaitExtrasWhole(until);
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    if (lacking == 0) {
      log.info("handing off: the members that replicate this node's copies next hold them whole after {} ms", ms);
    } else {
      log.warn("handing off: {} after {} ms; going on (those slots have one copy fewer until their copies end)",
          lacking < 0 ? "members did not confirm this placement" : lacking + " slot copies are still not whole", ms);
    }
  }

  /** How long a leave waits, after the last suspicion ended, for a declared-dead member to leave the placement. */
  private static final long TAKEOVER_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);

  /**
   * How long "every other member is suspected" must hold before the leave goes without waiting:
   * one instant of it (a member suspected for a moment under load, another dead) took the only
   * live copy of the dead one's slots away (a reviewer).
   */
  private static final long ALL_SUSPECTED_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * A member suspected now may be dead, and this node may hold the only live copy of its slots (as
   * their replica): leaving now would take that copy away before anyone took the slots over (a
   * tester: kill -9 of one member, SIGTERM of another 4.2 s later lost a tenth of 200,000 keys).
   * So the leave first waits, at most until {@code deadline}, until no member is suspected and the
   * placement holds no member declared dead: one declared dead has its slots taken over (by this
   * node among others, which then owes and sends their new replicas' copies), one that answers is
   * alive; the takeover is waited for at most TAKEOVER_WAIT_NANOS after the last verdict (one
   * that cannot be installed, on the minority side of a partition, would hold the leave for the
   * whole timeout: 30 s more per stopped node in the tests), and the whole wait at most as long as
   * the failure detector takes to reach a verdict on a member that died just now (a probe round
   * over every member, the probe timeout, the suspicion timeout) and the takeover after it: a
   * fixed 6 s gave up before the verdict under a longer --suspicion-timeout (a reviewer). Polled:
   * a leave happens once.
   *
   * A member killed a moment before the leave is not suspected yet (the failure detector probes
   * one member per period): so the leave first pings every member itself, and one that does not
   * answer within LEAVE_PING_MILLIS counts as suspected, pinged again each round, until it answers
   * or the detector's verdict takes over (kill -9 of one member and SIGTERM of its replica 0.5 s
   * later went before anything was suspected).
   */
  private java.util.Set<String> awaitNoSuspects(long shutdownDeadline) {
    boolean told = false;
    long verdictAt = 0; // when no member was suspected any more, 0 while one is
    // A suspicion ends within the suspicion timeout (2.5 s by default) unless this node is the one
    // cut off, where it may never end: then its copies are not the last ones, and it goes.
    long start = System.nanoTime();
    long verdictDeadline = Math.min(shutdownDeadline, start + cluster.verdictNanos() + TAKEOVER_WAIT_NANOS);
    // Members leaving before this one are waited for at most half the time left, so this node's
    // own copies keep the other half (a reviewer: several stopped at once left the last none).
    long leaversDeadline = start + (shutdownDeadline - start) / 2;
    long allSuspectedSince = 0;
    PingRound round = ping(liveOthers());
    while (true) {
      long deadline = round.leavingFirst().isEmpty() ? verdictDeadline : leaversDeadline;
      if (System.nanoTime() - deadline >= 0) {
        return troubled(round);
      }
      Optional<MembershipSnapshot> snap = cluster.snapshot();
      Member me = cluster.self();
      PingRound seen = round;
      List<Member> suspects = snap.isEmpty() ? List.of() : snap.get().members().stream()
          .filter(m -> !m.member().equals(me) && (m.state() == io.distcache.server.membership.MemberState.SUSPECT
              || m.state() == io.distcache.server.membership.MemberState.ALIVE && seen.waitsFor(m.member())))
          .map(io.distcache.server.membership.MemberStatus::member).toList();
      // And one declared dead must be gone from the placement too: its takeover is installed a
      // moment after the declaration, and the copies it makes this node owe are marked then.
      boolean pending = !pendingRemovals().isEmpty();
      long others = snap.isEmpty() ? 0 : snap.get().members().stream()
          .filter(m -> m.state().ownsKeys() && !m.member().equals(me) && !seen.leavingFirst().contains(m.member()))
          .count();
      // Only the failure detector's suspicions: a member merely slow to answer this leave's ping
      // (a survivor in a GC pause) must not let it go before a dead member's verdict (a reviewer).
      long cutOff = suspected().size();
      if (cutOff > 0 && cutOff == others) {
        allSuspectedSince = allSuspectedSince != 0 ? allSuspectedSince : System.nanoTime();
        if (System.nanoTime() - allSuspectedSince >= ALL_SUSPECTED_NANOS) {
          return troubled(round); // every other member suspected: this node is the one cut off, or nobody is left to take over
        }
      } else {
        allSuspectedSince = 0;
      }
      if (suspects.isEmpty() && !pending) {
        return java.util.Set.of();
      }
      if (suspects.isEmpty() && verdictAt != 0 && System.nanoTime() - verdictAt > TAKEOVER_WAIT_NANOS) {
        return troubled(round); // a takeover not installed by then may never be (this side of a partition): go
      }
      verdictAt = suspects.isEmpty() ? (verdictAt == 0 ? System.nanoTime() : verdictAt) : 0;
      if (!told) {
        log.info("handing off: waiting until the suspected {} answer or are declared dead, and the members"
            + " leaving before this one {} have left (at most {} s)", round.silent(), round.leavingFirst(),
            TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
        told = true;
      }
      // Paced: a member leaving first answers at once, and re-pinging it at round-trip rate took
      // the CPU its own hand-off needs (a reviewer).
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      if (!round.quiet()) {
        java.util.Set<Member> again = new java.util.HashSet<>(round.silent());
        again.addAll(round.leavingFirst());
        PingRound next = ping(again); // waits up to LEAVE_PING_MILLIS for their answers
        if (!round.leavingFirst().isEmpty() && !next.leavingFirst().containsAll(round.leavingFirst())) {
          // One that left: its removal and the takeover of its slots get the verdict's time again
          // (the deadline fixed at the start had passed while it was waited for, a reviewer).
          verdictDeadline = Math.min(shutdownDeadline, System.nanoTime() + cluster.verdictNanos() + TAKEOVER_WAIT_NANOS);
        }
        round = next;
      }
    }
  }

  /** The ids of members that left or were declared dead but are still in the placement (takeover not installed). */
  private java.util.Set<String> pendingRemovals() {
    Optional<MembershipSnapshot> snap = cluster.snapshot();
    return snap.isEmpty() ? java.util.Set.of() : cluster.placement().members().stream()
        .filter(m -> snap.get().state(m.id()).map(st -> !st.ownsKeys()).orElse(false))
        .map(Member::id).collect(java.util.stream.Collectors.toSet());
  }

  /** The ids of the other members the failure detector suspects now. */
  private java.util.Set<String> suspected() {
    Member me = cluster.self();
    return cluster.snapshot().map(s -> s.members().stream()
        .filter(m -> !m.member().equals(me) && m.state() == io.distcache.server.membership.MemberState.SUSPECT)
        .map(m -> m.member().id()).collect(java.util.stream.Collectors.toSet())).orElse(java.util.Set.of());
  }

  /** What a leave still waits on now, by member id: see {@link #troubled(PingRound)}, after a fresh ping. */
  private java.util.Set<String> troubled() {
    return troubled(ping(liveOthers()));
  }

  /**
   * The members a leave would wait on, by id: silent or leaving first in {@code round}, suspected
   * by the failure detector, or gone but still in the placement (their takeover not installed).
   */
  private java.util.Set<String> troubled(PingRound round) {
    java.util.Set<String> out = new java.util.HashSet<>();
    round.silent().forEach(m -> out.add(m.id()));
    round.leavingFirst().forEach(m -> out.add(m.id()));
    out.addAll(suspected());
    out.addAll(pendingRemovals());
    return out;
  }

  /** How long a leave waits for a member's answer to its own PING (see awaitNoSuspects). */
  private static final long LEAVE_PING_MILLIS = 500;

  /** The members that own keys, other than this node, in the current view. */
  private java.util.Set<Member> liveOthers() {
    Member me = cluster.self();
    return cluster.snapshot().map(s -> s.members().stream()
        .filter(m -> m.state().ownsKeys() && !m.member().equals(me))
        .map(io.distcache.server.membership.MemberStatus::member)
        .collect(java.util.stream.Collectors.toSet())).orElse(java.util.Set.of());
  }

  /**
   * What one round of the leave's own pings found: the members that did not answer, and those
   * leaving too that go before this node (goesFirst). Leaves go one at a time, in id order: two at
   * once each handed its slots to replicas, then the first to leave made the other the owner of
   * some with a survivor as their new replica, and the other left without copying them there (a
   * reviewer: a sixth of the keys lost when two of four members were stopped together).
   */
  private record PingRound(java.util.Set<Member> silent, java.util.Set<Member> leavingFirst) {
    boolean quiet() {
      return silent.isEmpty() && leavingFirst.isEmpty();
    }

    boolean waitsFor(Member m) {
      return silent.contains(m) || leavingFirst.contains(m);
    }
  }

  /**
   * Whether another member whose leave has begun leaves before this one: one already departing
   * goes first, whatever its id, unless this node is departing too (then the lower id, as before).
   * By id alone, a member whose leave began while a higher one was departing departed as well, and
   * the first LEFT made the other, still departing, the first replica of slots it never held (the
   * placement of both departing names the copies the cluster without both needs, not those it
   * needs without one): the death of such a slot's owner then promoted it with a copy it never
   * received, and the copies it handed on at its own leave lacked those keys (TwoLeavesTest). A
   * departing member does not wait for one that is not departing yet, which waits for it: neither
   * waits for the other. The other's departing comes from its answer to the ping (an older node's
   * answer has no such extra: then this node's membership view).
   */
  private static boolean goesFirst(boolean lower, boolean otherDeparting, boolean meDeparting) {
    return meDeparting ? lower && otherDeparting : lower || otherDeparting;
  }

  /** Pings {@code members} over the cluster bus, asking whether they are leaving; waits up to LEAVE_PING_MILLIS. */
  private PingRound ping(java.util.Set<Member> members) {
    Member me = cluster.self();
    java.util.Set<Member> departingSeen = cluster.snapshot().map(s -> java.util.Set.copyOf(s.departing()))
        .orElse(java.util.Set.of());
    java.util.Map<Member, CompletableFuture<Frame>> pings = new java.util.HashMap<>();
    for (Member m : members) {
      pings.put(m, peers.send(m.address(), Frame.request(Opcode.PING, 0, null, null,
          io.distcache.protocol.ProtocolConstants.PING_ASKS_LEAVING)));
    }
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LEAVE_PING_MILLIS);
    java.util.Set<Member> silent = new java.util.HashSet<>();
    java.util.Set<Member> leavingFirst = new java.util.HashSet<>();
    for (java.util.Map.Entry<Member, CompletableFuture<Frame>> e : pings.entrySet()) {
      Member m = e.getKey();
      try {
        Frame reply = e.getValue().get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (reply.status() != Status.OK) {
          silent.add(m);
        } else if (reply.extras().length >= 1 && reply.extras()[0] == 1 && me != null
            && goesFirst(m.id().compareTo(me.id()) < 0,
                reply.extras().length >= 2 && reply.extras()[1] == 1 || departingSeen.contains(m), departing)) {
          leavingFirst.add(m);
        }
      } catch (InterruptedException stop) {
        Thread.currentThread().interrupt();
        return new PingRound(java.util.Set.of(), java.util.Set.of());
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException noAnswer) {
        silent.add(m);
      }
    }
    return new PingRound(silent, leavingFirst);
  }

  /**
   * A write held while its slot changed hands (a hand-off, a learner taking slots over), or routed
   * under a placement older than the installed one, sent on: a held request being resent
   * (UnsentForwards) is resent again; another of the client's own is routed as a new
   * request (a multi-key write split by slot again: sent whole to its first key's owner, it got
   * TRY_AGAIN there when its keys' slots now had different owners, a reviewer); one forwarded here
   * is served here if this node owns the slot now, else forwarded to the owner (the owner cannot
   * send it back: it owns the slot).
   */
  private CompletableFuture<Frame> reroute(Frame r) {
    boolean resent = resent(r);
    if (!resent && !r.hasFlag(io.distcache.protocol.Flags.FORWARDED)) {
      return route(r);
    }
    int slot = KeySlot.of(r.key() != null && r.key().length > 0 ? r.key() : firstKey(r));
    if (resent) {
      // A held request resent here (UnsentForwards) that the replicator held or found routed under
      // an older placement: routed as a new request it would wait in its slot's line behind the
      // held requests, itself among them, for ever (ResentHeldRequestTest). Resent again instead.
      return resendHeld(r, slot, true);
    }
    Placement now = cluster.placement();
    Member owner = now.isEmpty() ? null : now.owner(slot);
    return owner == null || owner.equals(cluster.self()) ? route(r) : forward(owner, r);
  }

  /** True while a forward of some slot is in flight from this node (held ones included). */
  boolean forwardsInFlight() {
    return inFlight.anyPending() != null;
  }

  /** Completes once no forward of any slot is in flight from this node (held ones included). */
  CompletableFuture<Void> forwardsAnswered() {
    CompletableFuture<Void> earlier = inFlight.anyPending();
    return earlier == null ? CompletableFuture.completedFuture(null)
        : earlier.handle((x, e) -> null).thenCompose(x -> forwardsAnswered());
  }

  /**
   * {@code then}, once {@code earlier} (forwards that must be answered first) has completed, however
   * it did; a HeldReply, so the connection's next requests wait for it.
   */
  private static CompletableFuture<Frame> after(CompletableFuture<Void> earlier,
      java.util.function.Supplier<CompletableFuture<Frame>> then) {
    return HeldReply.of(earlier.handle((x, e) -> null).thenCompose(x -> then.get()));
  }

  /** Opcodes whose request may name keys of other slots than its routing key's (crossSlot checks them). */
  private static boolean mayNameOtherSlots(Opcode op) {
    return switch (op) {
      case TRANSACTION, SCRIPT, BITS, KEY_OP, SETS, ZSETS -> true;
      default -> false;
    };
  }

  private static byte[] firstKey(Frame r) {
    List<byte[]> keys = Replicator.writtenKeys(r);
    return keys.isEmpty() ? new byte[0] : keys.get(0);
  }

  /** Answers the requests still waiting for a slot (TRY_AGAIN) and stops the timer. */
  public void close() {
    waits.close();
    replicator.close();
    local.scripts().close();
  }

  /** How long a plain client's request waits, retrying, for a slot that is changing owner. */
  static final long RETRY_WINDOW_MILLIS = 2_500;
  static final long RETRY_MILLIS = 20;

  @Override
  public CompletableFuture<Frame> route(Frame request) {
    return route(request, false);
  }

  @Override
  public CompletableFuture<Frame> routeReadOnly(Frame request) {
    return route(request, request.op() != null && request.op().readOnly());
  }

  private CompletableFuture<Frame> route(Frame request, boolean replicaMay) {
    CompletableFuture<Frame> reply = routeOnce(request, replicaMay);
    if (request.hasFlag(Flags.FORWARDED) || request.op() == null || !request.op().readOnly()) {
      // A peer's request: its sender decides. A write: retried later, it could land after a write
      // the client pipelined behind it and was already told succeeded; the client gets TRY_AGAIN.
      return reply;
    }
    Frame now = reply.getNow(null);
    if (now != null && now.status() != Status.TRY_AGAIN) {
      return reply; // the common case: answered at once
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RETRY_WINDOW_MILLIS);
    CompletableFuture<Frame> retried = reply.thenCompose(r -> retryWhileMoving(request, r, deadline, replicaMay));
    // Held when it is retried from now on, or was held already (waiting in its slot's line): the
    // connection's later requests wait for it, or a pipelined MGET, retried 20 ms later, read
    // values that SETs sent after it wrote (a tester, at a takeover). Not a read merely forwarded:
    // holding every one serialised a connection's pipelined reads, one round trip each (a reviewer).
    return now != null || HeldReply.holds(reply) ? HeldReply.of(retried) : retried;
  }

  private CompletableFuture<Frame> retryWhileMoving(Frame request, Frame reply, long deadline, boolean replicaMay) {
    if (reply.status() != Status.TRY_AGAIN || System.nanoTime() - deadline >= 0) {
      return done(reply);
    }
    return CompletableFuture.supplyAsync(() -> request,
            CompletableFuture.delayedExecutor(RETRY_MILLIS, TimeUnit.MILLISECONDS))
        .thenCompose(r -> routeOnce(r, replicaMay))
        .thenCompose(r -> retryWhileMoving(request, r, deadline, replicaMay));
  }

  private CompletableFuture<Frame> routeOnce(Frame request, boolean replicaMay) {
    Opcode op = request.op();
    if (op == null) {
      return done(local.execute(request)); // UNKNOWN_OPCODE, with the executor's wording
    }
    switch (op) {
      // Cluster opcodes: about the receiving node, answered here, never forwarded.
      case CLUSTER_GOSSIP:
        return cluster.answerGossip(request); // on the membership loop: an install there stalls no request
      case CLUSTER_MEMBERS:
        return done(members(request));
      case CLUSTER_OWNER:
        return done(owner(request));
      // Node-local opcodes: this node's own store (Redis Cluster's DBSIZE, SCAN and FLUSHDB are
      // per node too), plus our routing counter in STATS.
      case STATS:
        return done(withRoutingStats(local.execute(request)));
      case PING:
        if (request.extras().length >= 1 && request.extras()[0] == io.distcache.protocol.ProtocolConstants.PING_ASKS_LEAVING) {
          return done(request.replyOk(leaving ? 1 : 0, departing ? 1 : 0)); // a member's leave asks (see ping)
        }
        return done(local.execute(request));
      case SCAN, SIZE, RANDOM_KEY:
        return serveNodeLocal(request);
      case FLUSH: {
        // As a cluster-wide FLUSHALL (ClusterWide.flush): once this node's forwards in flight (held
        // ones included) are answered, or a client's SETs sent before it could land after it.
        CompletableFuture<Void> before = request.hasFlag(Flags.FORWARDED) ? null : inFlight.anyPending();
        return before == null ? serveNodeLocal(request)
            : after(before, () -> routeOnce(request, replicaMay));
      }
      // Replicated writes from the owner of slots this node replicates (peer connections only).
      case REPLICATE:
        return done(applier.apply(request));
      case REPLICA_SYNC:
        return done(replicator.syncRequested(request));
      case REPLICA_LACKS:
        return done(replicator.lacksRequested(request, cluster.guard().processedFingerprint()));
      case MIGRATE_PREPARE:
        return replicator.prepareMigration(request);
      // A member's function library changes, or its pull (peer connections only).
      case FUNCTION_SYNC: {
        java.util.function.Function<Frame, CompletableFuture<Frame>> h = functionSync;
        return h != null ? h.apply(request)
            : done(request.replyError(Status.BAD_REQUEST, "FUNCTION_SYNC: this node has no functions (no Redis protocol)"));
      }
      // A message a peer published, for this node's own subscribers (peer connections only).
      case PUBSUB_PUBLISH:
        return done(local.execute(request));
      // Multi-key opcodes: one sub-request per owner, replies merged in the request's order.
      case MULTI_GET, MULTI_SET, MULTI_SET_IF_ABSENT, MULTI_DELETE, MULTI_EXISTS:
        return multiKey.route(request);
      // A batch is served or forwarded whole, by its key, like any keyed request, once its keys
      // are known to share that key's slot (the owner of one slot can run it atomically).
      // A script: run here when it declares no key (it may then touch none in a cluster, see
      // ScriptHost); else like a batch, by its first key, once its keys share one slot.
      case SCRIPT: {
        if (request.key() == null || request.key().length == 0) {
          return served(request);
        }
        Frame refused = crossSlot(request);
        if (refused != null) {
          return done(refused);
        }
        break;
      }
      case SCRIPT_KILL:
        return done(local.execute(request)); // about this node's own running script
      // A transaction holding scripts but no key at all (an EXEC of keyless EVALs): run here, as a
      // keyless script alone is (it may then touch no key in a cluster, see ScriptHost).
      case TRANSACTION, BITS, KEY_OP, SETS, ZSETS: {
        Frame refused = crossSlot(request);
        if (refused != null) {
          return done(refused);
        }
        if (op == Opcode.TRANSACTION && keylessScripts(request)) {
          return served(request);
        }
        break;
      }
      default:
        break;
    }
    if (!op.keyed()) {
      return done(local.execute(request));
    }
    Placement placement = cluster.placement();
    if (alone(placement)) {
      // One-node cluster (or not started): every key is ours, unless we are still joining; and once
      // requests forwarded (or held) for the slot's old owner have been answered, as below (the
      // other member of two left while they were held: a DEL served first, the key came back). A
      // batch, script or two-key command may name keys of any slot here (no CROSSSLOT when alone):
      // it waits until no forward is in flight at all.
      CompletableFuture<Void> earlier = request.hasFlag(Flags.FORWARDED) ? null
          : mayNameOtherSlots(op) ? inFlight.anyPending() : inFlight.pending(KeySlot.of(request.key()));
      if (earlier != null) {
        return after(earlier, () -> routeOnce(request, replicaMay));
      }
      if (!cluster.guard().mayServe(placement, 0)) {
        return done(joining(request));
      }
      return replicated(request, placement); // no replicas
    }
    int slot = KeySlot.of(request.key());
    Member owner = placement.owner(slot);
    if (owner.equals(cluster.self())) {
      // Not a peer's forward: the old owner sends the writes it held on to us as forwards, and its
      // answer to our own forwards waits for ours to them (waiting here deadlocked a hand-off).
      CompletableFuture<Void> earlier = request.hasFlag(Flags.FORWARDED) ? null : inFlight.pending(slot);
      if (earlier != null) {
        // We became the owner while requests we forwarded to the old owner are on their way (it may
        // hold them, see SlotForwards): this one is routed once they have been answered.
        return after(earlier, () -> routeOnce(request, replicaMay));
      }
      if (!waits.busy(slot) && cluster.guard().mayServe(placement, slot)) {
        return replicated(request, placement); // we own it
      }
      // Ours, but not confirmed (or no lease) yet, or others wait for it already: wait in line.
      return waitFor(slot, request, placement);
    }
    // A READONLY read, or a peer's forwarded read (its owner could not be reached from there, or
    // the sender already saw this node promoted): a current replica copy may answer it.
    boolean replicaRead = replicaMay || (request.hasFlag(Flags.FORWARDED) && op.readOnly());
    if (replicaRead && servesReplicaRead(placement, slot)) {
      replicaReads.increment();
      return done(local.execute(request)); // a READONLY read of a current copy (SlotGuard rule 7)
    }
    if (request.hasFlag(Flags.FORWARDED)) {
      if (handedOff || cluster.guard().handedOver(slot)) {
        // We left (handedOff), or gave this slot to the member that learned it at a join
        // (handedOver): the sender forwarded this before it heard, or we held it. The owner in our
        // placement serves it: one more hop, which cannot come back (nobody forwards to a member
        // that left; a new owner owns the slot in a placement at least as new as ours), and the
        // client sees no error. Waiting here for an ownership we will not get answered TRY_AGAIN
        // after 1.5 s (a reviewer). Behind any request for the slot still waiting here, which
        // SlotWaits passes on in order (unownedFate).
        if (waits.busy(slot)) {
          CompletableFuture<Frame> wait = waits.enqueue(slot, request, true, SENDER_BEHIND);
          if (wait != null) {
            return wait;
          }
        }
        return forward(owner, request);
      }
      boolean behind = guardBehind(placement);
      if (firstReplica(placement, slot) || behind) {
        // We are the slot's first replica: the sender most likely knows already that the owner
        // died or left and that we own the slot now. Wait for our placement to say so (bounded),
        // rather than fail a write the client cannot safely retry. Or the guard has not processed
        // this placement yet, so whether we handed the slot over is not known: it waits for that
        // (SlotWaits asks unownedFate again on every poll).
        CompletableFuture<Frame> wait = waits.enqueue(slot, request, true, behind ? SENDER_BEHIND : 0);
        if (wait != null) {
          return wait;
        }
      }
      return done(notOursToServe(request, slot, owner, placement)); // the sender's placement differs
    }
    if (request.hasFlag(Flags.ROUTED)) {
      return done(notOwner(request, owner, placement, slot)); // a smart client's placement is stale
    }
    return forward(owner, request);
  }

  /** A TRANSACTION with an empty routing key that holds a SCRIPT and names no key at all. */
  private static boolean keylessScripts(Frame request) {
    if (request.key() != null && request.key().length > 0 || !onLane(request)) {
      return false;
    }
    try {
      return BatchKeys.sameSlotKeys(request).isEmpty();
    } catch (IllegalArgumentException | ListCodec.MalformedListException e) {
      return false; // the executor answers BAD_REQUEST for it
    }
  }

  /**
   * CROSS_SLOT when a TRANSACTION (or a BITOP) names a key of another slot than its routing key while other
   * members own slots (as Redis Cluster); BAD_REQUEST when it is malformed; null when it may go on.
   * A node that owns every slot runs a batch of any keys.
   */
  private Frame crossSlot(Frame request) {
    if (alone(cluster.placement())) {
      return null;
    }
    List<byte[]> keys;
    try {
      keys = BatchKeys.sameSlotKeys(request);
    } catch (IllegalArgumentException | ListCodec.MalformedListException e) {
      return request.replyError(Status.BAD_REQUEST, e.getMessage());
    }
    int slot = KeySlot.of(request.key());
    for (byte[] key : keys) {
      int other = KeySlot.of(key);
      if (other != slot) {
        return request.replyError(Status.CROSS_SLOT,
            "Keys in request don't hash to the same slot (" + slot + " and " + other + ")");
      }
    }
    return null;
  }

  /**
   * A node-local keyspace opcode (SIZE, SCAN, RANDOM_KEY, FLUSH) for this node. With replicas the
   * store also holds copies of other owners' slots: only this node's own slots count, and FLUSH
   * deletes them as replicated deletes (see Replicator).
   */
  CompletableFuture<Frame> serveNodeLocal(Frame request) {
    Placement p = cluster.placement();
    if (p.replicasPerSlot() == 0) {
      return done(local.execute(request));
    }
    return request.op() == Opcode.FLUSH ? replicator.flush(request, p) : replicator.ownedKeyspace(request, p);
  }

  /** Serves a request against this node's store, whatever the placement says. */
  Frame serveLocally(Frame request) {
    return local.execute(request);
  }

  /**
   * Serves a request for {@code keys} here when this node owns every key's slot in {@code
   * placement} and may serve it now; TRY_AGAIN otherwise.
   */
  CompletableFuture<Frame> serveIfOwned(Frame request, List<byte[]> keys, Placement placement) {
    return serveIfOwned(request, keys, placement, 0);
  }

  /** {@code waitingUntil}: when it has waited for its slots to become servable here, until then (else 0). */
  private CompletableFuture<Frame> serveIfOwned(Frame request, List<byte[]> keys, Placement placement, long waitingUntil) {
    if (!request.hasFlag(Flags.FORWARDED)) {
      for (byte[] key : keys) {
        CompletableFuture<Void> earlier = inFlight.pending(KeySlot.of(key));
        if (earlier != null) {
          // As for one key (routeOnce): we own the slot now, but requests we forwarded to its old
          // owner, or hold for its new one (UnsentForwards), have not been answered yet; serving
          // this first could overtake them (a reviewer: a pipelined DEL served while held SETs of
          // the same key were still being sent on, and the key came back).
          return after(earlier, () -> serveIfOwned(request, keys, placement(), waitingUntil));
        }
      }
    }
    Member self = cluster.self();
    boolean alone = alone(placement);
    CompletableFuture<Void> anyEarlier = alone && keys.isEmpty() && !request.hasFlag(Flags.FORWARDED)
        ? inFlight.anyPending() : null;
    if (anyEarlier != null) {
      // Owning every slot, a multi-key request is served without its keys decoded (MultiKeyRouting):
      // it waits until no forward of any slot is in flight, which is rare and short, then is routed
      // afresh (a member may have joined meanwhile, and its keys are not known here, a reviewer).
      return after(anyEarlier, () -> multiKey.route(request));
    }
    if (alone && !cluster.guard().mayServe(placement, 0)) {
      return done(joining(request));
    }
    boolean fromCopies = false;
    if (!alone) {
      int only = oneSlot(keys);
      // A client's own request waits below; a peer's does not: its multi-key frame has no key, so
      // on the peer connection a wait would hold every later forward of any slot (HeldOrder), up
      // to 1.5 s (a reviewer); its sender gets TRY_AGAIN at once, as before.
      boolean mayWait = !request.hasFlag(Flags.FORWARDED);
      if (mayWait && only >= 0 && placement.owner(only).equals(self)) {
        // Keys of one slot, ours: as for one key (routeOnce), it waits in the slot's line while the
        // slot is not servable yet or requests wait for it, rather than TRY_AGAIN at once (a held
        // share of an MSET sent on to this new owner in a batch took TRY_AGAIN as final, a reviewer).
        return !waits.busy(only) && cluster.guard().mayServe(placement, only) ? replicated(request, placement)
            : waitFor(only, request, placement);
      }
      // A peer's read of slots this node replicates: their owner could not be reached from there
      // (ClusterRouter.forwardPart); a current copy answers, as for one key (routeOnce).
      boolean replicaMay = request.hasFlag(Flags.FORWARDED) && request.op() != null && request.op().readOnly();
      for (byte[] key : keys) {
        int slot = KeySlot.of(key);
        Member owner = placement.owner(slot);
        if (!owner.equals(self)) {
          if (replicaMay && servesReplicaRead(placement, slot)) {
            fromCopies = true;
            continue;
          }
          return done(notOursToServe(request, slot, owner, placement));
        }
        if (!cluster.guard().mayServe(placement, slot) || mayWait && waits.busy(slot)) {
          if (!mayWait) {
            return done(movingHere(request, slot, placement));
          }
          // Ours, not servable yet (a takeover's lease, a join's confirmations) or others wait for it:
          // it waits too, as a one-key request does in SlotWaits, polled since its keys span slots,
          // and held, so the connection's later requests wait behind it (a tester: an MSET answered
          // TRYAGAIN at a takeover while one-key writes of its slots waited and succeeded).
          long now = System.nanoTime();
          long until = waitingUntil != 0 ? waitingUntil : now + TimeUnit.MILLISECONDS.toNanos(DIRECT_WAIT_MILLIS);
          if (now - until >= 0) {
            return done(movingHere(request, slot, placement));
          }
          return HeldReply.of(CompletableFuture.supplyAsync(() -> request,
                  CompletableFuture.delayedExecutor(RETRY_MILLIS, TimeUnit.MILLISECONDS))
              .thenCompose(r -> serveIfOwned(r, keys, placement(), until)));
        }
      }
    }
    if (fromCopies) {
      replicaReads.increment();
      return done(local.execute(request));
    }
    return replicated(request, placement);
  }

  /** The slot every one of {@code keys} hashes to; -1 when they span several (or there are none). */
  private static int oneSlot(List<byte[]> keys) {
    int slot = -1;
    for (byte[] key : keys) {
      int s = KeySlot.of(key);
      if (slot >= 0 && s != slot) {
        return -1;
      }
      slot = s;
    }
    return slot;
  }

  /** The slot a request waits for in SlotWaits: its key's, or its first key's for a multi-key one (0 when unreadable). */
  private static int waitingSlot(Frame r) {
    if (r.key() != null && r.key().length > 0) {
      return KeySlot.of(r.key());
    }
    try {
      List<byte[]> keys = r.op() == Opcode.MULTI_SET || r.op() == Opcode.MULTI_SET_IF_ABSENT
          ? io.distcache.protocol.BufferedPairs.keys(r) : ListCodec.decodeKeys(r.value());
      return keys.isEmpty() ? 0 : KeySlot.of(keys.get(0));
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static Frame joining(Frame request) {
    return request.replyError(Status.TRY_AGAIN,
        "this node is joining the cluster through its seeds and serves nothing alone until it has joined");
  }

  private static Frame movingHere(Frame request, int slot, Placement placement) {
    return request.replyError(Status.TRY_AGAIN, "slot " + slot + " is moving to this node (placement epoch "
        + placement.epoch() + "); the other members have not confirmed it yet");
  }

  private static Frame notOursToServe(Frame request, int slot, Member owner, Placement placement) {
    return request.replyError(Status.TRY_AGAIN, "slot " + slot + " belongs to " + owner.address()
        + " in this node's placement (epoch " + placement.epoch() + "); the sender's differs");
  }

  /** The largest frame this node sends to a peer or to a client. */
  int maxFrameBytes() {
    return local.maxFrameBytes();
  }

  /** True when {@code member} is this node. */
  boolean isSelf(Member member) {
    return member.equals(cluster.self());
  }

  @Override
  public Placement placement() {
    return cluster.placement();
  }

  @Override
  public Member self() {
    return cluster.self();
  }

  @Override
  public Optional<MembershipSnapshot> snapshot() {
    return cluster.snapshot();
  }

  @Override
  public Member owner(byte[] key) {
    Placement placement = cluster.placement();
    return placement.isEmpty() ? cluster.self() : placement.ownerOf(key);
  }

  /**
   * Sends {@code request} to {@code owner} with FORWARDED set and completes with the owner's reply
   * under the request's own id; BUSY naming the owner when it cannot be reached. Never completes
   * exceptionally.
   */
  CompletableFuture<Frame> forward(Member owner, Frame request) {
    boolean keyed = request.op() != null && request.op().keyed() && request.key() != null && request.key().length > 0;
    return forward(owner, request, keyed ? new int[] {KeySlot.of(request.key())} : NO_SLOTS);
  }

  /** {@link #forward(Member, Frame)} of a multi-key part whose keys are {@code keys}: each slot is counted. */
  CompletableFuture<Frame> forward(Member owner, Frame request, List<byte[]> keys) {
    return forward(owner, request, slotsOf(keys), keys);
  }

  /** The distinct slots of {@code keys}: each counted once in SlotForwards. */
  private static int[] slotsOf(List<byte[]> keys) {
    return keys.stream().mapToInt(KeySlot::of).distinct().toArray();
  }

  /** {@link #forward(Member, Frame, List)}, failing at once when it cannot be sent (MSETNX's phases: never held). */
  CompletableFuture<Frame> forwardAtOnce(Member owner, Frame request, List<byte[]> keys) {
    return forward(owner, request, slotsOf(keys), null);
  }

  private static final int[] NO_SLOTS = {};

  private CompletableFuture<Frame> forward(Member owner, Frame request, int[] slots) {
    return forward(owner, request, slots, null);
  }

  /** {@code keys}: a multi-key request's keys, in order (null for any other request). */
  private CompletableFuture<Frame> forward(Member owner, Frame request, int[] slots, List<byte[]> keys) {
    long bytes = request.encodedLength();
    if (bytes > local.maxFrameBytes()) {
      String op = request.op() != null ? request.op().name() : "request";
      return done(request.replyError(Status.TOO_LARGE, op + " of " + bytes + " bytes exceeds the max frame "
          + local.maxFrameBytes() + " and cannot be forwarded to its owner " + owner.address()));
    }
    for (int i = 0; i < slots.length; i++) {
      CompletableFuture<Void> earlier = inFlight.sendOrWait(slots[i], owner);
      if (earlier != null) {
        for (int j = 0; j < i; j++) {
          inFlight.answered(slots[j]); // not sent after all
          unsent.poke(slots[j]);
        }
        // The slot changed owner while a request for it is on its way to the old one, which may be
        // holding it (see SlotForwards): this one goes once that has been answered. A HeldReply,
        // so the client's next requests wait behind it in turn (see HeldReply).
        return after(earlier, () -> forward(owner, request, slots, keys));
      }
    }
    forwarded.increment();
    if (holdable(request, slots)) {
      return forwardHeldIfUnsent(owner, request, slots[0]);
    }
    if (keys != null && holdablePart(request, slots)) {
      return forwardPart(owner, request, slots, keys);
    }
    if (!request.hasFlag(Flags.FORWARDED)) {
      for (int s : slots) {
        if (unsent.holds(s, owner)) {
          // MSETNX's set phase (all or nothing on its owner) cannot be split to join the held
          // requests of its slots (UnsentForwards), and sent now it could overtake them if the owner
          // answers again (a reviewer: a DEL applied, then a held SET of its key). Refused
          // unapplied, as any part to an owner that refuses connections was.
          for (int t : slots) {
            inFlight.answered(t);
            unsent.poke(t); // its held ones may have waited for this count to drop
          }
          return done(request.replyError(Status.BUSY, "owner " + owner.address() + " unreachable: requests of slot " + s
              + " wait for it or its successor (UnsentForwards); not applied"));
        }
      }
    }
    CompletableFuture<Frame> sent = peers.send(owner.address(), request.withFlags(Flags.FORWARDED));
    if (slots.length > 0) {
      sent.whenComplete((r, e) -> {
        for (int s : slots) {
          inFlight.answered(s);
          unsent.poke(s);
        }
      });
    }
    if (!readsElsewhere(request)) {
      return sent.handle((reply, error) -> error == null ? relay(request, reply) : unreachable(request, owner, error));
    }
    CompletableFuture<Frame> out = new CompletableFuture<>();
    sent.whenComplete((reply, error) -> {
      if (error == null) {
        out.complete(relay(request, reply));
      } else {
        readFromAReplica(request, owner, error).whenComplete((r, e) -> out.complete(r));
      }
    });
    return out;
  }

  /**
   * A client's request for one key (never a peer's forward, whose sender decides): when it cannot
   * be sent to its owner, it may wait for the slot's next owner (UnsentForwards).
   */
  private static boolean holdable(Frame request, int[] slots) {
    Opcode op = request.op();
    return slots.length == 1 && op != null && op.keyed() && !request.hasFlag(Flags.FORWARDED) && request.key() != null
        && request.key().length > 0;
  }

  /**
   * A client's multi-key request, or one owner's part of it (MGET, MSET, DEL, EXISTS; not MSETNX's
   * set phase, all or nothing on its owner): when it cannot be sent, each slot's share of it may
   * wait for that slot's next owner (forwardPart).
   */
  private static boolean holdablePart(Frame request, int[] slots) {
    Opcode op = request.op();
    return slots.length > 0 && !request.hasFlag(Flags.FORWARDED)
        && (op == Opcode.MULTI_GET || op == Opcode.MULTI_SET || op == Opcode.MULTI_DELETE || op == Opcode.MULTI_EXISTS);
  }

  /**
   * {@link #forward} of a holdable multi-key part, already counted in SlotForwards once per slot.
   * Sent whole to {@code owner} while none of its slots has requests held for it (the common case:
   * one message, atomic on the owner). When some have, or when it could not be sent, it is split
   * by slot (MultiKeyRouting.bySlot) and each slot's share goes the way of a one-key request:
   * joins that slot's held requests, or is sent, or (not sent) is held under the part's own
   * sequence number, so it keeps its place among the requests of each of its slots; a read share
   * with nothing held before it is answered by the slot's replicas. A share held past its wait is
   * answered BUSY, not applied, while the other slots' shares may have been: the reply is then
   * that error, as when one owner of a multi-key request fails (MultiKeyRouting).
   */
  private CompletableFuture<Frame> forwardPart(Member owner, Frame request, int[] slots, List<byte[]> keys) {
    for (int s : slots) {
      if (unsent.holds(s, owner)) {
        return multiKey.bySlot(request, keys, (slot, share) -> forwardHeldIfUnsent(owner, share, slot));
      }
    }
    long seq = unsent.nextSequence();
    CompletableFuture<Frame> sent = peers.send(owner.address(), request.withFlags(Flags.FORWARDED));
    CompletableFuture<Frame> out = new CompletableFuture<>();
    sent.whenComplete((reply, error) -> {
      boolean read = request.op().readOnly();
      if (error == null || !read && !notSent(error)) {
        for (int s : slots) {
          inFlight.answered(s);
          unsent.poke(s);
        }
        out.complete(error == null ? relay(request, reply) : unreachable(request, owner, error));
        return;
      }
      java.util.Set<Integer> released = new java.util.HashSet<>();
      try {
        multiKey.bySlot(request, keys, (slot, share) -> {
          CompletableFuture<Frame> held = new CompletableFuture<>();
          released.add(slot); // taken care of from here: held (answered later) or answered now
          if (notSent(error) && unsent.hold(slot, owner, seq, share, error, read, held)) {
            return held;
          }
          inFlight.answered(slot);
          unsent.poke(slot);
          return read ? readFromAReplica(share, slot, owner, error) : done(unreachable(share, owner, error));
        }).whenComplete((r, e) -> out.complete(r != null ? r : unreachable(request, owner, e)));
      } catch (RuntimeException e) {
        // Never a client left waiting, nor a slot's count left taken (its later requests would wait for ever).
        for (int s : slots) {
          if (!released.contains(s)) {
            inFlight.answered(s);
            unsent.poke(s);
          }
        }
        out.complete(unreachable(request, owner, e));
      }
    });
    return out;
  }

  /**
   * {@link #forward} of a holdable request: sent to {@code owner}, or held behind its slot's
   * requests held for that owner; one that could not be sent is held until the slot's owner
   * changes (then routed again, in order) or the forward timeout passes (then answered as any
   * failed forward: BUSY, a read from a replica).
   */
  private CompletableFuture<Frame> forwardHeldIfUnsent(Member owner, Frame request, int slot) {
    CompletableFuture<Frame> joined = unsent.join(slot, owner, request);
    if (joined != null) {
      return joined;
    }
    long seq = unsent.nextSequence();
    CompletableFuture<Frame> sent = peers.send(owner.address(), request.withFlags(Flags.FORWARDED));
    CompletableFuture<Frame> out = new CompletableFuture<>();
    sent.whenComplete((reply, error) -> {
      if (error == null) {
        inFlight.answered(slot);
        unsent.poke(slot);
        out.complete(relay(request, reply));
        return;
      }
      boolean read = readsElsewhere(request) || readPart(request);
      if (notSent(error) && unsent.hold(slot, owner, seq, request, error, read, out)) {
        return; // still counted in flight to the owner: what is routed after it waits for it
      }
      inFlight.answered(slot);
      unsent.poke(slot);
      if (read) {
        readFromAReplica(request, slot, owner, error).whenComplete((r, e) -> out.complete(r));
      } else {
        out.complete(unreachable(request, owner, error));
      }
    });
    return out;
  }

  private static boolean notSent(Throwable error) {
    Throwable cause = UnsentForwards.cause(error);
    return cause instanceof io.distcache.server.bus.NotSentException;
  }

  /**
   * A held request whose wait ended: as a failed forward (BUSY, never applied; a read from a
   * replica while the owner is unchanged, as for any read that cannot reach its owner).
   */
  private CompletableFuture<Frame> unsentExpired(Frame request, int slot, Member owner, Throwable error, long heldMillis,
      boolean ownerChanged) {
    if (!ownerChanged && (readsElsewhere(request) || readPart(request))) {
      return readFromAReplica(request, slot, owner, error);
    }
    Throwable cause = UnsentForwards.cause(error);
    return done(request.replyError(Status.BUSY, "owner " + owner.address() + " unreachable: "
        + (cause == null ? "cannot connect" : cause.getMessage()) + "; held " + heldMillis + " ms (--forward-timeout) "
        + (ownerChanged ? "and its slot's new owner did not take it in time" : "for its slot to get another owner,"
            + " which did not happen") + "; not applied"));
  }

  /**
   * Sends a held request (UnsentForwards) to its slot's owner now: served here when that is this
   * node, else forwarded, in both cases without waiting in SlotForwards, where the held requests
   * themselves are what later requests wait behind. Completes exceptionally when the owner did not
   * answer (a NotSentException: not sent, not applied; anything else: outcome unknown).
   */
  private CompletableFuture<Frame> resendHeld(Frame request, int slot) {
    return resendHeld(request, slot, false);
  }

  /**
   * {@code again}: sent on by the replicator after it was resent (reroute). It was in its slot's
   * line already (it came out of SlotWaits, a hold or the script lane) and what queued behind it
   * waits for its reply, so it does not queue behind them again (it would wait for itself until
   * its deadline, a reviewer); it waits only while the slot is not servable here.
   */
  private CompletableFuture<Frame> resendHeld(Frame request, int slot, boolean again) {
    Placement placement = cluster.placement();
    Member self = cluster.self();
    if (alone(placement)) {
      return servedAsResent(request, () -> cluster.guard().mayServe(placement, 0) ? replicated(request, placement)
          : done(joining(request)));
    }
    Member owner = placement.owner(slot);
    if (owner.equals(self)) {
      return servedAsResent(request, () -> (again || !waits.busy(slot)) && cluster.guard().mayServe(placement, slot)
          ? replicated(request, placement) : waitFor(slot, request, placement));
    }
    forwarded.increment();
    CompletableFuture<Frame> out = new CompletableFuture<>();
    peers.send(owner.address(), request.withFlags(Flags.FORWARDED)).whenComplete((reply, error) -> {
      if (error == null) {
        out.complete(relay(request, reply));
      } else {
        out.completeExceptionally(error); // UnsentForwards answers it (BUSY) or holds it again (not sent)
      }
    });
    return out;
  }

  /**
   * Held requests (UnsentForwards) being served here as resent, by identity (two clients' equal
   * requests are two requests), until answered: the replicator may hold one (a hand-off, a slot
   * moving to a learner) or find it routed under an older placement, and send it on through
   * {@link #reroute}, which must resend it rather than route it as new.
   */
  private final java.util.Map<Frame, int[]> resending = new java.util.IdentityHashMap<>();

  private CompletableFuture<Frame> servedAsResent(Frame request, java.util.function.Supplier<CompletableFuture<Frame>> serve) {
    synchronized (resending) {
      resending.computeIfAbsent(request, r -> new int[1])[0]++;
    }
    CompletableFuture<Frame> reply;
    try {
      reply = serve.get();
    } catch (Throwable e) {
      notResent(request);
      throw e;
    }
    // Counted, not a flag: UnsentForwards may resend it again from its own callback on this reply,
    // which runs before this one (a reviewer), and that attempt must stay marked.
    reply.whenComplete((r, e) -> notResent(request));
    return reply;
  }

  private void notResent(Frame request) {
    synchronized (resending) {
      int[] count = resending.get(request);
      if (count != null && --count[0] == 0) {
        resending.remove(request);
      }
    }
  }

  private boolean resent(Frame request) {
    synchronized (resending) {
      return resending.containsKey(request);
    }
  }

  /** The slot's owner in the current placement (this node when it is alone). */
  private Member ownerNow(int slot) {
    Placement p = cluster.placement();
    return alone(p) ? cluster.self() : p.owner(slot);
  }

  /** How long a client's request whose owner cannot be connected to waits for another owner (the forward timeout). */
  public void unsentWait(java.time.Duration wait) {
    unsent.waitFor(wait);
  }

  /** A client's read of one key (never a peer's forward): it may be answered by a replica instead. */
  private static boolean readsElsewhere(Frame request) {
    Opcode op = request.op();
    return op != null && op.keyed() && op.readOnly() && !request.hasFlag(Flags.FORWARDED) && request.key() != null
        && request.key().length > 0;
  }

  /** One slot's share of a client's MGET or EXISTS of several keys (forwardPart): it may be answered by a replica. */
  private static boolean readPart(Frame request) {
    Opcode op = request.op();
    return (op == Opcode.MULTI_GET || op == Opcode.MULTI_EXISTS) && !request.hasFlag(Flags.FORWARDED);
  }

  /**
   * The owner of a client's read could not be reached (killed, stalled, cut off): until the
   * cluster declares it dead and promotes a replica, which takes the detection time, its slots
   * would answer BUSY. A replica's copy answers instead, under the same rule as a READONLY read
   * (SlotGuard rule 7: sync replication, the replica's lease, a copy not dropped since it was last
   * whole): here when this node is one, else on the slot's replicas in turn, which serve a
   * forwarded read from a current copy (route). Never completes exceptionally; BUSY naming the
   * owner when no replica can answer.
   */
  private CompletableFuture<Frame> readFromAReplica(Frame request, Member owner, Throwable error) {
    return readFromAReplica(request, KeySlot.of(request.key()), owner, error);
  }

  /** {@link #readFromAReplica(Frame, Member, Throwable)} of a read of {@code slot} (one key, or one slot's share of several). */
  private CompletableFuture<Frame> readFromAReplica(Frame request, int slot, Member owner, Throwable error) {
    Placement p = cluster.placement();
    if (!owner.equals(p.owner(slot))) {
      return route(request); // the placement changed meanwhile: route afresh (a read may be resent)
    }
    if (servesReplicaRead(p, slot)) {
      replicaReads.increment();
      return done(local.execute(request));
    }
    return askReplicas(request, slot, p.replicas(slot), 0, owner, error);
  }

  private CompletableFuture<Frame> askReplicas(Frame request, int slot, List<Member> replicas, int i, Member owner,
      Throwable error) {
    if (i >= replicas.size()) {
      Placement now = cluster.placement();
      if (!owner.equals(now.owner(slot))) {
        // The owner was declared dead meanwhile and its replica, the new owner, is waiting out the
        // lease: TRY_AGAIN, which route() retries for a read under the new placement.
        return done(request.replyError(Status.TRY_AGAIN, "owner " + owner.address()
            + " is gone; its slot's new owner serves it shortly"));
      }
      return done(unreachable(request, owner, error));
    }
    Member r = replicas.get(i);
    if (r.equals(cluster.self()) || r.equals(owner)) {
      return askReplicas(request, slot, replicas, i + 1, owner, error);
    }
    return peers.send(r.address(), request.withFlags(Flags.FORWARDED)).handle((reply, e) -> e == null
            && reply.status() != Status.TRY_AGAIN ? done(relay(request, reply))
            : askReplicas(request, slot, replicas, i + 1, owner, error))
        .thenCompose(f -> f);
  }

  /** The owner's reply as an answer to the original request (its id, which the client waits on). */
  private static Frame relay(Frame request, Frame reply) {
    return new Frame(reply.opcode(), reply.flags(), request.requestId(), reply.status(), reply.extras(), reply.key(),
        reply.value());
  }

  private static Frame unreachable(Frame request, Member owner, Throwable error) {
    Throwable cause = UnsentForwards.cause(error);
    return request.replyError(Status.BUSY, "owner " + owner.address() + " unreachable: " + cause.getMessage());
  }

  /** NOT_OWNER: value the owner's host:port, extras [placement epoch, slot of the key]. */
  static Frame notOwner(Frame request, Member owner, Placement placement, int slot) {
    return request.reply(Status.NOT_OWNER, 0, owner.address().toString().getBytes(StandardCharsets.US_ASCII),
        placement.epoch(), slot);
  }

  @Override
  public String replicationInfo() {
    Placement p = cluster.placement();
    return replicator.infoLines(p.replicas(), p.underReplicated());
  }

  @Override
  public long ownedKeys() {
    Placement p = cluster.placement();
    return replicator.ownedKeys(p, cluster.self(), alone(p));
  }

  @Override
  public boolean leaseHeld() {
    return cluster.guard().leaseHeld(cluster.placement());
  }

  @Override
  public long messagesSent() {
    return cluster.messagesSent();
  }

  @Override
  public long messagesReceived() {
    return cluster.messagesReceived();
  }

  @Override
  public long[] unsentForwards() {
    return unsent.totals();
  }

  /** Requests this node sent on to an owner since it started (multi-key parts count one each). */
  @Override
  public long forwardedRequests() {
    return forwarded.sum();
  }

  @Override
  public long replicaReads() {
    return replicaReads.sum();
  }

  /** More "name:value" lines for STATS replies (the admin page reads other members' through them). */
  private volatile java.util.function.Supplier<String> statsExtras = () -> "";

  /** Adds {@code lines} ("name:value\n" each) to this node's STATS replies. */
  public void statsExtras(java.util.function.Supplier<String> lines) {
    this.statsExtras = lines;
  }

  private Frame withRoutingStats(Frame stats) {
    if (stats.status() != Status.OK) {
      return stats;
    }
    byte[] extra = ("forwarded_requests:" + forwardedRequests() + "\n" + statsExtras.get()).getBytes(StandardCharsets.UTF_8);
    byte[] value = new byte[stats.value().length + extra.length];
    System.arraycopy(stats.value(), 0, value, 0, stats.value().length);
    System.arraycopy(extra, 0, value, stats.value().length, extra.length);
    return new Frame(stats.opcode(), stats.flags(), stats.requestId(), stats.status(), stats.extras(), stats.key(), value);
  }

  private Frame members(Frame request) {
    Optional<MembershipSnapshot> snapshot = cluster.snapshot();
    if (snapshot.isEmpty()) {
      return request.replyError(Status.BUSY, "membership is not started yet");
    }
    Placement placement = cluster.placement();
    return request.replyValue(GossipCodec.encodeStatuses(snapshot.get().members()), placement.epoch(),
        cluster.virtualNodes(), placement.fingerprint(), placement.replicas());
  }

  private Frame owner(Frame request) {
    Placement placement = cluster.placement();
    Member owner = owner(request.key());
    if (owner == null) {
      return request.replyError(Status.BUSY, "membership is not started yet");
    }
    return request.replyValue(owner.address().toString().getBytes(StandardCharsets.US_ASCII), placement.epoch());
  }

  private static CompletableFuture<Frame> done(Frame reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
