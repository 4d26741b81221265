package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.HashRing;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.Clock;
import io.distcache.server.membership.GossipCodec;
import io.distcache.server.membership.GossipMessage;
import io.distcache.server.membership.GossipTransport;
import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import io.distcache.server.membership.MembershipConfig;
import io.distcache.server.membership.MembershipEngine;
import io.distcache.server.membership.MembershipSnapshot;
import io.distcache.server.bus.Peers;
import io.distcache.server.placement.PlacementHolder;
import io.distcache.server.placement.SlotCleaner;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.Store;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the membership engine has no threads or sockets; this class gives it both.
 *
 * Threads. One single-threaded event loop ("distcache-membership") calls tick() every
 * tickInterval, handles every reply that comes back from a peer, and handles incoming
 * CLUSTER_GOSSIP requests too (answerGossip): the reply (an ACK) rides on the request's response,
 * completed from this loop. They were handled on the server event loop that read them, but a
 * message that changes the placement installs it right there (Placement.of and every listener: a
 * walk of the 16,384 slots each), and with one event loop (a 2-core machine) every request of every
 * connection waited: 100-250 ms per change on each node on a loaded host, twice per join, which
 * was most of a join's foreground p99 (docs/BENCHMARKS.md, nineteenth session). Placements were
 * installed on this loop already (from replies), so nothing about them depends on the thread.
 * The engine's public methods are synchronized (checked in MembershipEngine); no I/O under the
 * lock (sends only enqueue on a peer connection).
 *
 * Transport. Each message is one CLUSTER_GOSSIP request on the cluster bus's multiplexed peer
 * connection to its address (Peers; CLUSTER_GOSSIP is refused on client connections); the
 * response's value, when not empty, is the engine's answer (an ACK to a PING, the full list to a
 * SYNC) and goes back into onMessage. A failed or timed-out request is a lost message: SWIM lives
 * with loss, so nothing retries here. Replies are handed to the membership loop, never handled on
 * the peer connection's thread, so the engine is never re-entered from inside one of its own sends.
 *
 * Placement safety. Every CLUSTER_GOSSIP frame, request and reply, carries the sender's placement
 * in its extras [epoch, fingerprint]. Each one read here is adopted if it is a newer epoch of our
 * own owners (PlacementHolder.observe) and reported to the SlotGuard, which lets this node serve a
 * slot it gained only once every other owner has reported our placement. When our placement
 * changes we ask the owners that have not confirmed it (an empty GOSSIP, whose reply carries their
 * placement), again every ANNOUNCE_INTERVAL until all have. A reply that does not call us suspect
 * or dead renews the lease from the moment its request was sent (SlotGuard); so that the lease
 * never depends on which member the probe picked, an empty GOSSIP also goes to every other
 * owner every KEEPALIVE_INTERVAL.
 *
 * Start order. The router exists before the node binds (the protocol handlers need it), but the
 * advertised port is known only after binding when port 0 was asked; so the engine is created in
 * start(). Until then the ring is empty and every request is served locally.
 */

