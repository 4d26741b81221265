package io.distcache.client;

import java.util.List;

/**
 * One step of {@link DistCacheClient#scan}: pass {@code nextCursor} to the next call; the scan is
 * over when it is 0.
 */
public record ScanResult(long nextCursor, List<byte[]> keys) {
  public boolean finished() {
    return nextCursor == 0;
  }
}
