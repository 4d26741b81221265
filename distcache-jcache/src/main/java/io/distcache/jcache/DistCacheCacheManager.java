package io.distcache.jcache;

import io.distcache.client.DistCacheClient;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.spi.CachingProvider;

/*
 * Design: one cache manager per (URI, ClassLoader), as the spec has it; it owns one
 * DistCacheClient to the cluster its URI names, shared by its caches. The caches it knows are
 * this JVM's view: a cache's entries live in the cluster under the cache's name (so two JVMs'
 * caches of one name share their entries), while its configuration, listeners, loader, writer
 * and statistics belong to the cache object created here. destroyCache removes the entries from
 * the cluster; close() only lets go of the client.
 */

/** A JCache CacheManager over one distcache cluster. Obtain it from {@link DistCacheCachingProvider}. */
public final class DistCacheCacheManager implements CacheManager {
  /** Threads that run loadAll in the background, per cache manager. */
  static final int LOAD_THREADS = 2;
  /** loadAll requests that may wait for a loader thread before the caller runs its own. */
  static final int LOAD_QUEUE_CAPACITY = 1_000;

  private final DistCacheCachingProvider provider;
  private final URI uri;
  private final ClassLoader classLoader;
  private final Properties properties;
  private final DistCacheClient client;
  private final ExecutorService loadExecutor;
  private final ConcurrentHashMap<String, DistCacheCache<?, ?>> caches = new ConcurrentHashMap<>();
  private volatile boolean closed;

  DistCacheCacheManager(DistCacheCachingProvider provider, URI uri, ClassLoader classLoader, Properties properties,
      DistCacheClient client) {
    this.provider = provider;
    this.uri = uri;
    this.classLoader = classLoader;
    this.properties = properties;
    this.client = client;
    this.loadExecutor = new ThreadPoolExecutor(LOAD_THREADS, LOAD_THREADS, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(LOAD_QUEUE_CAPACITY), r -> {
          Thread t = new Thread(r, "distcache-jcache-loader");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.CallerRunsPolicy());
    ((ThreadPoolExecutor) loadExecutor).allowCoreThreadTimeOut(true);
  }

  @Override
  public CachingProvider getCachingProvider() {
    return provider;
  }

  @Override
  public URI getURI() {
    return uri;
  }

  @Override
  public ClassLoader getClassLoader() {
    return classLoader;
  }

  @Override
  public Properties getProperties() {
    return properties;
  }

  @Override
  public <K, V, C extends Configuration<K, V>> Cache<K, V> createCache(String cacheName, C configuration) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(configuration, "configuration");
    MutableConfiguration<K, V> copy = copyOf(configuration);
    synchronized (caches) {
      if (caches.containsKey(cacheName)) {
        throw new CacheException("cache " + cacheName + " already exists in cache manager " + uri);
      }
      DistCacheCache<K, V> cache = new DistCacheCache<>(cacheName, this, client, copy, loadExecutor);
      caches.put(cacheName, cache);
      return cache;
    }
  }

  private static <K, V> MutableConfiguration<K, V> copyOf(Configuration<K, V> configuration) {
    if (configuration instanceof CompleteConfiguration<K, V> complete) {
      return new MutableConfiguration<>(complete);
    }
    MutableConfiguration<K, V> copy = new MutableConfiguration<>();
    copy.setTypes(configuration.getKeyType(), configuration.getValueType());
    copy.setStoreByValue(configuration.isStoreByValue());
    return copy;
  }

  @Override
  public <K, V> Cache<K, V> getCache(String cacheName, Class<K> keyType, Class<V> valueType) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(keyType, "keyType");
    Objects.requireNonNull(valueType, "valueType");
    DistCacheCache<?, ?> cache = caches.get(cacheName);
    if (cache == null) {
      return null;
    }
    CompleteConfiguration<?, ?> c = cache.configuration();
    if (c.getKeyType() != keyType) {
      throw new ClassCastException("cache " + cacheName + " has keys of " + c.getKeyType().getName()
          + ", not " + keyType.getName());
    }
    if (c.getValueType() != valueType) {
      throw new ClassCastException("cache " + cacheName + " has values of " + c.getValueType().getName()
          + ", not " + valueType.getName());
    }
    @SuppressWarnings("unchecked")
    Cache<K, V> typed = (Cache<K, V>) cache;
    return typed;
  }

  @Override
  public <K, V> Cache<K, V> getCache(String cacheName) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    @SuppressWarnings("unchecked")
    Cache<K, V> cache = (Cache<K, V>) caches.get(cacheName);
    return cache;
  }

  @Override
  public Iterable<String> getCacheNames() {
    checkOpen();
    return Collections.unmodifiableSet(new LinkedHashSet<>(caches.keySet()));
  }

  @Override
  public void destroyCache(String cacheName) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    DistCacheCache<?, ?> cache = caches.get(cacheName);
    // The entries go from the whole cluster even when this JVM does not have the cache open.
    DistCacheCache.clearEntries(new Remote(client, cacheName), new KeyNamespace(cacheName));
    if (cache != null) {
      cache.close();
    }
  }

  @Override
  public void enableManagement(String cacheName, boolean enabled) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    DistCacheCache<?, ?> cache = caches.get(cacheName);
    if (cache != null) {
      cache.enableManagement(enabled);
    }
  }

  @Override
  public void enableStatistics(String cacheName, boolean enabled) {
    checkOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    DistCacheCache<?, ?> cache = caches.get(cacheName);
    if (cache != null) {
      cache.enableStatistics(enabled);
    }
  }

  /** Forgets a cache that was closed. */
  void release(DistCacheCache<?, ?> cache) {
    caches.remove(cache.getName(), cache);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    synchronized (caches) {
      List<DistCacheCache<?, ?>> open = new ArrayList<>(caches.values());
      for (DistCacheCache<?, ?> cache : open) {
        cache.close();
      }
      closed = true;
    }
    provider.release(this);
    loadExecutor.shutdown();
    client.close();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    if (clazz.isInstance(client)) {
      return clazz.cast(client);
    }
    throw new IllegalArgumentException("cannot unwrap a cache manager to " + clazz.getName());
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("cache manager " + uri + " is closed");
    }
  }
}