/** Runs this node's membership over the network and keeps the ring current. */
public final class ClusterMembership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

  private final MembershipConfig config;
  private final Clock clock;
  private final Peers peers;
  private final PlacementHolder placement;
  private final int virtualNodes;
  /** How often a changed placement is announced again to the owners that have not confirmed it. */
  /**
   * How far above the highest epoch seen a peer's epoch may be and still be believed: epochs grow
   * by one per change of owners, so a jump of millions is a forged or corrupt frame, which would
   * otherwise push every later epoch out of range.
   */
  static final long MAX_EPOCH_JUMP = 1L << 20;

  static final long ANNOUNCE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final SlotGuard guard;
  private final SlotCleaner cleaner;
  private final Store store;
  private long lastAnnounceNanos;
  private final java.util.concurrent.atomic.LongAdder sent = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder received = new java.util.concurrent.atomic.LongAdder();
  /** Sends of the lease keepalive, one owner at a time, round robin. */
  static final long KEEPALIVE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private long lastKeepaliveNanos;
  private final Set<CompletableFuture<Frame>> inFlight = ConcurrentHashMap.newKeySet();
  private final DefaultEventLoop loop = new DefaultEventLoop(new DefaultThreadFactory("distcache-membership", true));
  private volatile List<Address> seeds = List.of();
  private volatile MembershipEngine engine;

  /**
   * @param store this node's store: the keys of slots that change owner are dropped from it, and
   *     all of it when the cluster declares this node dead
   */
  public ClusterMembership(MembershipConfig config, int virtualNodes, Clock clock, Peers peers, Store store) {
    this(config, virtualNodes, 0, clock, peers, store);
  }

  /** @param replicas replicas per slot in the placement (Placement.of) */
  public ClusterMembership(MembershipConfig config, int virtualNodes, int replicas, Clock clock, Peers peers,
      Store store) {
    if (virtualNodes < 1 || virtualNodes > HashRing.MAX_VIRTUAL_NODES) {
      throw new IllegalArgumentException("virtual nodes " + virtualNodes + " is outside 1.." + HashRing.MAX_VIRTUAL_NODES);
    }
    this.config = config;
    this.clock = clock;
    this.peers = peers;
    this.virtualNodes = virtualNodes;
    this.placement = new PlacementHolder(virtualNodes, replicas);
    this.store = store;
    this.cleaner = new SlotCleaner(store);
    this.guard = new SlotGuard(clock, SlotGuard.leaseFor(config.probeTimeout(), config.suspicionTimeout()));
  }

  /** Creates this node's member at {@code advertised}, joins through {@code seedAddresses} and starts ticking. */
  public synchronized void start(Address advertised, List<Address> seedAddresses) {
    if (engine != null) {
      throw new IllegalStateException("membership already started as " + engine.self());
    }
    SecureRandom random = new SecureRandom();
    Member self = new Member(Member.newId(System.currentTimeMillis(), random), advertised);
    if (seedAddresses.stream().anyMatch(seed -> !seed.equals(advertised))) {
      guard.awaitJoin(); // a joiner alone serves nothing (SlotGuard, rule 4)
    }
    MembershipEngine e = new MembershipEngine(self, config, transport, clock, random);
    if (joinDriver != null) {
      e.learnBeforeOwning();
      e.addListener(snapshot -> guard.learning(snapshot.status(self.id()).map(MemberStatus::joining).orElse(false)));
      // A learner before any peer can reach the engine (onGossip reads `engine`, set below): a peer
      // that has this node as a seed may dial it before join() runs, and must hear it as joining.
      e.startLearning(seedAddresses);
    }
    placement.addListener((previous, next) -> placementChanged(self, previous, next));
    e.onDeathDecision((candidate, aliveIds) -> guard.majorityAlive(aliveIds));
    e.onDeclaredDead(() -> {
      emptyingListeners.forEach(Runnable::run);
      guard.declaredDead();
      store.flush();
      declaredDeadListeners.forEach(Runnable::run);
    });
    engine = e;
    seeds = List.copyOf(seedAddresses);
    // Peers first: the bus dials only addresses it was given here, so a new member must be
    // allowed before the placement can route a request to it.
    e.addListener(this::dropPeersNoLongerKnown);
    RememberedPeers memory = remembered;
    if (memory != null) {
      // Not while a node given seeds is still alone: that would forget them before they answered.
      e.addListener(snapshot -> {
        if (snapshot.members().size() > 1 || !guard.awaitingJoin()) {
          memory.save(othersOf(snapshot));
        }
      });
    }
    e.addListener(placement);
    e.join(seedAddresses);
    long every = config.tickInterval().toNanos();
    loop.scheduleAtFixedRate(this::tick, every, every, TimeUnit.NANOSECONDS);
    log.info("member {} joining through {}", self, seedAddresses.isEmpty() ? "no seeds (a new cluster)" : seedAddresses);
  }

  /** Set before start: where the other members' addresses are kept for this node's next start. */
  private volatile RememberedPeers remembered;

  /** Keeps the other members' addresses in {@code peers} from now on; call before {@link #start}. */
  public void rememberPeersIn(RememberedPeers peers) {
    this.remembered = peers;
  }

  /** The addresses of the members that own or learn keys (ALIVE or SUSPECT), this node left out. */
  private static List<Address> othersOf(MembershipSnapshot snapshot) {
    List<Address> out = new ArrayList<>();
    for (MemberStatus s : snapshot.members()) {
      Address a = s.member().address();
      if (s.state().ownsKeys() && !s.id().equals(snapshot.self().id()) && !out.contains(a)) {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * For a node whose only seeds are the peers it remembered: if after {@code wait} it still knows
   * no other member (none of them answered: the whole cluster is down, or the file is stale), it
   * founds a cluster of its own and serves, as a node started without seeds does. Once any member
   * answered it never does: it then joins as any joiner.
   */
  public void foundAloneAfter(Duration wait, List<Address> rememberedSeeds) {
    loop.schedule(() -> {
      MembershipEngine e = engine;
      if (e == null) {
        return;
      }
      if (e.snapshot().members().size() != 1) {
        return; // someone answered: it joins them
      }
      // An owner, not a learner with no one to learn from: still alone under the engine's lock.
      e.joined(() -> e.snapshot().members().size() == 1);
      if (e.joining()) {
        return; // someone answered in between
      }
      log.warn("none of the remembered peers {} answered within {} ms: founding a new cluster here"
          + " (what it acknowledges is dropped if the old cluster finds it later; delete {} to start fresh at once)",
          rememberedSeeds, wait.toMillis(), remembered == null ? "the peers file" : remembered.file());
      guard.stopAwaitingJoin();
      RememberedPeers memory = remembered;
      if (memory != null) {
        memory.save(othersOf(e.snapshot())); // a new cluster: the old peers are forgotten
      }
    }, wait.toNanos(), TimeUnit.NANOSECONDS);
  }

  private void placementChanged(Member self, Placement previous, Placement next) {
    boolean wasSettled = guard.settled(); // every member had confirmed the previous placement
    guard.placementChanged(self, previous, next, dropper);
    if (previous.fingerprint() != next.fingerprint() || previous.isEmpty()) {
      boolean waitingToJoin = next.size() <= 1 && guard.awaitingJoin();
      if (waitingToJoin) {
        // Alone with seeds: it serves nothing yet, so "16384 slots here" would mislead (a tester).
        log.info("placement epoch {}: alone until a member of the cluster answers; serving nothing yet", next.epoch());
      } else {
        log.info("placement epoch {}: {} owners, {} learning, {} slots here", next.epoch(), next.ownerCount(),
            next.size() - next.ownerCount(), next.slotCount(self));
      }
      if (waitingToJoin) {
        // nothing to say about copies before it has joined
      } else if (next.underReplicated() && next.ownerCount() == 1 && previous.isEmpty()) {
        // Every node starts alone, joiners included: nothing to warn about yet.
        log.info("alone for now: each slot has 1 copy until other members join (--replicas {})", next.replicas());
      } else if (next.underReplicated() && next.contains(self)
          && (!previous.underReplicated() || previous.ownerCount() != next.ownerCount())) {
        // (Not on a node that just left: the copies of the members it leaves behind are theirs to report.)
        log.warn("{} members cannot hold {} copies of every slot (--replicas {}): each slot keeps {}",
            next.ownerCount(), next.replicas() + 1, next.replicas(), next.replicasPerSlot() + 1);
      } else if (previous.underReplicated() && !next.underReplicated()) {
        log.info("every slot has its {} copies again", next.replicas() + 1);
      }
      if (engine != null) {
        announceNews = newsOf(engine.snapshot(), previous, next, wasSettled ? List.of() : announceNews);
        announce(clock.nanos());
      }
    }
  }

  /** The membership news that changed the placement, carried by every announce of it. */
  private volatile List<MemberStatus> announceNews = List.of();

  /**
   * The current status of each member whose part in the placement changed (it died, left, joined
   * or took its share over), at most GossipCodec.MAX_STATUSES. Carried by the announce, it makes a
   * peer that has not heard yet adopt the same placement at once, instead of after its own
   * suspicion timer or a few rounds of gossip: until every member confirmed the placement, the new
   * owner of a dead member's slots answered nothing, and requests waiting for it timed out
   * (TRYAGAIN) on a loaded host, beyond the detection time (found by a tester with kill -9).
   */
  private static List<MemberStatus> newsOf(MembershipSnapshot snapshot, Placement previous, Placement next,
      List<MemberStatus> unsettled) {
    // The news of changes not confirmed yet is kept (a death, then a join before everyone heard):
    // each member's current status, once.
    java.util.Set<String> changed = new java.util.HashSet<>();
    for (MemberStatus st : unsettled) {
      changed.add(st.member().id());
    }
    List<MemberStatus> news = new java.util.ArrayList<>();
    for (MemberStatus st : snapshot.members()) {
      Member m = st.member();
      boolean before = previous.contains(m);
      boolean after = next.contains(m);
      if ((changed.contains(m.id()) || before != after || (before && previous.isLearner(m) != next.isLearner(m)))
          && news.size() < GossipCodec.MAX_STATUSES) {
        news.add(st);
      }
    }
    return List.copyOf(news);
  }

  /** Asks the owners that have not confirmed our placement for theirs (the reply carries it). */
  private void announce(long now) {
    lastAnnounceNanos = now;
    MembershipEngine e = engine;
    GossipMessage hello = new GossipMessage.Gossip(e.self(), announceNews);
    for (Member m : guard.unconfirmedPeers()) {
      transport.send(m.address(), hello);
    }
  }

  /** An empty GOSSIP to every other owner: their replies renew the lease (a majority must answer). */
  private void keepalive(long now) {
    lastKeepaliveNanos = now;
    MembershipEngine e = engine;
    List<Member> owners = placement.current().members();
    GossipMessage hello = new GossipMessage.Gossip(e.self(), List.of());
    for (Member m : owners) {
      if (!m.equals(e.self())) {
        transport.send(m.address(), hello);
      }
    }
  }

  private void tick() {
    try {
      long now = clock.nanos();
      if (!guard.settled() && now - lastAnnounceNanos >= ANNOUNCE_INTERVAL_NANOS) {
        announce(now);
      }
      if (now - lastKeepaliveNanos >= KEEPALIVE_INTERVAL_NANOS) {
        keepalive(now);
      }
      engine.tick();
      JoinDriver d = joinDriver;
      if (d != null) {
        d.tick(now, engine);
      }
    } catch (RuntimeException e) {
      // One bad tick must not stop the timer for good (a thrown task is never rescheduled).
      log.error("membership tick failed", e);
    }
  }

  /**
   * More seeds found after start (a --join name that now resolves to more addresses,
   * SeedResolver): allowed on the bus, then joined through, on the membership loop.
   */
  public void addSeeds(List<Address> more) {
    loop.execute(() -> {
      MembershipEngine e = engine;
      if (e == null) {
        return;
      }
      List<Address> all = new java.util.ArrayList<>(seeds);
      for (Address a : more) {
        if (!all.contains(a)) {
          all.add(a);
        }
      }
      seeds = List.copyOf(all);
      dropPeersNoLongerKnown(e.snapshot());
      e.join(more);
    });
  }

  /** Members that are gone from the table (tombstones expired) no longer need a connection. */
  private void dropPeersNoLongerKnown(MembershipSnapshot snapshot) {
    Set<Address> keep = new HashSet<>(seeds);
    Set<String> ids = new HashSet<>();
    for (MemberStatus s : snapshot.members()) {
      keep.add(s.member().address());
      ids.add(s.id());
      if (s.state() == MemberState.LEFT) {
        guard.left(s.id()); // a graceful leave does not count against the majority
      }
    }
    peers.retainOnly(keep);
    guard.retainReports(ids);
  }

  private volatile JoinDriver joinDriver;

  /**
   * Members join as learners (ARCHITECTURE.md "Rebalancing"): they own nothing until {@code driver}
   * finds every slot they learned whole and the owners ready. Call before {@link #start}.
   */
  void onLearning(JoinDriver driver) {
    this.joinDriver = driver;
  }

  /** What this node's join waits for now ("not joining" once it owns its share, or without replicas). */
  public String joinState() {
    JoinDriver d = joinDriver;
    return d == null ? "not joining" : d.state();
  }

  /**
   * Where the copies this node replicates under its placement and does not hold whole stand: to
   * ask, asked, accepted by their owners, or not asked (ReplicaSyncRequester.describeMissing). For
   * a test that waits for a cluster to settle and must say why it did not.
   */
  public String replicaCopiesState() {
    JoinDriver d = joinDriver;
    Member me = self();
    Placement p = placement();
    return d == null || me == null ? "no replication" : d.describeMissing(s -> p.isReplica(me, s));
  }

  /** A joiner takes its slots over only once {@code ready} too (JoinDriver.before). Call after onLearning. */
  void joinAfter(java.util.function.BooleanSupplier ready) {
    JoinDriver d = joinDriver;
    if (d == null) {
      throw new IllegalStateException("no join driver to wait for the function libraries");
    }
    d.before(ready);
  }

  private final List<java.util.function.Consumer<long[]>> droppingListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Told, as a drop of these slots' keys begins (before any is dropped), which slots lose their copy. */
  public void onSlotsDropping(java.util.function.Consumer<long[]> listener) {
    droppingListeners.add(listener);
  }

  private final List<Runnable> declaredDeadListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<java.util.function.Consumer<long[]>> droppedListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The cleaner, then whoever wants to know which copies were dropped (replicas ask for new ones). */
  private final SlotGuard.Dropper dropper = this::drop;

  private void drop(long[] slots, Runnable done) {
    droppingListeners.forEach(l -> l.accept(slots));
    cleaner.drop(slots, () -> {
      done.run();
      droppedListeners.forEach(l -> l.accept(slots));
    });
  }

  /**
   * Drops this node's copies of {@code slots} (a 16,384-bit map) and, when done, tells the
   * listeners as for a placement's drops (the replica asks its owners for new copies).
   */
  public void dropCopies(long[] slots) {
    guard.drop(slots, dropper);
  }

  /** Runs {@code action} with each set of slots (a 16,384-bit map) whose keys were dropped here. */
  public void onSlotsDropped(java.util.function.Consumer<long[]> action) {
    droppedListeners.add(action);
  }

  private final List<Runnable> emptyingListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Runs {@code action} each time this node learns it was declared dead, before its store is emptied. */
  public void onEmptying(Runnable action) {
    emptyingListeners.add(action);
  }

  /** Runs {@code action} each time this node learns it was declared dead, after its store is emptied. */
  public void onDeclaredDead(Runnable action) {
    declaredDeadListeners.add(action);
  }

  /** The current placement; empty before start. Never blocks. */
  public Placement placement() {
    return placement.current();
  }

  /** Membership messages sent to peers since start. */
  public long messagesSent() {
    return sent.sum();
  }

  /** Membership messages received from peers (requests, and replies that carried one) since start. */
  public long messagesReceived() {
    return received.sum();
  }

  /**
   * How long the failure detector may take to declare dead a member that died just now: a probe
   * round over every member (one is probed per protocol period), the probe timeout, then the
   * suspicion timeout.
   */
  long verdictNanos() {
    int members = snapshot().map(s -> s.members().size()).orElse(1);
    return config.protocolPeriod().toNanos() * Math.max(1, members) + config.probeTimeout().toNanos()
        + config.suspicionTimeout().toNanos();
  }

  /** Which owned slots may be served now. */
  public SlotGuard guard() {
    return guard;
  }

  /** The holder of the placement, to listen to its changes. */
  public PlacementHolder placements() {
    return placement;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  /** This node's member, or null before start. */
  public Member self() {
    MembershipEngine e = engine;
    return e == null ? null : e.self();
  }

  /** The current member list, or empty before start. */
  public Optional<MembershipSnapshot> snapshot() {
    MembershipEngine e = engine;
    return e == null ? Optional.empty() : Optional.of(e.snapshot());
  }

  /**
   * Answers one CLUSTER_GOSSIP request on the membership loop, never on the event loop that read
   * it (see the design note, "Threads"): the returned reply completes there. A node whose
   * membership stopped answers BUSY, as before it started.
   */
  CompletableFuture<Frame> answerGossip(Frame request) {
    CompletableFuture<Frame> reply = new CompletableFuture<>();
    try {
      loop.execute(() -> {
        try {
          reply.complete(onGossip(request));
        } catch (RuntimeException e) {
          log.warn("a membership message failed: {}", e.toString(), e);
          reply.complete(request.replyError(Status.INTERNAL_ERROR, "membership message failed: " + e));
        }
      });
    } catch (RejectedExecutionException stopped) {
      reply.complete(request.replyError(Status.BUSY, "membership is stopped"));
    }
    return reply;
  }

  /** Answers one CLUSTER_GOSSIP request: the engine's reply in the value, empty when it has none. */
  Frame onGossip(Frame request) {
    MembershipEngine e = engine;
    if (e == null) {
      return request.replyError(Status.BUSY, "membership is not started yet");
    }
    GossipMessage message;
    try {
      message = GossipCodec.decode(request.value());
    } catch (GossipCodec.MalformedGossipException ex) {
      return request.replyError(Status.BAD_REQUEST, "malformed membership message: " + ex.getMessage());
    }
    received.increment();
    Optional<GossipMessage> reply = e.onMessage(message);
    heardFrom(e, message.sender().id(), request.extras(), false, 0);
    Placement now = placement.current();
    // The third extra says, explicitly, whether we hold the sender ALIVE: only that renews its lease.
    long holdsAlive = e.snapshot().state(message.sender().id()).orElse(null) == MemberState.ALIVE ? 1 : 0;
    return request.replyValue(reply.map(GossipCodec::encode).orElse(Frame.EMPTY), now.epoch(), now.fingerprint(),
        holdsAlive);
  }

  /**
   * A peer's message was handled (after the engine, which may have told us we were declared dead):
   * its placement, when it sent one, is adopted or recorded; a reply that held us alive renews the
   * lease from the moment its request was sent.
   */
  private void heardFrom(MembershipEngine e, String senderId, long[] extras, boolean renews, long sentNanos) {
    if (senderId.equals(e.self().id())) {
      return;
    }
    if (!isOwningMember(e, senderId)) {
      return; // only members we admitted may speak for the placement (or renew our lease)
    }
    if (renews) {
      guard.renew(senderId, sentNanos);
    }
    if (extras.length >= 2 && extras[0] >= 0 && extras[0] - placement.highestSeenEpoch() <= MAX_EPOCH_JUMP) {
      placement.observe(extras[0], extras[1]);
      guard.report(senderId, extras[0], extras[1]);
    }
  }

  private static boolean isOwningMember(MembershipEngine e, String id) {
    return e.snapshot().state(id).map(MemberState::ownsKeys).orElse(false);
  }

  /** The id of the owning member at {@code address} (the newest, if a restart left two), or null. */
  private String memberAt(Address address) {
    MembershipEngine e = engine;
    String id = null;
    for (MemberStatus s : e.snapshot().members()) {
      if (s.member().address().equals(address) && s.state().ownsKeys() && (id == null || s.id().compareTo(id) > 0)) {
        id = s.id();
      }
    }
    return id;
  }

  /**
   * The first step of a graceful leave with replicas: this node becomes departing, so every
   * placement gives its slots the copies the cluster without it will hold (MembershipEngine.depart).
   */
  public void depart() {
    MembershipEngine e = engine;
    if (e != null) {
      e.depart();
    }
  }

  /**
   * Leaves the cluster: LEFT goes directly to every live member, and this waits (at most {@code
   * wait}) until they have answered, so the goodbye is not cut off by the close that follows.
   */
  public void leave(Duration wait) {
    MembershipEngine e = engine;
    if (e == null) {
      return;
    }
    // Wait for the goodbyes only: a ping still waiting on a dead member must not delay the stop.
    Set<CompletableFuture<Frame>> before = Set.copyOf(inFlight);
    e.leave();
    CompletableFuture<?>[] sent = inFlight.stream().filter(f -> !before.contains(f)).toArray(CompletableFuture<?>[]::new);
    try {
      CompletableFuture.allOf(sent).get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException ex) {
      // Counted in messages, not members: the engine's own gossip goes out beside the goodbyes (a
      // tester read "17 members" in a cluster of 5).
      log.warn("{} of the {} messages sent with the leave were not answered within {} ms",
          java.util.Arrays.stream(sent).filter(f -> !f.isDone()).count(), sent.length, wait.toMillis());
    } catch (java.util.concurrent.ExecutionException ex) {
      log.debug("a leave message was lost: {}", ex.getMessage());
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the timer at once, without leaving: to peers this node just stops answering. */
  @Override
  public void close() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    cleaner.close();
  }

  private final FrameTransport transport = new FrameTransport();

  /** Carries each message in a CLUSTER_GOSSIP request; the response's value is the answer. */
  private final class FrameTransport implements GossipTransport {
    @Override
    public void send(Address to, GossipMessage message) {
      Placement now = placement.current();
      Frame request = Frame.request(Opcode.CLUSTER_GOSSIP, 0, null, GossipCodec.encode(message), now.epoch(),
          now.fingerprint());
      long sentNanos = clock.nanos();
      sent.increment();
      CompletableFuture<Frame> reply = peers.send(to, request);
      inFlight.add(reply);
      reply.whenComplete((frame, error) -> {
        inFlight.remove(reply);
        if (error != null) {
          log.debug("membership message to {} lost: {}", to, error.getMessage());
        } else if (frame.status() != Status.OK) {
          log.debug("{} refused a membership message: {} {}", to, frame.status(), frame.valueText());
        } else {
          try {
            loop.execute(() -> deliver(to, frame, sentNanos));
          } catch (RejectedExecutionException stopped) {
            log.debug("membership stopped; dropping a reply from {}", to);
          }
        }
      });
    }

    private void deliver(Address from, Frame frame, long sentNanos) {
      try {
        MembershipEngine e = engine;
        String sender;
        boolean holdsUsAlive = true;
        if (frame.value().length > 0) {
          received.increment();
          GossipMessage reply = GossipCodec.decode(frame.value());
          for (MemberStatus u : reply.updates()) {
            if (u.id().equals(e.self().id()) && u.state() != MemberState.ALIVE) {
              holdsUsAlive = false; // suspect or dead in its eyes: it may give our slots away soon
            }
          }
          e.onMessage(reply);
          sender = reply.sender().id();
        } else {
          sender = memberAt(from);
        }
        long[] extras = frame.extras();
        boolean saysAlive = extras.length >= 3 && extras[2] == 1;
        if (sender != null) {
          heardFrom(e, sender, extras, holdsUsAlive && saysAlive, sentNanos);
        }
      } catch (GossipCodec.MalformedGossipException e) {
        log.warn("malformed membership reply from {}: {}", from, e.getMessage());
      } catch (RuntimeException e) {
        log.error("membership reply from {} failed", from, e);
      }
    }
  }
}
