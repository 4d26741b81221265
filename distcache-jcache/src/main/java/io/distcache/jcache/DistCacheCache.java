package io.distcache.jcache;

import io.distcache.client.AtomicBatch;
import io.distcache.client.CacheEntry;
import io.distcache.client.DistCacheClient;
import io.distcache.client.ScanResult;
import io.distcache.client.SetOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.Factory;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.expiry.Duration;
import javax.cache.expiry.EternalExpiryPolicy;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.integration.CompletionListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.processor.EntryProcessor;
import javax.cache.processor.EntryProcessorException;
import javax.cache.processor.EntryProcessorResult;
import javax.management.ObjectName;

/*
 * Design: a JCache Cache over the distcache client. Every entry is one distcache key (the cache's
 * prefix, KeyNamespace, then the Java-serialized key) holding the serialized value, with the
 * node's own TTL as the JCache expiry: the node removes an expired entry, so a read never sees a
 * value past its expiry whatever the client's clock says.
 *
 * Atomicity comes from the node's versions. Each entry has a version that changes on every write;
 * an operation that depends on what it read (an update must keep or reset the TTL the policy
 * says, replace(k, old, new), remove(k, v), invoke) reads the entry with its version and writes
 * with "if absent" or "if the version is still v" (a one-key TRANSACTION), and starts again when
 * another writer got there first. So two JVMs' replace(k, a, b) and replace(k, a, c) never both
 * succeed, and an update never loses the creation/update distinction its expiry and its event
 * depend on. An operation that is retried asks the expiry policy and the cache writer again, and
 * an entry processor runs again: they see the newer value, as if the operation had come later.
 *
 * Events, statistics and listeners are this JVM's: a listener hears of the changes made through
 * this cache manager's caches, and synchronous listeners run on the calling thread once the node
 * has applied the change. Changes made by other clients of the cluster, and expiry done by the
 * node, raise no event here (the binary protocol has no change notification); an EXPIRED event is
 * raised when this cache itself ends an entry because the policy gave it a zero duration on an
 * access or an update.
 */

