package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.bus.Peers;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/*
 * Design: the replica asks for full copies. It is the replica that knows when its copy of a slot
 * is empty: SlotCleaner has just dropped it (the slot is new to it, or its owner changed other
 * than by a failover, or by a failover while this node was only learning the slot), or the node
 * was declared dead and emptied. After each drop, the slots this
 * node now replicates are asked of their owners (REPLICA_SYNC, one slot map per owner); an owner
 * that refuses (its placement differs, or it does not own them there) is asked again every
 * RETRY_MILLIS with the slots regrouped under the current placement, until it accepts or this node
 * no longer replicates them. A slot whose request is on its way is not asked again until that
 * request is answered: each request starts a full copy on its owner. A slot dropped again after a request was sent is asked again: the
 * drop may have deleted what the first copy brought.
 *
 * Whole copies. Each request carries a token, the slot's until its next drop (asked again, or
 * named in an answer to a leaving owner's REPLICA_LACKS, it is the same); the owner ends the copy
 * of each slot with a COPIED effect bearing it, after every entry it copied, on the same ordered
 * stream. A slot's copy is
 * whole once that effect is applied here with the token of the latest request for the slot and no
 * drop since; a learner (a joining member) takes its slots over only when all of them are whole.
 */

/** Asks owners for every entry of the slots whose copy this node has just dropped. */
final class ReplicaSyncRequester {
  private static final long RETRY_MILLIS = 100;

  private final Supplier<Placement> placement;
  private final Supplier<Member> self;
  private final Peers peers;
  private final ScheduledExecutorService timer;
  private final java.util.function.LongSupplier nanos;
  // Guarded by this.
  private final long[] needed = new long[KeySlot.SLOTS / 64];
  private final int[] drops = new int[KeySlot.SLOTS];
  /** The token of the latest request that covered each slot, 0 for none since the last drop. */
  private final long[] tokens = new long[KeySlot.SLOTS];
  /**
   * Slots with a request sent and not answered yet, and the drop count it was sent at: run() does
   * not ask for them again (another owner's answer schedules a run while this one is on its way;
   * asking again then made the owner copy the same slots two or three times in a row, each under
   * a new token, found by a tester) unless the slot was dropped again since.
   */
  private final long[] asking = new long[KeySlot.SLOTS / 64];
  private final int[] askedAtDrop = new int[KeySlot.SLOTS];
  /**
   * Slots whose copy here was dropped (or is being dropped) and has not been whole since: a copy
   * never dropped holds every write its owners acknowledged (sync replication), a dropped one only
   * once a full copy ended. Read without the lock by READONLY reads (see current).
   */
  private final java.util.concurrent.atomic.AtomicLongArray incomplete =
      new java.util.concurrent.atomic.AtomicLongArray(KeySlot.SLOTS / 64);
  /** Slots whose copy here is whole (see the design note). */
  private final long[] whole = new long[KeySlot.SLOTS / 64];
  /** When each slot's latest request was accepted or last asked again (the nanos clock), for {@link #askAgainIfStuck}. */
  private final long[] acceptedAt = new long[KeySlot.SLOTS];
  /** When each slot's latest drop was announced or ended, whichever came last (the nanos clock), 0 for never. */
  private final long[] unwholeSince = new long[KeySlot.SLOTS];
  /** Drops of each slot announced (dropping) and not done yet (dropped): the orphan ask waits for them. */
  private final int[] dropsRunning = new int[KeySlot.SLOTS];
  private long nextToken = new java.util.Random().nextLong() & 0x7FFF_FFFF_0000_0000L;
  private boolean scheduled;
  /** Guarded by this: see orphansAsked(). */
  private long orphansAsked;

  ReplicaSyncRequester(Supplier<Placement> placement, Supplier<Member> self, Peers peers,
      ScheduledExecutorService timer) {
    this(placement, self, peers, timer, System::nanoTime);
  }

  /** {@code nanos}: the clock that times {@link #askAgainIfStuck} (tests inject one). */
  ReplicaSyncRequester(Supplier<Placement> placement, Supplier<Member> self, Peers peers,
      ScheduledExecutorService timer, java.util.function.LongSupplier nanos) {
    this.nanos = nanos;
    this.placement = placement;
    this.self = self;
    this.peers = peers;
    this.timer = timer;
  }

