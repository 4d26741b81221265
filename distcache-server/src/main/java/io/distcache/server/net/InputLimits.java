package io.distcache.server.net;

import io.distcache.server.HeapBudgets;
import java.time.Duration;

/**
 * What a node allows requests that have not completely arrived (see InputBudget and InputMeter).
 *
 * @param maxBufferedBytes node-wide bytes held for incomplete requests over every connection
 * @param requestTimeout a request must arrive completely within this from its first byte; zero
 *     disables the deadline
 * @param heap the node's limit on its heap budgets together, where the buffered bytes count too
 */
public record InputLimits(long maxBufferedBytes, Duration requestTimeout, HeapBudgets heap) {
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  public InputLimits {
    if (maxBufferedBytes < 1) {
      throw new IllegalArgumentException("max input buffer must be positive: " + maxBufferedBytes);
    }
    if (requestTimeout == null || requestTimeout.isNegative()) {
      throw new IllegalArgumentException("request timeout cannot be negative: " + requestTimeout);
    }
    if (heap == null) {
      throw new IllegalArgumentException("the node's heap budgets are required");
    }
  }

  /** Limits whose budget counts in a parent of its own (a server without a node around it). */
  public InputLimits(long maxBufferedBytes, Duration requestTimeout) {
    this(maxBufferedBytes, requestTimeout, HeapBudgets.unbounded());
  }

  /** The JVM's default buffer bound and a 5 s request deadline. */
  public static InputLimits defaults() {
    return new InputLimits(InputBudget.defaultLimitBytes(), DEFAULT_REQUEST_TIMEOUT);
  }
}
