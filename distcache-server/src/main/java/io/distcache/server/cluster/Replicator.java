package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.store.EditJournal;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoredEntry;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the owner's side of replication. A write to a slot that has replicas runs here:
 *
 *   lock the slot's stripe
 *     read each key's head                          (Store.peekHead: type, version, expiry)
 *     apply the write to the local store            (LocalExecutor, as without replicas)
 *     read what it left on each key it changed      (Store.peekEntry: value, absolute expiry, version;
 *                                                    a key whose head stayed is skipped: see heads)
 *     append that effect to each replica's link     (ReplicaLink: numbered, ordered, resent)
 *   unlock
 *   sync:  reply once every link has acknowledged the effect (bounded by SYNC_WAIT_MILLIS, then
 *          BUSY: the write is applied here but not known to be on every replica)
 *   async: reply at once, unless a replica lags by more than ReplicaLink.MAX_LAG_BYTES
 *
 * Order. The stripe lock (by slot) makes "apply, read, append" atomic against every other write
 * of the slot, so each replica receives a slot's writes in the order the owner applied them, and
 * applies them in that order (the link's sequence numbers). Effects are states, not commands: a
 * replica that applied the stream holds what the owner holds, INCR and relative TTLs included, and
 * a delete is applied in its place in the stream, so an older value cannot come back after it.
 * Versions are the owner's: a replica stores the owner's version (Store.applyReplicated), and
 * versions it gives later, once it owns the slot, are above every version it applied.
 *
 * Live replicas are the slot's replicas in the current placement. A replica that dies is removed
 * from the placement by membership, its link closed, and the writes waiting for it are released:
 * a sync write waits at most the failure detection time for a dead replica, then is acknowledged
 * with the copies that are left.
 *
 * Learners. A learner (a member joining) gets every write of the slots it learns, but while it
 * merely learns a write is acknowledged without it: its stream also carries its copy, and it
 * becomes a copy of nothing before this node answered its MIGRATE_PREPARE, which waits until it
 * applied every effect already sent. From that request on (the hold is registered before the
 * offset it waits for is taken), and under an installed placement where it no longer learns, a
 * write waits for it as for a replica. A join may displace a replica: the learner becomes the
 * slot's replica in its place, and the old replica drops the slot when it installs that
 * placement, and acknowledges an effect sent under it without applying it (ReplicaApplier skips a
 * slot it does not replicate there). A write counted on that replica alone sat on the owner only
 * until the learner's asynchronous stream delivered it, and the owner dying in between lost an
 * acknowledged write (review finding F3). So the learner asks every owner of a slot it learns
 * (JoinDriver), one it takes no slot from too (that one holds nothing). A hold, such an empty one
 * included, ends only when the learner joins, leaves the placement (declared dead, or left), or
 * cancels the round it answers; never on a timer, since the learner may join on the strength of
 * this node's OK at any time until this node hears of it. The learner sends its cancel again until
 * answered (MigrationCancels); rounds are numbered, so a late cancel leaves a later round's hold.
 *
 * A replica that skipped a placement. Placements are built by each node from its membership view,
 * so a node may go from p1 straight to p3 while the owner went p1 -> p2 -> p3. If it replicated a
 * slot under p1 and p3 but not under p2, its own view says its copy never stopped, and it keeps it;
 * yet the writes made under p2 went to p2's replica, not to it, and it would serve (READONLY) or be
 * promoted with the values from before them (review finding B). The owner knows: at each change it
 * notes, per member still present, the slots it keeps that the member no longer replicates; the
 * first write of such a slot that bypasses the member (shipped under a placement where it is not
 * a replica) first appends a RELEASED effect to that member's stream. The member applies it under
 * the placement the batch comes with, like any effect: a member that installed p2 skips it there
 * (it does not replicate the slot under p2, and dropped its copy when it installed p2); one that
 * went straight to p3 replicates the slot for this owner there, so it drops its copy and asks for
 * a new one (ReplicaApplier). Only a write makes the copy stale, so a slot nobody wrote in between
 * costs nothing: under sync replication the owner serves such a slot only after every member,
 * this one included, confirmed p2 (SlotGuard rule 7), so a member that heard of both changes at
 * once keeps its copy, which is current (dropping it would leave the acknowledged writes on the
 * owner alone until the copy is refilled; found in review). The notes are made from the listener,
 * or by the first write shipped under a placement the listener has not run for yet.
 *
 * A write routed under an older placement. The router decides under the placement installed when
 * the request arrives, but the write may run much later: a script or a scripted EXEC waits on the
 * script lane behind other scripts, a write waits for its slot's lock while a script holds it.
 * Meanwhile a newer placement may have been installed, naming a learner (or a new replica) whose
 * copy of the slot already read the key: shipped to the older placement's replicas only, the write
 * never reached it, and once it took the slot over an acknowledged write was gone; or the slot
 * changed owner altogether and the write landed on a node that no longer serves it. So a write
 * whose placement is not the installed one, checked again under the slot's lock (where a copy
 * reads each key), is routed afresh (send: served here under the installed placement, held, or
 * forwarded to the new owner), never applied under the old one. Under the lock the check is
 * exact: a copy started under a newer placement reads the key after this write and ships its
 * state. A write that takes no lock (no replicas and no learners) checks after it ran and ships
 * its keys' states then (appliedUnlocked).
 *
 * FLUSH (FLUSHDB/FLUSHALL) with replicas deletes the keys of the slots this node owns, each as a
 * replicated delete, and leaves the keys it holds as a replica of other owners' slots (their
 * owners flush them when told to): emptying the whole store would leave other owners' slots with
 * one copy fewer than the writes they acknowledged. It runs off the event loops.
 */