  /** The keys of {@code slots} (a 16,384-bit map) were dropped here. */
  synchronized void dropped(long[] slots) {
    unwhole(slots); // also when no drop was announced first (this node was emptied whole)
    for (int w = 0; w < needed.length; w++) {
      needed[w] |= slots[w];
      for (long word = slots[w]; word != 0; word &= word - 1) {
        int s = w * 64 + Long.numberOfTrailingZeros(word);
        drops[s]++;
        if (dropsRunning[s] > 0) {
          dropsRunning[s]--;
        }
      }
    }
    schedule(0);
  }

  /**
   * The owner of the slots {@code changed} selects changed without a drop here (a failover: the
   * old owner left or died and this node kept its copy as the new owner's replica): a copy of them
   * asked for and not whole yet is asked of the new owner now, with the same token (as
   * askAgainIfStuck, whose 10 s would otherwise leave the slot with one whole copy that long; a
   * reviewer: a member killed while departing left its extras' half-made copies waiting).
   */
  synchronized void ownerChanged(java.util.function.IntPredicate changed) {
    askAgainSameToken(changed, 0);
  }

  /**
   * This node answered -1 to a stream of the owner of the slots {@code lost} selects (it forgot the
   * stream when it was emptied): the owner closes that link with what it held, and a copy this
   * node asked for since may have put its COPIED effects there. Those copies (accepted, not whole)
   * are asked again with the same token, after RETRY_MILLIS so that the owner has closed the link
   * first, instead of only a stuck time later (seen: a falsely suspected joiner waited 10 s).
   */
  synchronized void streamLost(java.util.function.IntPredicate lost) {
    askAgainSameToken(lost, RETRY_MILLIS);
  }

