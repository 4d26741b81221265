package io.distcache.client;

import java.util.List;

/**
 * What an {@link AtomicBatch} did: nothing, when a condition did not hold ({@link #applied()}
 * false), or every operation in order, each with its own result or failure (an operation's error,
 * such as incrementing a value that is not a number, fails only that operation, as in Redis's
 * EXEC).
 */
public final class BatchResult {
  private final boolean applied;
  private final List<Object> results;

  BatchResult(boolean applied, List<Object> results) {
    this.applied = applied;
    this.results = results;
  }

  /**
   * Whether the batch ran.
   *
   * @return false when a condition did not hold: nothing ran
   */
  public boolean applied() {
    return applied;
  }

  /**
   * The number of results.
   *
   * @return the batch's operations when applied, else 0
   */
  public int size() {
    return results.size();
  }

  /**
   * The result of operation {@code index} (its type is the single call's: byte[] for get, Boolean
   * for set and delete, Long for incrementBy), or throws the operation's failure.
   *
   * @param <T> the result's type
   * @param index the operation's position in the batch, from 0
   * @return its result
   */
  @SuppressWarnings("unchecked")
  public <T> T get(int index) {
    Object r = results.get(index);
    if (r instanceof DistCacheException e) {
      throw e;
    }
    return (T) r;
  }
}
