package io.distcache.server.store;

/**
 * What the store does when a write would pass the memory bound. Of Redis's eight policies these
 * three exist; the volatile-* and *-random ones do not (docs/OPERATIONS.md, "Eviction").
 */
public enum EvictionPolicy {
  /** Evict approximately least recently used entries (Redis allkeys-lru). */
  ALLKEYS_LRU("allkeys-lru"),
  /** Evict approximately least frequently used entries, by Redis's logarithmic counter (allkeys-lfu). */
  ALLKEYS_LFU("allkeys-lfu"),
  /** Refuse the write with OUT_OF_MEMORY; reads and deletes go on. */
  NOEVICTION("noeviction");

  /** Redis's policies that distcache does not have, so a refusal can say so rather than "unknown". */
  static final java.util.List<String> NOT_PROVIDED =
      java.util.List.of("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-random");

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

  /** True when the store keeps a frequency counter per entry (OBJECT FREQ answers). */
  public boolean lfu() {
    return this == ALLKEYS_LFU;
  }

  /** The names of the policies that exist, for error messages: "allkeys-lru, allkeys-lfu, noeviction". */
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
    for (String other : NOT_PROVIDED) {
      if (other.equalsIgnoreCase(name)) {
        throw new IllegalArgumentException(
            "eviction policy " + other + " is one of Redis's that distcache does not provide (expected one of "
                + names() + ")");
      }
    }
    throw new IllegalArgumentException("unknown eviction policy: " + name + " (expected one of " + names() + ")");
  }
}
