package io.distcache.server.membership;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: a SWIM-style membership engine with no threads and no sockets of its own. Time comes from
 * the injected Clock and messages go out through the injected GossipTransport; the driver calls
 * tick() every config.tickInterval() and onMessage() for every message that arrives. So the same
 * code runs on a Netty event loop in production and, in tests, in one thread with a manual clock
 * and an in-memory network, where every run is exactly repeatable.
 *
 * Failure detection (one probe starts per protocol period, probes overlap freely):
 *
 *   t0                      ping the next member of a shuffled round-robin list
 *   t0 + pingTimeout        no ack: ask indirectProbes other members to ping it for us
 *                           (a lossy link between two nodes is not a dead node)
 *   t0 + probeTimeout       still no ack, direct or relayed: SUSPECT, and tell everyone
 *   + suspicionTimeout      no refutation heard: DEAD, and out of the ring
 *
 * A suspected member learns of the suspicion from the gossip on the next ping it receives and
 * refutes it by raising its incarnation: ALIVE at a higher incarnation beats SUSPECT everywhere.
 *
 * Dissemination: every state change is queued in Broadcasts and piggybacked on pings and acks.
 * Anti-entropy: every syncInterval the full list is exchanged with a random live member; every
 * reconnectInterval with a DEAD member or a seed nobody live holds, which is how two sides of a
 * healed partition find each other again.
 *
 * Join is a sync with the seeds. Until one answers, the reconnect timer keeps trying them, so two
 * nodes that start at the same moment, each listing the other, end up in one cluster whoever
 * answers first.
 *
 * Bounds (every message may be hostile, even on an authenticated bus): a message names at most
 * GossipCodec.MAX_STATUSES members; members never seen before are admitted through a token bucket
 * (config.newMembersPerSecond()) and only while fewer than MemberTable.MAX_LIVE_MEMBERS own keys;
 * a PING_REQ is acted on only when both its target and its sender are members we admitted, at the
 * addresses we know them by, so no message can make this node connect to an address of its choice.
 *
 * Locking: the public mutators are synchronized; snapshot() reads a volatile and never blocks.
 */

/** One node's view of the cluster membership, kept current by the SWIM protocol. */
public final class MembershipEngine {
  private static final Logger log = LoggerFactory.getLogger(MembershipEngine.class);
  private static final long REFUSAL_LOG_INTERVAL_NANOS = 10_000_000_000L;

  private static final class Probe {
    final Member target;
    final long startNanos;
    boolean indirectSent;

    Probe(Member target, long startNanos) {
      this.target = target;
      this.startNanos = startNanos;
    }
  }

  /** A ping we send on someone else's behalf; its ack goes back to them under their seq. */
  private record Relay(Address requester, long requesterSeq, long startNanos) {}

  private final Member self;
  private final MembershipConfig config;
  private final GossipTransport transport;
  private final Clock clock;
  private final Random random;
  private final MemberTable table;
  private final Broadcasts broadcasts = new Broadcasts();
  private final Map<Long, Probe> probes = new HashMap<>();
  private final Map<Long, Relay> relays = new HashMap<>();
  private final List<Member> probeOrder = new ArrayList<>();
  private final List<MembershipListener> listeners = new CopyOnWriteArrayList<>();
  private final List<Address> seeds = new ArrayList<>();
  /** Asked, under the engine's lock, before a suspect is declared dead: (suspect, ids we hold ALIVE). */
  private volatile java.util.function.BiPredicate<Member, java.util.Set<String>> deathDecision = (m, alive) -> true;
  /** Suspects we may not declare dead now, logged once each. */
  private final java.util.Set<String> deathsWithheld = new java.util.HashSet<>();
  /** Runs, under the engine's lock, when we learn we were declared DEAD or LEFT, before we refute. */
  private volatile Runnable declaredDeadHandler = () -> {};
  private final NewMemberBucket newMembers;
  private long lastRefusalLogNanos;
  private long refusalsNotLogged;

  private int probeIndex;
  private long nextSeq = 1;
  private long nextProbeAt;
  private long nextSyncAt;
  private long nextReconnectAt;
  private boolean left;
  private volatile MembershipSnapshot snapshot;

