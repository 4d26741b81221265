package io.distcache.server.tracking;

import io.distcache.protocol.ValueType;
import io.distcache.server.store.CasResult;
import io.distcache.server.store.ExpireCondition;
import io.distcache.server.store.KeyValue;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.SetResult;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.StoreStats;
import io.distcache.server.store.StoredEntry;
import io.distcache.server.store.TypedEntry;
import java.util.Iterator;
import java.util.List;

/*
 * Design: client tracking sees every change of the node's data by sitting in front of the store,
 * the one place every change goes through: client writes on any path (executor, scripts,
 * transactions, collection commands), replicated effects on a replica, a migration's imports, the
 * slot cleaner's deletions, and (through the store's removal listener, which this class always
 * holds and chains) expirations and evictions. Deriving the keys from commands instead, as the
 * keyspace notifier does, would need a row per command and miss the paths that bypass commands.
 *
 * Each write invalidates after the store returned, so after the change is visible (TrackingTable
 * explains why that order is the safe one). With nothing tracked, a write pays one call and two
 * reads (TrackingTable.idle). Reads pass straight through.
 */

/** A {@link Store} that tells a {@link TrackingTable} of every key it changes. */
public final class TrackingStore implements Store {
  private final Store store;
  private final TrackingTable table;
  private volatile RemovalListener next;

  public TrackingStore(Store store, TrackingTable table) {
    this.store = store;
    this.table = table;
    store.removalListener(this::removed);
  }

  private void removed(byte[] key, boolean expired) {
    table.invalidate(key);
    RemovalListener l = next;
    if (l != null) {
      l.removed(key, expired);
    }
  }

  @Override
  public io.distcache.server.store.FieldExpiryIndex fieldExpiryIndex() {
    return store.fieldExpiryIndex();
  }

  // ---- reads ----

  @Override
  public byte[] get(byte[] key) {
    return store.get(key);
  }

  @Override
  public boolean readValue(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    return store.readValue(key, into);
  }

  @Override
  public long replyHeldBytes() {
    return store.replyHeldBytes();
  }

  @Override
  public StoredEntry getEntry(byte[] key) {
    return store.getEntry(key);
  }

  @Override
  public TypedEntry peekEntry(byte[] key) {
    return store.peekEntry(key);
  }

  @Override
  public <T> T peekValue(byte[] key, PeekReader<T> reader) {
    return store.peekValue(key, reader);
  }

  @Override
  public EntryHead peekHead(byte[] key) {
    return store.peekHead(key);
  }

  @Override
  public ReplicatedEdit applyReplicatedEdit(byte[] key, ValueType type, long baseVersion, long version,
      long expireAtMillis, java.util.List<io.distcache.server.store.PackedEdit.Op> ops) {
    // the store's edit in place, not the interface's copy; invalidated when it wrote
    ReplicatedEdit done;
    try {
      done = store.applyReplicatedEdit(key, type, baseVersion, version, expireAtMillis, ops);
    } catch (RuntimeException e) {
      table.invalidate(key); // a refused string edit may have removed the key (OffHeapStore)
      throw e;
    }
    if (done == ReplicatedEdit.APPLIED) {
      table.invalidate(key);
    }
    return done;
  }

  @Override
  public TypedEntry getTyped(byte[] key) {
    return store.getTyped(key);
  }

  @Override
  public <T> T readTyped(byte[] key, ValueType type, TypedReader<T> reader) {
    return store.readTyped(key, type, reader); // the store's in-place view, not the interface's copy
  }

  @Override
  public ValueType typeOf(byte[] key) {
    return store.typeOf(key);
  }

  @Override
  public List<byte[]> getAll(List<byte[]> keys, long maxBytes) {
    return store.getAll(keys, maxBytes);
  }

  @Override
  public boolean exists(byte[] key) {
    return store.exists(key);
  }

  @Override
  public long strlen(byte[] key) {
    return store.strlen(key);
  }

