package io.distcache.server.store;

/** What the store does when a write would pass the memory bound. */
public enum EvictionPolicy {
  /** Evict approximately least recently used entries (Redis allkeys-lru). */
  ALLKEYS_LRU("allkeys-lru"),
  /** Refuse the write with OUT_OF_MEMORY; reads and deletes go on. */
  NOEVICTION("noeviction");

  private final String redisName;

  EvictionPolicy(String redisName) {
    this.redisName = redisName;
  }

  /** The name Redis uses (CONFIG GET maxmemory-policy, INFO). */
  public String redisName() {
    return redisName;
  }

  public static EvictionPolicy fromName(String name) {
    for (EvictionPolicy p : values()) {
      if (p.redisName.equalsIgnoreCase(name) || p.name().equalsIgnoreCase(name)) {
        return p;
      }
    }
    throw new IllegalArgumentException(
        "unknown eviction policy: " + name + " (expected allkeys-lru or noeviction)");
  }
}
