package io.distcache.server.store;

import java.util.List;

/** One step of {@link Store#scan}: the next cursor (0 when done) and the keys found. */
public record ScanResult(long nextCursor, List<byte[]> keys) {}
