package io.distcache.jcache;

import javax.cache.Cache;

/** A key and its value, as the iterator yields them and the cache writer receives them. */
public final class CacheEntryView<K, V> implements Cache.Entry<K, V> {
  private final K key;
  private final V value;

  CacheEntryView(K key, V value) {
    this.key = key;
    this.value = value;
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
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap a cache entry to " + clazz.getName());
  }

  @Override
  public String toString() {
    return "CacheEntryView{key=" + key + ", value=" + value + "}";
  }
}
