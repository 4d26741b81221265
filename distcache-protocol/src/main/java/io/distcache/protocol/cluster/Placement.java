package io.distcache.protocol.cluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/*
 * Design: ownership as a value that any two parties can compare. A placement maps each of the
 * 16,384 slots (KeySlot) to one member. It is computed, never negotiated: slot s belongs to the
 * owner, on the consistent-hash ring of the owning members, of the ring position s << 50 (the
 * slots evenly spaced around the circle, in order), so every node and every smart client that
 * knows the same members computes the same table, and a member that joins or leaves moves only the
 * slots whose ring points it adds or removes (about 1/N of them, all to or from that member).
 * Evenly spaced, consecutive slots fall between the same two points, so an owner's slots come in
 * runs: about 1,900 ranges for 3 members with 1,024 points each, where hashed slot positions gave
 * about 11,000 (CLUSTER SLOTS, which Redis Cluster clients fetch at every topology refresh,
 * shrinks by as much), with the same balance. The fingerprint says so ("s=linear"), so a node
 * that still hashed slot positions never confirms this table.
 *
 * Identity. A placement carries an epoch (a counter that grows with every change of owners, what
 * CLUSTER INFO calls cluster_current_epoch) and a fingerprint (xxHash64 of the owning members' ids
 * and addresses, in id order, and the virtual node count). The fingerprint is a function of the
 * table, so two placements with the same fingerprint have the same owner for every slot; the
 * epoch orders placements in time. Nodes that change owners concurrently may pick the same epoch
 * for different tables, so "same placement" compares both (sameAs), and "newer" compares the epoch
 * first and the fingerprint second (a fixed tie-break every node applies the same way).
 *
 * Layout: one short per slot (the index of its owner in the id-ordered member array), 32 KiB per
 * placement, looked up with one array read per request.
 *
 * Replicas. With replicas r > 0, slot s also has min(r, members - 1) replicas: the next distinct
 * members clockwise on the ring after its owner (HashRing.owners). So when the owner leaves the
 * ring, the slot's new owner is its first replica, which holds a copy; every other replica keeps
 * its place and one new member, at the end, becomes a replica. r is part of the fingerprint (a
 * "r=<n>" line, only when r > 0, so placements without replicas keep the fingerprint they always
 * had): nodes configured with different replica counts never confirm each other's placements.
 * Replicas take r more shorts per slot.
 *
 * Learners (a member joining, see ARCHITECTURE.md "Rebalancing"). A member that joins does not own
 * anything at first: it learns. The ring of owners is unchanged; each learner is an extra replica
 * of the slots the ring WITH it would give it (as owner or as replica), so the owners stream it
 * those slots and then every write to them, while they keep serving. When it holds every one of
 * them it becomes an owner. wouldOwn(m, s) says which slots a learner owns once it alone becomes
 * an owner (the ring of the owners and it); those are learned too, so that with several members
 * joining at once each learner holds every slot its own change can give it. Learners are part of members() (every member of
 * the placement confirms it) and of the fingerprint ("l=<id>@<address>" lines, only when there
 * are learners, so placements without learners keep their fingerprints). A learner-only set of
 * members (every node starting at once, nothing to learn from) owns as ordinary members.
 *
 * Departing members (a graceful leave, see ARCHITECTURE.md "Hand-off"). A member about to leave
 * keeps owning and replicating what it has; each slot it holds a copy of gains, as extra replicas
 * after the ring's, the members that the ring WITHOUT the departing ones would add to its copies
 * (walking clockwise past the slot's copies until it has replicas + 1 members that stay). So by
 * the time it leaves, every slot already has, whole and current, every copy the placement without
 * it will name: its leave promotes a replica and drops nothing else, and no slot is down to one
 * copy while new replicas fill. Extras are real replicas (writes wait for them under sync
 * replication; their owners copy them the slot). Departing members are in the fingerprint
 * ("d=<id>@<address>" lines, only when there are some).
 */

