package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/*
 * Design: the replica's side of replication. A REPLICATE frame (peer connections only) carries a
 * batch of effects from one owner's stream; this applies them in sequence order, once each.
 *
 * Per sending owner it keeps the newest stream id taken and the last number applied. A batch that
 * starts past the next number (a batch lost or overtaken) is refused with TRY_AGAIN and the last
 * applied, and the owner resends from there; numbers already applied are skipped, so a resent
 * batch changes nothing. An owner's stream ids increase with each link it opens (ReplicaLink), so
 * a new stream is a larger id, taken only at number 1; a later batch of a new stream is a gap like
 * any other (TRY_AGAIN, 0 applied: resend from 1): a new link's first batch can be refused while
 * this node still installs the owner's placement and its second, sent meanwhile, arrive after the
 * install; answered -1, that closed the link and failed the writes waiting on it with BUSY (seen
 * once in PythonAndNodeClusterClientsIT, after a join).
 *
 * A batch of a smaller id than the owner's newest is an older link's, which the owner replaced:
 * arriving late (over a connection dialled again), taken, it would reset the newer stream's count
 * (every later batch of the newer one a gap for good, a reviewer) and apply older writes over newer
 * ones. It gets -1, which closes a link that is not closed already.
 *
 * When this node is declared dead its store is emptied and every owner's stream is marked lost if
 * anything of it was applied: a later batch of that stream, from any number (a resend of the first
 * batch, or one delayed in flight), gets -1, which closes the owner's link; what the link took along
 * is asked for again (SlotCopies.streamLost), and the owner opens a new link, a larger id. A stream
 * of which nothing was applied is not lost: its first batch is still taken. The streams stay in the
 * map across emptyings, so a link older than the newest one is refused however often the node was
 * emptied: they were once taken out of the map, and the first batch of a link replaced before an
 * emptying, delayed past it and past the new link's first batch, was taken as a new stream (older
 * writes applied over the new link's, the new link then refused and closed). The map holds one small
 * entry per owner id ever seen (an id per process start); past MAX_OWNERS the entries of owners
 * outside the batch's placement and the current one are dropped, each owner's newest stream id
 * remembered (as many again): when such an owner sends again (an owner declared dead and back keeps
 * its id and its link, and a placement read before a join misses the joiner), its entry comes back
 * at that stream, lost: a later batch of it gets -1 and its link starts over, where a new entry
 * made it a gap no resend could fill, refused for good (a reviewer); an older link's batch gets -1
 * as ever, and a newer link starts as any new one.
 *
 * An effect is applied only under the placement the owner sent it with (same fingerprint, so both
 * agree who owns and who replicates every slot) and only once the slot's old keys are dropped
 * (SlotGuard.mayApply; a drop running after the effect would delete it). Otherwise TRY_AGAIN: the
 * owner resends shortly, by when the placements agree. An effect for a slot this node does not
 * replicate for that owner under that placement (a write appended before the placement moved the
 * slot) is skipped: the slot's copy here is being dropped. It is acknowledged like an applied one
 * (the owner must not wait for a copy nobody keeps), so the owner's sync acknowledgement must not
 * rest on it alone: when a join moved the slot's replica from this node to the learner, the owner
 * waited for the learner's stream too (Replicator, "Learners"; review finding F3).
 *
 * A RELEASED effect says this node stopped replicating a slot for the sender at one of the
 * sender's changes of placement. Applied like any effect (only under the sender's placement, and
 * only when this node replicates the slot for the sender there), it means this node is its
 * replica again and never dropped the copy it held before: it went from an older placement
 * straight to a newer one, missing the one between, under which the slot's writes went to another
 * member (Replicator's design note). The copy has a hole: it is dropped and asked for again
 * (SlotCopies). The drops of one batch go to the cleaner together (each is a pass over the store),
 * and before any later effect of such a slot is applied: that effect then waits, refused, until
 * the drop is done.
 *
 * An edit effect (EffectCodec's EDIT kinds: the calls that edited a large hash or set) is applied
 * only to a copy at exactly its base version (Store.applyReplicatedEdit); a write that changed
 * nothing (base and version equal) finding the copy at that version is left as it is. Any other
 * copy diverged (missing, evicted here, another type, version or expiry, or at the edit's own
 * version from another node's numbering after a failover): guessing would make it differ for
 * good, so the key is removed here before any later effect or reply, a miss until a whole value
 * of it comes (the next write the owner cannot ship as an edit, or a full copy of the slot).
 * Only the key: the slot's other keys are whole (a refill in progress brings the key's state in
 * the owner's copy anyway), and dropping the slot at every edit of a key a replica evicted
 * recopied the slot again and again (a reviewer).
 */