  @Override
  public byte[] getRange(byte[] key, long start, long end) {
    return store.getRange(key, start, end);
  }

  @Override
  public long ttlMillis(byte[] key) {
    return store.ttlMillis(key);
  }

  @Override
  public long expireTimeMillis(byte[] key) {
    return store.expireTimeMillis(key);
  }

  @Override
  public ScanResult scan(long cursor, int count) {
    return store.scan(cursor, count);
  }

  @Override
  public ScanResult scanSlots(long cursor, int count, long[] slots) {
    return store.scanSlots(cursor, count, slots);
  }

  @Override
  public long keysInSlot(int slot) {
    return store.keysInSlot(slot);
  }

  @Override
  public long keysInSlots(long[] slots) {
    return store.keysInSlots(slots);
  }

  @Override
  public Iterator<KeyValue> iterator() {
    return store.iterator();
  }

  @Override
  public byte[] randomKey() {
    return store.randomKey();
  }

  @Override
  public long size() {
    return store.size();
  }

  @Override
  public long sizeWithExpiry() {
    return store.sizeWithExpiry();
  }

  @Override
  public StoreStats stats() {
    return store.stats();
  }

  @Override
  public StoreConfig config() {
    return store.config();
  }

  @Override
  public long frequency(byte[] key) {
    return store.frequency(key); // a read that marks nothing: tracks nothing
  }

  @Override
  public long idleSeconds(byte[] key) {
    return store.idleSeconds(key); // as frequency: marks nothing
  }

  @Override
  public void reconfigure(StoreConfig next) {
    store.reconfigure(next); // the evictions it causes reach the table like any other eviction
  }

  @Override
  public long minMaxMemoryBytes() {
    return store.minMaxMemoryBytes();
  }

  // ---- writes ----

  @Override
  public void putTyped(byte[] key, ValueType type, byte[] payload, long expireAtMillis) {
    try {
      store.putTyped(key, type, payload, expireAtMillis);
    } finally {
      table.invalidate(key);
    }
  }

  @Override
  public <T> io.distcache.server.store.PackedChange<T> editPacked(byte[] key, ValueType type,
      PackedEditor<T> editor) {
    // the store's edit in place, not the interface's copy; invalidated when it wrote (a throw
    // leaves the key as it was)
    io.distcache.server.store.PackedChange<T> change = store.editPacked(key, type, editor);
    if (change.wrote()) {
      table.invalidate(key);
    }
    return change;
  }

  @Override
  public void putTypedWithoutFieldTimes(byte[] key, ValueType type, byte[] payload, long expireAtMillis) {
    try {
      store.putTypedWithoutFieldTimes(key, type, payload, expireAtMillis);
    } finally {
      table.invalidate(key);
    }
  }

  @Override
  public SetResult set(byte[] key, byte[] value, SetArgs args) {
    SetResult r = store.set(key, value, args);
    if (r.written()) {
      table.invalidate(key);
    }
    return r;
  }

  @Override
  public SetResult set(byte[] key, io.distcache.protocol.BufferedValue value, SetArgs args) {
    SetResult r = store.set(key, value, args);
    if (r.written()) {
      table.invalidate(key);
    }
    return r;
  }

  @Override
  public SetResult setLendingPrevious(byte[] key, byte[] value, io.distcache.protocol.BufferedValue buffered,
      SetArgs args, java.util.function.Consumer<java.nio.ByteBuffer> previousInto) {
    SetResult r = store.setLendingPrevious(key, value, buffered, args, previousInto);
    if (r.written()) {
      table.invalidate(key);
    }
    return r;
  }

  @Override
  public void setAll(List<byte[]> keys, List<byte[]> values, long expireAtMillis) {
    try {
      store.setAll(keys, values, expireAtMillis);
    } finally {
      invalidate(keys);
    }
  }

  @Override
  public boolean setAllIfAbsent(List<byte[]> keys, List<byte[]> values) {
    boolean written = store.setAllIfAbsent(keys, values);
    if (written) {
      invalidate(keys);
    }
    return written;
  }

