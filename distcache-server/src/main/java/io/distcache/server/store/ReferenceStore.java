package io.distcache.server.store;

import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/*
 * Design: the obviously correct Store. It is the oracle that differential tests hold the real
 * (off-heap) store against, so every choice favours being easy to check over being fast.
 *
 * - One lock around everything: every method is atomic for free, including the multi-key ones.
 * - A LinkedHashMap in access order holds the entries, so its head is always the least recently
 *   used entry and eviction is exact LRU. Reads that Redis does not count as a use (EXISTS, TTL,
 *   SCAN, iteration) go through the second map below, which has no access order.
 * - A TreeMap over the same entries, ordered by a 64-bit hash of the key, serves SCAN: the cursor
 *   is the hash where the next step starts. A key's hash never changes, so a key present for a
 *   whole scan is returned exactly once however many keys come and go meanwhile; keys sharing a
 *   hash are always returned in the same step so the cursor never splits them.
 * - Entries are immutable records; every change replaces the record and takes a new version from
 *   one global counter, so a version is never reused by any key. Changing only the expiry is a
 *   change too (like Redis, where EXPIRE touches WATCHed keys).
 * - Expired entries are absent to every method. They are removed when a method finds them (lazy),
 *   when eviction reaches them, or by purgeExpired().
 * - Memory is counted as key length + value length + 64 per entry. A write that would pass the
 *   bound evicts one candidate at a time (never the key being written) or fails with
 *   OUT_OF_MEMORY; nothing ever exceeds the bound. Candidates are every entry, or under
 *   volatile-* only the entries with an expiry (none: OUT_OF_MEMORY, as under noeviction). Of
 *   the candidates goes, exactly: the least recently used (*-lru, the LRU head), the least decayed
 *   LFU counter (*-lfu; ties: the least recently used), the soonest expiry (volatile-ttl; ties:
 *   the least recently used), or a uniformly random one (*-random). A multi-key write that would
 *   not fit even after evicting every candidate outside it is refused before it writes anything.
 * - Under an LFU policy each key has Redis's counter and minute stamp (LfuCounter) in a side map:
 *   every use steps it, an overwrite keeps it. reconfigure applies at once, evicting down to a
 *   lowered bound (as far as there are candidates) before it returns.
 * - Every key has the 24-bit second of its last use, as the production store's access clock
 *   (EntryCodec.accessClock), for OBJECT IDLETIME under the other policies. Exactly what the
 *   production store stamps: a counted read that hits (GET, MGET, TOUCH...), a write that lands
 *   (every write replaces the entry here) and a changed expiry; not EXISTS, TTL, STRLEN, GETRANGE
 *   or a conditional write that did not write.
 * - Keys and values are copied in and out, so no caller can change stored bytes.
 */

/** A simple, exact Store: one lock, exact LRU, exact memory accounting. See the design note above. */
public final class ReferenceStore implements Store {
  /** Bytes counted per entry beyond its key and value. */
  public static final int ENTRY_OVERHEAD_BYTES = 64;

  private StoreConfig config; // guarded by lock
  private final Clock clock;
  private final ReentrantLock lock = new ReentrantLock();

  // Everything below is guarded by lock.
  private final LinkedHashMap<Key, Entry> byRecency = new LinkedHashMap<>(16, 0.75f, true);
  private final TreeMap<Key, Entry> byScanOrder = new TreeMap<>(Key.SCAN_ORDER);
  /** Under allkeys-lfu: counter << 16 | minute stamp of each key that has one. */
  private final java.util.HashMap<Key, Integer> lfu = new java.util.HashMap<>();
  /** The access clock (EntryCodec.accessClock) of each key's last use or write. */
  private final java.util.HashMap<Key, Integer> lastUse = new java.util.HashMap<>();
  private long bytesUsed;
  private long entriesWithExpiry;
  private long lastVersion;
  private long hits;
  private long misses;
  private long expired;
  private long evicted;