/** Applies the effects that owners send to this node as a replica. */
final class ReplicaApplier {
  private final Store store;
  private final Supplier<Placement> placement;
  private final Supplier<Member> self;
  private final SlotGuard guard;
  private final Map<String, Stream> streams = new ConcurrentHashMap<>();

  private static final class Stream {
    /** The newest stream id taken from this owner (ids increase per owner), -1 before the first. */
    long id = -1;
    long applied;
    /** Effects of stream {@code id} were applied and then emptied out of the store: its batches get -1. */
    boolean lost;
  }

  /** Owners whose streams are remembered before those outside the current placement are dropped. */
  static final int MAX_OWNERS = 4096;

  private final int maxOwners;

  /**
   * The newest stream id of each owner whose entry a prune dropped, newest last, at most
   * maxOwners. Guarded by itself.
   */
  private final java.util.LinkedHashMap<String, Long> pruned = new java.util.LinkedHashMap<>();

  /** What this tells the replicator about whole slots rather than keys (COPIED and RELEASED effects). */
  interface SlotCopies {
    /** A COPIED effect ended the full copy of {@code slot} asked for with {@code token}. */
    void copied(int slot, long token);

    /** Drops this node's copies of {@code slots} (a 16,384-bit map): they missed writes; new copies are asked for. */
    void drop(long[] slots);

    /** An edit effect found a key's copy in {@code slot} diverged from its owner's ({@code why}); the key was removed. */
    default void diverged(int slot, String why) {}

    /**
     * This node refused a batch of a stream of {@code ownerId} it forgot (-1): the owner closes that
     * link, and what it still held goes with it, the COPIED effects of copies this node asked for
     * after it was emptied among them. Those copies are asked for again.
     */
    default void streamLost(String ownerId) {}
  }

  private static final SlotCopies IGNORED = new SlotCopies() {
    @Override
    public void copied(int slot, long token) {}

    @Override
    public void drop(long[] slots) {}
  };

  private final SlotCopies copies;

  ReplicaApplier(Store store, Supplier<Placement> placement, Supplier<Member> self, SlotGuard guard) {
    this(store, placement, self, guard, IGNORED);
  }

  ReplicaApplier(Store store, Supplier<Placement> placement, Supplier<Member> self, SlotGuard guard,
      SlotCopies copies) {
    this(store, placement, self, guard, copies, MAX_OWNERS);
  }

  ReplicaApplier(Store store, Supplier<Placement> placement, Supplier<Member> self, SlotGuard guard,
      SlotCopies copies, int maxOwners) {
    this.maxOwners = maxOwners;
    this.copies = copies;
    this.store = store;
    this.placement = placement;
    this.self = self;
    this.guard = guard;
  }

  /**
   * This node's store was emptied: every stream of which something was applied is lost (see the
   * design note). Each under its own lock, so a batch waiting for it then sees it lost.
   */
  void forget() {
    for (Stream st : streams.values()) {
      synchronized (st) {
        if (st.applied > 0) {
          st.lost = true;
          st.applied = 0;
        }
      }
    }
  }

