package io.distcache.client;

/**
 * Outcome of {@link DistCacheClient#compareAndSet}.
 *
 * @param outcome what happened
 * @param version the new version when written, the current one on a mismatch, 0 when absent
 */
public record CasResult(Outcome outcome, long version) {
  public enum Outcome {
    WRITTEN,
    VERSION_MISMATCH,
    NOT_FOUND
  }

  public boolean written() {
    return outcome == Outcome.WRITTEN;
  }
}
