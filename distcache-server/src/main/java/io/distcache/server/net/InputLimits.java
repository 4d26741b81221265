package io.distcache.server.net;

import java.time.Duration;

/**
 * What a node allows requests that have not completely arrived (see InputBudget and InputMeter).
 *
 * @param maxBufferedBytes node-wide bytes held for incomplete requests over every connection
 * @param requestTimeout a request must arrive completely within this from its first byte; zero
 *     disables the deadline
 */
public record InputLimits(long maxBufferedBytes, Duration requestTimeout) {
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  public InputLimits {
    if (maxBufferedBytes < 1) {
      throw new IllegalArgumentException("max input buffer must be positive: " + maxBufferedBytes);
    }
    if (requestTimeout == null || requestTimeout.isNegative()) {
      throw new IllegalArgumentException("request timeout cannot be negative: " + requestTimeout);
    }
  }

  /** The JVM's default buffer bound and a 5 s request deadline. */
  public static InputLimits defaults() {
    return new InputLimits(InputBudget.defaultLimitBytes(), DEFAULT_REQUEST_TIMEOUT);
  }
}
