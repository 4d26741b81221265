package io.distcache.client;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/*
 * Design: meters are looked up once per (op, outcome) and cached, so a call costs a map lookup and
 * a timer record, not a registry search. Tags are bounded: op is one of the protocol's opcodes,
 * outcome "success" or the exception's simple class name (a fixed set of client classes).
 */

/** {@link ClientMetrics} in Micrometer: loaded only when Micrometer is on the classpath. */
final class MicrometerClientMetrics implements ClientMetrics {
  static final String CALLS = "distcache.client.calls";
  static final String RETRIES = "distcache.client.retries";

  private final MeterRegistry registry;
  private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> retries = new ConcurrentHashMap<>();

  private MicrometerClientMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  static ClientMetrics create(Object registry) {
    if (registry != null && !(registry instanceof MeterRegistry)) {
      throw new IllegalArgumentException("meterRegistry must be an io.micrometer.core.instrument.MeterRegistry, got: "
          + registry.getClass().getName());
    }
    return new MicrometerClientMetrics(registry != null ? (MeterRegistry) registry : Metrics.globalRegistry);
  }

  @Override
  public void succeeded(String op, long nanos) {
    timer(op, "success").record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void failed(String op, long nanos, Throwable cause) {
    timer(op, cause.getClass().getSimpleName()).record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void retried(String op) {
    retries.computeIfAbsent(op, o -> Counter.builder(RETRIES)
        .description("Requests sent again after a retryable failure")
        .tag("op", o)
        .register(registry)).increment();
  }

  private Timer timer(String op, String outcome) {
    return timers.computeIfAbsent(op + '\0' + outcome, k -> Timer.builder(CALLS)
        .description("Client calls, from the first attempt to the outcome (retries included)")
        .tag("op", op)
        .tag("outcome", outcome)
        .register(registry));
  }
}