  Frame apply(Frame request) {
    long[] x = request.extras();
    if (x.length < 4) {
      return request.replyError(Status.BAD_REQUEST,
          "REPLICATE needs 4 extras (stream, first sequence number, fingerprint, owner index), got " + x.length);
    }
    long streamId = x[0];
    long first = x[1];
    long fingerprint = x[2];
    if (first < 1) {
      return request.replyError(Status.BAD_REQUEST, "first sequence number " + first + " is below 1");
    }
    Placement p = placement.get();
    Member me = self.get();
    if (p.fingerprint() != fingerprint || me == null) {
      // Not even the sender can be named: the owner index means something only in its placement.
      return request.reply(Status.TRY_AGAIN, 0, ("this node's placement (epoch " + p.epoch()
          + ") differs from the owner's").getBytes(StandardCharsets.UTF_8), 0);
    }
    if (x[3] < 0 || x[3] >= p.size()) {
      return request.replyError(Status.BAD_REQUEST, "owner index " + x[3] + " is outside 0.." + (p.size() - 1));
    }
    String owner = p.members().get((int) x[3]).id();
    if (streams.size() >= maxOwners && !streams.containsKey(owner)) {
      prune(p);
    }
    Stream st = streams.computeIfAbsent(owner, this::newStream);
    synchronized (st) {
      return apply(request, st, p, me, owner, streamId, first, fingerprint);
    }
  }

  /**
   * Drops the entries of owners outside both this batch's placement and the current one, and
   * remembers their newest streams (see newStream). Unlocked: a batch applying to a dropped entry goes
   * on, and the owner's next batch finds a new entry, answered as a pruned owner's.
   */
  private void prune(Placement p) {
    java.util.Set<String> members = new java.util.HashSet<>();
    p.members().forEach(m -> members.add(m.id()));
    placement.get().members().forEach(m -> members.add(m.id()));
    for (Map.Entry<String, Stream> e : streams.entrySet()) {
      String id = e.getKey();
      if (!members.contains(id) && streams.remove(id, e.getValue())) {
        long newest;
        synchronized (e.getValue()) {
          newest = e.getValue().id;
        }
        synchronized (pruned) {
          pruned.remove(id);
          pruned.put(id, newest);
          for (java.util.Iterator<String> it = pruned.keySet().iterator(); pruned.size() > maxOwners; ) {
            it.next();
            it.remove();
          }
        }
      }
    }
  }

  /**
   * An owner's entry: new, or, for an owner a prune dropped, at the stream it had then, lost (what
   * was applied of it is not known any more): that stream's later batches and older ones get -1,
   * a newer stream starts as any new link's.
   */
  private Stream newStream(String owner) {
    Stream st = new Stream();
    synchronized (pruned) {
      Long newest = pruned.remove(owner);
      if (newest != null && newest != -1) {
        st.id = newest;
        st.lost = true;
      }
    }
    return st;
  }

  /** Guarded by st, the owner's stream in the map. */
  private Frame apply(Frame request, Stream st, Placement p, Member me, String owner, long streamId, long first,
      long fingerprint) {
    if (streamId < st.id) {
      return request.reply(Status.TRY_AGAIN, 0, ("replication stream " + streamId + " from " + owner
          + " was replaced by stream " + st.id).getBytes(StandardCharsets.UTF_8), -1);
    }
    if (streamId == st.id && st.lost) {
      copies.streamLost(owner);
      return request.reply(Status.TRY_AGAIN, 0, ("replication stream " + streamId + " from " + owner
          + " is lost here: what this node applied of it was emptied out").getBytes(StandardCharsets.UTF_8), -1);
    }
    if (streamId > st.id) {
      if (first != 1) {
        return request.reply(Status.TRY_AGAIN, 0, ("effects 1.." + (first - 1) + " of replication stream " + streamId
            + " from " + owner + " are missing").getBytes(StandardCharsets.UTF_8), 0);
      }
      st.id = streamId;
      st.applied = 0;
      st.lost = false;
    }
    if (first > st.applied + 1) {
      return refuse(request, st, "effects " + (st.applied + 1) + ".." + (first - 1) + " are missing");
    }
    List<Effect> effects;
    try {
      // A batch gathered because a large value had not arrived whole comes in the chunks it was
      // gathered in (MeteredFrameDecoder), one that arrived whole in one array: either way a large
      // string is read as a view of them and stored from there (no copy of it on the heap).
      effects = EffectCodec.decode(request.buffered() != null && request.buffered().onHeap()
          ? request.buffered().heapView() : io.netty.buffer.Unpooled.wrappedBuffer(request.value()), true);
    } catch (IllegalArgumentException e) {
      return request.replyError(Status.BAD_REQUEST, "malformed REPLICATE batch: " + e.getMessage());
    }
    // Only a batch with a RELEASED marker (rare: a placement change) needs the 2 KiB slot map.
    long[] stale = null;
    for (Effect e : effects) {
      if (e.isReleased()) {
        stale = new long[KeySlot.SLOTS / 64];
        break;
      }
    }
    try {
      return applyAll(request, st, p, me, owner, fingerprint, first, effects, stale);
    } finally {
      if (stale != null) {
        for (long w : stale) {
          if (w != 0) {
            copies.drop(stale);
            break;
          }
        }
      }
    }
  }

