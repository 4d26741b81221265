package io.distcache.server.store;

/** A snapshot of the store's counters. */
public record StoreStats(
    long hits,
    long misses,
    long expired,
    long evicted,
    long entries,
    long bytesUsed,
    long bytesMax) {}
