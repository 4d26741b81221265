package io.distcache.client;

/**
 * Outcome of {@link DistCacheClient#compareAndSet}.
 *
 * @param outcome what happened
 * @param version the new version when written, the current one on a mismatch, 0 when absent
 */
public record CasResult(Outcome outcome, long version) {
  /** What a compare-and-set did. */
  public enum Outcome {
    /** The versions matched: the value was written. */
    WRITTEN,
    /** The entry has another version: nothing was written. */
    VERSION_MISMATCH,
    /** No entry: nothing was written. */
    NOT_FOUND
  }

  /**
   * Whether the value was written.
   *
   * @return true for {@link Outcome#WRITTEN}
   */
  public boolean written() {
    return outcome == Outcome.WRITTEN;
  }
}