  /**
   * Guarded by st. Slots whose copy a RELEASED effect found stale are set in {@code stale}, to drop
   * ({@code stale} is null when the batch holds no RELEASED effect).
   */
  private Frame applyAll(Frame request, Stream st, Placement p, Member me, String owner, long fingerprint, long first,
      List<Effect> effects, long[] stale) {
    for (int i = 0; i < effects.size(); i++) {
      long seq = first + i;
      if (seq <= st.applied) {
        continue;
      }
      Effect e = effects.get(i);
      int slot = e.isMarker() ? e.copiedSlot() : KeySlot.of(e.key());
      Member slotOwner = p.owner(slot);
      if (slotOwner == null || !slotOwner.id().equals(owner) || !p.isReplica(me, slot)) {
        st.applied = seq; // not ours to hold under this placement: our copy of the slot is dropped
        continue;
      }
      if (stale != null && (stale[slot >>> 6] & (1L << slot)) != 0) {
        // The slot's drop must be under way before this effect: it waits for the drop instead.
        return refuse(request, st, "slot " + slot + " is about to be dropped here: its copy missed writes");
      }
      if (!guard.mayApply(fingerprint, slot)) {
        return refuse(request, st, "slot " + slot + " is still being cleaned here");
      }
      if (e.isCopied()) {
        copies.copied(slot, e.copiedToken());
        st.applied = seq;
        continue;
      }
      if (e.isReleased()) {
        stale[slot >>> 6] |= 1L << slot;
        st.applied = seq;
        continue;
      }
      try {
        if (e.isDelete()) {
          store.delete(e.key());
        } else if (e.isEdit()) {
          Store.ReplicatedEdit done = store.applyReplicatedEdit(e.key(), e.type(), e.edit().baseVersion(), e.version(),
              e.expireAtMillis(), e.edit().ops());
          if (done == Store.ReplicatedEdit.DIVERGED) {
            // Removed before any later effect or reply: a miss here until a whole value of the key
            // comes, never a value the owner does not hold. The key alone, not the slot: a replica
            // evicts on its own (evictions are not replicated), and dropping the slot at every edit
            // of an evicted key recopied it again and again (a reviewer).
            store.delete(e.key());
            copies.diverged(slot, "an edit of a " + e.type() + " from version " + e.edit().baseVersion() + " to "
                + e.version() + " found its copy at another version, type or expiry, or missing");
          }
        } else if (e.large() != null) {
          store.applyReplicated(e.key(), e.large(), e.expireAtMillis(), e.version());
        } else {
          store.applyReplicated(e.key(), e.type(), e.value(), e.expireAtMillis(), e.version());
        }
      } catch (StoreException | IllegalArgumentException ex) {
        return refuse(request, st, "the replica's store refused slot " + slot + ": " + ex.getMessage());
      }
      st.applied = seq;
    }
    return request.replyOk(st.applied);
  }

  private static Frame refuse(Frame request, Stream st, String why) {
    return request.reply(Status.TRY_AGAIN, 0, why.getBytes(StandardCharsets.UTF_8), st.applied);
  }
}