  public ReferenceStore(StoreConfig config) {
    if (config == null) {
      throw new IllegalArgumentException("config cannot be null");
    }
    this.config = config;
    this.clock = config.clock();
  }

  // ---- reads ----

  @Override
  public byte[] get(byte[] key) {
    return locked(() -> {
      Entry e = liveCounted(toKey(key));
      return e == null ? null : string(e).clone();
    });
  }

  @Override
  public boolean readValue(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    return locked(() -> {
      Entry e = liveCounted(toKey(key));
      if (e == null) {
        return false;
      }
      into.accept(java.nio.ByteBuffer.wrap(string(e)).asReadOnlyBuffer());
      return true;
    });
  }

  @Override
  public StoredEntry getEntry(byte[] key) {
    return locked(() -> {
      Entry e = liveCounted(toKey(key));
      return e == null ? null : new StoredEntry(string(e).clone(), e.version, e.expireAtMillis);
    });
  }

  @Override
  public TypedEntry getTyped(byte[] key) {
    return locked(() -> {
      Entry e = liveCounted(toKey(key));
      return e == null ? null : new TypedEntry(e.type, e.value.clone(), e.version, e.expireAtMillis);
    });
  }

  /**
   * The interface's default (a copy edited, the built payload put), with the read counted as the
   * off-heap store counts it: after the editor decided, and not when it declined.
   */
  @Override
  public <T> PackedChange<T> editPacked(byte[] key, ValueType type, PackedEditor<T> editor) {
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      if (e != null && e.type != type) {
        throw StoreException.wrongType();
      }
      PackedChange<T> change;
      try {
        change = editor.edit(e == null ? null : java.nio.ByteBuffer.wrap(e.value).asReadOnlyBuffer());
      } catch (RuntimeException refused) {
        liveCounted(k);
        throw refused;
      }
      if (!change.declined()) {
        liveCounted(k);
        PackedChange.putBuilt(this, key, type, change, e == null ? NO_EXPIRY : e.expireAtMillis);
      }
      return change;
    });
  }

  @Override
  public ValueType typeOf(byte[] key) {
    return locked(() -> {
      Entry e = peek(toKey(key));
      return e == null ? null : e.type;
    });
  }

  @Override
  public void putTyped(byte[] key, ValueType type, byte[] payload, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    locked(() -> {
      Key k = toKey(key);
      live(k);
      if (expireAtMillis != NO_EXPIRY && expireAtMillis <= clock.millis()) {
        remove(k);
      } else {
        write(k, type, payload, expireAtMillis);
      }
      return null;
    });
  }

  /** A string entry's value; WRONG_TYPE for a collection. */
  private static byte[] string(Entry e) {
    if (e.type != ValueType.STRING) {
      throw StoreException.wrongType();
    }
    return e.value;
  }

  @Override
  public TypedEntry peekEntry(byte[] key) {
    return locked(() -> {
      Entry e = live(toKey(key));
      return e == null ? null : new TypedEntry(e.type, e.value.clone(), e.version, e.expireAtMillis);
    });
  }

  @Override
  public void applyReplicated(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version) {
    locked(() -> {
      Key k = toKey(key);
      live(k);
      if (expireAtMillis != NO_EXPIRY && expireAtMillis <= clock.millis()) {
        remove(k);
        return null;
      }
      write(k, type, value, expireAtMillis);
      Entry e = new Entry(byRecency.get(k).value, version, expireAtMillis, type); // the owner's version, same cost
      byRecency.put(k, e);
      byScanOrder.put(k, e);
      lastVersion = Math.max(lastVersion, version);
      return null;
    });
  }

  @Override
  public List<byte[]> getAll(List<byte[]> keys, long maxBytes) {
    return locked(() -> {
      List<Key> ks = toKeys(keys);
      List<byte[]> out = new ArrayList<>(ks.size());
      long bytes = 0;
      for (Key k : ks) {
        Entry e = liveCounted(k);
        boolean string = e != null && e.type == ValueType.STRING;
        bytes += string ? e.value.length : 0;
        if (bytes > maxBytes) {
          return null;
        }
        out.add(string ? e.value.clone() : null);
      }
      return out;
    });
  }

  @Override
  public boolean exists(byte[] key) {
    return locked(() -> peek(toKey(key)) != null);
  }

  @Override
  public long strlen(byte[] key) {
    return locked(() -> {
      Entry e = live(toKey(key));
      return e == null ? 0L : (long) string(e).length;
    });
  }

  @Override
  public byte[] getRange(byte[] key, long start, long end) {
    return locked(() -> {
      Entry e = liveCounted(toKey(key)); // a read of the value, counted as GET's (Redis's GETRANGE is)
      if (e == null) {
        return new byte[0];
      }
      // Redis GETRANGE, step by step.
      long len = string(e).length;
      if (start < 0 && end < 0 && start > end) {
        return new byte[0];
      }
      long from = start < 0 ? Math.max(0, len + start) : start;
      long to = end < 0 ? Math.max(0, len + end) : end;
      to = Math.min(to, len - 1);
      if (len == 0 || from > to) {
        return new byte[0];
      }
      return Arrays.copyOfRange(e.value, (int) from, (int) to + 1);
    });
  }

  // ---- writes ----

  @Override
  public SetResult set(byte[] key, byte[] value, SetArgs args) {
    if (args == null) {
      throw new IllegalArgumentException("args cannot be null");
    }
    return locked(() -> {
      Key k = toKey(key);
      config.checkValue(value);
      Entry old = live(k);
      byte[] previous = args.returnPrevious() && old != null ? string(old).clone() : null;
      boolean allowed =
          switch (args.condition()) {
            case ALWAYS -> true;
            case IF_ABSENT -> old == null;
            case IF_PRESENT -> old != null;
          };
      if (!allowed) {
        return new SetResult(false, previous, 0);
      }
      long expireAt = args.keepTtl() ? (old == null ? NO_EXPIRY : old.expireAtMillis) : args.expireAtMillis();
      return new SetResult(true, previous, write(k, value, expireAt));
    });
  }

  @Override
  public void setAll(List<byte[]> keys, List<byte[]> values, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    locked(() -> {
      Map<Key, byte[]> pairs = toPairs(keys, values);
      checkBatchFits(pairs);
      pairs.forEach((k, v) -> write(k, v, expireAtMillis));
      return null;
    });
  }

  @Override
  public boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> values) {
    return locked(() -> {
      Map<Key, byte[]> pairs = toPairs(keys, values);
      for (Key k : pairs.keySet()) {
        if (live(k) != null) {
          return false;
        }
      }
      checkBatchFits(pairs);
      pairs.forEach((k, v) -> write(k, v, NO_EXPIRY));
      return true;
    });
  }

  @Override
  public boolean delete(byte[] key) {
    return locked(() -> {
      Key k = toKey(key);
      if (live(k) == null) {
        return false;
      }
      remove(k);
      return true;
    });
  }

  @Override
  public byte[] getAndDelete(byte[] key) {
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      if (e == null) {
        return null;
      }
      byte[] value = string(e).clone();
      remove(k);
      return value;
    });
  }

  @Override
  public CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value, long expireAtMillis) {
    checkExpireAt(expireAtMillis);
    return locked(() -> {
      Key k = toKey(key);
      config.checkValue(value);
      Entry e = live(k);
      if (e == null) {
        return new CasResult(CasResult.Outcome.NOT_FOUND, 0);
      }
      string(e);
      if (e.version != expectedVersion) {
        return new CasResult(CasResult.Outcome.VERSION_MISMATCH, e.version);
      }
      return new CasResult(CasResult.Outcome.WRITTEN, write(k, value, expireAtMillis));
    });
  }

  @Override
  public long incrementBy(byte[] key, long delta) {
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      long current = e == null ? 0 : RedisNumbers.parseLong(string(e));
      long next;
      try {
        next = Math.addExact(current, delta);
      } catch (ArithmeticException overflow) {
        throw new StoreException(StoreException.Reason.OVERFLOW, RedisNumbers.INTEGER_OVERFLOW);
      }
      write(k, RedisNumbers.formatLong(next), expiryOf(e));
      return next;
    });
  }

  @Override
  public byte[] incrementByFloat(byte[] key, double delta) {
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      byte[] next = RedisNumbers.addFloat(e == null ? null : string(e), delta);
      write(k, next, expiryOf(e));
      return next.clone();
    });
  }

  @Override
  public long append(byte[] key, byte[] suffix) {
    return locked(() -> {
      Key k = toKey(key);
      config.checkValue(suffix);
      Entry e = live(k);
      byte[] old = e == null ? new byte[0] : string(e);
      config.checkValueLength((long) old.length + suffix.length);
      byte[] next = Arrays.copyOf(old, old.length + suffix.length);
      System.arraycopy(suffix, 0, next, old.length, suffix.length);
      write(k, next, expiryOf(e));
      return (long) next.length;
    });
  }

  @Override
  public long setRange(byte[] key, long offset, byte[] value) {
    if (offset < 0) {
      throw new IllegalArgumentException("offset cannot be negative: " + offset);
    }
    return locked(() -> {
      Key k = toKey(key);
      config.checkValue(value);
      Entry e = live(k);
      if (value.length == 0) {
        // Redis writes nothing, not even an empty key, and reports the current length.
        return e == null ? 0L : (long) string(e).length;
      }
      // Saturate: an offset near Long.MAX_VALUE must fail the check, not wrap around it.
      config.checkValueLength(offset > Long.MAX_VALUE - value.length ? Long.MAX_VALUE : offset + value.length);
      byte[] old = e == null ? new byte[0] : string(e);
      byte[] next = Arrays.copyOf(old, Math.max(old.length, (int) offset + value.length));
      System.arraycopy(value, 0, next, (int) offset, value.length);
      write(k, next, expiryOf(e));
      return (long) next.length;
    });
  }

  // ---- expiry ----

  @Override
  public boolean expireAt(byte[] key, long expireAtMillis, ExpireCondition condition) {
    if (condition == null) {
      throw new IllegalArgumentException("condition cannot be null");
    }
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      if (e == null) {
        return false;
      }
      // Redis 7 checks the condition first, and only then whether the time has already passed.
      boolean hasExpiry = e.expireAtMillis != NO_EXPIRY;
      boolean allowed =
          switch (condition) {
            case ALWAYS -> true;
            case NX -> !hasExpiry;
            case XX -> hasExpiry;
            // No expiry is an infinite TTL: nothing is greater, everything is less.
            case GT -> hasExpiry && expireAtMillis > e.expireAtMillis;
            case LT -> !hasExpiry || expireAtMillis < e.expireAtMillis;
          };
      if (!allowed) {
        return false;
      }
      if (expireAtMillis <= clock.millis()) {
        remove(k);
      } else {
        replace(k, e.type, e.value, expireAtMillis);
      }
      return true;
    });
  }

  @Override
  public boolean persist(byte[] key) {
    return locked(() -> {
      Key k = toKey(key);
      Entry e = live(k);
      if (e == null || e.expireAtMillis == NO_EXPIRY) {
        return false;
      }
      replace(k, e.type, e.value, NO_EXPIRY);
      return true;
    });
  }

  @Override
  public long ttlMillis(byte[] key) {
    return locked(() -> {
      Entry e = peek(toKey(key));
      if (e == null) {
        return KEY_MISSING;
      }
      return e.expireAtMillis == NO_EXPIRY ? NO_TTL : e.expireAtMillis - clock.millis();
    });
  }

  @Override
  public long expireTimeMillis(byte[] key) {
    return locked(() -> {
      Entry e = peek(toKey(key));
      if (e == null) {
        return KEY_MISSING;
      }
      return e.expireAtMillis == NO_EXPIRY ? NO_TTL : e.expireAtMillis;
    });
  }

  // ---- whole store ----

  @Override
  public ScanResult scan(long cursor, int count) {
    if (count <= 0) {
      throw new IllegalArgumentException("count must be positive: " + count);
    }
    return locked(() -> {
      long now = clock.millis();
      List<byte[]> found = new ArrayList<>();
      int visited = 0;
      long lastHash = 0;
      for (Map.Entry<Key, Entry> me : byScanOrder.tailMap(Key.scanStart(cursor), true).entrySet()) {
        Key k = me.getKey();
        if (visited >= count && k.scanHash != lastHash) {
          // The next step starts at this key's hash; it cannot be 0, as 0 sorts first.
          return new ScanResult(k.scanHash, found);
        }
        visited++;
        lastHash = k.scanHash;
        if (!isExpired(me.getValue(), now)) {
          found.add(k.bytes.clone());
        }
      }
      return new ScanResult(0, found);
    });
  }

  @Override
  public Iterator<KeyValue> iterator() {
    return locked(() -> {
      long now = clock.millis();
      List<KeyValue> snapshot = new ArrayList<>();
      for (Map.Entry<Key, Entry> me : byScanOrder.entrySet()) {
        Entry e = me.getValue();
        if (!isExpired(e, now)) {
          snapshot.add(new KeyValue(me.getKey().bytes.clone(), e.value.clone(), e.expireAtMillis));
        }
      }
      return Collections.unmodifiableList(snapshot).iterator();
    });
  }

  @Override
  public byte[] randomKey() {
    return locked(() -> {
      long now = clock.millis();
      while (!byScanOrder.isEmpty()) {
        int index = ThreadLocalRandom.current().nextInt(byScanOrder.size());
        Iterator<Map.Entry<Key, Entry>> it = byScanOrder.entrySet().iterator();
        for (int i = 0; i < index; i++) {
          it.next();
        }
        Map.Entry<Key, Entry> me = it.next();
        if (!isExpired(me.getValue(), now)) {
          return me.getKey().bytes.clone();
        }
        // Removing it shrinks the map, so the loop ends even when every entry has expired.
        expire(me.getKey());
      }
      return null;
    });
  }

  @Override
  public void flush() {
    locked(() -> {
      byRecency.clear();
      lfu.clear();
      lastUse.clear();
      byScanOrder.clear();
      bytesUsed = 0;
      entriesWithExpiry = 0;
      return null;
    });
  }

  @Override
  public long size() {
    return locked(() -> (long) byRecency.size());
  }

  @Override
  public long sizeWithExpiry() {
    return locked(() -> entriesWithExpiry);
  }

  @Override
  public StoreStats stats() {
    return locked(() ->
        new StoreStats(hits, misses, expired, evicted, byRecency.size(), bytesUsed, config.maxMemoryBytes()));
  }

  @Override
  public StoreConfig config() {
    return config;
  }

  /** Removes every expired entry now; returns how many. */
  public long purgeExpired() {
    return locked(() -> {
      long now = clock.millis();
      List<Key> dead = new ArrayList<>();
      byScanOrder.forEach((k, e) -> {
        if (isExpired(e, now)) {
          dead.add(k);
        }
      });
      dead.forEach(this::expire);
      return (long) dead.size();
    });
  }

  @Override
  public void close() {
    flush();
  }

  // ---- the engine; every method below runs with the lock held ----

  private <T> T locked(Supplier<T> action) {
    lock.lock();
    try {
      return action.get();
    } finally {
      lock.unlock();
    }
  }

  /** The live entry, counted as a use for LRU and LFU; an expired one is removed. */
  private Entry live(Key k) {
    Entry e = byRecency.get(k);
    if (e != null && isExpired(e, clock.millis())) {
      expire(k);
      return null;
    }
    if (e != null && config.policy().lfu()) {
      int now = LfuCounter.minutes(clock.millis());
      int counter = LfuCounter.increment(frequencyOf(k), config.lfuLogFactor(), ThreadLocalRandom.current().nextDouble());
      lfu.put(k, (counter << 16) | now);
    }
    return e;
  }

  /** The key's decayed LFU counter; INIT for a key without one. */
  private int frequencyOf(Key k) {
    Integer packed = lfu.get(k);
    if (packed == null) {
      return LfuCounter.INIT;
    }
    return LfuCounter.decayed(packed >>> 16, packed & 0xFFFF, LfuCounter.minutes(clock.millis()),
        config.lfuDecayMinutes());
  }

  @Override
  public long frequency(byte[] key) {
    StoreConfig.checkKey(key);
    return locked(() -> {
      Key k = new Key(key);
      if (peek(k) == null) {
        return KEY_MISSING;
      }
      return config.policy().lfu() ? (long) frequencyOf(k) : FREQUENCY_NOT_TRACKED;
    });
  }

  @Override
  public long idleSeconds(byte[] key) {
    StoreConfig.checkKey(key);
    return locked(() -> {
      Key k = new Key(key);
      if (peek(k) == null) {
        return KEY_MISSING;
      }
      return config.policy().lfu() ? IDLE_NOT_TRACKED
          : EntryCodec.clockElapsed(lastUse.get(k), EntryCodec.accessClock(clock.millis()));
    });
  }

  @Override
  public long minMaxMemoryBytes() {
    return 1;
  }

  @Override
  public void reconfigure(StoreConfig next) {
    locked(() -> {
      if (next.maxValueBytes() != config.maxValueBytes() || next.clock() != config.clock()) {
        throw new IllegalArgumentException("only the memory bound, the policy and the LFU tuning can change");
      }
      config = next;
      while (bytesUsed > next.maxMemoryBytes() && evictOneExcept(null)) {
        // evicts down to the bound, or until no candidate is left
      }
      return null;
    });
  }

  /** {@link #live} that also counts a hit or a miss. */
  private Entry liveCounted(Key k) {
    Entry e = live(k);
    if (e == null) {
      misses++;
    } else {
      hits++;
      lastUse.put(k, EntryCodec.accessClock(clock.millis()));
    }
    return e;
  }

  /** The live entry without counting a use (Redis' LOOKUP_NOTOUCH); an expired one is removed. */
  private Entry peek(Key k) {
    Entry e = byScanOrder.get(k);
    if (e != null && isExpired(e, clock.millis())) {
      expire(k);
      return null;
    }
    return e;
  }

  private static boolean isExpired(Entry e, long now) {
    return e.expireAtMillis != NO_EXPIRY && e.expireAtMillis <= now;
  }

  private static long expiryOf(Entry e) {
    return e == null ? NO_EXPIRY : e.expireAtMillis;
  }

  /**
   * Stores a new value under a new version, first making room for it. The caller has already
   * removed an expired entry of the same key (by calling live), so an existing entry is live.
   */
  private long write(Key k, byte[] value, long expireAtMillis) {
    return write(k, ValueType.STRING, value, expireAtMillis);
  }

  private long write(Key k, ValueType type, byte[] value, long expireAtMillis) {
    config.checkValue(value);
    long newCost = cost(k, value);
    long max = config.maxMemoryBytes();
    if (newCost > max) {
      throw new StoreException(
          StoreException.Reason.OUT_OF_MEMORY,
          "OOM: an entry of " + newCost + " bytes cannot fit in maxmemory " + max + " bytes");
    }
    Entry old = byRecency.get(k);
    long oldCost = old == null ? 0 : cost(k, old.value);
    while (bytesUsed - oldCost + newCost > max) {
      if (!evictOneExcept(k)) {
        throw outOfMemory(newCost - oldCost);
      }
    }
    return replace(k, type, value.clone(), expireAtMillis);
  }

  /** Puts the entry in both maps and fixes the counters; does not check memory. */
  private long replace(Key k, ValueType type, byte[] value, long expireAtMillis) {
    Entry old = byRecency.get(k);
    if (old != null) {
      forget(k, old);
    }
    Entry e = new Entry(value, ++lastVersion, expireAtMillis, type);
    if (old == null && config.policy().lfu()) {
      lfu.put(k, (LfuCounter.INIT << 16) | LfuCounter.minutes(clock.millis()));
    }
    lastUse.put(k, EntryCodec.accessClock(clock.millis()));
    byRecency.put(k, e);
    byScanOrder.put(k, e);
    bytesUsed += cost(k, value);
    if (expireAtMillis != NO_EXPIRY) {
      entriesWithExpiry++;
    }
    return e.version;
  }

  private void remove(Key k) {
    lfu.remove(k);
    lastUse.remove(k);
    Entry e = byRecency.remove(k);
    if (e != null) {
      byScanOrder.remove(k);
      forget(k, e);
    }
  }

  /** Takes an entry out of the counters (not out of the maps). */
  private void forget(Key k, Entry e) {
    bytesUsed -= cost(k, e.value);
    if (e.expireAtMillis != NO_EXPIRY) {
      entriesWithExpiry--;
    }
  }

  private void expire(Key k) {
    remove(k);
    expired++;
    removed(k, true);
  }

  /** Keyspace notifications of expired and evicted entries; null: none. */
  private volatile RemovalListener removalListener;

  @Override
  public void removalListener(RemovalListener listener) {
    this.removalListener = listener;
  }

  private void removed(Key k, boolean wasExpired) {
    RemovalListener l = removalListener;
    if (l != null) {
      l.removed(k.bytes, wasExpired);
    }
  }

  /** True when the policy lets this entry be evicted (volatile-*: only entries with an expiry). */
  private boolean candidate(Entry e) {
    EvictionPolicy p = config.policy();
    return p.evicts() && (!p.volatileOnly() || e.expireAtMillis != NO_EXPIRY);
  }

  /** Evicts the policy's choice among the candidates other than keep; false when there is none. */
  private boolean evictOneExcept(Key keep) {
    EvictionPolicy p = config.policy();
    // Under an LRU policy the first candidate is the victim: stop there rather than list them all
    // (a flood that evicts on every write would otherwise be quadratic).
    if (!p.evicts()) {
      return false;
    }
    boolean firstWins = !p.random() && !p.lfu() && p != EvictionPolicy.VOLATILE_TTL;
    List<Key> candidates = new ArrayList<>();
    for (Map.Entry<Key, Entry> me : byRecency.entrySet()) { // least recently used first
      if (!me.getKey().equals(keep) && candidate(me.getValue())) {
        candidates.add(me.getKey());
        if (firstWins) {
          break;
        }
      }
    }
    if (candidates.isEmpty()) {
      return false;
    }
    Key victim = candidates.get(0);
    if (p.random()) {
      victim = candidates.get(ThreadLocalRandom.current().nextInt(candidates.size()));
    } else if (p.lfu()) {
      int least = Integer.MAX_VALUE;
      for (Key k : candidates) {
        int f = frequencyOf(k);
        if (f < least) {
          least = f;
          victim = k;
        }
      }
    } else if (p == EvictionPolicy.VOLATILE_TTL) {
      long soonest = Long.MAX_VALUE;
      for (Key k : candidates) {
        long at = byScanOrder.get(k).expireAtMillis; // byRecency.get would count as a use
        if (at < soonest) {
          soonest = at;
          victim = k;
        }
      }
    }
    boolean wasExpired = isExpired(byScanOrder.get(victim), clock.millis());
    remove(victim);
    if (wasExpired) {
      expired++;
    } else {
      evicted++;
    }
    removed(victim, wasExpired);
    return true;
  }

  /**
   * Under noeviction and volatile-*, refuses a batch whose distinct keys would together pass the
   * bound even after every candidate outside the batch is evicted.
   */
  private void checkBatchFits(Map<Key, byte[]> pairs) {
    long growth = 0;
    for (Map.Entry<Key, byte[]> pair : pairs.entrySet()) {
      Key k = pair.getKey();
      long newCost = cost(k, pair.getValue());
      if (newCost > config.maxMemoryBytes()) {
        throw new StoreException(
            StoreException.Reason.OUT_OF_MEMORY,
            "OOM: an entry of " + newCost + " bytes cannot fit in maxmemory " + config.maxMemoryBytes() + " bytes");
      }
      Entry old = live(k);
      growth += newCost - (old == null ? 0 : cost(k, old.value));
    }
    EvictionPolicy p = config.policy();
    if (p.evicts() && !p.volatileOnly()) {
      return; // every other entry may go, and each entry fits alone
    }
    long evictable = 0;
    for (Map.Entry<Key, Entry> me : byScanOrder.entrySet()) {
      if (!pairs.containsKey(me.getKey()) && candidate(me.getValue())) {
        evictable += cost(me.getKey(), me.getValue().value);
      }
    }
    if (bytesUsed + growth - evictable > config.maxMemoryBytes()) {
      throw outOfMemory(growth);
    }
  }

  private StoreException outOfMemory(long growth) {
    return new StoreException(
        StoreException.Reason.OUT_OF_MEMORY,
        "OOM command not allowed when used memory > 'maxmemory' (used " + bytesUsed + " bytes, this write adds "
            + growth + ", maxmemory " + config.maxMemoryBytes() + ")");
  }

  private static long cost(Key k, byte[] value) {
    return (long) k.bytes.length + value.length + ENTRY_OVERHEAD_BYTES;
  }

  // ---- argument checks ----

  private static Key toKey(byte[] key) {
    StoreConfig.checkKey(key);
    return new Key(key.clone());
  }

  /** Checks every key before any is used, so a bad key fails the call before it does anything. */
  private static List<Key> toKeys(List<byte[]> keys) {
    List<Key> out = new ArrayList<>(keys.size());
    for (byte[] key : keys) {
      out.add(toKey(key));
    }
    return out;
  }

  /** Checked pairs, the last value winning for a repeated key (as MSET does). */
  private Map<Key, byte[]> toPairs(List<byte[]> keys, List<byte[]> values) {
    if (keys.size() != values.size()) {
      throw new IllegalArgumentException("keys and values differ in size: " + keys.size() + " vs " + values.size());
    }
    Map<Key, byte[]> pairs = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      Key k = toKey(keys.get(i));
      config.checkValue(values.get(i));
      pairs.put(k, values.get(i));
    }
    return pairs;
  }

  private static void checkExpireAt(long expireAtMillis) {
    if (expireAtMillis < 0) {
      throw new IllegalArgumentException("expireAtMillis cannot be negative: " + expireAtMillis);
    }
  }

  // ---- the two small types ----

  /** One stored value; replaced, never changed. */
  private record Entry(byte[] value, long version, long expireAtMillis, ValueType type) {}

  /** A key with content equality, and the hash that orders SCAN. */
  private static final class Key {
    /** Unsigned scan hash, then the bytes (so that keys sharing a hash still have an order). */
    static final Comparator<Key> SCAN_ORDER = (a, b) -> {
      int byHash = Long.compareUnsigned(a.scanHash, b.scanHash);
      return byHash != 0 ? byHash : Arrays.compareUnsigned(a.bytes, b.bytes);
    };

    final byte[] bytes;
    final int hashCode;
    final long scanHash;

    Key(byte[] bytes) {
      this(bytes, scanHashOf(bytes));
    }

    private Key(byte[] bytes, long scanHash) {
      this.bytes = bytes;
      this.hashCode = Arrays.hashCode(bytes);
      this.scanHash = scanHash;
    }

    /** Sorts at or before every key whose scan hash is at least {@code cursor}. */
    static Key scanStart(long cursor) {
      return new Key(new byte[0], cursor);
    }

    /** FNV-1a, then MurmurHash3's finalizer to spread the bits. */
    private static long scanHashOf(byte[] bytes) {
      long h = 0xcbf29ce484222325L;
      for (byte b : bytes) {
        h ^= b & 0xFF;
        h *= 0x100000001b3L;
      }
      h ^= h >>> 33;
      h *= 0xff51afd7ed558ccdL;
      h ^= h >>> 33;
      h *= 0xc4ceb9fe1a85ec53L;
      h ^= h >>> 33;
      return h;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
      return hashCode;
    }
  }
}