  public MembershipEngine(Member self, MembershipConfig config, GossipTransport transport, Clock clock, Random random) {
    this.self = Objects.requireNonNull(self, "self");
    this.config = Objects.requireNonNull(config, "config");
    this.transport = Objects.requireNonNull(transport, "transport");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    long now = clock.nanos();
    this.table = new MemberTable(self, now);
    this.nextProbeAt = now;
    this.nextSyncAt = now + config.syncInterval().toNanos();
    this.nextReconnectAt = now + config.reconnectInterval().toNanos();
    this.newMembers = new NewMemberBucket(config.newMembersPerSecond(), GossipCodec.MAX_STATUSES, now);
    this.lastRefusalLogNanos = now - REFUSAL_LOG_INTERVAL_NANOS;
    broadcasts.add(table.self().status());
    this.snapshot = table.snapshot();
  }

  public Member self() {
    return self;
  }

  public MembershipConfig config() {
    return config;
  }

  /** The current member list. Never blocks; safe from any thread. */
  public MembershipSnapshot snapshot() {
    return snapshot;
  }

  /** Calls the listener after every change, starting with the current state. */
  public void addListener(MembershipListener listener) {
    listeners.add(listener);
    listener.membershipChanged(snapshot);
  }

  public void removeListener(MembershipListener listener) {
    listeners.remove(listener);
  }

  /**
   * Called when this node hears that the cluster declared it DEAD (or LEFT): the others have given
   * its slots to other members, so whatever it holds may be older than writes made since. The
   * handler runs before the refutation is gossiped, so it can drop that data before anyone routes
   * to this node again.
   */
  public void onDeathDecision(java.util.function.BiPredicate<Member, java.util.Set<String>> decision) {
    this.deathDecision = Objects.requireNonNull(decision, "decision");
  }

  public void onDeclaredDead(Runnable handler) {
    this.declaredDeadHandler = Objects.requireNonNull(handler, "handler");
  }

  /**
   * Joins the cluster through these seeds (our own address among them is skipped). With no seeds
   * the node is a one-node cluster that others may join. Returns at once: members arrive as the
   * seeds answer, and unanswered seeds are retried every reconnect interval.
   */
  public synchronized void join(List<Address> seedAddresses) {
    startLearning(seedAddresses);
    for (Address a : seedAddresses) {
      if (!a.equals(self.address()) && !seeds.contains(a)) {
        seeds.add(a);
      }
    }
    for (Address seed : seeds) {
      transport.send(seed, fullSync(false));
    }
  }

  private volatile boolean learnFirst;
  /** Guarded by this: the first join (or startLearning) has run; later joins only add seeds. */
  private boolean joinStarted;
  /**
   * Guarded by this: this node may have told a peer its own status (it answered a message, or its
   * tick sent one). Peers keep the first status they hear of a member over a different one of the
   * same incarnation, so a change of that status from then on takes a new incarnation.
   */
  private boolean spoken;

  /**
   * The first step of {@link #join}, callable before it: a node that learns before owning and will
   * join through any of {@code seedAddresses} (not its own address) becomes a learner, once, at its
   * first call. ClusterMembership calls it before any peer can reach this engine, so none ever hears
   * this node as an owner. A node that has already spoken becomes a learner at a new incarnation:
   * nodes started together, each the others' seed, are dialled before their own join, and a peer
   * that kept "ALIVE, not joining" at incarnation 0 over "joining" at 0 counted this node an owner
   * while it counted itself a learner; their placements never agreed (ClusterTest's mutual join
   * stalled 45 s, in CI and in a repeated run).
   */
  public synchronized void startLearning(List<Address> seedAddresses) {
    boolean first = !joinStarted;
    joinStarted = true;
    boolean anySeed = seedAddresses.stream().anyMatch(a -> !a.equals(self.address()));
    MemberTable.Entry me = table.self();
    if (learnFirst && anySeed && first && !me.joining && !left) {
      table.setSelf(MemberState.ALIVE, spoken ? me.incarnation + 1 : me.incarnation, clock.nanos(), true);
      broadcasts.add(table.self().status());
      publish();
    }
  }

