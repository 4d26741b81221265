package io.distcache.server.store;

/*
 * Design: Redis's eight maxmemory policies, by the two questions Redis's docs ask of each: which
 * keys may go (every key, or only the keys with an expiry: volatile-*) and which of them go first
 * (least recently used, least frequently used, nearest expiry, or any). How the store answers them
 * with its page log is PageLog's design note and EvictionChoice's; this enum only names them.
 */

/** What the store does when a write would pass the memory bound (Redis's maxmemory-policy). */
public enum EvictionPolicy {
  /** Evict approximately least recently used entries (Redis allkeys-lru). */
  ALLKEYS_LRU("allkeys-lru"),
  /** Evict approximately least frequently used entries, by Redis's logarithmic counter (allkeys-lfu). */
  ALLKEYS_LFU("allkeys-lfu"),
  /** Refuse the write with OUT_OF_MEMORY; reads and deletes go on. */
  NOEVICTION("noeviction"),
  /** Evict arbitrary entries, whatever their use (allkeys-random). */
  ALLKEYS_RANDOM("allkeys-random"),
  /** Like allkeys-lru among the entries with an expiry; the others are never evicted. */
  VOLATILE_LRU("volatile-lru"),
  /** Like allkeys-lfu among the entries with an expiry. */
  VOLATILE_LFU("volatile-lfu"),
  /** Arbitrary entries among those with an expiry. */
  VOLATILE_RANDOM("volatile-random"),
  /** The entries with an expiry that expire soonest. */
  VOLATILE_TTL("volatile-ttl");

  private final String redisName;

  EvictionPolicy(String redisName) {
    this.redisName = redisName;
  }

  /** The name Redis uses (CONFIG GET maxmemory-policy, INFO). */
  public String redisName() {
    return redisName;
  }

  /** True when a full store makes room by evicting live entries. */
  public boolean evicts() {
    return this != NOEVICTION;
  }

  /**
   * True when the store keeps a frequency counter per entry (OBJECT FREQ answers; OBJECT IDLETIME
   * refuses, as in Redis, where the same 24 bits hold either the counter or the access clock).
   */
  public boolean lfu() {
    return this == ALLKEYS_LFU || this == VOLATILE_LFU;
  }

  /** True when only entries with an expiry may be evicted (the volatile-* policies). */
  public boolean volatileOnly() {
    return this == VOLATILE_LRU || this == VOLATILE_LFU || this == VOLATILE_RANDOM || this == VOLATILE_TTL;
  }

  /** True when the victims are chosen by recency (allkeys-lru, volatile-lru). */
  public boolean lru() {
    return this == ALLKEYS_LRU || this == VOLATILE_LRU;
  }

  /** True when the victims are chosen without regard to use (allkeys-random, volatile-random). */
  public boolean random() {
    return this == ALLKEYS_RANDOM || this == VOLATILE_RANDOM;
  }

  /** The names of the policies, for error messages: "allkeys-lru, allkeys-lfu, noeviction, ...". */
  public static String names() {
    StringBuilder sb = new StringBuilder();
    for (EvictionPolicy p : values()) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(p.redisName);
    }
    return sb.toString();
  }

  public static EvictionPolicy fromName(String name) {
    for (EvictionPolicy p : values()) {
      if (p.redisName.equalsIgnoreCase(name) || p.name().equalsIgnoreCase(name)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown eviction policy: " + name + " (expected one of " + names() + ")");
  }
}
