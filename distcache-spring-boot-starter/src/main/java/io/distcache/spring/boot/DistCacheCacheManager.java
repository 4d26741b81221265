package io.distcache.spring.boot;

import io.distcache.client.Codec;
import io.distcache.client.DistCacheClient;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.cache.Cache;
import org.springframework.cache.CacheManager;

/**
 * Spring caches over one distcache cluster, created on first use of a name, each with its time to
 * live (a per-name one, else the default, else none). Thread-safe.
 */
public class DistCacheCacheManager implements CacheManager {
  private final DistCacheClient client;
  private final Codec<Object> codec;
  private final Duration defaultTtl;
  private final Map<String, Duration> ttlByName;
  private final boolean allowNullValues;
  private final ConcurrentHashMap<String, DistCacheSpringCache> caches = new ConcurrentHashMap<>();

  /**
   * A cache manager.
   *
   * @param client the client to reach the cluster through
   * @param codec how values are stored
   * @param defaultTtl time to live of caches without their own; null for none
   * @param ttlByName time to live per cache name
   * @param allowNullValues whether null values are cached
   */
  public DistCacheCacheManager(DistCacheClient client, Codec<Object> codec, Duration defaultTtl,
      Map<String, Duration> ttlByName, boolean allowNullValues) {
    this.client = Objects.requireNonNull(client, "client");
    this.codec = Objects.requireNonNull(codec, "codec");
    this.defaultTtl = positiveOrNull("distcache.cache.default-ttl", defaultTtl);
    ttlByName.forEach((name, ttl) -> positiveOrNull("distcache.cache.ttl." + name, ttl));
    this.ttlByName = Map.copyOf(ttlByName);
    this.allowNullValues = allowNullValues;
  }

  @Override
  public Cache getCache(String name) {
    return caches.computeIfAbsent(name, n ->
        new DistCacheSpringCache(n, client, codec, ttlByName.getOrDefault(n, defaultTtl), allowNullValues));
  }

  @Override
  public Collection<String> getCacheNames() {
    return Set.copyOf(caches.keySet());
  }

  private static Duration positiveOrNull(String what, Duration ttl) {
    if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
      throw new IllegalArgumentException(what + " must be positive (leave it unset for no expiry), got: " + ttl);
    }
    return ttl;
  }
}