  /**
   * From now on this node learns before it owns: joining through seeds, or coming back after it was
   * declared dead (its data dropped), it is a member that owns nothing (MemberStatus.joining) until
   * {@link #joined()}. Call before {@link #join}.
   */
  public void learnBeforeOwning() {
    learnFirst = true;
  }

  /** True while this node is joining (learning the slots it will own). */
  public boolean joining() {
    return snapshot.status(self.id()).map(MemberStatus::joining).orElse(false);
  }

  /**
   * This node holds every slot it learned: it becomes an owner (a new incarnation, not joining),
   * told directly to every live member so the slots change hands at once everywhere.
   */
  public synchronized void joined() {
    joined(() -> true);
  }

  /**
   * As {@link #joined()}, only if {@code stillReady} holds under the engine's lock (placement
   * changes are installed under it, so nothing changes between the check and the change).
   */
  public synchronized void joined(java.util.function.BooleanSupplier stillReady) {
    MemberTable.Entry me = table.self();
    if (left || !me.joining || !stillReady.getAsBoolean()) {
      return;
    }
    table.setSelf(me.state, me.incarnation + 1, clock.nanos(), false);
    announceSelf();
    log.info("{} holds every slot it learned: it owns its share now (incarnation {})", self, me.incarnation);
  }

  /**
   * Our own new status goes out at once: gossiped, installed here, and told directly to every live
   * member, so placements change everywhere within a round trip.
   */
  private void announceSelf() {
    broadcasts.add(table.self().status());
    publish();
    GossipMessage news = new GossipMessage.Gossip(self, List.of(table.self().status()));
    for (MemberTable.Entry e : table.entries()) {
      if (e.member != self && e.state.ownsKeys()) {
        transport.send(e.member.address(), news);
      }
    }
  }

  /**
   * The first step of a graceful leave with replicas: this node becomes departing (a new
   * incarnation), told directly to every live member, so every placement gives its slots the
   * copies the placement without it names while it still serves (Placement, "Departing members").
   * Nothing for a node that is joining (it holds no copy anyone needs) or has left.
   */
  public synchronized void depart() {
    MemberTable.Entry me = table.self();
    if (left || me.joining || me.departing) {
      return;
    }
    table.setSelfDeparting(me.incarnation + 1, clock.nanos());
    announceSelf();
    log.info("{} is departing: its slots gain the copies the cluster without it will need (incarnation {})", self,
        table.self().incarnation);
  }

  /**
   * Leaves gracefully: tells every live member directly that we LEFT, so they take us out of
   * their rings at once instead of after failure detection. The engine is inert afterwards.
   */
  public synchronized void leave() {
    if (left) {
      return;
    }
    long now = clock.nanos();
    table.setSelf(MemberState.LEFT, table.self().incarnation, now);
    left = true;
    publish(); // our own placement drops us first: we stop serving before anyone may take our slots
    GossipMessage bye = new GossipMessage.Gossip(self, List.of(table.self().status()));
    for (MemberTable.Entry e : table.entries()) {
      if (e.member != self && e.state.ownsKeys()) {
        transport.send(e.member.address(), bye);
      }
    }
    log.info("{} left the cluster", self);
  }

  /** Does whatever protocol work is due now. Call every {@link MembershipConfig#tickInterval()}. */
  public synchronized void tick() {
    if (left) {
      return;
    }
    spoken = true; // probes, syncs and reconnects carry this node's status
    long before = table.version();
    long now = clock.nanos();
    advanceProbes(now);
    expireRelays(now);
    expireSuspicions(now);
    table.expireTombstones(now, config.tombstoneTimeout().toNanos());
    if (now - nextProbeAt >= 0) {
      nextProbeAt = now + config.protocolPeriod().toNanos();
      startProbe(now);
    }
    if (now - nextSyncAt >= 0) {
      nextSyncAt = now + config.syncInterval().toNanos();
      Member peer = randomLiveMember();
      if (peer != null) {
        transport.send(peer.address(), fullSync(false));
      }
    }
    if (now - nextReconnectAt >= 0) {
      nextReconnectAt = now + config.reconnectInterval().toNanos();
      reconnect();
    }
    if (table.version() != before) {
      publish();
    }
  }