  /** Guarded by this: the selected slots asked for and not whole are asked again, with their token. */
  private void askAgainSameToken(java.util.function.IntPredicate which, long delayMillis) {
    boolean any = false;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      long bit = 1L << s;
      if ((whole[s >>> 6] & bit) == 0 && tokens[s] != 0 && (needed[s >>> 6] & bit) == 0 && which.test(s)) {
        needed[s >>> 6] |= bit;
        any = true;
      }
    }
    if (any) {
      schedule(delayMillis);
    }
  }

  /**
   * A copy accepted {@code afterNanos} ago or earlier that never became whole (its stream was
   * replaced on the way, or its end was skipped when the placement moved meanwhile) is asked for
   * again, for the slots {@code mine} selects, WITH THE SAME TOKEN: nothing was dropped since (a
   * drop zeroes the token and asks anew), so every entry any copy for that token sent is still
   * here, and a copy that is merely slow (a large slot set takes longer than afterNanos) still ends
   * the slots with a COPIED that counts. A new token would void the running copy's COPIED, and
   * each new copy would be voided the same way: a copy longer than afterNanos never ended (found in
   * review). The owner runs one copy per replica and token (Replicator.syncRequested), so asking
   * again while it still copies costs nothing; a second copy is harmless anyway: entries are
   * states, appended after every earlier effect of their key.
   */
  void askAgainIfStuck(java.util.function.IntPredicate mine, long afterNanos) {
    Placement p = placement.get();
    Member me = self.get();
    if (me == null) {
      return;
    }
    Map<String, byte[]> bySlots = new HashMap<>();
    Map<String, Member> owners = new HashMap<>();
    Map<String, Long> tokenOf = new HashMap<>();
    synchronized (this) {
      long now = nanos.getAsLong();
      boolean orphans = false;
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        long bit = 1L << s;
        if ((incomplete.get(s >>> 6) & bit) != 0 && (needed[s >>> 6] & bit) == 0 && !inFlight(s)
            && (acceptedAt[s] == 0 || tokens[s] == 0) && dropsRunning[s] == 0 && now - unwholeSince[s] >= afterNanos && mine.test(s)
            && p.isReplica(me, s)) {
          // Not whole, and no request for it is waiting, on its way or accepted: nothing would ever
          // ask for it again before its next drop (the next membership change). Asked as after a
          // drop, with its token if it has one.
          needed[s >>> 6] |= bit;
          orphans = true;
          orphansAsked++;
          continue;
        }
        if ((whole[s >>> 6] & bit) == 0 && (needed[s >>> 6] & bit) == 0 && acceptedAt[s] != 0 && tokens[s] != 0
            && now - acceptedAt[s] >= afterNanos && mine.test(s) && p.isReplica(me, s)) {
          Member owner = p.owner(s);
          String group = owner.id() + "/" + tokens[s];
          owners.put(group, owner);
          tokenOf.put(group, tokens[s]);
          bySlots.computeIfAbsent(group, g -> new byte[KeySlot.SLOTS / 8])[s >>> 3] |= (byte) (1 << (s & 7));
          acceptedAt[s] = now; // asked again now: the next time is afterNanos later
        }
      }
      if (orphans) {
        schedule(0);
      }
    }
    byte[] id = me.id().getBytes(StandardCharsets.US_ASCII);
    for (Map.Entry<String, byte[]> e : bySlots.entrySet()) {
      long token = tokenOf.get(e.getKey());
      peers.send(owners.get(e.getKey()).address(), Frame.request(Opcode.REPLICA_SYNC, 0, id, e.getValue(), p.epoch(),
          p.fingerprint(), token)).whenComplete((reply, error) -> {
            if (error != null || reply.status() != Status.OK) {
              askedAgainRefused(e.getValue(), token);
            }
          });
    }
  }

  /**
   * A copy asked again (askAgainIfStuck) was refused or not answered (the owner's placement differed
   * for a moment, say): its slots are asked as run() asks them, every RETRY_MILLIS until accepted,
   * with the same token, instead of only a stuck time later (a reviewer: each such refusal cost a
   * learner another 10 s). Not a slot whose copy is whole, dropped since (a new token), or already
   * being asked.
   */
  private synchronized void askedAgainRefused(byte[] slots, long token) {
    askAgainSameToken(s -> (slots[s >>> 3] & (1 << (s & 7))) != 0 && tokens[s] == token, RETRY_MILLIS);
  }

  /**
   * REPLICA_LACKS: {@code owner}, about to leave, asks which of its slots this node replicates under
   * {@code p} (the placement both have installed, and this node's guard has processed) without a
   * whole copy here. Each such slot is answered with the token its copy will count under: the
   * token of a request already sent for it (the owner runs one copy per replica and token, so a
   * REPLICA_SYNC still on its way costs nothing more), else a new one, which run() then asks with
   * too: a slot keeps its token until its next drop, so the owner's copy under it counts whichever
   * of the answer and the replica's own request started it. Past MAX_LACKING_GROUPS - 1 distinct tokens
   * the rest take the new one. Returns the groups, encoded (see Opcode.REPLICA_LACKS).
   */
  synchronized byte[] lacking(Member owner, Placement p) {
    Member me = self.get();
    java.util.LinkedHashMap<Long, byte[]> groups = new java.util.LinkedHashMap<>();
    long fresh = 0;
    long now = nanos.getAsLong();
    for (int s = 0; me != null && !p.isLearner(me) && s < KeySlot.SLOTS; s++) {
      if (current(s) || !p.isReplica(me, s) || !owner.equals(p.owner(s))) {
        continue;
      }
      long token = tokens[s];
      if (token == 0 || !groups.containsKey(token)
          && groups.size() >= io.distcache.protocol.ProtocolConstants.MAX_LACKING_GROUPS - 1) {
        if (fresh == 0) {
          fresh = ++nextToken;
        }
        token = fresh;
        tokens[s] = token;
      }
      // The slot stays needed: if the owner drops this answer (no reply in time), the replica's
      // own REPLICA_SYNC, asked again under the same token (run), still gets it the copy.
      acceptedAt[s] = now;
      groups.computeIfAbsent(token, t -> new byte[KeySlot.SLOTS / 8])[s >>> 3] |= (byte) (1 << (s & 7));
    }
    return encodeLacking(groups);
  }

  /** A REPLICA_LACKS answer: the group count, then per group its token and its 2,048-byte slot map. */
  private static byte[] encodeLacking(Map<Long, byte[]> groups) {
    java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(2 + groups.size() * (8 + KeySlot.SLOTS / 8));
    out.putShort((short) groups.size());
    groups.forEach((token, bits) -> out.putLong(token).put(bits));
    return out.array();
  }

  /**
   * REPLICA_LACKS from a departing member (ProtocolConstants.LACKS_ANY_OWNER): the slots this node
   * replicates under {@code p}, for any owner, without a whole copy here, encoded as one group of
   * token 0. Read-only: the copies themselves are the owners' (asked for with REPLICA_SYNC as usual).
   */
  synchronized byte[] lackingAnyOwner(Placement p) {
    Member me = self.get();
    byte[] bits = new byte[KeySlot.SLOTS / 8];
    for (int s = 0; me != null && !p.isLearner(me) && s < KeySlot.SLOTS; s++) {
      if (!current(s) && p.isReplica(me, s)) {
        bits[s >>> 3] |= (byte) (1 << (s & 7));
      }
    }
    return encodeLacking(Map.of(0L, bits));
  }

  /**
   * Reads a REPLICA_LACKS answer, as hostile as any peer bytes: per copy token, its slots (a
   * 16,384-bit map), or null when the value is malformed (a count past MAX_LACKING_GROUPS, or a
   * length that is not exactly the count's).
   */
  static Map<Long, long[]> decodeLacking(byte[] value) {
    int group = 8 + KeySlot.SLOTS / 8;
    if (value == null || value.length < 2) {
      return null;
    }
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(value);
    int count = Short.toUnsignedInt(in.getShort());
    if (count > io.distcache.protocol.ProtocolConstants.MAX_LACKING_GROUPS || value.length != 2 + count * group) {
      return null;
    }
    Map<Long, long[]> out = new java.util.LinkedHashMap<>();
    for (int g = 0; g < count; g++) {
      long token = in.getLong();
      long[] slots = out.computeIfAbsent(token, t -> new long[KeySlot.SLOTS / 64]);
      for (int b = 0; b < KeySlot.SLOTS / 8; b++) {
        int bits = in.get() & 0xFF;
        slots[b >>> 3] |= (long) bits << ((b & 7) * 8);
      }
    }
    return out;
  }

  /** A drop of {@code slots} begins: their copies here stop being whole now, before any key goes. */
  synchronized void dropping(long[] slots) {
    unwhole(slots);
    for (int w = 0; w < slots.length; w++) {
      for (long word = slots[w]; word != 0; word &= word - 1) {
        dropsRunning[w * 64 + Long.numberOfTrailingZeros(word)]++;
      }
    }
  }

  /** Guarded by this: the copies of {@code slots} stop being whole, and no request for them counts any more. */
  private void unwhole(long[] slots) {
    long now = nanos.getAsLong();
    for (int w = 0; w < whole.length; w++) {
      whole[w] &= ~slots[w];
      long dropped = slots[w];
      if (dropped != 0) {
        incomplete.getAndUpdate(w, bits -> bits | dropped);
      }
      for (long word = dropped; word != 0; word &= word - 1) {
        int s = w * 64 + Long.numberOfTrailingZeros(word);
        unwholeSince[s] = now;
        tokens[s] = 0;
        acceptedAt[s] = 0; // no request accepted since this drop (describeMissing counts it so)
      }
    }
  }

  /** The owner finished a full copy of {@code slot} for the request with {@code token}. */
  synchronized void copied(int slot, long token) {
    if (token != 0 && tokens[slot] == token) {
      needed[slot >>> 6] &= ~(1L << slot); // whole: a request still being retried is not needed
      whole[slot >>> 6] |= 1L << slot;
      incomplete.getAndUpdate(slot >>> 6, bits -> bits & ~(1L << slot));
    }
  }

  /** True unless this node's copy of {@code slot} was dropped and has not been whole since. */
  boolean current(int slot) {
    return (incomplete.get(slot >>> 6) & (1L << slot)) == 0;
  }

  /** True when this node's copy of {@code slot} is whole: copied in full since its last drop. */
  synchronized boolean whole(int slot) {
    return (whole[slot >>> 6] & (1L << slot)) != 0;
  }

  /** Guarded by this: a request for {@code slot} was sent since its latest drop and is not answered yet. */
  private boolean inFlight(int slot) {
    return (asking[slot >>> 6] & (1L << slot)) != 0 && askedAtDrop[slot] == drops[slot];
  }

  /** Slots found not whole with nothing asking for them, and asked for again (askAgainIfStuck; INFO, tests). */
  synchronized long orphansAsked() {
    return orphansAsked;
  }

  /**
   * Where the copies of the slots {@code which} selects that are not whole here stand, for the
   * join's progress log and state: waiting to be asked or accepted, asked and not answered, accepted
   * (the owner copies), or none of these: a slot whose drop still runs (asked once it is done), or
   * one nothing asks for (asked 10 s after its drop, askAgainIfStuck).
   */
  synchronized String describeMissing(java.util.function.IntPredicate which) {
    int waiting = 0;
    int asked = 0;
    int accepted = 0;
    int idle = 0;
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      long bit = 1L << s;
      if ((whole[s >>> 6] & bit) != 0 || !which.test(s)) {
        continue;
      }
      if (inFlight(s)) {
        asked++;
      } else if ((needed[s >>> 6] & bit) != 0) {
        waiting++;
      } else if (tokens[s] != 0 && acceptedAt[s] != 0) {
        accepted++;
      } else {
        idle++;
      }
    }
    return waiting + " to ask, " + asked + " asked, " + accepted + " accepted by their owners, " + idle
        + " not asked (being dropped, or asked 10 s after their drop)";
  }

  /** How many of the slots {@code held} selects have a copy here dropped and not whole since (INFO). */
  int incompleteCopies(java.util.function.IntPredicate held) {
    int n = 0;
    for (int w = 0; w < KeySlot.SLOTS / 64; w++) {
      for (long word = incomplete.get(w); word != 0; word &= word - 1) {
        n += held.test(w * 64 + Long.numberOfTrailingZeros(word)) ? 1 : 0;
      }
    }
    return n;
  }

  /** Slots still waiting for an owner to accept (for tests and INFO). */
  synchronized int pendingSlots() {
    int n = 0;
    for (long w : needed) {
      n += Long.bitCount(w);
    }
    return n;
  }

  /** Guarded by this. */
  private void schedule(long delayMillis) {
    if (scheduled) {
      return;
    }
    scheduled = true;
    try {
      timer.schedule(this::run, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopping) {
      scheduled = false;
    }
  }

  private void run() {
    Placement p = placement.get();
    Member me = self.get();
    // Per owner and token ("id/token"): the slots asked, and the drop count each was asked at.
    Map<String, byte[]> bySlots = new HashMap<>();
    Map<String, Member> owners = new HashMap<>();
    Map<String, Long> tokenOf = new HashMap<>();
    Map<String, int[]> counts = new HashMap<>();
    synchronized (this) {
      scheduled = false;
      if (me == null) {
        return;
      }
      Map<Member, Long> fresh = new HashMap<>();
      for (int s = 0; s < KeySlot.SLOTS; s++) {
        if ((needed[s >>> 6] & (1L << s)) == 0) {
          continue;
        }
        if (!p.isReplica(me, s)) {
          needed[s >>> 6] &= ~(1L << s); // not ours to hold any more
          continue;
        }
        if (inFlight(s)) {
          continue; // its request is on its way; the answer asks again if it must
        }
        Member owner = p.owner(s);
        // A slot asked before since its last drop keeps its token (REPLICA_LACKS may have given
        // the owner that one): assigned here, under the same lock as the choice, so no answer
        // in between is overwritten (a reviewer).
        long token = tokens[s] != 0 ? tokens[s] : fresh.computeIfAbsent(owner, o -> ++nextToken);
        tokens[s] = token;
        asking[s >>> 6] |= 1L << s;
        askedAtDrop[s] = drops[s];
        String group = owner.id() + "/" + token;
        owners.put(group, owner);
        tokenOf.put(group, token);
        bySlots.computeIfAbsent(group, g -> new byte[KeySlot.SLOTS / 8])[s >>> 3] |= (byte) (1 << (s & 7));
        counts.computeIfAbsent(group, g -> new int[KeySlot.SLOTS])[s] = drops[s];
      }
    }
    byte[] id = me.id().getBytes(StandardCharsets.US_ASCII);
    for (Map.Entry<String, byte[]> e : bySlots.entrySet()) {
      int[] asked = counts.get(e.getKey());
      long token = tokenOf.get(e.getKey());
      Frame request = Frame.request(Opcode.REPLICA_SYNC, 0, id, e.getValue(), p.epoch(), p.fingerprint(), token);
      peers.send(owners.get(e.getKey()).address(), request)
          .whenComplete((reply, error) -> answered(e.getValue(), asked, token, reply, error));
    }
  }

  private synchronized void answered(byte[] slots, int[] asked, long token, Frame reply, Throwable error) {
    boolean ok = error == null && reply.status() == Status.OK;
    long now = nanos.getAsLong();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if ((slots[s >>> 3] & (1 << (s & 7))) == 0 || askedAtDrop[s] != asked[s]) {
        continue; // not this request's slot, or asked again since (after a drop): that request's answer counts
      }
      asking[s >>> 6] &= ~(1L << s);
      if (ok && drops[s] == asked[s] && tokens[s] == token) {
        needed[s >>> 6] &= ~(1L << s);
        acceptedAt[s] = now;
      }
    }
    for (long w : needed) {
      if (w != 0) {
        schedule(error == null && reply.status() == Status.OK ? 0 : RETRY_MILLIS);
        return;
      }
    }
  }
}
