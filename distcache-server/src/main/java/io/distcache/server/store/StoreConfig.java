package io.distcache.server.store;

import io.distcache.server.Clock;

/**
 * The store's limits and policy.
 *
 * @param maxMemoryBytes the memory bound: keys, values and per-entry overhead
 * @param maxValueBytes the largest value accepted (default 16 MiB, at most 512 MiB)
 * @param policy what to do when full
 * @param clock the time source for expiry (and the LFU counters' decay)
 * @param lfuLogFactor Redis's lfu-log-factor: how slowly the LFU counter grows (0 = one step a hit)
 * @param lfuDecayMinutes Redis's lfu-decay-time: minutes per step the counter loses while unused
 *     (0 = never)
 */
public record StoreConfig(
    long maxMemoryBytes, int maxValueBytes, EvictionPolicy policy, Clock clock, int lfuLogFactor, int lfuDecayMinutes) {
  /** Keys are at most 64 KiB. */
  public static final int MAX_KEY_BYTES = 64 * 1024;
  public static final int DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
  public static final int MAX_VALUE_BYTES_LIMIT = 512 * 1024 * 1024;
  /** Redis's defaults for lfu-log-factor and lfu-decay-time. */
  public static final int DEFAULT_LFU_LOG_FACTOR = 10;
  public static final int DEFAULT_LFU_DECAY_MINUTES = 1;

  /** Limits and policy with Redis's default LFU tuning. */
  public StoreConfig(long maxMemoryBytes, int maxValueBytes, EvictionPolicy policy, Clock clock) {
    this(maxMemoryBytes, maxValueBytes, policy, clock, DEFAULT_LFU_LOG_FACTOR, DEFAULT_LFU_DECAY_MINUTES);
  }

  public StoreConfig {
    if (maxMemoryBytes <= 0) {
      throw new IllegalArgumentException("maxMemoryBytes must be positive: " + maxMemoryBytes);
    }
    if (maxValueBytes <= 0 || maxValueBytes > MAX_VALUE_BYTES_LIMIT) {
      throw new IllegalArgumentException(
          "maxValueBytes: expected 1.." + MAX_VALUE_BYTES_LIMIT + ", got " + maxValueBytes);
    }
    if (policy == null || clock == null) {
      throw new IllegalArgumentException("policy and clock are required");
    }
    if (lfuLogFactor < 0 || lfuDecayMinutes < 0) {
      throw new IllegalArgumentException(
          "lfuLogFactor and lfuDecayMinutes cannot be negative: " + lfuLogFactor + ", " + lfuDecayMinutes);
    }
  }

  /** This configuration with another memory bound. */
  public StoreConfig withMaxMemoryBytes(long bytes) {
    return new StoreConfig(bytes, maxValueBytes, policy, clock, lfuLogFactor, lfuDecayMinutes);
  }

  /** This configuration with another eviction policy. */
  public StoreConfig withPolicy(EvictionPolicy p) {
    return new StoreConfig(maxMemoryBytes, maxValueBytes, p, clock, lfuLogFactor, lfuDecayMinutes);
  }

  /** This configuration with other LFU tuning. */
  public StoreConfig withLfu(int logFactor, int decayMinutes) {
    return new StoreConfig(maxMemoryBytes, maxValueBytes, policy, clock, logFactor, decayMinutes);
  }

  public static StoreConfig of(long maxMemoryBytes, Clock clock) {
    return new StoreConfig(maxMemoryBytes, DEFAULT_MAX_VALUE_BYTES, EvictionPolicy.ALLKEYS_LRU, clock);
  }

  /** Refuses a null key, and a key over {@link #MAX_KEY_BYTES} with TOO_LARGE naming both sizes. */
  public static void checkKey(byte[] key) {
    if (key == null) {
      throw new IllegalArgumentException("key cannot be null");
    }
    if (key.length > MAX_KEY_BYTES) {
      throw new StoreException(
          StoreException.Reason.TOO_LARGE, "key length " + key.length + " exceeds the limit " + MAX_KEY_BYTES);
    }
  }

  /** Refuses a null value, and a value over {@link #maxValueBytes()}. */
  public void checkValue(byte[] value) {
    if (value == null) {
      throw new IllegalArgumentException("value cannot be null");
    }
    checkValueLength(value.length);
  }

  /** Refuses a value length (for example after an append) over {@link #maxValueBytes()}. */
  public void checkValueLength(long length) {
    if (length > maxValueBytes) {
      throw new StoreException(
          StoreException.Reason.TOO_LARGE, "value length " + length + " exceeds the limit " + maxValueBytes);
    }
  }
}