  /**
   * Handles one message from a peer. Returns the answer, if the message calls for one (an ack to
   * a ping, our full list to a sync); the transport carries it back to the sender.
   */
  public synchronized Optional<GossipMessage> onMessage(GossipMessage message) {
    if (left) {
      return Optional.empty();
    }
    spoken = true; // an answer carries this node's status
    long before = table.version();
    long now = clock.nanos();
    merge(message.updates(), now);
    Optional<GossipMessage> reply = Optional.empty();
    if (message instanceof GossipMessage.Ping ping) {
      if (ping.targetId().equals(self.id())) {
        reply = Optional.of(new GossipMessage.Ack(self, ping.seq(), withVerdictOn(ping.sender(), piggyback())));
      } else {
        // Meant for an earlier run of this node: stay silent, so that run is found dead.
        log.debug("ping for {} reached {}", ping.targetId(), self);
      }
    } else if (message instanceof GossipMessage.Ack ack) {
      onAck(ack);
    } else if (message instanceof GossipMessage.PingReq req) {
      if (!isAdmitted(req.target()) || !isAdmitted(req.sender())) {
        // No connection to an address taken from the message.
        refused(now, "PING_REQ from " + req.sender() + " for " + req.target() + ": not both admitted members");
      } else {
        long seq = nextSeq++;
        relays.put(seq, new Relay(req.sender().address(), req.seq(), now));
        transport.send(req.target().address(), new GossipMessage.Ping(self, seq, req.target().id(), piggyback()));
      }
    } else if (message instanceof GossipMessage.Sync sync && !sync.reply()) {
      reply = Optional.of(fullSync(true));
    }
    if (reply.isEmpty() && !mentions(message, self.id())) {
      // A message that itself carries news of us is never answered with a verdict, so two members
      // that hold each other dead exchange one verdict each, not an endless volley.
      List<MemberStatus> verdict = withVerdictOn(message.sender(), List.of());
      if (!verdict.isEmpty() && !(message instanceof GossipMessage.Gossip g && isOwnGoodbye(g))) {
        reply = Optional.of(new GossipMessage.Gossip(self, verdict));
      }
    }
    if (table.version() != before) {
      publish();
    }
    return reply;
  }

  // ---- failure detection ----

  private void startProbe(long now) {
    Member target = nextProbeTarget();
    if (target == null) {
      return;
    }
    long seq = nextSeq++;
    probes.put(seq, new Probe(target, now));
    transport.send(target.address(), new GossipMessage.Ping(self, seq, target.id(), piggyback()));
  }

  /** Round robin over a shuffled list, reshuffled every round, so each member is probed once a round. */
  private Member nextProbeTarget() {
    for (int attempts = 0; attempts < 2; attempts++) {
      while (probeIndex < probeOrder.size()) {
        Member m = probeOrder.get(probeIndex++);
        MemberTable.Entry e = table.get(m.id());
        if (e != null && e.state.ownsKeys()) {
          return m;
        }
      }
      probeOrder.clear();
      probeIndex = 0;
      for (MemberTable.Entry e : table.entries()) {
        if (e.member != self && e.state.ownsKeys()) {
          probeOrder.add(e.member);
        }
      }
      probeOrder.sort((a, b) -> a.id().compareTo(b.id())); // a fixed start, so a seeded Random repeats
      Collections.shuffle(probeOrder, random);
    }
    return null;
  }

  private void advanceProbes(long now) {
    long pingTimeout = config.pingTimeout().toNanos();
    long probeTimeout = config.probeTimeout().toNanos();
    for (Iterator<Map.Entry<Long, Probe>> it = probes.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Long, Probe> en = it.next();
      Probe p = en.getValue();
      long age = now - p.startNanos;
      if (age >= probeTimeout) {
        it.remove();
        MemberTable.Entry e = table.get(p.target.id());
        if (e != null && e.state == MemberState.ALIVE) {
          log.info("{} did not answer a probe within {}", p.target, config.probeTimeout());
          broadcasts.add(table.suspect(e, now));
        }
      } else if (age >= pingTimeout && !p.indirectSent) {
        p.indirectSent = true;
        sendIndirectProbes(en.getKey(), p.target);
      }
    }
  }