/** Slot to owner, with an epoch and a fingerprint. Immutable and thread-safe. */
public final class Placement {
  private static final Comparator<Member> BY_ID = Comparator.comparing(Member::id);
  private static final Placement EMPTY = new Placement(0, 0, new Member[0], null, 0, 0, null, null, null, null);
  /** At most this many replicas per slot: more copies than any cluster of 64 members would want. */
  public static final int MAX_REPLICAS = 8;

  private final long epoch;
  private final long fingerprint;
  private final Member[] members;
  /** Owner index per slot; null when there are no members. */
  private final short[] owners;
  private final int virtualNodes;
  /** The configured replicas per slot (what the fingerprint covers). */
  private final int replicas;
  /** Replica indexes, {@code perSlot} per slot (slot s at s * perSlot); null when perSlot is 0. */
  private final short[] replicaOf;
  /** Per slot, a bit per member index: the learners that learn it; null without learners. */
  private final long[] learnerBits;
  /** Per slot, a bit per member index: the learners that own it once each alone becomes an owner. */
  private final long[] soloOwners;
  /** Per slot, a bit per member index: its extra replicas while members depart; null without departing members. */
  private final long[] extraBits;
  private final int ownerCount;
  /** A bit per member index: the members that own or replicate a slot (ring members); the rest learn. */
  private final long ringMask;

  private Placement(long epoch, long fingerprint, Member[] members, short[] owners, int virtualNodes, int replicas,
      short[] replicaOf, long[] learnerBits, long[] soloOwners, long[] extraBits) {
    this.epoch = epoch;
    this.fingerprint = fingerprint;
    this.members = members;
    this.owners = owners;
    this.virtualNodes = virtualNodes;
    this.replicas = replicas;
    this.replicaOf = replicaOf;
    this.learnerBits = learnerBits;
    this.soloOwners = soloOwners;
    this.extraBits = extraBits;
    long owning = 0;
    long ring = 0;
    if (owners != null) {
      for (short o : owners) {
        owning |= 1L << o;
      }
      ring = owning;
      for (int r = 0; replicaOf != null && r < replicaOf.length; r++) {
        ring |= 1L << replicaOf[r];
      }
    }
    this.ownerCount = Long.bitCount(owning);
    this.ringMask = ring;
  }

  /** No members: nobody owns anything. Epoch 0. */
  public static Placement empty() {
    return EMPTY;
  }

  /** The placement of these owning members at {@code epoch}, with the default virtual nodes. */
  public static Placement of(long epoch, Collection<Member> members) {
    return of(epoch, members, HashRing.DEFAULT_VIRTUAL_NODES);
  }

  /**
   * The placement of these owning members (ALIVE or SUSPECT ones) at {@code epoch}.
   *
   * @throws IllegalArgumentException for a negative epoch, a bad virtual node count or a repeated id
   */
  public static Placement of(long epoch, Collection<Member> members, int virtualNodes) {
    return of(epoch, members, virtualNodes, 0);
  }

  /**
   * The placement of these owning members at {@code epoch} with {@code replicas} replicas per slot
   * (as many as there are other members, when fewer).
   *
   * @throws IllegalArgumentException for a negative epoch, a bad virtual node or replica count, or a
   *     repeated id
   */
  public static Placement of(long epoch, Collection<Member> members, int virtualNodes, int replicas) {
    return of(epoch, members, List.of(), virtualNodes, replicas);
  }

  /**
   * The placement of these owning members at {@code epoch} with {@code replicas} replicas per slot,
   * and these learners (members joining: each is an extra replica of the slots the ring with it
   * would give it). Without owners, the learners are the owners.
   *
   * @throws IllegalArgumentException for a negative epoch, a bad virtual node or replica count, or a
   *     repeated id
   */
  public static Placement of(long epoch, Collection<Member> members, Collection<Member> learners, int virtualNodes,
      int replicas) {
    return of(epoch, members, learners, List.of(), virtualNodes, replicas);
  }