/** Applies writes to slots with replicas and ships their effects to the replicas. */
public final class Replicator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Replicator.class);
  /** How long a sync write waits for its replicas before the client gets BUSY. */
  static final long SYNC_WAIT_MILLIS = 5_000;
  private static final int STRIPES = 1024;
  private static final int FLUSH_BATCH = 1024;

  private final Store store;
  private final Supplier<Placement> placement;
  private final Supplier<Member> self;
  private final Peers peers;
  private final ReplicationMode mode;
  private final UnaryOperator<Frame> local;
  private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
  private final Map<String, ReplicaLink> links = new ConcurrentHashMap<>();
  /** The members that replicate at least one slot this node owns, in the current placement. */
  private volatile Set<String> replicaIds = Set.of();
  private final DefaultEventLoop sender = new DefaultEventLoop(new DefaultThreadFactory("distcache-replication", true));
  /**
   * Full copies to new replicas, one at a time, off the event loops. A copy may take minutes (it
   * is paced to --copy-share), so nothing else queues behind it: FLUSH and the node-local walks
   * (DBSIZE, RANDOMKEY) used to share this thread and waited for a whole copy (a tester's FLUSHALL
   * during a join with --copy-share 2 timed out). A FLUSH may run beside a copy: both work key by
   * key under the key's stripe lock, so a replica's stream has a key's copied state before its
   * delete, or no copied state at all.
   */
  private final ExecutorService copier = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "distcache-replica-copy");
    t.setDaemon(true);
    return t;
  });
  /** FLUSH and the node-local walks, one at a time, off the event loops. */
  private final ExecutorService flusher = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "distcache-flush");
    t.setDaemon(true);
    return t;
  });

  Replicator(Store store, Supplier<Placement> placement, Supplier<Member> self, Peers peers, ReplicationMode mode,
      UnaryOperator<Frame> local) {
    this(store, placement, self, peers, mode, local, System::nanoTime);
    sender.scheduleAtFixedRate(() -> {
      try {
        askAgainForStuckCopies();
        confirmKeptCopies();
      } catch (RuntimeException e) {
        // A failure must not cancel the schedule: later checks may succeed.
        log.warn("asking again for stuck copies, or about kept ones, failed", e);
      }
    }, 1, 1, TimeUnit.SECONDS);
  }

  /** {@code nanos} times stuck copies (tests inject it and call askAgainForStuckCopies themselves). */
  Replicator(Store store, Supplier<Placement> placement, Supplier<Member> self, Peers peers, ReplicationMode mode,
      UnaryOperator<Frame> local, java.util.function.LongSupplier nanos) {
    this.store = store;
    this.placement = placement;
    this.self = self;
    this.peers = peers;
    this.mode = mode;
    this.local = local;
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new ReentrantLock();
    }
    this.syncRequester = new ReplicaSyncRequester(placement, self, peers, sender, nanos);
    this.nanos = nanos;
  }

  /** The clock of holds (when one began, for held forwards) and of stuck copies: tests inject it. */
  private final java.util.function.LongSupplier nanos;

  private final ReplicaSyncRequester syncRequester;

  /** A drop of {@code slots} begins here: their copies are no longer whole. */
  void slotsDropping(long[] slots) {
    syncRequester.dropping(slots);
  }

  /** This node dropped its copy of {@code slots}: the ones it replicates are asked of their owners. */
  void slotsDropped(long[] slots) {
    syncRequester.dropped(slots);
  }

  ReplicationMode mode() {
    return mode;
  }

  /**
   * Serves {@code request} (which this node may serve now under {@code p}) on the local store and,
   * for a write to slots with replicas, ships its effects; the reply completes as the mode says. A
   * write routed under a placement older than the installed one is routed afresh (see the design
   * note, "A write routed under an older placement").
   */
  CompletableFuture<Frame> execute(Frame request, Placement p) {
    if (request.op() == null || request.op().readOnly()) {
      return CompletableFuture.completedFuture(local.apply(request));
    }
    if (moved(p) && !writtenKeys(request).isEmpty()) {
      return send(request); // it waited (on the script lane, for its slot's lock) while the placement changed
    }
    if (p.replicasPerSlot() == 0 && !p.hasLearners()) {
      return appliedUnlocked(request, p);
    }
    List<byte[]> keys = writtenKeys(request);
    if (keys.isEmpty()) {
      return appliedUnlocked(request, p); // a keyless script, which in a cluster may write no key
    }
    if (closed) {
      // Stopping: a write applied now could never reach the replicas, so it is not applied at all.
      return CompletableFuture.completedFuture(request.replyError(Status.BUSY, "this node is stopping"));
    }
    int[] order = stripesOf(keys);
    Map<ReplicaLink, Long> last = new HashMap<>();
    Frame reply;
    long emptied = emptyings.get();
    try {
      lockStripes(order);
    } catch (ScriptBusyException e) {
      return CompletableFuture.completedFuture(scriptBusy(request));
    }
    boolean moved = false;
    try {
      if (holding) {
        return hold(request); // handing off: applied by the slot's next owner after we leave
      }
      MigrationHold moving = migrationHoldOf(keys);
      if (moving != null) {
        return moving.hold(request); // its slot goes to a learner: applied there once it has joined
      }
      // Again under the locks: the placement may have changed while this write waited for them
      // (a script holds its slot's lock for its whole run), and a copy to a member it added may
      // have read these keys meanwhile. From here on a copy reads them only after this write.
      moved = moved(p);
      if (!moved) {
        // The in-place edits of large hashes and sets a hash or set command makes, and the ranges
        // APPEND, SETRANGE and the bit commands write into a string, shipped as edits (effectOf);
        // not a transaction's or a script's, which may write a key before editing it.
        EditJournal journal = journaled(request.op()) ? EditJournal.open() : null;
        try {
          List<Store.EntryHead> before = heads(keys);
          reply = local.apply(request);
          for (byte[] key : effectKeys(request, keys)) {
            if (!unchanged(key, keys, before)) {
              ship(p, key, effectOf(key, journal), last);
            } else if (mode == ReplicationMode.SYNC && !awaitSent(p, key, last)) {
              ship(p, key, effectOf(key, journal), last); // a replica with no open stream: as before
            }
          }
        } finally {
          if (journal != null) {
            journal.close();
          }
        }
      } else {
        reply = null;
      }
    } finally {
      unlockStripes(order, order.length);
    }
    if (moved) {
      return send(request);
    }
    return acknowledge(request, reply, last, p, emptied);
  }

  /** True when the installed placement is not {@code p}: a request routed under {@code p} is out of date. */
  private boolean moved(Placement p) {
    return placement.get().fingerprint() != p.fingerprint();
  }

  /**
   * Applies a write that takes no slot lock (no replicas and no learners under {@code p}, or one
   * that names no key). If a placement was installed while it ran, a learner's (or new replica's)
   * copy may have read its keys before it wrote them, and the write shipped nowhere: their states
   * are shipped now under the installed placement, under the slots' locks, as a copy ships them, so
   * the member has the write from its copy or from this. Acknowledged only while this node still
   * owns every slot written and holds none of them for a learner; else it answers BUSY (applied
   * here, not promised), since its slot may have gone elsewhere without it. Reaching that takes a
   * learner's whole copy and hand-over during one write's run: a thread stalled for seconds. Not a
   * script that started while this node was alone (it takes no slot lock): the learner's
   * MIGRATE_PREPARE is asked again while one runs (prepareMigration), and one that starts once the
   * learner is in the placement runs under the one-slot rule.
   */
  private CompletableFuture<Frame> appliedUnlocked(Frame request, Placement p) {
    long emptied = emptyings.get();
    Frame reply = local.apply(request);
    if (!moved(p)) {
      return CompletableFuture.completedFuture(reply);
    }
    List<byte[]> keys = effectKeys(request, writtenKeys(request));
    Placement now = placement.get();
    Member me = self.get();
    for (byte[] key : keys) {
      if (me == null || !now.isAlone(me) && !now.owns(me, KeySlot.of(key))) {
        return CompletableFuture.completedFuture(appliedNotPromised(request));
      }
    }
    if (keys.isEmpty() || now.replicasPerSlot() == 0 && !now.hasLearners()) {
      return CompletableFuture.completedFuture(reply);
    }
    int[] order = stripesOf(keys);
    Map<ReplicaLink, Long> last = new HashMap<>();
    try {
      lockStripes(order);
    } catch (ScriptBusyException e) {
      return CompletableFuture.completedFuture(appliedNotPromised(request));
    }
    try {
      if (holding || migrationHoldOf(keys) != null) {
        return CompletableFuture.completedFuture(appliedNotPromised(request));
      }
      for (byte[] key : keys) {
        ship(now, key, effectOf(key), last);
      }
    } finally {
      unlockStripes(order, order.length);
    }
    return acknowledge(request, reply, last, now, emptied);
  }

  private static Frame appliedNotPromised(Frame request) {
    return request.replyError(Status.BUSY, "the write was applied on this node but its slot changed hands while it"
        + " ran; it may be lost");
  }

  /** The node's scripts: a wait for a slot's lock that a script holds ends BUSY, as for the gate. */
  private volatile ScriptHost scripts;

  void scripts(ScriptHost scripts) {
    this.scripts = scripts;
  }

  /*
   * A script holds its slot's lock for its whole run (the lane thread), so a write to that slot
   * waits here, on an event loop: polled like TransactionGate.waitFor, so that it is answered
   * BUSY once the script passes its busy threshold rather than wait for a script that may never
   * end without SCRIPT KILL (which this event loop must stay free to read).
   */
  private void lockStripes(int[] order) {
    for (int i = 0; i < order.length; i++) {
      ReentrantLock lock = stripes[order[i]];
      if (lock.tryLock()) {
        continue;
      }
      try {
        while (true) {
          ScriptHost h = scripts;
          long left = h == null ? Long.MAX_VALUE : h.nanosUntilBusy();
          if (left == 0) {
            throw new ScriptBusyException();
          }
          if (lock.tryLock(Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)), TimeUnit.NANOSECONDS)) {
            break;
          }
        }
      } catch (InterruptedException | ScriptBusyException e) {
        unlockStripes(order, i);
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
          throw new ScriptBusyException();
        }
        throw (ScriptBusyException) e;
      }
    }
  }

  /** Lets go of the first {@code count} stripes of {@code order} that lockStripes took, in reverse. */
  private void unlockStripes(int[] order, int count) {
    for (int i = count - 1; i >= 0; i--) {
      stripes[order[i]].unlock();
    }
  }

  /**
   * The keys whose state a write's effects carry: the keys it names; for a script, none when it
   * wrote nothing (a read-only run ships nothing), else its declared keys and every key its writes
   * named; for a transaction holding scripts (Redis's EXEC with EVAL inside), the batch's keys and
   * every key its scripts' writes named. A script's keys are all in its slot (ScriptHost), so the
   * slot's lock held here covers them: the states go out as one unit of the slot, after the batch.
   */
  private List<byte[]> effectKeys(Frame request, List<byte[]> named) {
    boolean script = request.op() == Opcode.SCRIPT;
    if (!script && !(request.op() == Opcode.TRANSACTION && TransactionCodec.holds(request.value(), Opcode.SCRIPT))) {
      return named;
    }
    ScriptHost h = scripts;
    List<byte[]> written = h == null ? List.of() : h.lastWrittenKeys();
    if (written.isEmpty()) {
      return script ? List.of() : named;
    }
    List<byte[]> out = new ArrayList<>(named.size() + written.size());
    out.addAll(named);
    out.addAll(written);
    return out;
  }

  /**
   * The keys' heads (type, version, expiry; null when absent) before a write, read under their
   * stripes. An opcode carries reads and writes alike (HGET and HSET are both HASH, GETBIT and SETBIT
   * both BITS, a transaction or script may only read), and a write may change nothing (SETBIT of the
   * bit it holds, SADD of a member present, SET NX of a present key): a key whose head the write left
   * as it was has no effect to ship. Before, each such request shipped the key's whole value to every
   * replica: an HGET of a 10,000-field hash 1 MiB, a GETBIT of a 1 MiB bitmap 1 MiB.
   */
  private List<Store.EntryHead> heads(List<byte[]> keys) {
    List<Store.EntryHead> out = new ArrayList<>(keys.size());
    for (byte[] key : keys) {
      out.add(store.peekHead(key));
    }
    return out;
  }

  /**
   * Whether {@code key} is one of {@code keys}, was present, and its head is what it was in {@code
   * before}: no write changed it (every change of a value gives a new version, a change of expiry a
   * new expiry; a key deleted and written again has a new version). A key not named there (one a
   * script's writes named) counts as changed. So does a key absent before and after: its delete
   * still goes out, since a replica may hold a key this node no longer does (evictions are not
   * replicated), and a DEL of it must not leave it there to come back after a failover.
   */
  private boolean unchanged(byte[] key, List<byte[]> keys, List<Store.EntryHead> before) {
    for (int i = 0; i < keys.size(); i++) {
      if (keys.get(i) == key || java.util.Arrays.equals(keys.get(i), key)) {
        Store.EntryHead was = before.get(i);
        return was != null && was.equals(store.peekHead(key));
      }
    }
    return false;
  }

  /**
   * For a key the request left as it was, in sync mode: its reply may rest on a write whose effect
   * a replica has not confirmed yet (a second SADD of a member whose first SADD waits, an SREM of a
   * member whose removal waits, a retry after BUSY), and acknowledging it before that write is
   * confirmed acknowledges a state the cluster can lose (a reviewer). So it waits, shipping
   * nothing, for everything already sent to the key's replicas (each link's last number); when a
   * link has caught up that costs nothing. False, noting nothing, when a replica of the key has no
   * open link (closed by a failure, or none yet): the caller ships the key's state then, as it did
   * for every key before, which a new link carries.
   */
  private boolean awaitSent(Placement p, byte[] key, Map<ReplicaLink, Long> last) {
    List<Member> replicas = p.replicas(KeySlot.of(key));
    List<ReplicaLink> open = new ArrayList<>(replicas.size());
    for (Member m : replicas) {
      ReplicaLink link = links.get(m.id());
      if (link == null || link.isClosed()) {
        return false;
      }
      open.add(link);
    }
    for (ReplicaLink link : open) {
      long sent = link.offsets()[0];
      if (sent > 0) {
        last.merge(link, sent, Math::max); // closed meanwhile: acknowledge answers BUSY, as for a write
      }
    }
    return true;
  }

  /** Whether a write of {@code op} may ship its keys' edits (see EditJournal): single commands only. */
  private static boolean journaled(Opcode op) {
    return op == Opcode.HASH || op == Opcode.SETS || op == Opcode.APPEND || op == Opcode.SET_RANGE
        || op == Opcode.BITS;
  }

  private Effect effectOf(byte[] key) {
    return effectOf(key, null);
  }

  /** Effects shipped as edits rather than whole values (INFO replication's replication_edits_shipped). */
  private final java.util.concurrent.atomic.LongAdder editsShipped = new java.util.concurrent.atomic.LongAdder();

  /**
   * The key's state as an effect: the edit that {@code journal} recorded when that edit alone
   * explains the state and is smaller than the value (EffectCodec's EDIT kinds: the replica
   * replays it on its copy at the edit's base version), else the whole value or a delete.
   */
  private Effect effectOf(byte[] key, EditJournal journal) {
    if (journal != null) {
      Store.EntryHead head = store.peekHead(key);
      if (head == null) {
        return Effect.delete(key);
      }
      EditJournal.Edit edit = journal.edit(key, head.version(), head.expireAtMillis());
      if (edit != null && edit.type() == head.type()) {
        Effect edited = Effect.edited(key, head.type(), edit.baseVersion(), head.version(), head.expireAtMillis(),
            edit.ops());
        if (edited.encodedBytes() < edit.length()) {
          editsShipped.increment();
          return edited;
        }
      }
    }
    Effect put = stateOf(key);
    return put == null ? Effect.delete(key) : put;
  }

  /**
   * The key's entry as a PUT effect, null when absent: a string of EffectCodec.LARGE_VALUE_BYTES or
   * more copied from the store's memory into heap chunks (Effect.large), every other value into an
   * array as peekEntry gives it. Issue 16: the array of a 1 MiB string was the first of three on
   * the owner, each a G1 humongous object.
   */
  private Effect stateOf(byte[] key) {
    return store.peekEntry(key, (type, value, version, expireAt) -> {
      if (type == null) {
        return null;
      }
      if (type == io.distcache.protocol.ValueType.STRING && value.remaining() >= EffectCodec.LARGE_VALUE_BYTES) {
        return Effect.large(key, io.distcache.protocol.BufferedValue.heapCopyOf(value), expireAt, version);
      }
      byte[] bytes = new byte[value.remaining()];
      value.get(value.position(), bytes);
      return new Effect(key, type, bytes, expireAt, version);
    });
  }

  /** Appends the effect to the links of the key's slot's replicas, noting the last number per link. */
  private void ship(Placement p, byte[] key, Effect effect, Map<ReplicaLink, Long> last) {
    int slot = KeySlot.of(key);
    if (p.fingerprint() != notedFingerprint) {
      noteReleases(p); // a write under a placement installed before this replicator's listener ran
    }
    long[] pending = unreleasedSlots;
    if (pending != null && (pending[slot >>> 6] & (1L << slot)) != 0) {
      shipReleases(p, slot);
    }
    for (Member m : p.replicas(slot)) {
      ReplicaLink link = linkFor(m, p);
      long seq = link == null ? 0 : link.append(effect);
      if (link != null && seq == 0) {
        // Closed just now (a refused batch, a lost stream): the effect goes on the stream in its
        // place, or it reached no stream and its write was acknowledged all the same (a reviewer).
        link = linkFor(m, p);
        seq = link == null ? 0 : link.append(effect);
      }
      if (seq > 0) {
        last.merge(link, seq, Math::max);
      }
    }
  }

  /**
   * A FLUSH's delete also goes to the replicas (and learners) {@code slot} gained since the FLUSH
   * began under {@code p}: a copy to a member added meanwhile runs beside the FLUSH (on the copy
   * thread) and may already have sent the key's state, which the delete must then follow, or the
   * key would come back on that member (found in review).
   */
  private void shipToReplicasSince(Placement p, int slot, Effect effect, Map<ReplicaLink, Long> last) {
    Placement now = placement.get();
    if (now.fingerprint() == p.fingerprint()) {
      return;
    }
    List<Member> before = p.replicas(slot);
    for (Member m : now.replicas(slot)) {
      if (before.contains(m)) {
        continue;
      }
      ReplicaLink link = linkFor(m, now);
      if (link == null) {
        continue;
      }
      // In the stream's order, behind any copied state of the key. A learner is not waited for (it
      // takes nothing over before it has applied its stream); a new replica is, as for any write.
      long seq = link.append(effect);
      if (seq > 0 && !now.isLearner(m)) {
        last.merge(link, seq, Math::max);
      }
    }
  }

  /**
   * Times this node heard it was declared dead, counted before its store is emptied (emptying).
   * A write applied before and acknowledged after such a moment is gone from this node, and its
   * replicas' confirmations may not mean they hold it: a replica that moved on to the placement
   * without this node's ownership skips the effect and confirms it all the same (ReplicaApplier).
   * Found with bench/stall-rounds.sh: a member resumed from a 3.5 s SIGSTOP applied a forwarded
   * SET, was told it was dead and emptied its store, and the replica's skip-and-confirm then
   * acknowledged the SET, which no node held (reads gave nil until it was written again).
   */
  private final java.util.concurrent.atomic.AtomicLong emptyings = new java.util.concurrent.atomic.AtomicLong();

  /** This node learned it was declared dead: its store is about to be emptied (ClusterMembership). */
  void emptying() {
    emptyings.incrementAndGet();
    // Every copy here is about to go: READONLY reads of them stop now, not once the store is empty
    // and the declared-dead listeners run (a tester read nil through READONLY in between).
    long[] all = new long[KeySlot.SLOTS / 64];
    java.util.Arrays.fill(all, -1L);
    slotsDropping(all);
  }

  private static Frame lostToDeath(Frame request) {
    return request.replyError(Status.BUSY, "the write was applied on this node, but the cluster declared the node"
        + " dead before its replicas confirmed it; it is lost");
  }

  private CompletableFuture<Frame> acknowledge(Frame request, Frame reply, Map<ReplicaLink, Long> last, Placement p,
      long emptied) {
    List<CompletableFuture<Void>> waits = new ArrayList<>(last.size());
    for (Map.Entry<ReplicaLink, Long> e : last.entrySet()) {
      // A learner's copy need not hold a write before the client hears of it while it merely
      // learns: it becomes a copy of nothing before this node answered its MIGRATE_PREPARE, which
      // waits until it applied every effect already sent (prepareMigration), so its link is
      // asynchronous and the copy it is filling with does not slow every write down (a sync write
      // would wait behind up to COPY_WINDOW_BYTES of it). Learner under the write's own placement:
      // a set kept by placementChanged lags the installed placement.
      if (p.hasLearners() && p.isLearner(e.getKey().replica) && !e.getKey().lagging()
          && merelyLearning(e.getKey().replica)) {
        continue;
      }
      if (mode == ReplicationMode.SYNC || e.getKey().lagging()) {
        CompletableFuture<Void> w = e.getKey().whenApplied(e.getValue());
        if (!w.isDone() || w.isCompletedExceptionally()) {
          waits.add(w); // failed already: the link closed by a failure before this asked (BUSY below)
        }
      }
    }
    if (waits.isEmpty()) {
      return CompletableFuture.completedFuture(emptyings.get() == emptied ? reply : lostToDeath(request));
    }
    CompletableFuture<Void> all = waits.size() == 1 ? waits.get(0)
        : CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0]));
    return all.orTimeout(SYNC_WAIT_MILLIS, TimeUnit.MILLISECONDS).handle((v, error) -> {
      if (error == null) {
        return emptyings.get() == emptied ? reply : lostToDeath(request);
      }
      Throwable cause = error.getCause() != null ? error.getCause() : error;
      String why = cause instanceof TimeoutException ? "did not confirm it within " + SYNC_WAIT_MILLIS + " ms"
          : cause.getMessage();
      return request.replyError(Status.BUSY, "the write was applied on its owner but a replica " + why
          + "; it may be lost if the owner fails before the replica has it");
    });
  }

  /**
   * True when a write this node applied (and appended to {@code learner}'s link) before calling
   * this need not wait for the learner: it has not prepared to take slots over here, and is still
   * learning in the installed placement. Otherwise it is about to become a copy of the slot, or
   * is one (a write still running under the placement before its join), and the write's other
   * copies may be going: the replica it displaces drops the slot when it installs the learner's
   * placement, and acknowledges an effect sent under that placement without applying it
   * (ReplicaApplier skips a slot it no longer replicates). A write counted on that replica alone
   * was acknowledged with the owner as its only sure copy; the owner dying before the learner's
   * stream delivered it lost it (review finding F3).
   *
   * The hold is read before the placement: it is registered before prepareMigration takes the
   * offset it waits for, and removed only after the learner's placement is installed (or at a
   * cancel, when the learner does not join on that answer), so a write that sees neither appended
   * its effect before the offset of the request the learner joins on, and the learner applied it
   * before it could join.
   */
  private boolean merelyLearning(Member learner) {
    return !migrations.containsKey(learner.id()) && placement.get().isLearner(learner);
  }

  /**
   * The link to {@code m}, which replicates or learns a slot this node owns in {@code p}, opened if
   * need be; null when {@code p} is no longer the current placement and {@code m} replicates none
   * of our slots now (a write racing a change: that copy is dropped).
   */
  private ReplicaLink linkFor(Member m, Placement p) {
    ReplicaLink link = links.get(m.id());
    if (link == null || link.isClosed()) {
      // replicaIds follows placementChanged, which listeners run after the placement is installed:
      // a write or a copy already working under the installed placement may name a replica (a
      // learner that just joined) that replicaIds does not list yet. Skipping it then lost writes:
      // a copy to a learner skipped every entry until replicaIds caught up and still ended with
      // COPIED, so the learner took over slots it never received (MembershipChangesIT, in CI).
      if (!replicaIds.contains(m.id()) && !(p.fingerprint() == placement.get().fingerprint() && p.contains(m))) {
        return null;
      }
      link = links.compute(m.id(), (id, l) -> l == null || l.isClosed()
          ? new ReplicaLink(m, self, placement, peers, sender, this::refused) : l);
    }
    return link;
  }

  // ---- hand-off (SIGTERM): hold new writes, let the replicas catch up, leave, send the held writes on

  private volatile boolean holding;
  /** When the hand-off hold began ({@link #nanos}); read by the sweep of held forwards. */
  private volatile long holdingSinceNanos;
  /** Guarded by itself: writes that arrived while handing off, in arrival order. */
  private final java.util.ArrayDeque<Held> held = new java.util.ArrayDeque<>();

  private record Held(Frame request, CompletableFuture<Frame> reply) {
    boolean forwarded() {
      return request.hasFlag(io.distcache.protocol.Flags.FORWARDED);
    }
  }

  /** Guarded by held: set once the held writes were sent on; a write held later goes the same way. */
  private java.util.function.Function<Frame, CompletableFuture<Frame>> releasedTo;

  private CompletableFuture<Frame> hold(Frame request) {
    CompletableFuture<Frame> reply = new HeldReply();
    java.util.function.Function<Frame, CompletableFuture<Frame>> onward;
    synchronized (held) {
      onward = releasedTo;
      if (onward == null) {
        held.add(new Held(request, reply));
      }
    }
    if (onward == null) {
      armHoldSweep(request); // after the lock: the sweep takes its monitor, then this one
      return reply;
    }
    // It passed routing before the hand-off and reached the hold after the release (a reviewer:
    // queued then, it was never sent and its client waited until the connection closed).
    sendOn(new Held(request, reply), onward);
    return reply;
  }

  /**
   * Stops applying writes (they are held, in order) and waits until every replica has applied
   * every effect already sent, at most until {@code deadlineNanos} (System.nanoTime()). Returns the
   * effects still unacknowledged at the end (0: every replica is current).
   */
  long holdAndDrain(long deadlineNanos) {
    if (!holding) {
      // A second drain (the leave's re-check) must not restart the clock of the forwards held
      // since the first: their senders' timeouts run from then (a reviewer).
      holdingSinceNanos = nanos.getAsLong();
    }
    holding = true;
    for (ReentrantLock stripe : stripes) {
      stripe.lock(); // a write between "apply" and "append" finishes first
      stripe.unlock();
    }
    long left = 0;
    for (ReplicaLink link : links.values()) {
      if (memberOf(placement.get(), link.replica.id()) == null) {
        continue; // its replica left or was declared dead: what it missed is nobody's loss (a tester)
      }
      long last = link.offsets()[0];
      CompletableFuture<Void> f = link.whenApplied(last);
      while (!f.isDone() && !link.isClosed() && System.nanoTime() - deadlineNanos < 0) {
        try {
          f.get(Math.min(100, Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
          // keep waiting until the deadline
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        } catch (java.util.concurrent.ExecutionException e) {
          break;
        }
      }
      long[] o = link.offsets();
      if (memberOf(placement.get(), link.replica.id()) != null) {
        // Effects sent before the hold only: a copy's entries appended meanwhile are the settle's
        // to wait for (counted here, a leave reported COPIED markers as missed writes).
        left += Math.max(0, last - o[1]);
      }
    }
    return left;
  }

  /*
   * A peer's forward held here (hand-off or migration) must not outlive its sender's wait: the
   * sender gives up after its forward timeout (2 s), counts the forward as answered and sends the
   * slot's next requests straight to the new owner (SlotForwards), and its client hears BUSY. Sent
   * on later, the held write would land after writes acknowledged since, a write its client was
   * told failed overwriting one it was told succeeded. So once a hold has lasted
   * ClusterRouter.WAIT_MILLIS (1.5 s, below the sender's timeout, as SlotWaits), the forwarded
   * writes in it, and any that reach it later, are answered TRY_AGAIN, not applied; a client's own
   * write stays held (its client waits for the answer, and nothing is sent around it). Counted from
   * the hold's start, not each forward's arrival in it: a forward that waited on its peer
   * connection behind a held one arrives late while its sender's clock runs (a reviewer). Swept
   * every HOLD_SWEEP_MILLIS on the replication loop, only while forwards are held.
   */
  private static final long HOLD_SWEEP_MILLIS = 100;
  /** Guarded by itself: the running sweep of held forwards, or null. */
  private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> holdSweep =
      new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * Makes sure the sweep runs after a forward was queued. Called outside the queue's lock (the
   * sweep holds its own monitor, then the queues'), and always through the monitor: a sweep that
   * counted no forward before this one was queued either cancels before this call sees it armed
   * (and this arms it again) or sees the forward.
   */
  private void armHoldSweep(Frame request) {
    if (!request.hasFlag(io.distcache.protocol.Flags.FORWARDED)) {
      return;
    }
    synchronized (holdSweep) {
      if (holdSweep.get() == null && !sender.isShuttingDown()) {
        try {
          holdSweep.set(sender.scheduleAtFixedRate(this::sweepHolds, HOLD_SWEEP_MILLIS, HOLD_SWEEP_MILLIS,
              TimeUnit.MILLISECONDS));
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
          // closing: the held writes are failed by close's path
        }
      }
    }
  }

  private void sweepHolds() {
    List<Held> late = new ArrayList<>();
    try {
      synchronized (holdSweep) {
        if (collectExpiredForwards(late) == 0) {
          java.util.concurrent.ScheduledFuture<?> f = holdSweep.getAndSet(null);
          if (f != null) {
            f.cancel(false);
          }
        }
      }
    } catch (RuntimeException e) {
      log.warn("sweeping held forwards failed; the next sweep tries again", e);
    }
    answerExpired(late); // outside the monitor: a reply's dependents may hold a write's stripe locks
  }

  /**
   * Answers TRY_AGAIN, unapplied, to the forwarded writes of the holds that began
   * ClusterRouter.WAIT_MILLIS ago or more (every write in a hold entered it after it began);
   * returns how many forwarded writes are still held.
   */
  int expireForwardedHolds() {
    List<Held> late = new ArrayList<>();
    int left = collectExpiredForwards(late);
    answerExpired(late);
    return left;
  }

  private int collectExpiredForwards(List<Held> late) {
    long cutoff = nanos.getAsLong() - TimeUnit.MILLISECONDS.toNanos(ClusterRouter.WAIT_MILLIS);
    int left;
    synchronized (held) {
      left = expireFrom(held, holding && holdingSinceNanos - cutoff <= 0, late);
    }
    for (MigrationHold h : migrations.values()) {
      synchronized (h) {
        left += expireFrom(h.queue, h.startedNanos - cutoff <= 0, late);
      }
    }
    return left;
  }

  private static void answerExpired(List<Held> late) {
    for (Held h : late) {
      h.reply().complete(h.request().replyError(Status.TRY_AGAIN, "held while its slot changes owner for over "
          + ClusterRouter.WAIT_MILLIS + " ms, the most a forwarded request waits; not applied"));
    }
  }

  /**
   * Moves the forwarded writes of {@code queue} to {@code late} when its hold is {@code old}
   * (order kept for the rest); returns the forwarded writes left in it.
   */
  private static int expireFrom(java.util.ArrayDeque<Held> queue, boolean old, List<Held> late) {
    if (old) {
      queue.removeIf(h -> h.forwarded() && late.add(h));
      return 0;
    }
    int left = 0;
    for (Held h : queue) {
      if (h.forwarded()) {
        left++;
      }
    }
    return left;
  }

  /** Sends each held write on with {@code onward}, in the order they arrived. */
  void releaseHeld(java.util.function.Function<Frame, CompletableFuture<Frame>> onward) {
    while (true) {
      Held h;
      synchronized (held) {
        h = held.poll();
        if (h == null) {
          releasedTo = onward;
          return;
        }
      }
      sendOn(h, onward);
    }
  }

  private static void sendOn(Held h, java.util.function.Function<Frame, CompletableFuture<Frame>> onward) {
    CompletableFuture<Frame> sent;
    try {
      sent = onward.apply(h.request());
    } catch (RuntimeException e) {
      h.reply().completeExceptionally(e);
      return;
    }
    sent.whenComplete((r, e) -> {
      if (e == null) {
        h.reply().complete(r);
      } else {
        h.reply().completeExceptionally(e);
      }
    });
  }

  /** The keys a write changes; empty for reads and for requests that name no key. */
  static List<byte[]> writtenKeys(Frame request) {
    Opcode op = request.op();
    try {
      return switch (op) {
        case MULTI_SET, MULTI_SET_IF_ABSENT -> io.distcache.protocol.BufferedPairs.keys(request);
        case MULTI_DELETE -> ListCodec.decodeKeys(request.value());
        // A transaction, a BITOP or a RENAME/COPY writes keys besides its routing key (all in its
        // slot, which the router checked): ship the state of every key it names, so a replica that
        // takes over holds the target of a RENAME as well as the source it removed.
        case TRANSACTION, BITS, KEY_OP, SETS, ZSETS, SCRIPT -> {
          List<byte[]> keys = new ArrayList<>();
          if (request.key() != null && request.key().length > 0) {
            keys.add(request.key());
          }
          keys.addAll(BatchKeys.sameSlotKeys(request));
          yield keys;
        }
        case SHARD_PUBLISH -> List.of(); // keyed for routing only: it writes nothing
        default -> op.keyed() && !op.readOnly() && request.key() != null && request.key().length > 0
            ? List.of(request.key()) : List.of();
      };
    } catch (ListCodec.MalformedListException | IllegalArgumentException e) {
      return List.of(); // the store refuses it too: nothing written
    }
  }

  private static int[] stripesOf(List<byte[]> keys) {
    if (keys.size() == 1) {
      return new int[] {KeySlot.of(keys.get(0)) % STRIPES};
    }
    return keys.stream().mapToInt(k -> KeySlot.of(k) % STRIPES).distinct().sorted().toArray();
  }

  /**
   * FLUSH with replicas: deletes the keys of the slots this node owns, as replicated deletes, and
   * the keys of slots it neither owns nor replicates; keeps the copies it holds for other owners.
   *
   * A FLUSH and a learner taking slots over exclude each other (migrationGate): the deletes are not
   * held like client writes, and a delete appended after the learner confirmed every effect
   * (prepareMigration) reaches it only after it owns the slot, from a member that no longer does,
   * and it skips it: the keys came back on the new owner while its replicas had deleted them
   * (found by a tester, FLUSHALL during a join). So a FLUSH waits, up to FLUSH_WAIT_MILLIS, until no
   * learner is taking over from this node (a hold, also one of no slot), and a MIGRATE_PREPARE that comes while a FLUSH runs is
   * refused (TRY_AGAIN) and asked again. The FLUSH runs under the placement it was sent for
   * ({@code requested}, by which the router chose the nodes a cluster-wide FLUSH goes to): if the
   * owners changed meanwhile (the learner took its slots over while the FLUSH waited), some of the
   * slots it was to empty are elsewhere now, and it answers TRY_AGAIN, having deleted nothing.
   */
  CompletableFuture<Frame> flush(Frame request, Placement requested) {
    CompletableFuture<Frame> out = new CompletableFuture<>();
    startFlush(request, requested, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FLUSH_WAIT_MILLIS), out);
    return out;
  }

  /** How long a FLUSH waits for the slots held for a learner to be released before TRY_AGAIN. */
  static final long FLUSH_WAIT_MILLIS = 1_500; // below the default forward timeout (2 s) of a cluster-wide FLUSH
  private static final long FLUSH_RETRY_MILLIS = 50;
  /** Guards migrations' creation against flushing. */
  private final Object migrationGate = new Object();
  /** Guarded by migrationGate: FLUSH jobs whose deletes are not all appended yet. */
  private int flushing;

  private void startFlush(Frame request, Placement p, long deadlineNanos, CompletableFuture<Frame> out) {
    synchronized (migrationGate) {
      if (!migrations.isEmpty()) {
        if (System.nanoTime() - deadlineNanos < 0) {
          sender.schedule(() -> startFlush(request, p, deadlineNanos, out), FLUSH_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        } else {
          out.complete(request.replyError(Status.TRY_AGAIN, "slots of this node are moving to a joining member;"
              + " the flush was not applied, try again"));
        }
        return;
      }
      if (placement.get().fingerprint() != p.fingerprint()) {
        out.complete(request.replyError(Status.TRY_AGAIN, "the slots' owners changed (placement epoch "
            + placement.get().epoch() + ") since the flush was sent; it was not applied, try again"));
        return;
      }
      flushing++;
    }
    Member me = self.get();
    long emptied = emptyings.get();
    CompletableFuture.supplyAsync(() -> {
      Map<ReplicaLink, Long> last = new HashMap<>();
      // Never between a script's calls; BUSY (nothing deleted) past its threshold.
      try (ScriptHost.Keyspace held = keyspaceShared()) {
        flushOwned(p, me, last);
      } catch (ScriptBusyException e) {
        return null;
      }
      return last;
    }, flusher).whenComplete((last, error) -> {
      synchronized (migrationGate) {
        flushing--;
      }
    }).thenCompose(last -> last == null ? CompletableFuture.completedFuture(scriptBusy(request))
        : acknowledge(request, request.replyOk(), last, p, emptied)).whenComplete((reply, error) -> {
      if (error == null) {
        out.complete(reply);
      } else {
        out.completeExceptionally(error);
      }
    });
  }

  /** FLUSH's deletes: this node's owned slots as replicated deletes, and the keys it neither owns nor replicates. */
  private void flushOwned(Placement p, Member me, Map<ReplicaLink, Long> last) {
    long cursor = 0;
    do {
      ScanResult page = store.scan(cursor, FLUSH_BATCH);
      for (byte[] key : page.keys()) {
        int slot = KeySlot.of(key);
        if (p.owns(me, slot)) {
          ReentrantLock lock = stripes[slot % STRIPES];
          lock.lock();
          try {
            store.delete(key);
            Effect delete = Effect.delete(key);
            ship(p, key, delete, last);
            shipToReplicasSince(p, slot, delete, last);
          } finally {
            lock.unlock();
          }
        } else if (!p.isReplica(me, slot)) {
          store.delete(key);
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
  }

  /** Holds the node's keyspace barrier shared (no script runs meanwhile); a node without scripts has none. */
  private ScriptHost.Keyspace keyspaceShared() {
    ScriptHost h = scripts;
    return h == null ? () -> { } : h.keyspaceShared();
  }

  private Frame scriptBusy(Frame request) {
    ScriptHost h = scripts;
    return request.replyError(Status.SCRIPT_BUSY, h != null ? h.busyMessage() : ScriptHost.BUSY_MESSAGE);
  }

  /**
   * REPLICA_SYNC: a replica asks for every entry of some slots (its copy is empty). Checked against
   * this node's placement; the copy runs in the background on the replica's stream.
   */
  Frame syncRequested(Frame request) {
    long[] x = request.extras();
    byte[] bits = request.value();
    if (x.length < 2 || request.key() == null || request.key().length == 0 || bits.length != KeySlot.SLOTS / 8) {
      return request.replyError(Status.BAD_REQUEST, "REPLICA_SYNC needs the replica's id as key, 2 extras (epoch,"
          + " fingerprint) and a " + KeySlot.SLOTS / 8 + "-byte slot map, got " + x.length + " extras and "
          + bits.length + " bytes");
    }
    String id = new String(request.key(), java.nio.charset.StandardCharsets.US_ASCII);
    Placement p = placement.get();
    Member me = self.get();
    if (p.fingerprint() != x[1] || me == null) {
      return request.replyError(Status.TRY_AGAIN, "this node's placement (epoch " + p.epoch() + ") differs");
    }
    Member to = memberOf(p, id);
    long[] slots = new long[KeySlot.SLOTS / 64];
    int count = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if ((bits[s >>> 3] & (1 << (s & 7))) != 0) {
        if (to == null || !p.owns(me, s) || !p.isReplica(to, s)) {
          return request.replyError(Status.TRY_AGAIN, "slot " + s + " is not this node's with " + id
              + " as its replica in placement epoch " + p.epoch());
        }
        slots[s >>> 6] |= 1L << s;
        count++;
      }
    }
    if (count > 0) {
      // Unpaced while this node leaves: its writes may be held meanwhile (a reviewer).
      startCopy(to, slots, count, x.length >= 3 ? x[2] : 0, leaving ? CopyPacer.system(100) : copyPacer);
    }
    return request.replyOk();
  }

  /**
   * A full copy of {@code slots} to {@code replica}, asked for (REPLICA_SYNC) or found lacking
   * (REPLICA_LACKS): owed until it ends, run on the copier. One copy per replica and token: a
   * replica asks again with the same token when a copy is slow (ReplicaSyncRequester.askAgainIfStuck),
   * and the copy queued or running ends those slots.
   */
  private void startCopy(Member replica, long[] slots, int count, long token, CopyPacer pacer) {
    String job = replica.id() + "/" + token;
    if (token != 0 && !copies.add(job)) {
      return;
    }
    owed.requested(replica.id(), slots);
    copier.execute(() -> {
      try {
        copy(replica, slots, count, token, pacer);
      } finally {
        copies.remove(job);
      }
    });
  }

  /**
   * REPLICA_LACKS (the replica's side): the leaving owner named by the key asks which of its slots'
   * copies here are not whole. Answered only under the placement the owner has installed, once this
   * node's guard has processed it ({@code processedFingerprint}): its drops are marked by then, so
   * no copy about to be dropped is reported whole.
   */
  Frame lacksRequested(Frame request, long processedFingerprint) {
    long[] x = request.extras();
    if (x.length < 2 || request.key() == null || request.key().length == 0) {
      return request.replyError(Status.BAD_REQUEST, "REPLICA_LACKS needs the owner's id as key and 2 extras (epoch,"
          + " fingerprint), got " + x.length + " extras");
    }
    Placement p = placement.get();
    if (p.fingerprint() != x[1] || processedFingerprint != x[1]) {
      return request.replyError(Status.TRY_AGAIN, "this node's placement (epoch " + p.epoch()
          + ") differs or is still being installed");
    }
    Member owner = memberOf(p, new String(request.key(), java.nio.charset.StandardCharsets.US_ASCII));
    if (owner == null) {
      return request.replyError(Status.BAD_REQUEST, "REPLICA_LACKS from a member not in placement epoch " + p.epoch());
    }
    if (x.length >= 3 && x[2] == ProtocolConstants.LACKS_ANY_OWNER) {
      return request.replyValue(syncRequester.lackingAnyOwner(p), p.epoch(), p.fingerprint());
    }
    if (x.length >= 3 && x[2] != 0) {
      return request.replyError(Status.BAD_REQUEST, "REPLICA_LACKS's third extra is 0 (the sender's slots) or "
          + ProtocolConstants.LACKS_ANY_OWNER + " (any owner's), got " + x[2]);
    }
    return request.replyValue(syncRequester.lacking(owner, p), p.epoch(), p.fingerprint());
  }

  /**
   * Part of a graceful leave, once this node is departing (Placement, "Departing members"): waits
   * until every member that is an extra replica of a slot this node does not own holds a whole
   * copy of each such slot, asking each with REPLICA_LACKS (LACKS_ANY_OWNER) every 50 ms, at most
   * until {@code deadlineNanos}. The copies are their owners' (the extra asks for them with
   * REPLICA_SYNC once it installed the placement); this node's own slots are settleCopies' part.
   * A member that does not answer (or answers TRY_AGAIN) is asked again each round until the
   * deadline: one that died leaves the placement once declared dead, and its extras with it.
   * Returns the slot copies still lacking at the end, -1 when none lacked but some member did not
   * answer.
   */
  int awaitExtrasWhole(long deadlineNanos) {
    leaving = true; // this node's own copies to its slots' extras run unpaced from now on
    int lacking = 0;
    while (true) {
      Placement p = placement.get();
      Member me = self.get();
      if (me == null || !p.hasDeparting()) {
        return 0;
      }
      Map<Member, CompletableFuture<Frame>> asked = new HashMap<>();
      byte[] id = me.id().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      for (Member m : extrasOfOthers(p, me)) {
        asked.put(m, peers.send(m.address(), Frame.request(Opcode.REPLICA_LACKS, 0, id, null, p.epoch(),
            p.fingerprint(), ProtocolConstants.LACKS_ANY_OWNER)));
      }
      lacking = 0;
      boolean unsure = false;
      for (Map.Entry<Member, CompletableFuture<Frame>> e : asked.entrySet()) {
        Member m = e.getKey();
        Frame reply;
        try {
          reply = e.getValue().get(LACKS_ANSWER_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException stop) {
          Thread.currentThread().interrupt();
          return lacking;
        } catch (java.util.concurrent.ExecutionException | TimeoutException noAnswer) {
          // Asked again next round: a slow answer says nothing; a dead member leaves the placement
          // (and its extras with it) once declared dead.
          unsure = true;
          continue;
        }
        Map<Long, long[]> groups = reply.status() == Status.OK ? ReplicaSyncRequester.decodeLacking(reply.value()) : null;
        if (groups == null) {
          unsure = true; // TRY_AGAIN: its placement differs, or it is still installing this one
          continue;
        }
        for (long[] slots : groups.values()) {
          for (int s = 0; s < KeySlot.SLOTS; s++) {
            if ((slots[s >>> 6] & (1L << s)) != 0 && p.isExtra(m, s) && !p.owns(me, s)) {
              lacking++;
            }
          }
        }
      }
      if (!unsure && lacking == 0) {
        return 0;
      }
      if (System.nanoTime() - deadlineNanos >= 0) {
        return unsure && lacking == 0 ? -1 : lacking;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  /** The members that are an extra replica under {@code p} of a slot {@code me} does not own. */
  private static Set<Member> extrasOfOthers(Placement p, Member me) {
    Set<Member> out = new HashSet<>();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (!p.owns(me, s)) {
        for (Member r : p.replicas(s)) {
          if (p.isExtra(r, s)) {
            out.add(r);
          }
        }
      }
    }
    return out;
  }

  /** How long a leave asks its replicas what they lack while their placements differ from its own, at most. */
  private static final long LACKS_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);

  /** How long a leave waits for one replica's answer to REPLICA_LACKS. */
  private static final long LACKS_ANSWER_MILLIS = 1000;

  /**
   * Part of a graceful leave: asks each replica of this node's slots (no learner) which of them it
   * holds no whole copy of (REPLICA_LACKS), and starts their copies, unpaced. OwedCopies marks what
   * this node's own placement changes make it owe, but a replica that installed a placement this
   * node skipped, and dropped its copy there, asks for it (REPLICA_SYNC) only once their
   * placements agree: a leave before that went without sending it (a reviewer). A replica whose
   * placement differs is asked again every 50 ms, at most LACKS_WAIT_NANOS; one that does not
   * answer, or an older node that does not know the question, is left to what OwedCopies knows.
   */
  private void askWhatReplicasLack(long deadlineNanos) {
    long until = Math.min(deadlineNanos, System.nanoTime() + LACKS_WAIT_NANOS);
    Set<String> answered = new HashSet<>();
    while (true) {
      Placement p = placement.get();
      Member me = self.get();
      if (me == null || p.isEmpty()) {
        return;
      }
      Map<Member, CompletableFuture<Frame>> asked = new HashMap<>();
      byte[] id = me.id().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      for (Member r : replicasOfMine(p, me)) {
        if (!answered.contains(r.id())) {
          asked.put(r, peers.send(r.address(), Frame.request(Opcode.REPLICA_LACKS, 0, id, null, p.epoch(),
              p.fingerprint())));
        }
      }
      for (Map.Entry<Member, CompletableFuture<Frame>> e : asked.entrySet()) {
        Member r = e.getKey();
        Frame reply;
        try {
          reply = e.getValue().get(LACKS_ANSWER_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException stop) {
          Thread.currentThread().interrupt();
          return;
        } catch (java.util.concurrent.ExecutionException | TimeoutException noAnswer) {
          answered.add(r.id()); // unreachable: nothing to learn from it
          continue;
        }
        if (reply.status() == Status.TRY_AGAIN) {
          continue;
        }
        answered.add(r.id());
        Map<Long, long[]> groups = reply.status() == Status.OK ? ReplicaSyncRequester.decodeLacking(reply.value()) : null;
        if (groups == null) {
          log.warn("{} answered REPLICA_LACKS with {} ({}); its copies are taken to be whole", r, reply.status(),
              reply.status() == Status.OK ? "a malformed slot list" : reply.valueText());
          continue;
        }
        groups.forEach((token, slots) -> {
          int n = 0;
          for (int s = 0; s < KeySlot.SLOTS; s++) {
            boolean lacked = (slots[s >>> 6] & (1L << s)) != 0;
            if (lacked && p.owns(me, s) && p.isReplica(r, s)) {
              n++;
            } else {
              slots[s >>> 6] &= ~(1L << s); // not its to replicate for this node here: not ours to send
            }
          }
          if (n > 0) {
            log.info("handing off: {} lacks whole copies of {} slots; sending them", r, n);
            startCopy(r, slots, n, token, CopyPacer.system(100));
          }
        });
      }
      if (asked.keySet().stream().allMatch(r -> answered.contains(r.id()))) {
        return;
      }
      if (System.nanoTime() - until >= 0) {
        asked.keySet().stream().filter(r -> !answered.contains(r.id())).forEach(r -> log.warn(
            "handing off: {} still refused REPLICA_LACKS after {} ms (its placement differs); copies it may lack"
            + " beyond what this node knows it owes are not sent", r, TimeUnit.NANOSECONDS.toMillis(LACKS_WAIT_NANOS)));
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  /** Replica ids asked by confirmKeptCopies whose answer has not come yet: one question each at a time. */
  private final Set<String> confirming = ConcurrentHashMap.newKeySet();

  /**
   * Asks each replica that kept its copy of some of this node's slots through a change of owner
   * this node did not make (OwedCopies, "Kept copies") which of them it holds no whole copy of:
   * REPLICA_LACKS with the any-owner flag, read-only there (a replica lacking one asks for it
   * itself). The slots it holds whole, among those it replicates for this node under the
   * placement asked, are owed no more; the rest stay owed until their copy ends. Run after each
   * change and every second: TRY_AGAIN (its placement differs, or it is still installing this
   * one), no answer or a malformed one leaves the marks for the next round. Without it nothing ever
   * cleared them: a whole kept copy is never asked for, and replication_copies_owed stayed above 0
   * for good after any leave or failover (a tester).
   */
  void confirmKeptCopies() {
    Placement p = placement.get();
    Member me = self.get();
    int meIndex = me == null ? -1 : p.indexOf(me);
    if (meIndex < 0 || closed) {
      return;
    }
    OwedCopies.Kept kept = owed.keptToConfirm(p.fingerprint());
    if (kept == null) {
      return;
    }
    byte[] id = me.id().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    long learners = p.learnerMask();
    kept.slots().forEach((replicaId, slots) -> {
      Member r = memberOf(p, replicaId);
      int ri = r == null ? -1 : p.indexOf(r);
      if (ri < 0 || (learners & (1L << ri)) != 0 || !confirming.add(replicaId)) {
        return; // gone or learning (its marks go at the next change), or asked already
      }
      CompletableFuture<Frame> asked;
      try {
        asked = peers.send(r.address(), Frame.request(Opcode.REPLICA_LACKS, 0, id, null, p.epoch(), p.fingerprint(),
            ProtocolConstants.LACKS_ANY_OWNER));
      } catch (RuntimeException e) {
        confirming.remove(replicaId);
        throw e;
      }
      asked.whenCompleteAsync((reply, failed) -> {
        try {
          Map<Long, long[]> groups = failed == null && reply.status() == Status.OK && reply.extras().length >= 2
              && reply.extras()[1] == p.fingerprint() ? ReplicaSyncRequester.decodeLacking(reply.value()) : null;
          if (groups == null) {
            return; // asked again next round
          }
          // Whole: kept slots it does not name as lacking, and that it replicates for this node
          // under the placement both had installed when it answered (its drops marked by then).
          long[] whole = new long[slots.length];
          for (int w = 0; w < slots.length; w++) {
            long lacking = 0;
            for (long[] g : groups.values()) {
              lacking |= g[w];
            }
            for (long word = slots[w] & ~lacking; word != 0; word &= word - 1) {
              int s = w * 64 + Long.numberOfTrailingZeros(word);
              if (p.ownerIndex(s) == meIndex && (p.replicaBits(s) & (1L << ri)) != 0) {
                whole[w] |= 1L << s;
              }
            }
          }
          owed.confirmedWhole(replicaId, whole, kept.asked());
        } finally {
          confirming.remove(replicaId);
        }
      }, sender); // off the peer's event loop: the answer walks every slot
    });
  }

  /** The members (no learners) that replicate a slot {@code me} owns under {@code p}. */
  private static Set<Member> replicasOfMine(Placement p, Member me) {
    Set<Member> out = new HashSet<>();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p.owns(me, s)) {
        for (Member r : p.replicas(s)) {
          if (!p.isLearner(r)) {
            out.add(r);
          }
        }
      }
    }
    return out;
  }

  /** The full copies this node owes its replicas (a graceful leave waits for them: settleCopies). */
  private final OwedCopies owed = new OwedCopies();

  /** This node's graceful leave has begun (settleCopies): copies run unpaced from now on. */
  private volatile boolean leaving;

  /**
   * Part of a graceful leave: sends every full copy this node still owes a replica (OwedCopies: a
   * replica new to a slot since the last change, whose copy was not asked for yet, or is queued or
   * running), unpaced, and waits until each has ended and been applied there, at most until
   * {@code deadlineNanos}. A replica with a copy it asked for queued or running is left to that
   * copy until it ends. Called first while the node still serves (copied entries are states, and
   * writes after them follow on the same stream), then once more after the writes are held, for
   * what changed meanwhile. Returns the slots still owed at the end, over every replica.
   */
  int settleCopies(long deadlineNanos) {
    try {
      leaving = true;
      // The placement is installed before its listeners ran: its marks may not be made yet.
      owed.awaitProcessed(placement, deadlineNanos);
      askWhatReplicasLack(deadlineNanos);
      // Per replica, the copy pushed to it in this call: pushed again once it ended with the
      // replica still owed (a mark made after it started, or a copy that stopped without settling:
      // waiting for it to the deadline starved the drain after it, a reviewer).
      Map<String, java.util.concurrent.Future<?>> pushed = new HashMap<>();
      while (true) {
        Map<String, long[]> now = owed.owed();
        if (now.isEmpty() || System.nanoTime() - deadlineNanos >= 0) {
          return owed.count();
        }
        Placement p = placement.get();
        for (Map.Entry<String, long[]> e : now.entrySet()) {
          Member to = memberOf(p, e.getKey());
          java.util.concurrent.Future<?> last = pushed.get(e.getKey());
          if (to == null || last != null && !last.isDone() || copyRunningFor(e.getKey())) {
            continue;
          }
          long[] slots = e.getValue();
          int n = 0;
          for (long w : slots) {
            n += Long.bitCount(w);
          }
          int count = n;
          pushed.put(e.getKey(), copier.submit(() -> {
            try {
              copy(to, slots, count, 0, CopyPacer.system(100)); // token 0: the replica marks nothing whole
            } catch (RuntimeException failed) {
              log.warn("the copy of {} slots owed to {} before this node leaves failed", count, to, failed);
            }
          }));
        }
        owed.awaitNone(Math.min(deadlineNanos, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100)));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return owed.count();
    }
  }

  /** A full copy that {@code replicaId} asked for is queued or running here. */
  private boolean copyRunningFor(String replicaId) {
    String prefix = replicaId + "/";
    for (String job : copies) {
      if (job.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /** Slots whose full copy this node owes a replica, over every replica (INFO, tests). */
  int owedCopies() {
    return owed.count();
  }

  /** Full copies queued or running, as "replica id/token". */
  private final Set<String> copies = ConcurrentHashMap.newKeySet();

  /** The copy's pace (CopyPacer): the share of time a full copy may use. */
  private volatile CopyPacer copyPacer = CopyPacer.system(DEFAULT_COPY_SHARE_PERCENT);

  /** The default share of time a full copy may use (--copy-share). */
  public static final int DEFAULT_COPY_SHARE_PERCENT = 50;

  /** Sets the share of time (1..100 percent) full copies may use from the next copy on. */
  void copyShare(int percent) {
    copyPacer = CopyPacer.system(percent);
  }

  /** Restarts of a copy whose placement moved under it before it gives up without COPIED. */
  private static final int MAX_COPY_RESTARTS = 3;

  /** Bytes of a copy a replica may have unacknowledged before the copy waits: keeps live writes' wait short. */
  static final long COPY_WINDOW_BYTES = 4L << 20;

  /**
   * Appends every entry of {@code slots} to {@code to}'s stream, under each slot's stripe lock, so
   * live writes of a key land before or after its copied state, never in between. Memory stays
   * bounded: the copy waits whenever the replica has COPY_WINDOW_BYTES unacknowledged. Paced by
   * {@code pacer}.
   */
  private void copy(Member to, long[] slots, int slotCount, long token, CopyPacer pacer) {
    long t0 = System.nanoTime();
    long copied = 0;
    long bytes = 0;
    long cursor = 0;
    long paused = 0;
    Member me = self.get();
    ReplicaLink stream = null;
    int restarts = 0;
    // Slots with an entry skipped because a page's placement did not have `to` replicate them: a
    // later placement may give them back, and then they must not end with COPIED (their copy has a
    // hole); the replica asks for them again (askAgainIfStuck).
    long[] partial = new long[slots.length];
    long started = owed.start();
    log.info("copying {} slots to their new replica {}", slotCount, to);
    Placement sendsFor = null;
    long[] sends = null;
    while (true) {
      long pageStart = pacer.pageStart();
      Placement p = placement.get();
      if (p != sendsFor) {
        sends = sendable(p, me, to, slots); // once per placement, not per key
        sendsFor = p;
      }
      ScanResult page = store.scanSlots(cursor, FLUSH_BATCH, slots);
      ReplicaLink link = null;
      long last = 0;
      boolean missed = false;
      for (byte[] key : page.keys()) {
        int slot = KeySlot.of(key);
        if ((sends[slot >>> 6] & (1L << slot)) == 0) {
          partial[slot >>> 6] |= 1L << slot;
          continue;
        }
        ReentrantLock lock = stripes[slot % STRIPES];
        lock.lock();
        try {
          Effect e = stateOf(key);
          link = e == null ? link : linkFor(to, p);
          if (e != null && link == null) {
            missed = true; // the placement moved on under this page: see below
            continue;
          }
          if (link != null && stream != null && link != stream) {
            // The stream was closed and opened again: what went on the old one may never arrive.
            // No COPIED effect: the replica asks again once it sees its copy is not whole.
            log.warn("the stream to {} was replaced during a copy of {} slots; the copy stops", to, slotCount);
            return;
          }
          if (link != null) {
            stream = link;
          }
          if (e != null && link != null) {
            long seq = link.append(e);
            if (seq > 0) {
              last = seq;
              copied++;
              bytes += e.encodedBytes();
            }
          }
        } finally {
          lock.unlock();
        }
      }
      if (link != null && last > 0 && link.lagBytes() > COPY_WINDOW_BYTES && !awaitQuietly(link, last)) {
        // No COPIED: the replica asks again (ReplicaSyncRequester.askAgainIfStuck), by when the
        // cause (a replica refusing its stream) may be gone; meanwhile other copies and FLUSHes run.
        log.warn("{} acknowledged nothing for {} ms during a copy of {} slots; the copy stops", to,
            COPY_STALL_MILLIS, slotCount);
        return;
      }
      try {
        // The page's time includes waiting for the receiver: what a copy costs is mostly
        // downstream (frames written, entries applied there), so its whole pace is what is shared.
        paused += pacer.pageDone(pageStart);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return; // closing: no COPIED effect, the replica asks again of whoever owns the slots then
      }
      if (missed) {
        // An entry of a slot the replica holds under this page's placement could not be sent, so
        // the placement changed meanwhile. The slots it still holds must not end with COPIED while
        // an entry is missing: copy them again from the start (entries are states, so a second
        // copy of a key is harmless); after a few placement changes in a row, stop without COPIED
        // and let the replica ask again.
        if (++restarts > MAX_COPY_RESTARTS) {
          log.warn("the placement kept changing during a copy of {} slots to {}; the copy stops", slotCount, to);
          return;
        }
        cursor = 0;
        java.util.Arrays.fill(partial, 0);
        continue;
      }
      cursor = page.nextCursor();
      if (cursor == 0) {
        break;
      }
    }
    if (token != 0) {
      // Each slot's copy ends with a COPIED effect after its entries: the replica knows it is whole.
      Placement p = placement.get();
      boolean anyEnds = false;
      for (int s = 0; s < KeySlot.SLOTS && !anyEnds; s++) {
        anyEnds = (slots[s >>> 6] & (1L << s)) != 0 && p.owns(me, s) && p.isReplica(to, s);
      }
      // No link is opened for a replica that holds none of the slots any more (it would stay open).
      ReplicaLink link = anyEnds ? linkFor(to, p) : null;
      if (stream != null && link != null && link != stream) {
        log.warn("the stream to {} was replaced during a copy of {} slots; the copy stops", to, slotCount);
        return;
      }
      for (int w = 0; link != null && w < slots.length; w++) {
        long word = slots[w];
        while (word != 0) {
          int slot = w * 64 + Long.numberOfTrailingZeros(word);
          word &= word - 1;
          if (p.owns(me, slot) && p.isReplica(to, slot) && (partial[w] & (1L << slot)) == 0) {
            ReentrantLock lock = stripes[slot % STRIPES];
            lock.lock();
            try {
              link.append(Effect.copied(slot, token));
            } finally {
              lock.unlock();
            }
          }
        }
      }
    }
    // After the COPIED effects: a leave that asks the replica what it lacks once the copy is
    // settled must find it whole, not send the slots again (seen in a SIGTERM's log).
    settleWhenApplied(to, slots, partial, stream, started);
    log.info("copied {} keys ({} bytes) of {} slots to {} in {} ms ({} ms of it paced, copy share {}%)", copied,
        bytes, slotCount, to, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
        TimeUnit.NANOSECONDS.toMillis(paused), pacer.sharePercent());
  }

  /** The slots of {@code slots} that {@code me} owns and {@code to} replicates under {@code p}. */
  private static long[] sendable(Placement p, Member me, Member to, long[] slots) {
    long[] out = new long[slots.length];
    io.distcache.server.placement.SlotGuard.forEach(slots, slot -> {
      if (p.owns(me, slot) && p.isReplica(to, slot)) {
        out[slot >>> 6] |= 1L << slot;
      }
    });
    return out;
  }

  /**
   * A copy of {@code slots} to {@code to} read every entry to the end: once {@code to} has applied
   * everything sent to it so far, the slots it still replicates for this node under the current
   * placement, less those the copy skipped ({@code partial}), are no longer owed (OwedCopies).
   */
  private void settleWhenApplied(Member to, long[] slots, long[] partial, ReplicaLink stream, long started) {
    Member me = self.get();
    Placement p = placement.get();
    long[] done = new long[slots.length];
    boolean any = false;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if ((slots[s >>> 6] & (1L << s)) != 0 && (partial[s >>> 6] & (1L << s)) == 0 && p.owns(me, s)
          && p.isReplica(to, s)) {
        done[s >>> 6] |= 1L << s;
        any = true;
      }
    }
    if (!any) {
      return;
    }
    ReplicaLink link = stream != null ? stream : linkFor(to, p);
    if (link == null) {
      return; // no stream to it under this placement: the next change forgets or marks again
    }
    long seq = link.offsets()[0];
    link.whenApplied(seq).whenComplete((v, e) -> {
      if (e == null && link.offsets()[1] >= seq) { // a closed link completes its waiters too
        owed.settled(to.id(), done, started);
      }
    });
  }

  /** A copy whose replica acknowledged nothing for this long stops (without COPIED). */
  static final long COPY_STALL_MILLIS = 30_000;

  /**
   * Waits until the replica applied {@code seq}, the link closed, or the replica acknowledged
   * nothing for COPY_STALL_MILLIS; false in that last case. Copies and FLUSHes run one at a time
   * on one thread, so a replica that keeps refusing (or a link that never drains) must not hold
   * them all up for good (a join hung for 12 minutes with every later copy queued behind one).
   */
  private static boolean awaitQuietly(ReplicaLink link, long seq) {
    CompletableFuture<Void> f = link.whenApplied(seq);
    long acked = link.offsets()[1];
    long progressAt = System.nanoTime();
    while (!f.isDone() && !link.isClosed()) {
      try {
        f.get(1, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        long now = link.offsets()[1];
        if (now != acked) {
          acked = now;
          progressAt = System.nanoTime();
        } else if (System.nanoTime() - progressAt > TimeUnit.MILLISECONDS.toNanos(COPY_STALL_MILLIS)) {
          return false;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return true;
      } catch (java.util.concurrent.ExecutionException e) {
        return true;
      }
    }
    return true;
  }

  /**
   * SIZE, SCAN and RANDOM_KEY with replicas: this node's store also holds copies of other owners'
   * slots, so node-local keyspace answers count and list only the keys of slots this node owns
   * (a cluster client that sums DBSIZE over the nodes then counts each key once). SIZE adds up the
   * store's counts of the owned slots; a RANDOM_KEY that does not find an owned key at random
   * walks the store off the event loops.
   */
  CompletableFuture<Frame> ownedKeyspace(Frame request, Placement p) {
    Member me = self.get();
    switch (request.op()) {
      case SCAN: {
        Frame r = local.apply(request);
        if (r.status() != Status.OK) {
          return CompletableFuture.completedFuture(r);
        }
        List<byte[]> owned = new ArrayList<>();
        for (byte[] k : ListCodec.decodeKeys(r.value())) {
          if (p.owns(me, KeySlot.of(k))) {
            owned.add(k);
          }
        }
        return CompletableFuture.completedFuture(request.replyValue(ListCodec.encodeKeys(owned), r.extras()));
      }
      case RANDOM_KEY: {
        try (ScriptHost.Keyspace held = keyspaceShared()) {
          for (int i = 0; i < 32; i++) {
          byte[] k = store.randomKey();
          if (k == null) {
            return CompletableFuture.completedFuture(request.reply(Status.NOT_FOUND));
          }
            if (p.owns(me, KeySlot.of(k))) {
              return CompletableFuture.completedFuture(request.replyValue(k));
            }
          }
        } catch (ScriptBusyException e) {
          return CompletableFuture.completedFuture(scriptBusy(request));
        }
        return CompletableFuture.supplyAsync(() -> {
          byte[][] found = new byte[1][];
          try (ScriptHost.Keyspace held = keyspaceShared()) {
            walkOwned(p, me, k -> {
              found[0] = k;
              return false;
            });
          } catch (ScriptBusyException e) {
            return scriptBusy(request);
          }
          return found[0] == null ? request.reply(Status.NOT_FOUND) : request.replyValue(found[0]);
        }, flusher);
      }
      case SIZE:
        try (ScriptHost.Keyspace held = keyspaceShared()) {
          return CompletableFuture.completedFuture(request.replyOk(ownedKeys(p, me, false)));
        } catch (ScriptBusyException e) {
          return CompletableFuture.completedFuture(scriptBusy(request));
        }
      default:
        return CompletableFuture.completedFuture(local.apply(request));
    }
  }

  /**
   * The keys of the slots {@code me} owns in {@code p}: DBSIZE on a cluster connection, and INFO
   * cluster's cluster_owned_keys. From the store's counts per slot, O(slots) and not O(keys): a
   * monitor that polls DBSIZE must not walk a million keys each time.
   */
  long ownedKeys(Placement p, Member me, boolean alone) {
    if (alone) {
      return store.size(); // every key is this node's
    }
    int at = me == null ? -1 : p.indexOf(me); // once, not a member comparison per slot
    if (at < 0) {
      return 0;
    }
    long[] owned = new long[KeySlot.SLOTS / 64];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p.ownerIndex(s) == at) {
        owned[s >>> 6] |= 1L << s;
      }
    }
    return store.keysInSlots(owned);
  }

  /** Calls {@code visit} with each key of a slot {@code me} owns, while it returns true. */
  private void walkOwned(Placement p, Member me, java.util.function.Predicate<byte[]> visit) {
    long cursor = 0;
    do {
      ScanResult page = store.scan(cursor, FLUSH_BATCH);
      for (byte[] k : page.keys()) {
        if (p.owns(me, KeySlot.of(k)) && !visit.test(k)) {
          return;
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
  }

  // ---- migration to a learner: hold the writes of the slots it takes over while it joins

  /** How long writes wait for a learner to take their slots over before they fail with TRY_AGAIN. */
  static final long MIGRATION_HOLD_MILLIS = 5_000;
  /** A learner further behind than this is told to ask again later, so that a hold lasts a round trip, not a catch-up. */
  static final long PREPARE_MAX_LAG_BYTES = 256L << 10;
  private final Map<String, MigrationHold> migrations = new ConcurrentHashMap<>();
  /**
   * Per learner id, the latest round of MIGRATE_PREPARE it cancelled here: a prepare of that round
   * or an earlier one that arrives after its cancel (on another connection) is refused, so it
   * cannot leave a hold nobody ends. Written inside migrations.compute; dropped when the learner
   * leaves the placement, so at most one entry per member.
   */
  private final Map<String, Long> cancelledRounds = new ConcurrentHashMap<>();
  /** Ids whose cancelled rounds are remembered at most, members aside (see the cancel's handling). */
  static final int MAX_CANCELLED_ROUNDS = 1_024;
  /** The union of the held slots, or null when no learner is taking slots over (the common case). */
  private volatile long[] migratingSlots;
  private volatile java.util.function.Function<Frame, CompletableFuture<Frame>> reroute;

  /** How held writes are sent on once their slot has changed hands (the router's serve-or-forward). */
  void onRelease(java.util.function.Function<Frame, CompletableFuture<Frame>> reroute) {
    this.reroute = reroute;
  }

  /** The writes of the slots one learner takes over from this node, held in arrival order. */
  private final class MigrationHold {
    final Member learner;
    final long[] slots;
    /**
     * The learner's latest round of MIGRATE_PREPARE this hold answers (0: none named); a cancel of
     * an older round leaves it. Written inside migrations.compute, like every read that decides.
     */
    long round;
    final long startedNanos = nanos.getAsLong();
    private final java.util.ArrayDeque<Held> queue = new java.util.ArrayDeque<>();
    private boolean released;
    /** Past MIGRATION_HOLD_MILLIS: writes fail at once, unapplied, until the hold ends (see expire). */
    private boolean expired;

    MigrationHold(Member learner, long[] slots, long round) {
      this.learner = learner;
      this.slots = slots;
      this.round = round;
    }

    CompletableFuture<Frame> hold(Frame request) {
      CompletableFuture<Frame> reply = new HeldReply();
      boolean queued = false;
      synchronized (this) {
        if (expired && !released) {
          return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "its slot is moving to "
              + learner.address() + ", which has not taken it over yet; not applied"));
        }
        if (!released) {
          queue.add(new Held(request, reply));
          queued = true;
        }
      }
      if (queued) {
        armHoldSweep(request); // after the lock: the sweep takes its monitor, then this one
        return reply;
      }
      // Released between the check and now: send it on like the others.
      return send(request);
    }

    /** Fails the held writes, unapplied, and every later one until the hold ends. */
    void expire() {
      List<Held> out;
      synchronized (this) {
        expired = true;
        out = new ArrayList<>(queue);
        queue.clear();
      }
      for (Held h : out) {
        h.reply().complete(h.request().replyError(Status.TRY_AGAIN,
            "its slot was moving to a joining member that did not take it over in time; not applied"));
      }
    }

    synchronized boolean expired() {
      return expired;
    }

    /** Ends the hold; each held write is sent on with {@code how}, in arrival order. */
    void release(java.util.function.Function<Frame, CompletableFuture<Frame>> how) {
      List<Held> out;
      synchronized (this) {
        released = true;
        out = new ArrayList<>(queue);
        queue.clear();
      }
      for (Held h : out) {
        how.apply(h.request()).whenComplete((r, e) -> {
          if (e == null) {
            h.reply().complete(r);
          } else {
            h.reply().completeExceptionally(e);
          }
        });
      }
    }
  }

  private CompletableFuture<Frame> send(Frame request) {
    java.util.function.Function<Frame, CompletableFuture<Frame>> r = reroute;
    return r != null ? r.apply(request)
        : CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "its slot is changing owner"));
  }

  private MigrationHold migrationHoldOf(List<byte[]> keys) {
    long[] held = migratingSlots;
    if (held == null) {
      return null;
    }
    for (byte[] k : keys) {
      int slot = KeySlot.of(k);
      if ((held[slot >>> 6] & (1L << slot)) != 0) {
        for (MigrationHold h : migrations.values()) {
          if ((h.slots[slot >>> 6] & (1L << slot)) != 0) {
            return h;
          }
        }
      }
    }
    return null;
  }

  private void recomputeMigratingSlots() {
    long[] union = null;
    for (MigrationHold h : migrations.values()) {
      if (union == null) {
        union = new long[KeySlot.SLOTS / 64];
      }
      for (int w = 0; w < union.length; w++) {
        union[w] |= h.slots[w];
      }
    }
    migratingSlots = union;
  }

  /**
   * MIGRATE_PREPARE from a learner that holds a whole copy of every slot it learned: from now on the
   * writes of the slots it takes over from this node are held (this node stops applying them), the
   * writes of the slots it will only replicate wait for its stream like a replica's (acknowledge,
   * merelyLearning), and once it has every effect already sent, the answer is OK and the learner
   * may join. An owner it takes no slot from is asked too, and holds nothing. The held writes go to
   * it when it has joined (placementChanged), or are served here if it leaves the placement or
   * cancels instead; past MIGRATION_HOLD_MILLIS without either they fail with TRY_AGAIN, unapplied.
   * Extras: epoch, fingerprint, then optionally 0 (prepare) or MIGRATE_CANCEL, and the learner's
   * round: a cancel of an older round than the hold's leaves it, a prepare of a round already
   * cancelled here is refused (a learner sends its cancels again until answered, and the two may
   * arrive in either order).
   */
  CompletableFuture<Frame> prepareMigration(Frame request) {
    long[] x = request.extras();
    if (x.length < 2 || request.key() == null || request.key().length == 0) {
      return CompletableFuture.completedFuture(request.replyError(Status.BAD_REQUEST,
          "MIGRATE_PREPARE needs the learner's id as key and 2 extras (epoch, fingerprint), got " + x.length));
    }
    long kind = x.length >= 3 ? x[2] : 0;
    long round = x.length >= 4 ? x[3] : 0;
    if (kind != 0 && kind != ProtocolConstants.MIGRATE_CANCEL || round < 0) {
      return CompletableFuture.completedFuture(request.replyError(Status.BAD_REQUEST, "MIGRATE_PREPARE extras 3 and 4"
          + " must be 0 (prepare) or " + ProtocolConstants.MIGRATE_CANCEL
          + " (cancel) and a round >= 0, got " + kind + " and " + round));
    }
    String id = new String(request.key(), java.nio.charset.StandardCharsets.US_ASCII);
    if (kind == ProtocolConstants.MIGRATE_CANCEL) {
      // The learner will not take its slots over on that round (another owner refused): serve them
      // again, unless a later round of it asked meanwhile (a cancel sent again, see MigrationCancels).
      MigrationHold[] gone = new MigrationHold[1];
      // Remembered for a learner this node does not know yet too: its prepare of that round may
      // still be on its way, and would otherwise make a hold once the placement naming it arrives
      // (a reviewer). Bounded: pruned to the members at each placement, and at most
      // MAX_CANCELLED_ROUNDS ids meanwhile.
      boolean remember = memberOf(placement.get(), id) != null || cancelledRounds.size() < MAX_CANCELLED_ROUNDS;
      migrations.compute(id, (k, h) -> {
        if (round != 0 && remember) {
          cancelledRounds.merge(id, round, Math::max);
        }
        if (h != null && (round == 0 || h.round <= round)) {
          gone[0] = h;
          return null;
        }
        return h;
      });
      if (gone[0] != null) {
        recomputeMigratingSlots();
        log.info("learner {} cancelled taking its slots over: this node serves them again", gone[0].learner);
        sender.execute(() -> gone[0].release(this::send));
      }
      return CompletableFuture.completedFuture(request.replyOk());
    }
    Placement p = placement.get();
    Member me = self.get();
    Member learner = memberOf(p, id);
    if (me == null || p.fingerprint() != x[1] || learner == null || !p.isLearner(learner)) {
      return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "this node's placement (epoch "
          + p.epoch() + ") differs, or " + id + " is not learning in it"));
    }
    ReplicaLink behind = links.get(id);
    if (!migrations.containsKey(id) && behind != null && !behind.isClosed()
        && behind.lagBytes() > PREPARE_MAX_LAG_BYTES) {
      // Holding writes now would hold them until the learner caught up: ask again when it has.
      return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "learner " + id + " is "
          + behind.lagBytes() + " bytes behind (at most " + PREPARE_MAX_LAG_BYTES + " before its slots are held)"));
    }
    ScriptHost running = scripts;
    if (running != null && running.unclusteredScriptRunning()) {
      // A script that started while this node was alone may write any key without its slot's lock
      // (the one-slot rule did not apply), and the learner's copy does not wait for it: taken over
      // mid-run, the learner could hold some of its writes and the client get BUSY (a reviewer).
      // Asked again once it ended, its writes reach the learner as appliedUnlocked ships them. A
      // script started in a cluster writes only its slot, under the slot's lock, which this waits
      // for below. Answered at once: this runs on a peer connection's event loop.
      return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN,
          "a script is running on this node; ask again when it is done"));
    }
    long[] slots = new long[KeySlot.SLOTS / 64];
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p.owns(me, s) && p.wouldOwn(learner, s)) {
        slots[s >>> 6] |= 1L << s;
      }
    }
    Member l = learner;
    MigrationHold hold;
    synchronized (migrationGate) {
      if (flushing > 0) {
        // Its deletes are not held like writes: the learner must not take over before they are all
        // appended (see flush).
        return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN,
            "a FLUSH is running on this node; ask again when it is done"));
      }
      boolean[] cancelled = new boolean[1];
      hold = migrations.compute(id, (k, old) -> {
        if (round != 0 && cancelledRounds.getOrDefault(id, 0L) >= round) {
          cancelled[0] = true; // reached this node after its own cancel: the learner is past that round
          return old;
        }
        if (old != null && !old.expired()) {
          old.round = Math.max(old.round, round); // the learner's next round: its cancel of the last one may be late
          return old;
        }
        // A fresh hold, also in place of one that expired: the learner asks again, so it has not
        // taken the slots over on the strength of the old one (and a hold never applies a write).
        MigrationHold h = new MigrationHold(l, slots, round);
        if (isEmpty(slots)) {
          log.info("{} is about to join: writes to the slots it learns here wait for it too", l);
        } else {
          log.info("holding the writes of the slots {} takes over while it joins", l);
        }
        sender.schedule(() -> expire(h), MIGRATION_HOLD_MILLIS, TimeUnit.MILLISECONDS);
        return h;
      });
      if (cancelled[0]) {
        return CompletableFuture.completedFuture(request.replyError(Status.TRY_AGAIN, "round " + round
            + " of learner " + id + " was cancelled already"));
      }
    }
    recomputeMigratingSlots();
    for (ReentrantLock stripe : stripes) {
      stripe.lock(); // a write between "apply" and "append" finishes first
      stripe.unlock();
    }
    ReplicaLink link = links.get(id);
    if (link == null || link.isClosed()) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    return link.whenApplied(link.offsets()[0]).orTimeout(MIGRATION_HOLD_MILLIS / 2, TimeUnit.MILLISECONDS)
        .handle((v, e) -> e == null && migrations.get(id) == hold ? request.replyOk()
            : request.replyError(Status.TRY_AGAIN, "learner " + id + " did not confirm every effect in time"));
  }

  /**
   * The learner neither took its slots over nor cancelled within MIGRATION_HOLD_MILLIS: the held
   * writes fail, unapplied, and so does every later write of those slots until the learner joins
   * (placementChanged: they go to it), cancels, asks again, or leaves the placement (served here).
   * Serving them here again instead would lose them if the learner took the slots over after all:
   * its OK may still be on its way to it, and it then owns them without the writes applied here
   * meanwhile (the hole the first version had).
   */
  private void expire(MigrationHold h) {
    if (migrations.get(h.learner.id()) == h && !isEmpty(h.slots)) {
      log.warn("learner {} did not take its slots over within {} ms: their writes fail with TRY_AGAIN until it"
          + " joins, cancels or is gone", h.learner, MIGRATION_HOLD_MILLIS);
      h.expire();
    }
  }

  /** Ends the holds whose learner has joined (their writes go to it) or left the placement (served here). */
  private void releaseMigrations(Placement next) {
    for (MigrationHold h : migrations.values()) {
      if (!next.contains(h.learner) || !next.isLearner(h.learner)) {
        if (migrations.remove(h.learner.id(), h)) {
          recomputeMigratingSlots();
          log.info("{} {}: sending on the writes held for its slots", h.learner,
              next.contains(h.learner) ? "has joined" : "is gone");
          sender.execute(() -> h.release(this::send));
        }
      }
    }
  }

  /** True when this node's copy of {@code slot} was copied whole since it was last dropped. */
  boolean whole(int slot) {
    return syncRequester.whole(slot);
  }

  /** True unless this node's copy of {@code slot} was dropped and has not been whole since. */
  boolean current(int slot) {
    return syncRequester.current(slot);
  }

  /** A copy accepted this long ago that is still not whole is asked for again. */
  static final long STUCK_COPY_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** Asks again for the copies of learned slots that were accepted long ago and are still not whole. */
  void askAgainIfStuck(java.util.function.IntPredicate slots) {
    syncRequester.askAgainIfStuck(slots, STUCK_COPY_NANOS);
  }

  /**
   * Every second: the copies of slots this node replicates (learners' included) that an owner
   * accepted long ago and never ended with COPIED are asked for again. An owner stops a copy
   * without COPIED when its stream is replaced or its placement keeps moving under it; a joining
   * learner asks again on its own (JoinDriver), but a replica's copy would otherwise stay
   * incomplete for good: refused to READONLY reads, and promoted as it is if the owner dies.
   */
  void askAgainForStuckCopies() {
    Placement p = placement.get();
    Member me = self.get();
    if (me != null && p.size() > 1) {
      syncRequester.askAgainIfStuck(s -> p.isReplica(me, s), STUCK_COPY_NANOS);
    }
  }

  /** Where the copies of the slots {@code which} selects that are not whole here stand (the join's progress log). */
  String describeMissing(java.util.function.IntPredicate which) {
    return syncRequester.describeMissing(which);
  }

  /** A COPIED effect was applied: the copy of {@code slot} asked for with {@code token} is whole. */
  void copied(int slot, long token) {
    syncRequester.copied(slot, token);
  }

  /**
   * The placement changed: links to members that left it are closed, and each member that stopped
   * replicating a slot this node still owns, but is still a member, is noted: the first write of
   * the slot that bypasses it tells it so first (RELEASED, see the design note).
   */
  void placementChanged(Placement previous, Placement next) {
    owed.placementChanged(self.get(), previous, next);
    if (!closed) {
      try {
        sender.execute(this::confirmKeptCopies); // refused until the replicas installed next too: the tick asks again
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        // closing: nothing is asked any more
      }
    }
    notePromotions(previous, next);
    noteReleases(next);
    placementChanged(next);
    Member me = self.get();
    if (me != null && !previous.isEmpty() && !next.isEmpty()) {
      int[] prevToNext = next.indexesOf(previous);
      int meNext = next.indexOf(me);
      long meBit = meNext < 0 ? 0 : 1L << meNext;
      syncRequester.ownerChanged(s -> prevToNext[previous.ownerIndex(s)] != next.ownerIndex(s)
          && (next.replicaBits(s) & ~next.learningBits(s) & meBit) != 0);
    }
  }

  /** Batches a replica refused outright (BAD_REQUEST), each closing its link (INFO). */
  private final java.util.concurrent.atomic.AtomicLong refusedBatches = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong lastRefusalLog =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - REFUSAL_LOG_NANOS);
  private static final long REFUSAL_LOG_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * {@code link}'s replica refused a batch it cannot read ({@code fault}); the link closed without
   * resending it (ReplicaLink's design note), before the writes waiting on it get BUSY. The
   * replica's copies of {@code slots} (those of the effects it never acknowledged) missed writes:
   * each slot this node still owns with that member as its replica gets a RELEASED effect on a new
   * link, the path of a replica that skipped a placement: it drops its copy and asks for a new one
   * (ReplicaApplier, ReplicaSyncRequester), and serves no read from the old one meanwhile. The
   * refused link is closed already (an append to it is refused and goes to the link in its place,
   * ship); its waiting writes are answered after this returns, so a write their clients send next
   * goes behind the RELEASED effects.
   * A copy the replica refuses again (a value it cannot read in any form) goes the same way, one
   * copy at a time, until the versions agree: the stream of every other slot flows meanwhile.
   */
  private void refused(ReplicaLink link, long[] slots, String fault) {
    long total = refusedBatches.incrementAndGet();
    Placement p = placement.get();
    Member me = self.get();
    Member replica = link.replica;
    List<Integer> release = new ArrayList<>();
    long[] owedSlots = new long[KeySlot.SLOTS / 64];
    for (int w = 0; w < slots.length; w++) {
      for (long word = slots[w]; word != 0; word &= word - 1) {
        int s = w * 64 + Long.numberOfTrailingZeros(word);
        if (me != null && p.owns(me, s) && p.isReplica(replica, s)) {
          release.add(s);
          owedSlots[w] |= word & -word;
        }
      }
    }
    long now = System.nanoTime();
    long last = lastRefusalLog.get();
    if (now - last >= REFUSAL_LOG_NANOS && lastRefusalLog.compareAndSet(last, now)) {
      log.warn("replica {} refused a replication batch ({}); not resending it: the writes waiting on it get BUSY,"
          + " and its copies of {} slots (the first is {}) are made again ({} refused since start)", replica, fault,
          release.size(), release.isEmpty() ? "none" : release.get(0), total);
    }
    if (release.isEmpty()) {
      return; // the refused link closes; the next write opens a new one (linkFor)
    }
    // Owed from now, not only from the replica's REPLICA_SYNC: a graceful leave in between would
    // otherwise not wait for the copy the replica is about to drop and ask for (OwedCopies).
    owed.requested(replica.id(), owedSlots);
    // In the refused link's place: a write from now on goes behind the RELEASED effects. A link a
    // writer opened since the close (ship) gets them after its effects, which the drop then covers;
    // none when the member left the placement meanwhile (nothing goes to it).
    ReplicaLink current = links.compute(replica.id(), (id, l) -> l == link
        ? new ReplicaLink(replica, self, placement, peers, sender, this::refused) : l);
    if (current != null) {
      release.forEach(s -> current.append(Effect.released(s)));
    }
  }

  /** Slots this node took over from their owner while its copy of them was not whole (INFO). */
  private final java.util.concurrent.atomic.AtomicLong promotedIncomplete = new java.util.concurrent.atomic.AtomicLong();

  /**
   * A replica promoted to owner serves its copy as it is. A copy that was not whole (its owner left
   * or died before its copy to this node finished: two failures within one copy time with one
   * replica) lacks the keys not copied yet. They are misses, never older values (what was copied
   * and every effect after it arrived in order), but acknowledged writes are gone, so the operator
   * is told: a WARN and INFO replication's replication_promoted_incomplete_slots.
   */
  private void notePromotions(Placement previous, Placement next) {
    Member me = self.get();
    if (me == null || previous.isEmpty()) {
      return;
    }
    int count = 0;
    int first = -1;
    int meNext = next.indexOf(me);
    int mePrev = previous.indexOf(me);
    for (int s = 0; meNext >= 0 && mePrev >= 0 && s < KeySlot.SLOTS; s++) {
      if (next.ownerIndex(s) == meNext && previous.ownerIndex(s) != mePrev
          && (previous.replicaBits(s) & (1L << mePrev)) != 0 && !current(s)) {
        count++;
        first = first < 0 ? s : first;
      }
    }
    if (count > 0) {
      promotedIncomplete.addAndGet(count);
      log.warn("took over {} slots (the first is {}) whose copy here was not whole: their owner left before its"
          + " copy to this node finished, so the keys it had not copied yet are missing (misses, never older"
          + " values; two failures within one copy time)", count, first);
    }
  }

  /**
   * Guarded by itself: per member id, the slots this node owns whose next write, made without that
   * member, must first send it a RELEASED effect. Pending only until such a write: a slot nobody
   * writes while the member is away (under sync replication the owner serves none until every
   * member confirmed the change, SlotGuard rule 7) costs the member nothing, so a member that merely
   * heard of two changes at once keeps its copy, which is current.
   */
  private final Map<String, long[]> unreleased = new HashMap<>();
  /** The union of unreleased's slots, or null for none: a write checks its slot's bit without a lock. */
  private volatile long[] unreleasedSlots;
  /** Guarded by unreleased: the newest placement noteReleases has seen. */
  private Placement noted = Placement.empty();
  private volatile long notedFingerprint;

  /**
   * Notes the releases that {@code next} makes, against the last placement noted. Runs from the
   * placement listener, or earlier from the first write shipped under {@code next}: a write made
   * after the placement was installed and before the listener ran would otherwise bypass a member
   * without telling it. An older placement (a write still running under it) notes nothing.
   */
  private void noteReleases(Placement next) {
    Member me = self.get();
    synchronized (unreleased) {
      Placement previous = noted;
      if (me == null || next.fingerprint() == previous.fingerprint() || !next.isNewerThan(previous)) {
        return;
      }
      noted = next;
      notedFingerprint = next.fingerprint();
      if (previous.isEmpty()) {
        return;
      }
      if (!next.contains(me)) {
        unreleased.clear(); // declared dead or gone: this node serves nothing, and will empty
        unreleasedSlots = null;
        return;
      }
      // Member positions and bit masks (Placement's index queries): this runs once per change, too
      // rarely to be compiled.
      List<Member> nextMembers = next.members();
      Map<String, Integer> present = new HashMap<>();
      for (int i = 0; i < nextMembers.size(); i++) {
        present.put(nextMembers.get(i).id(), i);
      }
      int meNext = next.indexOf(me);
      int mePrev = previous.indexOf(me);
      // A pending release stays while this node still owns the slot and the member, still present,
      // still does not replicate it: no write has bypassed it yet, and none did before.
      for (java.util.Iterator<Map.Entry<String, long[]>> it = unreleased.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<String, long[]> e = it.next();
        Integer m = present.get(e.getKey());
        long[] bits = e.getValue();
        for (int w = 0; w < bits.length; w++) {
          long word = bits[w];
          while (word != 0) {
            int s = w * 64 + Long.numberOfTrailingZeros(word);
            word &= word - 1;
            if (m == null || next.ownerIndex(s) != meNext || (next.replicaBits(s) & (1L << m)) != 0) {
              bits[w] &= ~(1L << s);
            }
          }
        }
        if (m == null || isEmpty(bits)) {
          it.remove();
        }
      }
      int[] prevToNext = next.indexesOf(previous);
      List<Member> prevMembers = previous.members();
      for (int s = 0; mePrev >= 0 && s < KeySlot.SLOTS; s++) {
        if (previous.ownerIndex(s) != mePrev || next.ownerIndex(s) != meNext) {
          continue; // a slot this node no longer owns gets no write from it; its new owner decides
        }
        long nextCopies = next.replicaBits(s);
        for (long was = previous.replicaBits(s); was != 0; was &= was - 1) {
          int i = Long.numberOfTrailingZeros(was);
          int j = prevToNext[i];
          if (j >= 0 && (nextCopies & (1L << j)) == 0) {
            unreleased.computeIfAbsent(prevMembers.get(i).id(), id -> new long[KeySlot.SLOTS / 64])[s >>> 6] |= 1L << s;
          }
        }
      }
      unreleasedSlots = unionOfUnreleased();
    }
  }

  /**
   * Called under the slot's stripe lock, before a write of {@code slot} under {@code p} is shipped:
   * each member with a release pending for the slot that {@code p} does not have replicate it gets
   * the RELEASED effect now (a write still running under an older placement, which does send it the
   * write, leaves the release pending).
   */
  private void shipReleases(Placement p, int slot) {
    List<Member> tell = null;
    synchronized (unreleased) {
      for (java.util.Iterator<Map.Entry<String, long[]>> it = unreleased.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<String, long[]> e = it.next();
        long[] bits = e.getValue();
        if ((bits[slot >>> 6] & (1L << slot)) == 0) {
          continue;
        }
        Member m = memberOf(p, e.getKey());
        if (m == null || p.isReplica(m, slot)) {
          continue;
        }
        bits[slot >>> 6] &= ~(1L << slot);
        if (isEmpty(bits)) {
          it.remove();
        }
        (tell == null ? tell = new ArrayList<>() : tell).add(m);
      }
      unreleasedSlots = unionOfUnreleased();
    }
    for (int i = 0; tell != null && i < tell.size(); i++) {
      ReplicaLink link = linkFor(tell.get(i), p);
      if (link != null) {
        link.append(Effect.released(slot));
      }
    }
  }

  /** Guarded by unreleased. */
  private long[] unionOfUnreleased() {
    if (unreleased.isEmpty()) {
      return null;
    }
    long[] union = new long[KeySlot.SLOTS / 64];
    for (long[] bits : unreleased.values()) {
      for (int w = 0; w < union.length; w++) {
        union[w] |= bits[w];
      }
    }
    return union;
  }

  /** The member of {@code p} with {@code id}, or null. */
  static Member memberOf(Placement p, String id) {
    for (Member m : p.members()) {
      if (m.id().equals(id)) {
        return m;
      }
    }
    return null;
  }

  private static boolean isEmpty(long[] bits) {
    for (long w : bits) {
      if (w != 0) {
        return false;
      }
    }
    return true;
  }

  /** What the replica side (ReplicaApplier) tells this replicator about whole slots. */
  ReplicaApplier.SlotCopies slotCopies() {
    return new ReplicaApplier.SlotCopies() {
      @Override
      public void copied(int slot, long token) {
        Replicator.this.copied(slot, token);
      }

      @Override
      public void drop(long[] slots) {
        int n = 0;
        for (long w : slots) {
          n += Long.bitCount(w);
        }
        log.warn("the copies of {} slots here missed writes made while this node did not replicate them (it"
            + " skipped a placement); they are dropped and copied again", n);
        staleCopies.accept(slots);
      }

      @Override
      public void streamLost(String ownerId) {
        Placement p = placement.get();
        Member me = self.get();
        if (me != null) {
          syncRequester.streamLost(s -> {
            Member owner = p.owner(s);
            return owner != null && owner.id().equals(ownerId) && p.isReplica(me, s);
          });
        }
      }

      @Override
      public void diverged(int slot, String why) {
        long now = System.nanoTime();
        long was = lastDivergedLog.get();
        if (now - was >= TimeUnit.SECONDS.toNanos(10) && lastDivergedLog.compareAndSet(was, now)) {
          log.warn("a copy of a key of slot {} here diverged from its owner's ({}); the key is removed here until"
              + " a whole value of it comes (logged once per 10 s)", slot, why);
        }
      }
    };
  }

  /** When a diverged copy was last logged (nanoTime): a replica short of memory may diverge at every write. */
  private final java.util.concurrent.atomic.AtomicLong lastDivergedLog =
      new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - TimeUnit.SECONDS.toNanos(10));

  private volatile java.util.function.Consumer<long[]> staleCopies = slots -> {};

  /** {@code dropper} drops this node's copies of a set of slots (ClusterMembership.dropCopies). */
  void onStaleCopies(java.util.function.Consumer<long[]> dropper) {
    staleCopies = dropper;
  }

  /** The placement changed: links to members that left it are closed. */
  void placementChanged(Placement next) {
    if (!migrations.isEmpty()) {
      releaseMigrations(next);
    }
    Member me = self.get();
    Set<String> keep = new HashSet<>();
    int meNext = me == null ? -1 : next.indexOf(me);
    long copies = 0;
    for (int s = 0; meNext >= 0 && s < KeySlot.SLOTS; s++) {
      if (next.ownerIndex(s) == meNext) {
        copies |= next.replicaBits(s);
      }
    }
    List<Member> nextMembers = next.members();
    for (; copies != 0; copies &= copies - 1) {
      keep.add(nextMembers.get(Long.numberOfTrailingZeros(copies)).id());
    }
    replicaIds = Set.copyOf(keep);
    Set<String> present = new HashSet<>();
    for (Member m : next.members()) {
      present.add(m.id());
    }
    cancelledRounds.keySet().retainAll(present);
    for (Map.Entry<String, ReplicaLink> e : links.entrySet()) {
      // A member gone from the placement (dead or left) is no longer a live replica: what waits for
      // it is released. One still present keeps its link until it has acknowledged what was sent
      // (it skips the effects of slots it no longer replicates), so no write is acknowledged on the
      // strength of a copy that was never sent; nothing new is appended to it (linkFor).
      if (!present.contains(e.getKey())) {
        links.remove(e.getKey(), e.getValue());
        e.getValue().close();
      }
    }
  }

  /**
   * INFO replication's lines, CRLF-terminated, with Redis's names where the meaning is the same:
   * every member is a master (of its own slots); its slaves are the members that replicate them,
   * with the stream's offsets counted in effects (not bytes, as Redis counts them).
   */
  String infoLines(int replicas, boolean underReplicated) {
    StringBuilder sb = new StringBuilder();
    List<ReplicaLink> open = new ArrayList<>();
    Set<String> current = replicaIds;
    for (ReplicaLink l : links.values()) {
      if (!l.isClosed() && current.contains(l.replica.id())) {
        open.add(l);
      }
    }
    open.sort((a, b) -> a.replica.id().compareTo(b.replica.id()));
    line(sb, "role", "master");
    line(sb, "connected_slaves", open.size());
    long given = 0;
    long now = System.currentTimeMillis();
    long maxLag = 0;
    for (int i = 0; i < open.size(); i++) {
      ReplicaLink l = open.get(i);
      long[] o = l.offsets();
      given += o[0];
      maxLag = Math.max(maxLag, o[0] - o[1]);
      sb.append("slave").append(i).append(":ip=").append(l.replica.address().host()).append(",port=")
          .append(l.replica.address().port()).append(",state=online,offset=").append(o[1]).append(",lag=")
          .append(o[0] == o[1] ? 0 : (now - o[3]) / 1000).append("\r\n");
    }
    line(sb, "master_repl_offset", given);
    line(sb, "replicas", replicas);
    line(sb, "replication_mode", mode.flagName());
    line(sb, "replication_under_replicated", underReplicated ? 1 : 0);
    line(sb, "replication_lag_effects", maxLag);
    line(sb, "replication_promoted_incomplete_slots", promotedIncomplete.get());
    line(sb, "replication_refused_batches", refusedBatches.get());
    line(sb, "replication_edits_shipped", editsShipped.sum());
    Placement p = placement.get();
    Member me = self.get();
    line(sb, "replication_copies_incomplete", me == null ? 0 : syncRequester.incompleteCopies(s -> p.isReplica(me, s)));
    line(sb, "replication_copies_waiting", syncRequester.pendingSlots());
    line(sb, "replication_copies_reasked", syncRequester.orphansAsked());
    line(sb, "replication_copies_owed", owed.count());
    return sb.toString();
  }

  private static void line(StringBuilder sb, String name, Object value) {
    sb.append(name).append(':').append(value).append("\r\n");
  }

  private volatile boolean closed;

  @Override
  public void close() {
    closed = true;
    for (ReentrantLock stripe : stripes) {
      stripe.lock(); // a write between "apply" and "append" finishes (its waiter is aborted below)
      stripe.unlock();
    }
    // Stopping: a write still waiting for a replica was never confirmed, so it must not be acknowledged.
    links.values().forEach(l -> l.abort("the node stopped before replica " + l.replica.address() + " confirmed it"));
    links.clear();
    sender.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    flusher.shutdownNow();
    copier.shutdownNow();
  }
}