  private void sendIndirectProbes(long seq, Member target) {
    List<Member> helpers = new ArrayList<>();
    for (MemberTable.Entry e : table.entries()) {
      if (e.member != self && e.state == MemberState.ALIVE && !e.member.id().equals(target.id())) {
        helpers.add(e.member);
      }
    }
    helpers.sort((a, b) -> a.id().compareTo(b.id()));
    Collections.shuffle(helpers, random);
    for (Member helper : helpers.subList(0, Math.min(config.indirectProbes(), helpers.size()))) {
      transport.send(helper.address(), new GossipMessage.PingReq(self, seq, target, piggyback()));
    }
  }

  private void onAck(GossipMessage.Ack ack) {
    if (probes.remove(ack.seq()) != null) {
      return;
    }
    Relay relay = relays.remove(ack.seq());
    if (relay != null) {
      transport.send(relay.requester(), new GossipMessage.Ack(self, relay.requesterSeq(), piggyback()));
    }
  }

  private void expireRelays(long now) {
    long timeout = config.probeTimeout().toNanos();
    relays.values().removeIf(r -> now - r.startNanos() >= timeout);
  }

  private void expireSuspicions(long now) {
    long timeout = config.suspicionTimeout().toNanos();
    for (MemberTable.Entry e : table.entries()) {
      if (e.state == MemberState.SUSPECT && now - e.sinceNanos >= timeout) {
        java.util.Set<String> alive = new java.util.HashSet<>();
        for (MemberTable.Entry x : table.entries()) {
          if (x.state == MemberState.ALIVE) {
            alive.add(x.member.id());
          }
        }
        alive.add(self.id());
        if (!deathDecision.test(e.member, alive)) {
          // We are on a minority side: the majority decides who is dead, and a death we spread
          // would make members that kept serving with a majority drop their data.
          if (deathsWithheld.add(e.member.id())) {
            log.warn("{} suspected for {}, but this node sees no majority alive: not declaring it dead",
                e.member, config.suspicionTimeout());
          }
          continue;
        }
        if (deathsWithheld.remove(e.member.id())) {
          // We were cut off from the majority while it was suspect, so it could not hear of the
          // suspicion either: it gets a full suspicion timeout to refute now that we are back, or
          // a healed partition would make us declare dead a member that served all along (found
          // by RebalanceTest: it then dropped its data).
          e.sinceNanos = now;
          continue;
        }
        log.warn("{} suspected for {} without refuting: declaring it dead", e.member, config.suspicionTimeout());
        broadcasts.add(table.declareDead(e, now));
      }
    }
  }

  // ---- dissemination and anti-entropy ----

  private void merge(List<MemberStatus> updates, long now) {
    boolean wasAlone = aloneFounder();
    for (MemberStatus u : updates) {
      if (u.id().equals(self.id())) {
        refuteIfNeeded(u, now);
      } else if (table.get(u.id()) != null || admits(u, now)) {
        for (MemberStatus news : table.apply(u, now)) {
          broadcasts.add(news);
        }
      }
    }
    if (!everShared && othersOwnKeys()) {
      everShared = true;
      if (wasAlone) {
        learnIfFoundByAnOlderCluster(now);
      }
    }
  }

  /**
   * Set once another member owned keys beside this one: from then on this node may hold the
   * cluster's only current copy of everything (the others left), so it is never made a learner
   * by the rule below, whatever the ids say (a wall clock behind, a member back after its
   * tombstone expired). Found in review.
   */
  private boolean everShared;

  /**
   * This node owns keys and no other member ever did beside it (a founder, still alone). Members
   * are added only by merge, which sets everShared once another owns keys, so after that no
   * message pays for the walk.
   */
  private boolean aloneFounder() {
    return !everShared && learnFirst && !left && !table.self().joining && !othersOwnKeys();
  }

  private boolean othersOwnKeys() {
    MemberTable.Entry me = table.self();
    for (MemberTable.Entry e : table.entries()) {
      if (e != me && e.state.ownsKeys()) {
        return true;
      }
    }
    return false;
  }

