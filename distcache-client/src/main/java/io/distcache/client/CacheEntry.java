package io.distcache.client;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * A value with its metadata, from {@link DistCacheClient#getEntry}.
 *
 * @param value the bytes
 * @param version changes on every write; pass it to {@link DistCacheClient#compareAndSet}
 * @param expireAtMillis absolute expiry in Unix milliseconds, 0 when the entry never expires
 */
public record CacheEntry(byte[] value, long version, long expireAtMillis) {

  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }

  /** The expiry, or null when the entry never expires. */
  public Instant expiresAt() {
    return expireAtMillis == 0 ? null : Instant.ofEpochMilli(expireAtMillis);
  }
}
