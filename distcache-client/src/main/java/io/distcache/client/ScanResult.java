package io.distcache.client;

import java.util.List;

/**
 * One step of {@link DistCacheClient#scan}: pass {@code nextCursor} to the next call; the scan is
 * over when it is 0.
 *
 * @param nextCursor the cursor for the next step, 0 when the scan is over
 * @param keys the keys of this step (possibly none, even when the scan goes on)
 */
public record ScanResult(long nextCursor, List<byte[]> keys) {
  /**
   * Whether the scan is over.
   *
   * @return true when {@link #nextCursor()} is 0
   */
  public boolean finished() {
    return nextCursor == 0;
  }
}