  /**
   * This node owned every slot alone and has just heard of members that own keys, one of them
   * older (ids begin with the start time): an existing cluster found it, typically because it was
   * restarted with the flags it was first started with (no -join) and the others dial its address.
   * It becomes a learner (a new incarnation, so its joining status beats the one they may hold),
   * before it answers or sends anything, so they never see it as an owner. Admitted as one, it
   * would take its share of the slots empty while the members that held them dropped their copies
   * (a tester lost a third of the keys by restarting the README's first node). What it took alone
   * is dropped (SlotGuard: it is not the oldest owner; ARCHITECTURE rule 5); a newer lone
   * member found by this one is the one that learns.
   */
  private void learnIfFoundByAnOlderCluster(long now) {
    MemberTable.Entry me = table.self();
    for (MemberTable.Entry e : table.entries()) {
      if (e != me && e.state.ownsKeys() && !e.joining && e.member.id().compareTo(self.id()) < 0) {
        log.info("{} owned every slot alone and was found by the cluster of {}: it learns its share before it owns"
            + " any (what it took alone is dropped)", self, e.member);
        table.setSelf(MemberState.ALIVE, me.incarnation + 1, now, true);
        broadcasts.add(table.self().status());
        return;
      }
    }
  }

  /**
   * A member we hold SUSPECT, DEAD or LEFT is still talking to us (it was slow, stalled or cut
   * off): our answer carries that verdict, whatever the piggyback budget says, so it refutes a
   * suspicion at once, or learns that its slots were given away (and drops its data) instead of
   * serving it on. Nodes rely on this for their lease (SlotGuard): a reply without a verdict
   * means the replier held the requester alive.
   */
  private List<MemberStatus> withVerdictOn(Member sender, List<MemberStatus> piggyback) {
    MemberTable.Entry e = table.get(sender.id());
    if (e == null || e.state == MemberState.ALIVE) {
      return piggyback;
    }
    for (MemberStatus s : piggyback) {
      if (s.id().equals(sender.id())) {
        return piggyback;
      }
    }
    List<MemberStatus> out = new ArrayList<>(piggyback);
    out.add(e.status());
    return out;
  }

  private static boolean mentions(GossipMessage message, String memberId) {
    for (MemberStatus u : message.updates()) {
      if (u.id().equals(memberId)) {
        return true;
      }
    }
    return false;
  }

  /** A member's own LEFT (its goodbye) needs no answer. */
  private static boolean isOwnGoodbye(GossipMessage.Gossip g) {
    for (MemberStatus u : g.updates()) {
      if (u.id().equals(g.sender().id()) && u.state() == MemberState.LEFT) {
        return true;
      }
    }
    return false;
  }

  /** A member never seen before: admitted while the cluster has room and the bucket has a token. */
  private boolean admits(MemberStatus u, long now) {
    if (u.state().ownsKeys()) {
      int live = 0;
      for (MemberTable.Entry e : table.entries()) {
        if (e.state.ownsKeys()) {
          live++;
        }
      }
      if (live >= MemberTable.MAX_LIVE_MEMBERS) {
        refused(now, u + ": the cluster already has " + live + " members, the limit is " + MemberTable.MAX_LIVE_MEMBERS);
        return false;
      }
    }
    if (!newMembers.tryTake(now)) {
      refused(now, u + ": more than " + config.newMembersPerSecond() + " new members a second");
      return false;
    }
    return true;
  }

  /** True when {@code m} is in our table at the address the message gives. */
  private boolean isAdmitted(Member m) {
    MemberTable.Entry e = table.get(m.id());
    return e != null && e.member.address().equals(m.address());
  }

  /** Logs a refused piece of news at most once per 10 s: a peer can send them at will. */
  private void refused(long now, String what) {
    if (now - lastRefusalLogNanos >= REFUSAL_LOG_INTERVAL_NANOS) {
      lastRefusalLogNanos = now;
      log.warn("ignoring {}{}", what, refusalsNotLogged > 0 ? " (" + refusalsNotLogged + " more not logged)" : "");
      refusalsNotLogged = 0;
    } else {
      refusalsNotLogged++;
    }
  }

