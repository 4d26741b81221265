package io.distcache.server.store;

/**
 * A value with its metadata.
 *
 * @param value the bytes
 * @param version changes on every write to the key; compare with {@link Store#compareAndSet}
 * @param expireAtMillis absolute expiry, or {@link Store#NO_EXPIRY}
 */
public record StoredEntry(byte[] value, long version, long expireAtMillis) {}
