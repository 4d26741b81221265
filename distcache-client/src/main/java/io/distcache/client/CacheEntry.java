package io.distcache.client;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * A value with its metadata, from {@link DistCacheClient#getEntry}.
 *
 * @param value the bytes
 * @param version changes on every write; pass it to {@link DistCacheClient#compareAndSet}
 * @param expireAtMillis absolute expiry in Unix milliseconds, {@link DistCacheClient#NO_EXPIRY}
 *     (-1) when the entry never expires: the same convention as {@link DistCacheClient#expireTime}
 */
public record CacheEntry(byte[] value, long version, long expireAtMillis) {

  /**
   * The value decoded as UTF-8.
   *
   * @return the value as a string
   */
  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }

  /**
   * Whether the entry never expires.
   *
   * @return true when {@link #expireAtMillis()} is {@link DistCacheClient#NO_EXPIRY}
   */
  public boolean neverExpires() {
    return expireAtMillis == DistCacheClient.NO_EXPIRY;
  }

  /**
   * The expiry as an instant.
   *
   * @return the expiry, or null when the entry never expires
   */
  public Instant expiresAt() {
    return neverExpires() ? null : Instant.ofEpochMilli(expireAtMillis);
  }
}
