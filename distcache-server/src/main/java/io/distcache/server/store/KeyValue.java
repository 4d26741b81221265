package io.distcache.server.store;

/** One live entry seen by an iterator. */
public record KeyValue(byte[] key, byte[] value, long expireAtMillis) {}