  @Override
  public void setAllBuffered(List<byte[]> keys, List<io.distcache.protocol.BufferedValue> values, long expireAtMillis) {
    try {
      store.setAllBuffered(keys, values, expireAtMillis);
    } finally {
      invalidate(keys);
    }
  }

  @Override
  public boolean setAllIfAbsentBuffered(List<byte[]> keys, List<io.distcache.protocol.BufferedValue> values) {
    boolean written = store.setAllIfAbsentBuffered(keys, values);
    if (written) {
      invalidate(keys);
    }
    return written;
  }

  @Override
  public boolean delete(byte[] key) {
    boolean deleted = store.delete(key);
    if (deleted) {
      table.invalidate(key);
    }
    return deleted;
  }

  @Override
  public byte[] getAndDelete(byte[] key) {
    byte[] v = store.getAndDelete(key);
    if (v != null) {
      table.invalidate(key);
    }
    return v;
  }

  @Override
  public CasResult compareAndSet(byte[] key, long expectedVersion, byte[] value, long expireAtMillis) {
    try {
      return store.compareAndSet(key, expectedVersion, value, expireAtMillis);
    } finally {
      table.invalidate(key);
    }
  }

  @Override
  public long incrementBy(byte[] key, long delta) {
    long v = store.incrementBy(key, delta);
    table.invalidate(key);
    return v;
  }

  @Override
  public byte[] incrementByFloat(byte[] key, double delta) {
    byte[] v = store.incrementByFloat(key, delta);
    table.invalidate(key);
    return v;
  }

  @Override
  public long append(byte[] key, byte[] suffix) {
    long n = store.append(key, suffix);
    table.invalidate(key);
    return n;
  }

  @Override
  public long append(byte[] key, io.distcache.protocol.BufferedValue suffix) {
    long n = store.append(key, suffix);
    table.invalidate(key);
    return n;
  }

  @Override
  public boolean getAndDelete(byte[] key, java.util.function.Consumer<java.nio.ByteBuffer> into) {
    boolean found = store.getAndDelete(key, into);
    if (found) {
      table.invalidate(key);
    }
    return found;
  }

  @Override
  public long setRange(byte[] key, long offset, byte[] value) {
    long n = store.setRange(key, offset, value);
    table.invalidate(key);
    return n;
  }

  @Override
  public boolean expireAt(byte[] key, long expireAtMillis, ExpireCondition condition) {
    boolean changed = store.expireAt(key, expireAtMillis, condition);
    if (changed) {
      table.invalidate(key);
    }
    return changed;
  }

  @Override
  public boolean persist(byte[] key) {
    boolean changed = store.persist(key);
    if (changed) {
      table.invalidate(key);
    }
    return changed;
  }

  @Override
  public void applyReplicated(byte[] key, ValueType type, byte[] value, long expireAtMillis, long version) {
    try {
      store.applyReplicated(key, type, value, expireAtMillis, version);
    } finally {
      table.invalidate(key);
    }
  }

  @Override
  public void applyReplicated(byte[] key, io.distcache.protocol.BufferedValue value, long expireAtMillis,
      long version) {
    try {
      store.applyReplicated(key, value, expireAtMillis, version);
    } finally {
      table.invalidate(key);
    }
  }

  @Override
  public <T> T peekEntry(byte[] key, EntryReader<T> reader) {
    return store.peekEntry(key, reader);
  }

  @Override
  public void flush() {
    try {
      store.flush();
    } finally {
      table.invalidateAll();
    }
  }

  private void invalidate(List<byte[]> keys) {
    if (table.idle()) {
      return;
    }
    for (byte[] k : keys) {
      table.invalidate(k);
    }
  }

  // ---- the rest ----

  @Override
  public void removalListener(RemovalListener listener) {
    this.next = listener;
  }

  @Override
  public void close() {
    store.close();
  }
}
