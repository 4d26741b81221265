package io.distcache.server.tracking;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.placement.PlacementListener;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: Redis's tracking table (tracking.c), per node. Each key a tracking client read maps to
 * the ids of the clients that may cache it, plus the peers (other members) that forwarded a
 * tracking client's read of it here (TRACK_REGISTER). Any change of the key (TrackingStore sees
 * every write, delete, expiry, eviction and flush of the node's store) removes the key's entry and
 * tells each of them once; the next read registers it again. BCAST clients are not in the table:
 * every change is matched against their prefixes.
 *
 * Ordering, the one thing that makes this correct under concurrency: a read registers its keys
 * BEFORE it runs, and a write looks the key up AFTER it changed the store. Worked interleaving of
 * a read R and a write W of one key: if W's lookup comes after R's registration, the reader is
 * told (perhaps needlessly, if R already saw W's value: a miss beats a stale value); if it comes
 * before, so did W's change, which is before R ran, so R read W's value. Registration and removal
 * are atomic per key (ConcurrentHashMap.compute and remove), so a registration is never added to
 * an entry that a concurrent invalidation has already taken out and read.
 *
 * Bounded: at most maxKeys keys (Redis's tracking-table-max-keys, default 1,000,000), and at most
 * maxBytes bytes of heap (distcache's addition: a million 64 KiB keys would be 64 GB; the default
 * is an eighth of the heap). A key's bytes are what its entry holds, not its length alone: the
 * key's copy plus KEY_COST for the objects around it, and ITEM_COST for each reader remembered.
 * Counted at its length alone, a million 60-byte keys read once (60 MB, under both bounds) held
 * 319 MiB of live heap after a full collection, five times the bound, and with a 256 MiB heap one
 * client reading 800,000 absent 30-byte keys ended the node with OutOfMemoryError (a tester,
 * 2026-12-04). A registration that goes over either invalidates other keys first, as
 * Redis does for the count, so their readers drop them rather than miss a later change. The table
 * is node-wide and keys are shared by their readers, so the bound is the table's, not per client:
 * a client reading many keys pushes out others' (they only re-read sooner), never fails. A client that closes is removed from the readers
 * map and the BCAST list; ids it left under keys go when those keys are next changed, evicted or
 * flushed (Redis also frees them lazily).
 *
 * The entries' bytes count in the node's HeapBudgets too, by force (a read is never refused for
 * the table), and the table answers the sum of the node's budgets passing its limit as it answers
 * its own bounds: it invalidates other keys until the sum is back under it (or only the key just
 * read is left), so tracking yields to what other budgets hold. Every change of the count is
 * mirrored there, so the two never drift apart.
 *
 * Placement: a key whose slot is now served by a different owner than before (a move, a join's
 * hand-off, a failover) is invalidated on every node that tracks it: the new owner knows nothing
 * of the readers the old one registered, and the old one no longer sees the writes.
 */

/** Which clients (and peers) may hold a copy of which key on this node, and telling them of changes. */
public final class TrackingTable implements PlacementListener {
  /** Redis's tracking-table-max-keys default. */
  public static final int DEFAULT_MAX_KEYS = 1_000_000;
  /** The default bound on the heap the table's entries hold: an eighth of the heap. */
  public static final long DEFAULT_MAX_BYTES = Runtime.getRuntime().maxMemory() / 8;
  /**
   * Heap of a key's entry besides the key's bytes and its readers: the key's array header and
   * padding, its ByteBuffer, the map's node and table slot, Readers and its empty HashSet. With
   * ITEM_COST for the first reader this is the 274 bytes a key of 60 bytes read by one client took
   * beyond its length (319 MiB of live heap for a million of them, measured with the launcher's
   * JVM on JDK 25, compressed pointers; a reviewer measured 287 on JDK 17). Without compressed
   * pointers (a heap of 32 GiB or more) entries are larger, which this does not model.
   */
  public static final int KEY_COST = 224;
  /** Heap of one reader remembered under a key: the set's node, the boxed id, the table's share. */
  public static final int ITEM_COST = 56;
  /**
   * Heap of a key's set of peers, made with its first peer (a HashSet, its map and table), and of
   * each peer in it (ITEM_COST and the Address each registration frame brings): a key registered
   * by one peer held 402 bytes beyond its length where one client's held 287 (a reviewer, JDK 17).
   */
  public static final int PEER_SET_COST = 88;
  public static final int PEER_ITEM_COST = 96;

  /** A tracking client: where its invalidations go. */
  public interface Reader {
    /** The client's id (CLIENT ID). */
    long id();

    /** NOLOOP: not told of changes it made itself. */
    boolean noLoop();

    /** BCAST: the prefixes it follows (empty: every key); null when not in BCAST mode. */
    List<byte[]> prefixes();

    /**
     * Tells the client these keys changed; {@code null} means every key (a flush). Called on any
     * thread, possibly with a store lock held: must only queue, never block.
     */
    void invalidate(List<byte[]> keys);
  }

  /** Sends invalidations to peers (TRACK_INVALIDATE); empty list: every key. */
  public interface PeerNotifier {
    void invalidate(Address peer, List<byte[]> keys);
  }

  /** Who may hold one key. Guarded by the table's per-key atomicity (only touched inside compute). */
  private static final class Readers {
    final Set<Long> clients = new HashSet<>(2);
    Set<Address> peers;

    /** The (key, reader) pairs this entry holds: its clients and its peers. */
    int items() {
      return clients.size() + (peers == null ? 0 : peers.size());
    }
  }

  private final ConcurrentHashMap<ByteBuffer, Readers> keys = new ConcurrentHashMap<>();
  private final AtomicInteger size = new AtomicInteger();
  /** Heap of the entries in the table (see KEY_COST). */
  private final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
  private volatile long maxBytes = DEFAULT_MAX_BYTES;
  private final io.distcache.server.HeapBudgets heap;
  /** (key, reader) pairs: Redis's tracking_total_items. */
  private final java.util.concurrent.atomic.AtomicLong items = new java.util.concurrent.atomic.AtomicLong();
  private final Map<Long, Reader> readers = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Reader> bcast = new CopyOnWriteArrayList<>();
  private final LongAdder invalidations = new LongAdder();
  private volatile int maxKeys = DEFAULT_MAX_KEYS;
  private final Object evictLock = new Object();
  /** Where evictions go on from (see evictOver). Guarded by evictLock. */
  private Iterator<ByteBuffer> hand;
  private volatile PeerNotifier peerNotifier;
  /** The client whose command runs on this thread (for NOLOOP), 0 for none. */
  private static final ThreadLocal<long[]> WRITER = ThreadLocal.withInitial(() -> new long[1]);

  /** A table counting its entries in a parent of its own (no node around it). */
  public TrackingTable() {
    this(io.distcache.server.HeapBudgets.unbounded());
  }

  /** A table whose entries count in the node's {@code heap} too. */
  public TrackingTable(io.distcache.server.HeapBudgets heap) {
    this.heap = heap;
  }

  /** Changes the table's byte count, and the node's heap budgets' with it. */
  private void count(long delta) {
    bytes.addAndGet(delta);
    if (delta > 0) {
      heap.force(delta);
    } else {
      heap.release(-delta);
    }
  }

  /** Sets the bound on tracked keys (Redis's tracking-table-max-keys; 0 means no bound, as in Redis). */
  public void maxKeys(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("tracking-table-max-keys cannot be negative: " + max);
    }
    this.maxKeys = max;
    evictOver(null, 0);
  }

  public int maxKeys() {
    return maxKeys;
  }

  /** Sets the bound on the heap the table's entries hold (must be positive). */
  public void maxBytes(long max) {
    if (max <= 0) {
      throw new IllegalArgumentException("the tracking table's byte bound must be positive: " + max);
    }
    this.maxBytes = max;
    evictOver(null, 0);
  }

  /** Heap the table's entries hold: keys, their entries' objects, their readers. */
  public long bytes() {
    return bytes.get();
  }

  /** Where invalidations for peers' registrations go (the cluster bus). */
  public void peerNotifier(PeerNotifier notifier) {
    this.peerNotifier = notifier;
  }

  /** Keys in the table (INFO tracking_total_keys). */
  public int size() {
    return size.get();
  }

  /** Readers remembered over all keys (INFO tracking_total_items). */
  public long items() {
    return items.get();
  }

  /** Tracking clients (INFO tracking_clients). */
  public int clients() {
    return readers.size() + bcast.size();
  }

  /** BCAST prefixes followed, over all clients (INFO tracking_total_prefixes). */
  public int prefixes() {
    int n = 0;
    for (Reader r : bcast) {
      n += r.prefixes().size();
    }
    return n;
  }

  /** Invalidation messages sent to clients and peers since start. */
  public long invalidations() {
    return invalidations.sum();
  }

  /** A client turned tracking on (again, perhaps with other options). */
  public void enable(Reader r) {
    disable(r);
    if (r.prefixes() != null) {
      bcast.add(r);
    } else {
      readers.put(r.id(), r);
    }
  }

  /** A client turned tracking off or closed. */
  public void disable(Reader r) {
    readers.remove(r.id(), r);
    bcast.remove(r);
  }

  /** True when nothing is tracked: a write then costs two reads. */
  public boolean idle() {
    return size.get() == 0 && bcast.isEmpty();
  }

  /** Runs {@code task} as client {@code id}'s command (NOLOOP spares it its own writes' invalidations). */
  public static void asWriter(long id, Runnable task) {
    long[] w = WRITER.get();
    long before = w[0];
    w[0] = id;
    try {
      task.run();
    } finally {
      w[0] = before;
    }
  }

  /** Client {@code id} may cache {@code key} from now on. Call before the read runs. */
  public void remember(long id, byte[] key) {
    add(key, r -> {
      if (r.clients.add(id)) {
        items.incrementAndGet();
        count(ITEM_COST);
      }
    });
  }

  /** Peer {@code peer} forwards a tracking client's read of {@code key}. Call before the read runs. */
  public void rememberPeer(Address peer, byte[] key) {
    add(key, r -> {
      if (r.peers == null) {
        r.peers = new HashSet<>(2);
        count(PEER_SET_COST);
      }
      if (r.peers.add(peer)) {
        items.incrementAndGet();
        count(PEER_ITEM_COST);
      }
    });
  }

  private void add(byte[] key, java.util.function.Consumer<Readers> add) {
    ByteBuffer added = ByteBuffer.wrap(key.clone());
    long before = bytes.get();
    keys.compute(added, (k, r) -> {
      if (r == null) {
        r = new Readers();
        size.incrementAndGet();
        count(key.length + KEY_COST);
      }
      add.accept(r);
      return r;
    });
    evictOver(added, bytes.get() - before);
  }

  /**
   * Over a bound: invalidate keys until under both, sparing {@code keep} (the key just read). The
   * keys go in the map's order, as good as Redis's random pick, from where the last eviction
   * stopped: started again from the map's front each time, every eviction walked the bins the ones
   * before it had emptied, and a client reading past the bound made each read cost a walk of the
   * table (a million tracked reads took minutes once the table was full, 2026-12-04).
   */
  private void evictOver(ByteBuffer keep, long grew) {
    int max = maxKeys == 0 ? Integer.MAX_VALUE : maxKeys;
    long maxB = maxBytes;
    // While the node's heap budgets together are over their limit, the table does not grow: it
    // sheds the excess, but no more than the read just added. The rest of the excess is other
    // budgets' forced bytes, which no eviction here can fix; shedding down to it wiped the whole
    // table, an invalidation for every key, at the first tracked read (a reviewer).
    long excess = heap.usedBytes() - heap.limitBytes();
    long shedTo = grew > 0 && excess > 0 ? Math.max(0, bytes.get() - Math.min(grew, excess)) : Long.MAX_VALUE;
    if (size.get() <= max && bytes.get() <= maxB && bytes.get() <= shedTo) {
      return;
    }
    synchronized (evictLock) {
      boolean restarted = false;
      while (size.get() > max || bytes.get() > maxB || bytes.get() > shedTo && size.get() > 0) {
        if (hand == null || !hand.hasNext()) {
          if (restarted) {
            return; // a whole pass found nothing but keep
          }
          hand = keys.keySet().iterator();
          restarted = true;
          continue;
        }
        ByteBuffer k = hand.next();
        if (!k.equals(keep)) {
          invalidate(array(k), 0, false);
        }
      }
    }
  }

  /** {@code key} changed (written, deleted, expired, evicted, or no longer served here). */
  public void invalidate(byte[] key) {
    if (idle()) {
      return;
    }
    invalidate(key, WRITER.get()[0], true);
  }

  /** {@code changed}: the key changed, so BCAST clients are told too; false for an eviction from the table. */
  private void invalidate(byte[] key, long writer, boolean changed) {
    Readers r = keys.remove(ByteBuffer.wrap(key));
    List<byte[]> one = null;
    if (r != null) {
      size.decrementAndGet();
      count(-entryBytes(key.length, r));
      items.addAndGet(-r.items());
      one = List.of(key);
      for (Long id : r.clients) {
        Reader c = readers.get(id);
        if (c != null && !(c.noLoop() && id == writer)) {
          c.invalidate(one);
          invalidations.increment();
        }
      }
      PeerNotifier p = peerNotifier;
      if (r.peers != null && p != null) {
        for (Address peer : r.peers) {
          p.invalidate(peer, one);
          invalidations.increment();
        }
      }
    }
    if (!changed) {
      return; // an eviction from the table: BCAST clients, not in it, hear of changes only
    }
    for (Reader c : bcast) {
      if (matches(c.prefixes(), key) && !(c.noLoop() && c.id() == writer)) {
        c.invalidate(one != null ? one : (one = List.of(key)));
        invalidations.increment();
      }
    }
  }

  /**
   * Every key changed (FLUSHALL, FLUSHDB, or an invalidation of everything from a peer): each
   * tracking client is told with a null key list, as Redis does, and the table is emptied; peers
   * that registered keys here are told with an empty list.
   */
  public void invalidateAll() {
    Set<Address> peers = new HashSet<>();
    for (Iterator<Map.Entry<ByteBuffer, Readers>> it = keys.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<ByteBuffer, Readers> e = it.next();
      Readers removed = keys.remove(e.getKey());
      if (removed != null) {
        size.decrementAndGet();
        count(-entryBytes(e.getKey().capacity(), removed));
        items.addAndGet(-removed.items());
        Set<Address> ps = removed.peers;
        if (ps != null) {
          peers.addAll(ps);
        }
      }
    }
    invalidateAllClients();
    PeerNotifier p = peerNotifier;
    if (p != null) {
      for (Address peer : peers) {
        p.invalidate(peer, List.of());
        invalidations.increment();
      }
    }
  }

  /**
   * A key whose slot has another owner now is invalidated: its readers here can no longer count on
   * this node seeing its writes (it moved away), or on the owner they read it from (it moved elsewhere).
   */
  @Override
  public void placementChanged(Placement previous, Placement current) {
    if (size.get() == 0 || previous == null || previous.size() == 0) {
      return;
    }
    List<byte[]> moved = new ArrayList<>();
    for (ByteBuffer k : keys.keySet()) {
      byte[] key = array(k);
      int slot = KeySlot.of(key);
      Member before = previous.owner(slot);
      Member now = current.size() == 0 ? null : current.owner(slot);
      if (before == null || !before.equals(now)) {
        moved.add(key);
      }
    }
    for (byte[] key : moved) {
      invalidate(key, 0, true);
    }
  }

  /**
   * A peer lost track of what it sent here (an invalidation of everything from it): every tracking
   * client of this node is told to drop every key. The table is kept: peers' registrations in it
   * still stand.
   */
  public void invalidateAllClients() {
    for (Reader c : readers.values()) {
      c.invalidate(null);
      invalidations.increment();
    }
    for (Reader c : bcast) {
      c.invalidate(null);
      invalidations.increment();
    }
  }

  /** What an entry taken out of the table counted (see KEY_COST). */
  private static long entryBytes(int keyLength, Readers r) {
    long b = keyLength + KEY_COST + (long) r.clients.size() * ITEM_COST;
    if (r.peers != null) {
      b += PEER_SET_COST + (long) r.peers.size() * PEER_ITEM_COST;
    }
    return b;
  }

  static boolean matches(List<byte[]> prefixes, byte[] key) {
    if (prefixes.isEmpty()) {
      return true;
    }
    for (byte[] p : prefixes) {
      if (startsWith(key, p)) {
        return true;
      }
    }
    return false;
  }

  static boolean startsWith(byte[] key, byte[] prefix) {
    if (prefix.length > key.length) {
      return false;
    }
    return java.util.Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static byte[] array(ByteBuffer b) {
    return b.array(); // every key buffer wraps a whole private copy
  }
}