  /** Someone says we are suspect, dead or gone: outbid that with a higher incarnation. */
  private void refuteIfNeeded(MemberStatus about, long now) {
    MemberTable.Entry me = table.self();
    if (about.state() == MemberState.ALIVE) {
      return;
    }
    long incarnation;
    if (about.state().ownsKeys()) {
      if (about.incarnation() < me.incarnation) {
        return; // a suspicion we already refuted
      }
      incarnation = about.incarnation() + 1;
    } else {
      if (me.incarnation - about.incarnation() >= MemberTable.REVIVAL_STEP) {
        return; // a death we already came back from
      }
      declaredDeadHandler.run(); // drop what we hold before anyone can route to us again
      incarnation = Math.max(me.incarnation + 1, about.incarnation() + MemberTable.REVIVAL_STEP);
    }
    log.info("refuting {} about us with incarnation {}", about.state(), incarnation);
    // Back from a death with its data dropped, a learner learns its slots again before owning them.
    table.setSelf(MemberState.ALIVE, incarnation, now, me.joining || (learnFirst && !about.state().ownsKeys()));
    broadcasts.add(table.self().status());
  }

  private void reconnect() {
    List<Address> candidates = new ArrayList<>();
    List<Address> live = new ArrayList<>();
    for (MemberTable.Entry e : table.entries()) {
      if (e.state.ownsKeys()) {
        live.add(e.member.address());
      }
    }
    for (MemberTable.Entry e : table.entries()) {
      if (e.state == MemberState.DEAD && !live.contains(e.member.address())
          && !candidates.contains(e.member.address())) {
        candidates.add(e.member.address());
      }
    }
    for (Address seed : seeds) {
      if (!live.contains(seed) && !candidates.contains(seed)) {
        candidates.add(seed);
      }
    }
    if (!candidates.isEmpty()) {
      candidates.sort((a, b) -> a.toString().compareTo(b.toString()));
      transport.send(candidates.get(random.nextInt(candidates.size())), fullSync(false));
    }
  }

  /**
   * Our list: every member that owns keys (at most MAX_LIVE_MEMBERS, so they always fit), then the
   * newest tombstones while there is room in one message; older tombstones spread by piggyback.
   */
  private GossipMessage.Sync fullSync(boolean reply) {
    List<MemberStatus> all = new ArrayList<>();
    List<MemberTable.Entry> tombstones = new ArrayList<>();
    for (MemberTable.Entry e : table.entries()) {
      if (e.state.ownsKeys() || e == table.self()) {
        all.add(e.status());
      } else {
        tombstones.add(e);
      }
    }
    tombstones.sort((a, b) -> Long.compare(b.sinceNanos, a.sinceNanos));
    for (MemberTable.Entry e : tombstones) {
      if (all.size() >= GossipCodec.MAX_STATUSES) {
        break;
      }
      all.add(e.status());
    }
    if (all.size() > GossipCodec.MAX_STATUSES) {
      all = all.subList(0, GossipCodec.MAX_STATUSES); // cannot happen while admission holds the limit
    }
    return new GossipMessage.Sync(self, reply, all);
  }

  private List<MemberStatus> piggyback() {
    int live = 0;
    for (MemberTable.Entry e : table.entries()) {
      if (e.state.ownsKeys()) {
        live++;
      }
    }
    return broadcasts.take(config.maxPiggyback(), Broadcasts.retransmitLimit(config.retransmitMultiplier(), live));
  }

  private Member randomLiveMember() {
    List<Member> live = new ArrayList<>();
    for (MemberTable.Entry e : table.entries()) {
      if (e.member != self && e.state.ownsKeys()) {
        live.add(e.member);
      }
    }
    if (live.isEmpty()) {
      return null;
    }
    live.sort((a, b) -> a.id().compareTo(b.id()));
    return live.get(random.nextInt(live.size()));
  }

  private void publish() {
    MembershipSnapshot s = table.snapshot();
    snapshot = s;
    for (MembershipListener l : listeners) {
      try {
        l.membershipChanged(s);
      } catch (RuntimeException e) {
        log.error("membership listener {} failed", l, e);
      }
    }
  }

  @Override
  public String toString() {
    return "MembershipEngine{" + self + ", version=" + snapshot.version() + "}";
  }
}