/**
 * A JCache cache whose entries live in distcache. Obtain it from a {@link DistCacheCacheManager};
 * {@link #unwrap(Class)} gives the {@link DistCacheClient} it uses.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public final class DistCacheCache<K, V> implements Cache<K, V> {
  /** Keys visited per SCAN step by the whole-cache operations. */
  static final int SCAN_COUNT = 256;
  /** How many times an operation restarts after losing a race for one entry before giving up. */
  static final int MAX_ATTEMPTS = 1_000;

  private final String name;
  private final DistCacheCacheManager manager;
  private final DistCacheClient client;
  private final Remote remote;
  private final MutableConfiguration<K, V> configuration;
  private final KeyNamespace namespace;
  private final JavaSerializationCodec codec;
  private final Expiries expiries;
  private final CacheLoader<K, V> loader;
  private final CacheWriter<K, V> writer;
  private final CopyOnWriteArrayList<ListenerRegistration<K, V>> listeners = new CopyOnWriteArrayList<>();
  private final CacheStatistics statistics = new CacheStatistics();
  private final CacheConfigurationBean configurationBean = new CacheConfigurationBean(this);
  private final ExecutorService loadExecutor;
  /** The policy is EternalExpiryPolicy itself: no write sets a TTL, no update changes one. */
  private final boolean eternal;
  private volatile boolean closed;

  DistCacheCache(String name, DistCacheCacheManager manager, DistCacheClient client,
      MutableConfiguration<K, V> configuration, ExecutorService loadExecutor) {
    this.name = name;
    this.manager = manager;
    this.client = client;
    this.remote = new Remote(client, name);
    this.configuration = configuration;
    this.namespace = new KeyNamespace(name);
    this.codec = new JavaSerializationCodec(manager.getClassLoader());
    this.loadExecutor = loadExecutor;
    Factory<ExpiryPolicy> ef = configuration.getExpiryPolicyFactory();
    this.expiries = new Expiries(ef == null ? new EternalExpiryPolicy() : ef.create());
    this.eternal = expiries.policy().getClass() == EternalExpiryPolicy.class;
    Factory<CacheLoader<K, V>> lf = configuration.getCacheLoaderFactory();
    this.loader = lf == null ? null : lf.create();
    Factory<CacheWriter<? super K, ? super V>> wf = configuration.getCacheWriterFactory();
    this.writer = wf == null || !configuration.isWriteThrough() ? null : writerOf(wf);
    for (CacheEntryListenerConfiguration<K, V> l : configuration.getCacheEntryListenerConfigurations()) {
      listeners.add(new ListenerRegistration<>(l, name));
    }
    statistics.enabled(configuration.isStatisticsEnabled());
    if (configuration.isStatisticsEnabled()) {
      JmxRegistry.register(statistics, objectName(JmxRegistry.Kind.CacheStatistics));
    }
    if (configuration.isManagementEnabled()) {
      JmxRegistry.register(configurationBean, objectName(JmxRegistry.Kind.CacheConfiguration));
    }
  }

  /** The writer the factory makes, seen as a writer of this cache's types (it accepts supertypes of them). */
  @SuppressWarnings("unchecked")
  private static <K, V> CacheWriter<K, V> writerOf(Factory<CacheWriter<? super K, ? super V>> factory) {
    return (CacheWriter<K, V>) factory.create();
  }

  // ---- reads ----

  @Override
  public V get(K key) {
    checkOpen();
    requireKey(key);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    byte[] k = key(key);
    CacheEntry e = remote.getEntry(k);
    V value;
    if (e != null) {
      value = decode(e.value());
      statistics.hits(1);
      accessed(k, key, value, e.version(), e.expireAtMillis(), events);
    } else {
      statistics.misses(1);
      value = readThrough() ? loadAndStore(key, k, events) : null;
    }
    statistics.getTime(start);
    dispatch(events);
    return value;
  }

  @Override
  public Map<K, V> getAll(Set<? extends K> keys) {
    checkOpen();
    requireKeys(keys);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    List<K> order = new ArrayList<>(keys);
    List<byte[]> ks = new ArrayList<>(order.size());
    for (K key : order) {
      ks.add(key(key));
    }
    List<byte[]> values = ks.isEmpty() ? List.of() : remote.getAll(ks);
    Map<K, V> result = new LinkedHashMap<>();
    List<K> missing = new ArrayList<>();
    for (int i = 0; i < order.size(); i++) {
      byte[] v = values.get(i);
      if (v != null) {
        V value = decode(v);
        result.put(order.get(i), value);
        accessed(ks.get(i), order.get(i), value, 0, 0, events);
      } else {
        missing.add(order.get(i));
      }
    }
    statistics.hits(result.size());
    statistics.misses(missing.size());
    if (readThrough() && !missing.isEmpty()) {
      Map<K, V> loaded = loadAll(missing);
      for (Map.Entry<K, V> l : loaded.entrySet()) {
        if (l.getKey() != null && l.getValue() != null) {
          storeLoaded(l.getKey(), key(l.getKey()), l.getValue(), false, events);
          result.put(l.getKey(), l.getValue());
        }
      }
    }
    statistics.getTime(start);
    dispatch(events);
    return result;
  }

  @Override
  public boolean containsKey(K key) {
    checkOpen();
    requireKey(key);
    return remote.exists(key(key));
  }

  @Override
  public void loadAll(Set<? extends K> keys, boolean replaceExistingValues, CompletionListener completionListener) {
    checkOpen();
    requireKeys(keys);
    if (loader == null) {
      if (completionListener != null) {
        completionListener.onCompletion();
      }
      return;
    }
    List<K> todo = new ArrayList<>(keys);
    loadExecutor.execute(() -> {
      try {
        List<EntryEvent<K, V>> events = newEvents();
        List<K> wanted = new ArrayList<>();
        for (K key : todo) {
          if (replaceExistingValues || !remote.exists(key(key))) {
            wanted.add(key);
          }
        }
        if (!wanted.isEmpty()) {
          Map<K, V> loaded = loadAll(wanted);
          for (Map.Entry<K, V> l : loaded.entrySet()) {
            if (l.getKey() != null && l.getValue() != null) {
              storeLoaded(l.getKey(), key(l.getKey()), l.getValue(), replaceExistingValues, events);
            }
          }
        }
        dispatch(events);
        if (completionListener != null) {
          completionListener.onCompletion();
        }
      } catch (Exception e) {
        if (completionListener != null) {
          completionListener.onException(e);
        }
      }
    });
  }

  // ---- writes ----

  @Override
  public void put(K key, V value) {
    checkOpen();
    requireEntry(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    write(key, value);
    if (blindWrites()) {
      remote.set(key(key), encode(value), KEEP_TTL);
      statistics.puts(1);
      statistics.putTime(start);
    } else if (put(key, key(key), value, events).stored()) {
      statistics.puts(1);
      statistics.putTime(start);
    }
    dispatch(events);
  }

  @Override
  public V getAndPut(K key, V value) {
    checkOpen();
    requireEntry(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    write(key, value);
    Previous<V> old = put(key, key(key), value, events);
    if (old.present()) {
      statistics.hits(1);
    } else {
      statistics.misses(1);
    }
    if (old.stored()) {
      statistics.puts(1);
      statistics.putTime(start);
    }
    statistics.getTime(start);
    dispatch(events);
    return old.value();
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    checkOpen();
    Objects.requireNonNull(map, "map");
    for (Map.Entry<? extends K, ? extends V> e : map.entrySet()) {
      requireEntry(e.getKey(), e.getValue());
    }
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    Map<K, V> toStore = new LinkedHashMap<>(map);
    CacheWriterException failure = null;
    if (writer != null && !toStore.isEmpty()) {
      List<Cache.Entry<? extends K, ? extends V>> entries = new ArrayList<>();
      for (Map.Entry<K, V> e : toStore.entrySet()) {
        entries.add(new CacheEntryView<>(e.getKey(), e.getValue()));
      }
      try {
        writer.writeAll(entries);
      } catch (RuntimeException e) {
        failure = e instanceof CacheWriterException w ? w : new CacheWriterException(e);
        // What the writer left in the collection it did not write: those stay out of the cache.
        for (Cache.Entry<? extends K, ? extends V> notWritten : entries) {
          toStore.remove(notWritten.getKey());
        }
      }
    }
    long stored = 0;
    if (blindWrites()) {
      List<byte[]> keys = new ArrayList<>(toStore.size());
      List<byte[]> values = new ArrayList<>(toStore.size());
      for (Map.Entry<K, V> e : toStore.entrySet()) {
        keys.add(key(e.getKey()));
        values.add(encode(e.getValue()));
      }
      remote.setAll(keys, values, KEEP_TTL);
      stored = keys.size();
    } else {
      for (Map.Entry<K, V> e : toStore.entrySet()) {
        if (put(e.getKey(), key(e.getKey()), e.getValue(), events).stored()) {
          stored++;
        }
      }
    }
    statistics.puts(stored);
    if (stored > 0) {
      statistics.putTime(start);
    }
    dispatch(events);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public boolean putIfAbsent(K key, V value) {
    checkOpen();
    requireEntry(key, value);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    byte[] k = key(key);
    boolean stored;
    // A creation the policy ends at once (zero duration) succeeds but stores nothing: no put counted.
    boolean expiredAtOnce = false;
    if (remote.exists(k)) {
      stored = false;
    } else {
      write(key, value);
      Duration d = expiries.forCreation();
      if (d.isZero()) {
        stored = !remote.exists(k);
        expiredAtOnce = true;
      } else {
        stored = remote.set(k, encode(value), Expiries.options(d).ifAbsent());
        if (stored) {
          created(events, key, value);
        }
      }
    }
    if (stored) {
      statistics.misses(1);
      if (!expiredAtOnce) {
        statistics.puts(1);
        statistics.putTime(start);
      }
    } else {
      statistics.hits(1);
    }
    dispatch(events);
    return stored;
  }

  @Override
  public boolean remove(K key) {
    checkOpen();
    requireKey(key);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    delete(key);
    byte[] old = remote.getAndDelete(key(key));
    if (old != null) {
      removed(events, key, old);
      statistics.removals(1);
      statistics.removeTime(start);
    }
    dispatch(events);
    return old != null;
  }

  @Override
  public boolean remove(K key, V oldValue) {
    checkOpen();
    requireEntry(key, oldValue);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    byte[] k = key(key);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      CacheEntry e = remote.getEntry(k);
      if (e == null) {
        statistics.misses(1);
        return false;
      }
      V current = decode(e.value());
      if (!current.equals(oldValue)) {
        statistics.hits(1);
        accessed(k, key, current, e.version(), e.expireAtMillis(), events);
        dispatch(events);
        return false;
      }
      delete(key);
      if (remote.deleteIfVersion(k, e.version())) {
        statistics.hits(1);
        statistics.removals(1);
        statistics.removeTime(start);
        removed(events, key, current);
        dispatch(events);
        return true;
      }
    }
    throw contention(key);
  }

  @Override
  public V getAndRemove(K key) {
    checkOpen();
    requireKey(key);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    delete(key);
    byte[] old = remote.getAndDelete(key(key));
    V value = null;
    if (old != null) {
      value = decode(old);
      statistics.hits(1);
      statistics.removals(1);
      statistics.removeTime(start);
      removed(events, key, value);
    } else {
      statistics.misses(1);
    }
    statistics.getTime(start);
    dispatch(events);
    return value;
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    checkOpen();
    requireEntry(key, oldValue);
    Objects.requireNonNull(newValue, "newValue");
    requireValueType(newValue);
    return replace(key, oldValue, newValue, true) != null;
  }

  @Override
  public boolean replace(K key, V value) {
    checkOpen();
    requireEntry(key, value);
    return replace(key, null, value, false) != null;
  }

  @Override
  public V getAndReplace(K key, V value) {
    checkOpen();
    requireEntry(key, value);
    long start = System.nanoTime();
    Previous<V> old = replace(key, null, value, false);
    statistics.getTime(start);
    return old == null ? null : old.value();
  }

  /**
   * Replaces the value of a present entry (whose value equals {@code expected} when {@code
   * conditional}). Null when nothing was replaced, else the value replaced.
   */
  private Previous<V> replace(K key, V expected, V value, boolean conditional) {
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    byte[] k = key(key);
    byte[] v = encode(value);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      CacheEntry e = remote.getEntry(k);
      if (e == null) {
        statistics.misses(1);
        return null;
      }
      V current = decode(e.value());
      if (conditional && !current.equals(expected)) {
        statistics.hits(1);
        accessed(k, key, current, e.version(), e.expireAtMillis(), events);
        dispatch(events);
        return null;
      }
      write(key, value);
      if (update(k, key, v, value, e.version(), current, events)) {
        statistics.hits(1);
        statistics.puts(1);
        statistics.putTime(start);
        dispatch(events);
        return new Previous<>(true, current);
      }
    }
    throw contention(key);
  }

  @Override
  public void removeAll(Set<? extends K> keys) {
    checkOpen();
    requireKeys(keys);
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    Set<K> toRemove = new LinkedHashSet<>(keys);
    CacheWriterException failure = null;
    if (writer != null && !toRemove.isEmpty()) {
      List<Object> remaining = new ArrayList<>(toRemove);
      try {
        writer.deleteAll(remaining);
      } catch (RuntimeException e) {
        failure = e instanceof CacheWriterException w ? w : new CacheWriterException(e);
        toRemove.removeAll(remaining);
      }
    }
    long removed = 0;
    for (K key : toRemove) {
      byte[] old = remote.getAndDelete(key(key));
      if (old != null) {
        removed++;
        removed(events, key, old);
      }
    }
    statistics.removals(removed);
    if (removed > 0) {
      statistics.removeTime(start);
    }
    dispatch(events);
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void removeAll() {
    checkOpen();
    Set<K> keys = new LinkedHashSet<>();
    scanKeys(batch -> {
      for (byte[] k : batch) {
        keys.add(decodeKey(k));
      }
    });
    removeAll(keys);
  }

  @Override
  public void clear() {
    checkOpen();
    clearEntries();
  }

  /** Deletes every entry of this cache, telling no listener, writer or statistic. */
  void clearEntries() {
    clearEntries(remote, namespace);
  }

  /** Deletes every key of a cache's namespace, a SCAN step at a time. */
  static void clearEntries(Remote remote, KeyNamespace namespace) {
    scanKeys(remote, namespace, remote::deleteAll);
  }

  // ---- invoke ----

  @Override
  public <T> T invoke(K key, EntryProcessor<K, V, T> entryProcessor, Object... arguments) {
    checkOpen();
    requireKey(key);
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    return invokeOne(key, entryProcessor, arguments);
  }

  private <T> T invokeOne(K key, EntryProcessor<K, V, T> processor, Object... arguments) {
    long start = System.nanoTime();
    byte[] k = key(key);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      List<EntryEvent<K, V>> events = newEvents();
      CacheEntry e = remote.getEntry(k);
      V original = e == null ? null : decode(e.value());
      ProcessorEntry<K, V> entry = new ProcessorEntry<>(key, original, readThrough() ? this::load : null);
      T result;
      try {
        result = processor.process(entry, arguments);
      } catch (EntryProcessorException ex) {
        throw ex;
      } catch (Exception ex) {
        throw new EntryProcessorException(ex);
      }
      boolean applied;
      try {
        applied = apply(k, key, e, entry, events);
      } catch (CacheWriterException | CacheLoaderException ex) {
        throw new EntryProcessorException(ex);
      }
      if (!applied) {
        continue;
      }
      if (e != null) {
        statistics.hits(1);
      } else {
        statistics.misses(1);
      }
      statistics.getTime(start);
      dispatch(events);
      return result;
    }
    throw contention(key);
  }

  /** Applies what an entry processor did; false when another writer changed the entry first. */
  private boolean apply(byte[] k, K key, CacheEntry seen, ProcessorEntry<K, V> entry, List<EntryEvent<K, V>> events) {
    long start = System.nanoTime();
    switch (entry.operation()) {
      case NONE -> {
        return true;
      }
      case ACCESS -> {
        accessed(k, key, entry.value(), seen.version(), seen.expireAtMillis(), events);
        return true;
      }
      case LOAD, CREATE -> {
        // Only a missing entry can be created or loaded (setValue on a present one is an update).
        if (entry.operation() == ProcessorEntry.Operation.CREATE) {
          write(key, entry.value());
        }
        Duration d = expiries.forCreation();
        if (d.isZero()) {
          return !remote.exists(k);
        }
        if (!remote.set(k, encode(entry.value()), Expiries.options(d).ifAbsent())) {
          return false;
        }
        created(events, key, entry.value());
        statistics.puts(1);
        statistics.putTime(start);
        return true;
      }
      case UPDATE -> {
        write(key, entry.value());
        boolean done = update(k, key, encode(entry.value()), entry.value(), seen.version(), entry.original(), events);
        if (done) {
          statistics.puts(1);
          statistics.putTime(start);
        }
        return done;
      }
      case REMOVE -> {
        delete(key);
        if (seen == null) {
          return true;
        }
        boolean done = remote.deleteIfVersion(k, seen.version());
        if (done) {
          statistics.removals(1);
          statistics.removeTime(start);
          removed(events, key, entry.original());
        }
        return done;
      }
      default -> throw new IllegalStateException("unknown entry processor operation " + entry.operation());
    }
  }

  @Override
  public <T> Map<K, EntryProcessorResult<T>> invokeAll(Set<? extends K> keys, EntryProcessor<K, V, T> entryProcessor,
      Object... arguments) {
    checkOpen();
    requireKeys(keys);
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    Map<K, EntryProcessorResult<T>> results = new HashMap<>();
    for (K key : keys) {
      try {
        T r = invokeOne(key, entryProcessor, arguments);
        if (r != null) {
          results.put(key, () -> r);
        }
      } catch (EntryProcessorException e) {
        results.put(key, () -> {
          throw e;
        });
      } catch (CacheException e) {
        EntryProcessorException wrapped = new EntryProcessorException(e);
        results.put(key, () -> {
          throw wrapped;
        });
      }
    }
    return results;
  }

  // ---- iteration ----

  @Override
  public Iterator<Cache.Entry<K, V>> iterator() {
    checkOpen();
    return new EntryIterator<>(this);
  }

  /** One entry the iterator returns: a hit, and an access for the expiry policy. */
  void iterated(K key, V value) {
    long start = System.nanoTime();
    statistics.hits(1);
    List<EntryEvent<K, V>> events = newEvents();
    accessed(key(key), key, value, 0, 0, events);
    statistics.getTime(start);
    dispatch(events);
  }

  /** The iterator's remove(): as remove(key), through the writer, with its event. */
  void removeIterated(K key) {
    checkOpen();
    long start = System.nanoTime();
    List<EntryEvent<K, V>> events = newEvents();
    delete(key);
    byte[] old = remote.getAndDelete(key(key));
    if (old != null) {
      statistics.removals(1);
      statistics.removeTime(start);
      removed(events, key, old);
    }
    dispatch(events);
  }

  Remote remote() {
    return remote;
  }

  KeyNamespace namespace() {
    return namespace;
  }

  private void scanKeys(java.util.function.Consumer<List<byte[]>> each) {
    scanKeys(remote, namespace, each);
  }

  private static void scanKeys(Remote remote, KeyNamespace namespace, java.util.function.Consumer<List<byte[]>> each) {
    long cursor = 0;
    do {
      ScanResult step = remote.scan(cursor, SCAN_COUNT, namespace.pattern());
      if (!step.keys().isEmpty()) {
        each.accept(step.keys());
      }
      cursor = step.nextCursor();
    } while (cursor != 0);
  }

  // ---- listeners ----

  @Override
  public void registerCacheEntryListener(CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    checkOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    synchronized (configuration) {
      for (ListenerRegistration<K, V> r : listeners) {
        if (r.configuration.equals(listenerConfiguration)) {
          throw new IllegalArgumentException("listener configuration already registered: " + listenerConfiguration);
        }
      }
      configuration.addCacheEntryListenerConfiguration(listenerConfiguration);
      listeners.add(new ListenerRegistration<>(listenerConfiguration, name));
    }
  }

  @Override
  public void deregisterCacheEntryListener(CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    checkOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    synchronized (configuration) {
      for (ListenerRegistration<K, V> r : listeners) {
        if (r.configuration.equals(listenerConfiguration)) {
          listeners.remove(r);
          configuration.removeCacheEntryListenerConfiguration(listenerConfiguration);
          r.close();
          return;
        }
      }
    }
  }

  // ---- the cache itself ----

  @Override
  public String getName() {
    return name;
  }

  @Override
  public CacheManager getCacheManager() {
    return manager;
  }

  @Override
  public <C extends Configuration<K, V>> C getConfiguration(Class<C> clazz) {
    if (clazz.isInstance(configuration)) {
      return clazz.cast(new MutableConfiguration<>(configuration));
    }
    throw new IllegalArgumentException("the configuration of cache " + name + " is not a " + clazz.getName());
  }

  CompleteConfiguration<K, V> configuration() {
    return configuration;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    manager.release(this);
    JmxRegistry.unregister(objectName(JmxRegistry.Kind.CacheStatistics));
    JmxRegistry.unregister(objectName(JmxRegistry.Kind.CacheConfiguration));
    for (ListenerRegistration<K, V> r : listeners) {
      r.close();
    }
    closeQuietly(loader);
    closeQuietly(writer);
    closeQuietly(expiries.policy());
  }

  @Override
  public boolean isClosed() {
    return closed || manager.isClosed();
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    if (clazz.isInstance(client)) {
      return clazz.cast(client);
    }
    throw new IllegalArgumentException("cannot unwrap cache " + name + " to " + clazz.getName());
  }

  void enableStatistics(boolean on) {
    configuration.setStatisticsEnabled(on);
    statistics.enabled(on);
    if (on) {
      JmxRegistry.register(statistics, objectName(JmxRegistry.Kind.CacheStatistics));
    } else {
      JmxRegistry.unregister(objectName(JmxRegistry.Kind.CacheStatistics));
    }
  }

  void enableManagement(boolean on) {
    configuration.setManagementEnabled(on);
    if (on) {
      JmxRegistry.register(configurationBean, objectName(JmxRegistry.Kind.CacheConfiguration));
    } else {
      JmxRegistry.unregister(objectName(JmxRegistry.Kind.CacheConfiguration));
    }
  }

  private ObjectName objectName(JmxRegistry.Kind kind) {
    return JmxRegistry.name(kind, manager.getURI().toString(), name);
  }

  // ---- the steps operations share ----

  /**
   * The previous value of an entry an operation wrote; {@code stored} false when the write was
   * a creation the expiry policy ended at once (a zero duration), which stores nothing.
   */
  private record Previous<V>(boolean present, V value, boolean stored) {
    Previous(boolean present, V value) {
      this(present, value, true);
    }
  }

  /** SET ... KEEPTTL: a creation gets no TTL, an update keeps the one the entry has. */
  private static final SetOptions KEEP_TTL = SetOptions.none().keepTtl();

  /**
   * Whether a put may write without reading first: with the eternal policy a creation is eternal
   * and an update keeps the entry's TTL, which is what SET KEEPTTL does either way, so only a
   * listener (which must hear "created" or "updated", and the old value) needs the read.
   */
  private boolean blindWrites() {
    return eternal && listeners.isEmpty();
  }

  /**
   * Stores {@code value} as a creation or an update, whichever the entry's state makes it, with
   * the expiry the policy gives that kind of write.
   */
  private Previous<V> put(K key, byte[] k, V value, List<EntryEvent<K, V>> events) {
    byte[] v = encode(value);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      CacheEntry e = remote.getEntry(k);
      if (e == null) {
        Duration d = expiries.forCreation();
        if (d.isZero()) {
          // Created already expired: nothing is stored, and nothing was there.
          if (!remote.exists(k)) {
            return new Previous<>(false, null, false);
          }
          continue;
        }
        if (remote.set(k, v, Expiries.options(d).ifAbsent())) {
          created(events, key, value);
          return new Previous<>(false, null);
        }
      } else {
        V old = decode(e.value());
        if (update(k, key, v, value, e.version(), old, events)) {
          return new Previous<>(true, old);
        }
      }
    }
    throw contention(key);
  }

  /** Writes the new value of a present entry if it still has {@code version}; false when it changed. */
  private boolean update(byte[] k, K key, byte[] v, V value, long version, V old, List<EntryEvent<K, V>> events) {
    Duration d = expiries.forUpdate();
    AtomicBatch batch = remote.ifVersion(k, version);
    if (d == null) {
      batch.set(k, v, KEEP_TTL);
    } else if (d.isZero()) {
      batch.delete(k);
    } else {
      batch.set(k, v, Expiries.options(d));
    }
    if (!remote.execute(batch)) {
      return false;
    }
    if (d != null && d.isZero()) {
      expired(events, key, old);
    } else {
      updated(events, key, value, old);
    }
    return true;
  }

  /**
   * Applies the access expiry to an entry just read: a new TTL, none, or its end now. {@code
   * version} 0 when unknown (the end then applies to whatever value the key holds).
   */
  private void accessed(byte[] k, K key, V value, long version, long expireAtMillis, List<EntryEvent<K, V>> events) {
    Duration d = expiries.forAccess();
    if (d == null) {
      return;
    }
    if (d.isZero()) {
      boolean gone = version > 0
          ? remote.deleteIfVersion(k, version)
          : remote.delete(k);
      if (gone) {
        expired(events, key, value);
      }
    } else {
      java.time.Duration ttl = Expiries.ttl(d);
      if (ttl != null) {
        remote.expire(k, ttl);
      } else if (expireAtMillis != DistCacheClient.NO_EXPIRY) {
        remote.persist(k);
      }
    }
  }

  /** Reads a missing entry through the loader and stores it as a creation; the loaded value, or null. */
  private V loadAndStore(K key, byte[] k, List<EntryEvent<K, V>> events) {
    V loaded = load(key);
    if (loaded != null) {
      storeLoaded(key, k, loaded, false, events);
    }
    return loaded;
  }

  private void storeLoaded(K key, byte[] k, V value, boolean replace, List<EntryEvent<K, V>> events) {
    if (replace) {
      put(key, k, value, events);
      return;
    }
    Duration d = expiries.forCreation();
    if (d.isZero()) {
      return;
    }
    if (remote.set(k, encode(value), Expiries.options(d).ifAbsent())) {
      created(events, key, value);
    }
  }

  private V load(K key) {
    try {
      return loader.load(key);
    } catch (CacheLoaderException e) {
      throw e;
    } catch (Exception e) {
      throw new CacheLoaderException("cache loader failed for key " + key + " of cache " + name, e);
    }
  }

  private Map<K, V> loadAll(List<K> keys) {
    try {
      Map<K, V> loaded = loader.loadAll(keys);
      return loaded == null ? Map.of() : loaded;
    } catch (CacheLoaderException e) {
      throw e;
    } catch (Exception e) {
      throw new CacheLoaderException("cache loader failed for " + keys.size() + " keys of cache " + name, e);
    }
  }

  private boolean readThrough() {
    return loader != null && configuration.isReadThrough();
  }

  private void write(K key, V value) {
    if (writer == null) {
      return;
    }
    try {
      writer.write(new CacheEntryView<>(key, value));
    } catch (CacheWriterException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CacheWriterException("cache writer failed for key " + key + " of cache " + name, e);
    }
  }

  private void delete(K key) {
    if (writer == null) {
      return;
    }
    try {
      writer.delete(key);
    } catch (CacheWriterException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CacheWriterException("cache writer failed to delete key " + key + " of cache " + name, e);
    }
  }

  private List<EntryEvent<K, V>> newEvents() {
    return listeners.isEmpty() ? null : new ArrayList<>(2);
  }

  private void created(List<EntryEvent<K, V>> events, K key, V value) {
    if (events != null) {
      events.add(EntryEvent.created(this, key, value));
    }
  }

  private void updated(List<EntryEvent<K, V>> events, K key, V value, V old) {
    if (events != null) {
      events.add(EntryEvent.updated(this, key, value, old));
    }
  }

  private void removed(List<EntryEvent<K, V>> events, K key, V old) {
    if (events != null) {
      events.add(EntryEvent.removed(this, key, old));
    }
  }

  private void removed(List<EntryEvent<K, V>> events, K key, byte[] old) {
    if (events != null) {
      events.add(EntryEvent.removed(this, key, decode(old)));
    }
  }

  private void expired(List<EntryEvent<K, V>> events, K key, V old) {
    if (events != null) {
      events.add(EntryEvent.expired(this, key, old));
    }
  }

  /** Hands an operation's events to the listeners; a synchronous listener's failure reaches the caller. */
  private void dispatch(List<EntryEvent<K, V>> events) {
    if (events == null || events.isEmpty()) {
      return;
    }
    CacheEntryListenerException failure = null;
    for (ListenerRegistration<K, V> r : listeners) {
      try {
        r.deliver(events);
      } catch (CacheEntryListenerException e) {
        if (failure == null) {
          failure = e;
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  private byte[] key(K key) {
    return namespace.key(codec.encode(key));
  }

  @SuppressWarnings("unchecked")
  K decodeKey(byte[] k) {
    byte[] serialized = namespace.serializedKey(k);
    if (serialized == null) {
      throw new CacheException("key outside cache " + name + ": " + Arrays.toString(Arrays.copyOf(k, Math.min(k.length, 32))));
    }
    return (K) codec.decode(serialized);
  }

  private byte[] encode(V value) {
    return codec.encode(value);
  }

  @SuppressWarnings("unchecked")
  V decode(byte[] v) {
    return (V) codec.decode(v);
  }

  private void checkOpen() {
    if (isClosed()) {
      throw new IllegalStateException("cache " + name + " is closed");
    }
  }

  private void requireKey(K key) {
    Objects.requireNonNull(key, "key");
    Class<K> type = configuration.getKeyType();
    if (type != Object.class && !type.isInstance(key)) {
      throw new ClassCastException("cache " + name + " holds keys of " + type.getName() + ", got a " + key.getClass().getName());
    }
  }

  private void requireValueType(V value) {
    Class<V> type = configuration.getValueType();
    if (type != Object.class && !type.isInstance(value)) {
      throw new ClassCastException("cache " + name + " holds values of " + type.getName() + ", got a " + value.getClass().getName());
    }
  }

  private void requireEntry(K key, V value) {
    requireKey(key);
    Objects.requireNonNull(value, "value");
    requireValueType(value);
  }

  private void requireKeys(Collection<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    for (K key : keys) {
      requireKey(key);
    }
  }

  private CacheException contention(K key) {
    return new CacheException("cache " + name + ": key " + key + " changed under " + MAX_ATTEMPTS
        + " attempts in a row to update it; giving up");
  }

  private static void closeQuietly(Object o) {
    if (o instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        org.slf4j.LoggerFactory.getLogger(DistCacheCache.class).warn("closing {} failed: {}", o, e.toString());
      }
    }
  }
}
