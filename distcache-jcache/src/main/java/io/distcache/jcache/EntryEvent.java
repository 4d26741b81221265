package io.distcache.jcache;

import javax.cache.Cache;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.EventType;

/** One created, updated, removed or expired event, as the listeners of a cache receive it. */
final class EntryEvent<K, V> extends CacheEntryEvent<K, V> {
  private static final long serialVersionUID = 1L;

  private final K key;
  private final V value;
  private final V oldValue;
  private final boolean oldValueAvailable;

  EntryEvent(Cache<K, V> source, EventType type, K key, V value, V oldValue, boolean oldValueAvailable) {
    super(source, type);
    this.key = key;
    this.value = value;
    this.oldValue = oldValue;
    this.oldValueAvailable = oldValueAvailable;
  }

  static <K, V> EntryEvent<K, V> created(Cache<K, V> source, K key, V value) {
    return new EntryEvent<>(source, EventType.CREATED, key, value, null, false);
  }

  static <K, V> EntryEvent<K, V> updated(Cache<K, V> source, K key, V value, V oldValue) {
    return new EntryEvent<>(source, EventType.UPDATED, key, value, oldValue, true);
  }

  /** Removed and expired events carry the last value as both value and old value, as the TCK expects. */
  static <K, V> EntryEvent<K, V> removed(Cache<K, V> source, K key, V oldValue) {
    return new EntryEvent<>(source, EventType.REMOVED, key, oldValue, oldValue, true);
  }

  static <K, V> EntryEvent<K, V> expired(Cache<K, V> source, K key, V oldValue) {
    return new EntryEvent<>(source, EventType.EXPIRED, key, oldValue, oldValue, true);
  }

  @Override
  public K getKey() {
    return key;
  }

  @Override
  public V getValue() {
    return value;
  }

  @Override
  public V getOldValue() {
    return oldValue;
  }

  @Override
  public boolean isOldValueAvailable() {
    return oldValueAvailable;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap a cache entry event to " + clazz.getName());
  }

  @Override
  public String toString() {
    return "EntryEvent{" + getEventType() + ", key=" + key + ", value=" + value + ", oldValue=" + oldValue + "}";
  }
}