  /**
   * As {@link #of(long, Collection, Collection, int, int)}, with {@code departing} members (some of
   * {@code members}, about to leave): each slot one of them holds a copy of gains, as extra
   * replicas, the members the ring without them adds to its copies. Departing ids that are not
   * owning members are ignored.
   *
   * @throws IllegalArgumentException for a negative epoch, a bad virtual node or replica count, or a
   *     repeated id
   */
  public static Placement of(long epoch, Collection<Member> members, Collection<Member> learners,
      Collection<Member> departing, int virtualNodes, int replicas) {
    if (replicas < 0 || replicas > MAX_REPLICAS) {
      throw new IllegalArgumentException("replicas " + replicas + " is outside 0.." + MAX_REPLICAS);
    }
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch " + epoch + " is negative");
    }
    if (members.isEmpty() && !learners.isEmpty()) {
      members = learners;
      learners = List.of();
    }
    HashRing ring = HashRing.of(epoch, members, virtualNodes, RingHash.XXHASH64);
    Member[] owning = ring.memberArray();
    if (owning.length == 0) {
      return new Placement(epoch, fingerprint(List.of(), virtualNodes, replicas), owning, null, virtualNodes,
          replicas, null, null, null, null);
    }
    Member[] sorted = owning;
    HashRing target = null;
    if (!learners.isEmpty()) {
      List<Member> all = new ArrayList<>(members);
      all.addAll(learners);
      target = HashRing.of(epoch, all, virtualNodes, RingHash.XXHASH64);
      sorted = target.memberArray();
    }
    // Everything below works on member indexes: a ring's (id order among its members) mapped once
    // to the placement's (id order among all). Placement changes run this cold, slot by slot.
    int[] ringToSorted = indexesIn(owning, sorted);
    int perSlot = Math.min(replicas, owning.length - 1);
    int targetCopies = Math.min(replicas, sorted.length - 1) + 1;
    short[] owners = new short[KeySlot.SLOTS];
    short[] replicaOf = perSlot == 0 ? null : new short[KeySlot.SLOTS * perSlot];
    long[] learnerBits = target == null ? null : new long[KeySlot.SLOTS];
    long[] soloOwners = target == null ? null : new long[KeySlot.SLOTS];
    int[][] soloOwner = new int[learners.size()][];
    int[][] soloToSorted = new int[learners.size()][];
    int[] soloIndex = new int[learners.size()];
    int li = 0;
    for (Member l : learners) {
      List<Member> withIt = new ArrayList<>(members);
      withIt.add(l);
      HashRing solo = HashRing.of(epoch, withIt, virtualNodes, RingHash.XXHASH64);
      soloOwner[li] = solo.walkSlots(KeySlot.SLOTS, Placement::position, 1);
      soloToSorted[li] = indexesIn(solo.memberArray(), sorted);
      soloIndex[li++] = Arrays.binarySearch(sorted, l, BY_ID);
    }
    // The departing owners, each once: by ring index for the walk, as a list for the fingerprint.
    boolean[] leavingAt = new boolean[owning.length];
    List<Member> departingHere = new ArrayList<>();
    for (Member d : departing) {
      if (ring.contains(d)) {
        int i = Arrays.binarySearch(owning, d, BY_ID);
        if (!leavingAt[i]) {
          leavingAt[i] = true;
          departingHere.add(d);
        }
      }
    }
    // The copies each slot has once the departing members are gone: replicas + 1 of those that stay.
    int staying = owning.length - departingHere.size();
    int keptCopies = Math.min(replicas + 1, staying);
    long[] extraBits = perSlot == 0 || departingHere.isEmpty() || staying == 0 ? null : new long[KeySlot.SLOTS];
    // With members departing, each slot's walk goes round the whole ring; otherwise its copies suffice.
    int walkLength = extraBits != null ? owning.length : perSlot + 1;
    int[] walk = ring.walkSlots(KeySlot.SLOTS, Placement::position, walkLength);
    int[] targetWalk = target == null ? null : target.walkSlots(KeySlot.SLOTS, Placement::position, targetCopies);
    boolean[] inRing = new boolean[sorted.length];
    for (int i : ringToSorted) {
      inRing[i] = true;
    }
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      int base = s * walkLength;
      if (extraBits != null) {
        int kept = 0;
        for (int i = 0; i < walkLength && kept < keptCopies; i++) {
          int m = walk[base + i];
          if (leavingAt[m]) {
            continue;
          }
          kept++;
          if (i > perSlot) {
            extraBits[s] |= 1L << ringToSorted[m];
          }
        }
      }
      owners[s] = (short) ringToSorted[walk[base]];
      for (int r = 0; r < perSlot; r++) {
        replicaOf[s * perSlot + r] = (short) ringToSorted[walk[base + r + 1]];
      }
      if (targetWalk != null) {
        // The target ring's members are `sorted` itself.
        for (int i = s * targetCopies, end = i + targetCopies; i < end; i++) {
          int m = targetWalk[i];
          if (!inRing[m]) {
            learnerBits[s] |= 1L << m;
          }
        }
        for (int l = 0; l < soloOwner.length; l++) {
          if (soloToSorted[l][soloOwner[l][s]] == soloIndex[l]) {
            soloOwners[s] |= 1L << soloIndex[l];
            learnerBits[s] |= 1L << soloIndex[l];
          }
        }
      }
    }
    return new Placement(epoch, fingerprint(Arrays.asList(owning), learners, departingHere, virtualNodes, replicas),
        sorted, owners, virtualNodes, replicas, replicaOf, learnerBits, soloOwners, extraBits);
  }

  /** For each of {@code some} (id-ordered, all in {@code all}), its index in {@code all} (id-ordered). */
  private static int[] indexesIn(Member[] some, Member[] all) {
    int[] out = new int[some.length];
    for (int i = 0; i < some.length; i++) {
      out[i] = Arrays.binarySearch(all, some[i], BY_ID);
    }
    return out;
  }

  /** Slot {@code s}'s position on the ring: the 16,384 slots evenly spaced, in order (2^50 apart). */
  public static long position(int s) {
    return (long) s << 50;
  }

  /** The fingerprint of a placement without replicas. */
  public static long fingerprint(Collection<Member> members, int virtualNodes) {
    return fingerprint(members, virtualNodes, 0);
  }

  /**
   * xxHash64 of "id@host:port\n" per member in id order, then the virtual node count and "\ns=linear"
   * (slot positions evenly spaced, see position), then, only
   * when {@code replicas} is above 0, "\nr=" and the replica count.
   */
  public static long fingerprint(Collection<Member> members, int virtualNodes, int replicas) {
    return fingerprint(members, List.of(), virtualNodes, replicas);
  }

  /**
   * As {@link #fingerprint(Collection, int, int)}, then, only when there are learners, a line
   * "\nl=id@host:port" per learner in id order.
   */
  public static long fingerprint(Collection<Member> members, Collection<Member> learners, int virtualNodes,
      int replicas) {
    return fingerprint(members, learners, List.of(), virtualNodes, replicas);
  }

  /**
   * As {@link #fingerprint(Collection, Collection, int, int)}, then, only when some of {@code
   * departing} are owning members and there are replicas (otherwise departing changes nothing), a
   * line "\nd=id@host:port" per departing owning member in id order.
   */
  public static long fingerprint(Collection<Member> members, Collection<Member> learners,
      Collection<Member> departing, int virtualNodes, int replicas) {
    if (members.isEmpty() && !learners.isEmpty()) {
      members = learners;
      learners = List.of();
    }
    Member[] sorted = members.toArray(new Member[0]);
    Arrays.sort(sorted, BY_ID);
    StringBuilder sb = new StringBuilder();
    for (Member m : sorted) {
      sb.append(m.id()).append('@').append(m.address()).append('\n');
    }
    sb.append(virtualNodes).append("\ns=linear");
    if (replicas > 0) {
      sb.append("\nr=").append(replicas);
    }
    Member[] learning = learners.toArray(new Member[0]);
    Arrays.sort(learning, BY_ID);
    for (Member m : learning) {
      sb.append("\nl=").append(m.id()).append('@').append(m.address());
    }
    if (replicas > 0 && sorted.length > 1) {
      java.util.Set<Member> owning = new java.util.HashSet<>(Arrays.asList(sorted));
      Member[] leaving = departing.stream().filter(owning::contains).distinct().toArray(Member[]::new);
      Arrays.sort(leaving, BY_ID);
      for (Member m : leaving) {
        sb.append("\nd=").append(m.id()).append('@').append(m.address());
      }
    }
    return XxHash64.hash(sb.toString().getBytes(StandardCharsets.US_ASCII));
  }

  /** The same owners at another epoch (a node adopting a peer's higher epoch for the same table). */
  public Placement withEpoch(long newEpoch) {
    if (newEpoch < 0) {
      throw new IllegalArgumentException("epoch " + newEpoch + " is negative");
    }
    return new Placement(newEpoch, fingerprint, members, owners, virtualNodes, replicas, replicaOf, learnerBits,
        soloOwners, extraBits);
  }

  /** The configured replicas per slot (what the fingerprint covers). */
  public int replicas() {
    return replicas;
  }

  /** Replicas each slot has here: the configured count, or fewer when there are not enough members. */
  public int replicasPerSlot() {
    return replicaOf == null ? 0 : replicaOf.length / KeySlot.SLOTS;
  }

  /** True when the members are too few for every slot to have its configured replicas. */
  public boolean underReplicated() {
    return ownerCount > 0 && replicasPerSlot() < replicas;
  }

  /**
   * The replicas of {@code slot}, in ring order (the first takes over when the owner goes), then
   * its extra replicas while members depart and its learners, each in id order: every member that
   * receives the slot's writes.
   */
  public List<Member> replicas(int slot) {
    int per = replicasPerSlot();
    long learning = learnerBits == null ? 0 : learnerBits[slot];
    long extra = extraBits == null ? 0 : extraBits[slot] & ~learning;
    if (per == 0 && learning == 0 && extra == 0) {
      return List.of();
    }
    Member[] out = new Member[per + Long.bitCount(extra) + Long.bitCount(learning)];
    for (int r = 0; r < per; r++) {
      out[r] = members[replicaOf[slot * per + r]];
    }
    int r = per;
    for (; extra != 0; r++) {
      out[r] = members[Long.numberOfTrailingZeros(extra)];
      extra &= extra - 1;
    }
    for (; learning != 0; r++) {
      out[r] = members[Long.numberOfTrailingZeros(learning)];
      learning &= learning - 1;
    }
    return List.of(out);
  }

  // Index queries. A placement change walks every slot several times on the membership thread, in
  // code too rarely run to be compiled: asked per member and per slot (owns, isReplica, replicas),
  // each a member lookup or a list, a change cost each node tens of milliseconds cold, which every
  // member's confirmation waits for. These answer with member indexes (positions in members()) and
  // bit masks over them; a caller looks its members up once per change.

  /**
   * The position of {@code member} (id and address both equal) in {@link #members()}, or -1. By
   * identity first (callers ask about the same few instances); a linear walk: at most 64 members.
   */
  public int indexOf(Member member) {
    Member[] ms = members;
    for (int i = 0; i < ms.length; i++) {
      if (ms[i] == member) {
        return i;
      }
    }
    for (int i = 0; i < ms.length; i++) {
      if (ms[i].equals(member)) {
        return i;
      }
    }
    return -1;
  }

  /** The position in {@link #members()} of {@code slot}'s owner, or -1 when the placement is empty. */
  public int ownerIndex(int slot) {
    return owners == null ? -1 : owners[slot];
  }

  /**
   * A bit per position in {@link #members()}: the members that receive {@code slot}'s writes
   * without owning it (its replicas, extra replicas and learners: {@link #replicas(int)} as a set).
   */
  public long replicaBits(int slot) {
    long bits = learnerBits == null ? 0 : learnerBits[slot];
    if (extraBits != null) {
      bits |= extraBits[slot];
    }
    if (replicaOf != null) {
      int per = replicaOf.length / KeySlot.SLOTS;
      for (int r = 0, at = slot * per; r < per; r++) {
        bits |= 1L << replicaOf[at + r];
      }
    }
    return bits;
  }

  /** A bit per position in {@link #members()}: the learners of {@code slot} ({@link #isLearner(Member, int)}). */
  public long learningBits(int slot) {
    return learnerBits == null ? 0 : learnerBits[slot];
  }

  /** A bit per position in {@link #members()}: the learners that own {@code slot} once each alone becomes an owner. */
  public long wouldOwnBits(int slot) {
    return soloOwners == null ? 0 : soloOwners[slot];
  }

  /** A bit per position in {@link #members()}: the members that own nothing yet ({@link #isLearner(Member)}). */
  public long learnerMask() {
    if (learnerBits == null) {
      return 0;
    }
    long all = members.length == 64 ? -1L : (1L << members.length) - 1;
    return all & ~ringMask;
  }

  /**
   * For each member of {@code other}, in its {@link #members()} order, its position in this
   * placement's {@link #members()}, or -1 where it is not a member here.
   */
  public int[] indexesOf(Placement other) {
    int[] out = new int[other.members.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = indexOf(other.members[i]);
    }
    return out;
  }

  /** True when {@code member} is one of the replicas (extra ones included) or learners of {@code slot}. */
  public boolean isReplica(Member member, int slot) {
    int i = indexOf(member);
    return i >= 0 && (replicaBits(slot) & (1L << i)) != 0;
  }

  /**
   * True when {@code member} is an extra replica of {@code slot}: a copy it gains while a member
   * departs, which the placement without the departing members names.
   */
  public boolean isExtra(Member member, int slot) {
    if (extraBits == null || extraBits[slot] == 0) {
      return false;
    }
    int i = indexOf(member);
    return i >= 0 && (extraBits[slot] & (1L << i)) != 0;
  }

  /** True when some member of this placement is departing (its slots have extra replicas). */
  public boolean hasDeparting() {
    return extraBits != null;
  }

  /** The members that own slots: all of them but the learners. */
  public int ownerCount() {
    return ownerCount;
  }

  /** True when some member of this placement is still learning (joining). */
  public boolean hasLearners() {
    return learnerBits != null;
  }

  /** True when {@code member} is a learner here (a member joining, which owns nothing yet). */
  public boolean isLearner(Member member) {
    int i = indexOf(member);
    return i >= 0 && (learnerMask() & (1L << i)) != 0;
  }

  /** True when {@code member} learns {@code slot}: it will hold it once it has joined. */
  public boolean isLearner(Member member, int slot) {
    if (learnerBits == null || learnerBits[slot] == 0) {
      return false;
    }
    int i = indexOf(member);
    return i >= 0 && (learnerBits[slot] & (1L << i)) != 0;
  }

  /** True when {@code member} is a learner that owns {@code slot} once it alone becomes an owner. */
  public boolean wouldOwn(Member member, int slot) {
    if (soloOwners == null || soloOwners[slot] == 0) {
      return false;
    }
    int i = indexOf(member);
    return i >= 0 && (soloOwners[slot] & (1L << i)) != 0;
  }

  public long epoch() {
    return epoch;
  }

  public long fingerprint() {
    return fingerprint;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  /** The members, ordered by id: the owning ones and the learners. */
  public List<Member> members() {
    return List.of(members);
  }

  public int size() {
    return members.length;
  }

  public boolean isEmpty() {
    return members.length == 0;
  }

  /**
   * True when every key is {@code member}'s: nothing is placed yet, or it is the only member. Not
   * so for a member that left a two-member cluster: its placement holds the other member alone.
   */
  public boolean isAlone(Member member) {
    return members.length == 0 || (members.length == 1 && members[0].equals(member));
  }

  /** True when {@code member} is a member here (it owns slots, or learns them). */
  public boolean contains(Member member) {
    return indexOf(member) >= 0;
  }

  /** The owner of {@code slot}, or null when the placement is empty. */
  public Member owner(int slot) {
    return owners == null ? null : members[owners[slot]];
  }

  /** The owner of {@code key}'s slot, or null when the placement is empty. */
  public Member ownerOf(byte[] key) {
    return owners == null ? null : members[owners[KeySlot.of(key)]];
  }

  /** True when {@code member} owns {@code slot}. */
  public boolean owns(Member member, int slot) {
    return owners != null && members[owners[slot]].equals(member);
  }

  /** Same epoch and same owners. */
  public boolean sameAs(Placement other) {
    return other != null && epoch == other.epoch && fingerprint == other.fingerprint;
  }

  /** True when this placement supersedes {@code other}: a higher epoch, or the same epoch and a greater fingerprint. */
  public boolean isNewerThan(Placement other) {
    return compare(epoch, fingerprint, other.epoch, other.fingerprint) > 0;
  }

  /** Orders (epoch, fingerprint) pairs the way every node does: epoch first, then fingerprint (unsigned). */
  public static int compare(long epochA, long fingerprintA, long epochB, long fingerprintB) {
    int c = Long.compare(epochA, epochB);
    return c != 0 ? c : Long.compareUnsigned(fingerprintA, fingerprintB);
  }

  /** Contiguous runs of slots with one owner and the same replicas, in slot order. */
  public List<SlotRange> ranges() {
    List<SlotRange> out = new ArrayList<>();
    if (owners == null) {
      return out;
    }
    int start = 0;
    for (int s = 1; s <= KeySlot.SLOTS; s++) {
      if (s == KeySlot.SLOTS || owners[s] != owners[start] || !sameReplicas(s, start)) {
        out.add(new SlotRange(start, s - 1, members[owners[start]], replicas(start)));
        start = s;
      }
    }
    return out;
  }

  private boolean sameReplicas(int a, int b) {
    if (learnerBits != null && learnerBits[a] != learnerBits[b] || extraBits != null && extraBits[a] != extraBits[b]) {
      return false;
    }
    int per = replicasPerSlot();
    for (int r = 0; r < per; r++) {
      if (replicaOf[a * per + r] != replicaOf[b * per + r]) {
        return false;
      }
    }
    return true;
  }

  /** How many slots {@code member} owns. */
  public int slotCount(Member member) {
    int i = indexOf(member);
    if (owners == null || i < 0) {
      return 0;
    }
    int n = 0;
    for (short o : owners) {
      if (o == i) {
        n++;
      }
    }
    return n;
  }

  /** Slots {@code first..last} (inclusive) owned by one member and copied to the same replicas. */
  public record SlotRange(int first, int last, Member owner, List<Member> replicas) {
    public SlotRange(int first, int last, Member owner) {
      this(first, last, owner, List.of());
    }
  }

  @Override
  public String toString() {
    return "Placement{epoch=" + epoch + ", fingerprint=" + Long.toHexString(fingerprint) + ", members="
        + members.length + ", replicas=" + replicas + "}";
  }
}
