package io.distcache.server.store;

/**
 * Outcome of {@link Store#compareAndSet}.
 *
 * @param outcome what happened
 * @param version the version now stored (the new one when written, the current one on mismatch, 0
 *     when the key is absent)
 */
public record CasResult(Outcome outcome, long version) {
  public enum Outcome {
    WRITTEN,
    VERSION_MISMATCH,
    NOT_FOUND
  }
}
