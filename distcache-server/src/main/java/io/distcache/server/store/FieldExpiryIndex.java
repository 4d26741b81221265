package io.distcache.server.store;

import io.distcache.protocol.ValueType;
import io.distcache.server.store.CollectionCodec.Bytes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: which hashes have fields with an expiry time, and when each needs the active sweep next
 * (Redis keeps the same thing, its per-database "hexpires" buckets). The times themselves live in
 * the hashes' values (CollectionCodec's trailer); this index is derived from them and is never the
 * truth: a field whose time has come is hidden by every command whatever the index says, so an
 * index that is late, early or missing an entry costs only memory that comes back later, never a
 * wrong answer.
 *
 * Fed by the store itself, in OffHeapStore's typed writes (putTyped, applyReplicated) while the
 * segment lock is held, so the index sees one key's writes in the order the store applied them,
 * and it sees every path a hash value takes into this node: a client's write, a replicated effect,
 * a migration's import, RENAME and COPY. That is how a replica knows the hashes before it is
 * promoted, and how a node that receives a slot knows them when the slot arrives: nothing to
 * rebuild at failover or migration. Every way a hash leaves takes the key out, under the same
 * segment lock: a hash written without times (putTyped), removal for any cause (Segment.removeAt:
 * DEL, expiry, eviction), an overwrite by another type (Segment.put: SET over the hash), FLUSH. So
 * entries of hashes that are gone do not hold the bound below while the index is full, which would
 * keep it incomplete and the sweeper walking the store. An entry's time is the earlier of the
 * hash's earliest field time and the key's own expiry. The sweep still reads the hash before
 * acting: an entry a concurrent FLUSH left is dropped when it comes due.
 *
 * Shape: a map key -> time for updates, and a set ordered by (time, key) from which the sweep
 * takes what is due, both concurrent; one key's map entry and set entry change together inside
 * the map's per-key compute. Bound: an estimate of its heap use (ENTRY_BYTES per entry plus the
 * key) stays under maxBytes (by default 1/32 of the JVM heap, 1 to 256 MiB). A hash that would
 * pass it is not indexed and the index says it is incomplete; the sweeper then also walks the
 * store (FieldExpirySweeper), and the index becomes complete again after a whole walk during which
 * nothing was refused. The overshoot is at most one entry per concurrent writer.
 *
 * It also counts the fields removed because their time came (INFO's expired_subkeys), which the
 * hash commands report here.
 */

/** Hashes with field expiry times, ordered by when the active sweep should next look at them. */
public final class FieldExpiryIndex {
  /** Estimated heap bytes per entry besides the key: map node, set node and levels, boxes. */
  static final long ENTRY_BYTES = 160;
  static final long MIN_BYTES = 1L << 20;
  static final long MAX_BYTES = 256L << 20;

  /** A key and the time the sweep should look at it (absolute Unix ms). */
  public record Due(byte[] key, long at) {}

  private record Item(long at, Bytes key) implements Comparable<Item> {
    @Override
    public int compareTo(Item o) {
      int c = Long.compare(at, o.at);
      return c != 0 ? c : Arrays.compareUnsigned(key.b(), o.key.b());
    }
  }

  private final ConcurrentHashMap<Bytes, Long> byKey = new ConcurrentHashMap<>();
  private final ConcurrentSkipListSet<Item> byTime = new ConcurrentSkipListSet<>();
  private final AtomicLong bytes = new AtomicLong();
  private final LongAdder expiredFields = new LongAdder();
  private volatile long maxBytes;
  /** Guards incomplete and refusals together (markComplete compares both). */
  private final Object completeness = new Object();
  private boolean incomplete;
  private long refusals;

  /** An index bounded by 1/32 of the JVM heap, clamped to 1..256 MiB. */
  public FieldExpiryIndex() {
    this(Math.max(MIN_BYTES, Math.min(MAX_BYTES, Runtime.getRuntime().maxMemory() / 32)));
  }

  public FieldExpiryIndex(long maxBytes) {
    maxBytes(maxBytes);
  }

  /**
   * Changes the bound; entries already held above it stay until they leave, new ones are refused
   * until the estimate is back under it.
   */
  public void maxBytes(long maxBytes) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("field expiry index bound cannot be negative: " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  // ---- fed by the store ----

  /** The store wrote {@code key}, due at {@code at} ({@link #dueTime}; 0: not a hash with field times). */
  void written(byte[] key, long at) {
    if (at == 0) {
      removed(key);
    } else {
      put(key, at, true);
    }
  }

  /** {@link #dueTime(byte[], long)} for a value of any type: 0 unless it is a hash with field times. */
  static long dueTime(ValueType type, byte[] value, long expireAtMillis) {
    return type == ValueType.HASH ? dueTime(value, expireAtMillis) : 0;
  }

  /** True when no hash is indexed (the store skips copying a removed hash's key then). */
  boolean isEmpty() {
    return byKey.isEmpty();
  }

  /** The store removed {@code key}. */
  void removed(byte[] key) {
    if (byKey.isEmpty()) {
      return; // the common case, nothing to look up
    }
    byKey.computeIfPresent(new Bytes(key), (k, old) -> {
      byTime.remove(new Item(old, k));
      bytes.addAndGet(-cost(k.b()));
      return null;
    });
  }

  /** The store was emptied. Entries written meanwhile may be dropped too; their hashes go to the walk. */
  void cleared() {
    for (Bytes k : byKey.keySet()) {
      removed(k.b());
    }
  }

  /**
   * When a hash with this payload and key expiry needs the sweep: its earliest field time, or the
   * key's expiry when that is earlier; 0 when no field has a time (nothing to index).
   */
  public static long dueTime(byte[] hashPayload, long expireAtMillis) {
    long earliest;
    try {
      earliest = CollectionCodec.earliestFieldExpiry(hashPayload);
    } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException
        | java.nio.BufferUnderflowException malformed) {
      // Not a hash payload CollectionCodec wrote (the store takes any bytes for any type): every
      // hash command refuses it, so there is nothing for the sweep to do with it.
      return 0;
    }
    if (earliest == 0) {
      return 0;
    }
    return expireAtMillis > 0 ? Math.min(earliest, expireAtMillis) : earliest;
  }

  /**
   * {@link #dueTime(byte[], long)} of a hash payload read where it lies (the active sweep's look
   * at a due hash: a large one's times are read from its table, not copied with its fields).
   */
  public static long dueTime(java.nio.ByteBuffer hashPayload, long expireAtMillis) {
    long earliest;
    try {
      earliest = CollectionCodec.earliestFieldExpiry(hashPayload);
    } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException
        | java.nio.BufferUnderflowException malformed) {
      return 0; // not a payload CollectionCodec wrote: every hash command refuses it
    }
    if (earliest == 0) {
      return 0;
    }
    return expireAtMillis > 0 ? Math.min(earliest, expireAtMillis) : earliest;
  }

  /** Indexes {@code key} at {@code at}; an entry it already has changes only when {@code replace}. */
  private void put(byte[] key, long at, boolean replace) {
    Bytes k = new Bytes(key);
    if (!byKey.containsKey(k) && bytes.get() + cost(key) > maxBytes) {
      refused();
      return;
    }
    byKey.compute(k, (kk, old) -> {
      if (old == null) {
        Bytes own = new Bytes(key.clone()); // the caller's array is not ours to keep
        bytes.addAndGet(cost(key));
        byTime.add(new Item(at, own));
        return at;
      }
      if (old != at && replace) {
        byTime.remove(new Item(old, kk));
        byTime.add(new Item(at, kk));
      }
      return at;
    });
  }

  private static long cost(byte[] key) {
    return ENTRY_BYTES + key.length;
  }

  private void refused() {
    synchronized (completeness) {
      incomplete = true;
      refusals++;
    }
  }

  // ---- used by the sweep ----

  /** Up to {@code max} entries due at or before {@code now}, earliest first. */
  public List<Due> due(long now, int max) {
    List<Due> out = new ArrayList<>(Math.min(max, 64));
    for (Item it : byTime) {
      if (it.at > now || out.size() >= max) {
        break;
      }
      out.add(new Due(it.key.b(), it.at));
    }
    return out;
  }

  /**
   * Moves {@code key} from time {@code expected} to {@code at} (0: takes it out), only if it is
   * still at {@code expected}: a write that changed it meanwhile knows better.
   */
  public void reschedule(byte[] key, long expected, long at) {
    byKey.computeIfPresent(new Bytes(key), (k, old) -> {
      if (old != expected) {
        return old;
      }
      byTime.remove(new Item(old, k));
      if (at == 0) {
        bytes.addAndGet(-cost(k.b()));
        return null;
      }
      byTime.add(new Item(at, k));
      return at;
    });
  }

  /** The time {@code key} is indexed at, or 0 when it is not. */
  public long timeOf(byte[] key) {
    Long at = byKey.get(new Bytes(key));
    return at == null ? 0 : at;
  }

  /** Hashes indexed (INFO's subexpiry). */
  public long size() {
    return byKey.size();
  }

  /** Estimated heap bytes held. */
  public long bytes() {
    return bytes.get();
  }

  /** True while some hash with field times may be missing from the index (it was full). */
  public boolean incomplete() {
    synchronized (completeness) {
      return incomplete;
    }
  }

  /** A count to pass to {@link #markComplete} when a walk that starts now has covered the store. */
  public long refusals() {
    synchronized (completeness) {
      return refusals;
    }
  }

  /**
   * A walk of the whole store that began when {@link #refusals} answered {@code since} is over and
   * indexed what it met: complete again, unless something was refused since.
   */
  public void markComplete(long since) {
    synchronized (completeness) {
      if (refusals == since) {
        incomplete = false;
      }
    }
  }

  /**
   * Indexes a hash the walk met, unless it is indexed already (a write since the walk read the value
   * put the right time); a refusal counts as any other.
   */
  public void offer(byte[] key, byte[] hashPayload, long expireAtMillis) {
    long at = dueTime(hashPayload, expireAtMillis);
    if (at != 0) {
      put(key, at, false);
    }
  }

  /**
   * Indexes {@code key} at {@code at} unless it is indexed already: a due hash the walk asks to
   * reap, so that a reap that is lost or refused is tried again from here once {@code at} comes,
   * whether or not the walk is still running then. A refusal counts as any other.
   */
  public void retryAt(byte[] key, long at) {
    put(key, at, false);
  }

  // ---- counters ----

  /** Fields removed because their time came (by a write on their hash or the sweep). */
  public void countExpired(long fields) {
    expiredFields.add(fields);
  }

  /** INFO's expired_subkeys. */
  public long expiredFields() {
    return expiredFields.sum();
  }
}
