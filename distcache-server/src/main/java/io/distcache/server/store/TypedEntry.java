package io.distcache.server.store;

import io.distcache.protocol.ValueType;

/**
 * A whole entry, whatever its type: enough to copy it to another key or node unchanged.
 *
 * @param type the value's type
 * @param value the payload: a string's bytes, or a collection's encoding (see CollectionCodec)
 * @param version changes on every write to the key
 * @param expireAtMillis absolute expiry, or {@link Store#NO_EXPIRY}
 */
public record TypedEntry(ValueType type, byte[] value, long version, long expireAtMillis) {}
