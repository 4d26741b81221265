package io.distcache.spring.boot;

import io.distcache.client.Codec;
import io.distcache.client.DistCacheClient;
import io.distcache.client.ScanResult;
import io.distcache.client.SetOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.springframework.cache.support.AbstractValueAdaptingCache;

/*
 * Design: one Spring cache is the keys "<name>::<key>" of the cluster, so every application
 * instance using the same name sees, fills and evicts the same entries, and clear()
 * (@CacheEvict(allEntries = true)) removes the name's entries on every member: a cluster-wide scan
 * with MATCH "<name>::*" (the name's glob characters escaped), deleting each step's keys. Like a
 * Redis cache's clear, it is not atomic against concurrent puts of the same cache, which may
 * survive it.
 *
 * get(key, loader) (@Cacheable(sync = true)) serializes loads of one key within this instance
 * (a lock per key while loading); instances do not coordinate, so two may load the same key once
 * each. Nulls are stored as Spring's NullValue when allowed, so a cached null is a hit.
 */

/** A Spring {@link org.springframework.cache.Cache} over a distcache cluster. Thread-safe. */
public class DistCacheSpringCache extends AbstractValueAdaptingCache {
  private static final int CLEAR_SCAN_COUNT = 1000;

  private final String name;
  private final String prefix;
  private final DistCacheClient client;
  private final Codec<Object> codec;
  private final Duration ttl;
  private final ConcurrentHashMap<Object, ReentrantLock> loading = new ConcurrentHashMap<>();

  /**
   * A cache.
   *
   * @param name the cache's name; its keys are {@code name::key} in the cluster
   * @param client the client to reach the cluster through
   * @param codec how values are stored
   * @param ttl time to live of each entry, null for none
   * @param allowNullValues whether null values are cached
   */
  public DistCacheSpringCache(String name, DistCacheClient client, Codec<Object> codec, Duration ttl,
      boolean allowNullValues) {
    super(allowNullValues);
    this.name = name;
    this.prefix = name + "::";
    this.client = client;
    this.codec = codec;
    this.ttl = ttl;
  }

  @Override
  public String getName() {
    return name;
  }

  @Override
  public DistCacheClient getNativeCache() {
    return client;
  }

  /**
   * The time to live of this cache's entries.
   *
   * @return the time to live, or null when entries never expire
   */
  public Duration getTtl() {
    return ttl;
  }

  @Override
  protected Object lookup(Object key) {
    byte[] bytes = client.get(keyOf(key));
    return bytes == null ? null : codec.decode(bytes);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T get(Object key, Callable<T> valueLoader) {
    ValueWrapper hit = get(key);
    if (hit != null) {
      return (T) hit.get();
    }
    ReentrantLock lock = loading.computeIfAbsent(key, k -> new ReentrantLock());
    lock.lock();
    try {
      hit = get(key);
      if (hit != null) {
        return (T) hit.get();
      }
      T value;
      try {
        value = valueLoader.call();
      } catch (Exception e) {
        throw new ValueRetrievalException(key, valueLoader, e);
      }
      put(key, value);
      return value;
    } finally {
      lock.unlock();
      loading.remove(key, lock);
    }
  }

  @Override
  public void put(Object key, Object value) {
    client.set(keyOf(key), encode(value), options());
  }

  @Override
  public ValueWrapper putIfAbsent(Object key, Object value) {
    byte[] k = keyOf(key);
    if (client.set(k, encode(value), options().ifAbsent())) {
      return null;
    }
    byte[] existing = client.get(k);
    return existing == null ? null : toValueWrapper(codec.decode(existing));
  }

  @Override
  public void evict(Object key) {
    client.delete(keyOf(key));
  }

  @Override
  public boolean evictIfPresent(Object key) {
    return client.delete(keyOf(key));
  }

  @Override
  public void clear() {
    String match = escapeGlob(prefix) + "*";
    long cursor = 0;
    do {
      ScanResult step = client.scan(cursor, CLEAR_SCAN_COUNT, match);
      if (!step.keys().isEmpty()) {
        client.deleteAll(new ArrayList<>(step.keys()));
      }
      cursor = step.nextCursor();
    } while (cursor != 0);
  }

  @Override
  public boolean invalidate() {
    clear();
    return true;
  }

  private SetOptions options() {
    return ttl == null ? SetOptions.none() : SetOptions.ttl(ttl);
  }

  private byte[] encode(Object value) {
    Object stored = toStoreValue(value);
    return codec.encode(stored);
  }

  private byte[] keyOf(Object key) {
    return (prefix + key).getBytes(StandardCharsets.UTF_8);
  }

  /** {@code s} as a MATCH pattern that matches exactly {@code s}. */
  static String escapeGlob(String s) {
    StringBuilder out = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        out.append('\\');
      }
      out.append(c);
    }
    return out.toString();
  }
}
