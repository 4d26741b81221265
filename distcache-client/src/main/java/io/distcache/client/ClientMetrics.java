package io.distcache.client;

/*
 * Design: the client counts calls, their latency (from the first attempt to the outcome, retries
 * included), errors and retries through this interface. Micrometer is an optional dependency: the
 * Micrometer implementation is a class of its own, loaded only after the client has checked that
 * Micrometer is on the classpath, so an application without it never loads a Micrometer type.
 */
interface ClientMetrics {
  ClientMetrics NONE = new ClientMetrics() {
    @Override
    public void succeeded(String op, long nanos) {}

    @Override
    public void failed(String op, long nanos, Throwable cause) {}

    @Override
    public void retried(String op) {}
  };

  void succeeded(String op, long nanos);

  void failed(String op, long nanos, Throwable cause);

  void retried(String op);

  /**
   * Micrometer metrics into {@code registry} (a MeterRegistry; null for Micrometer's global
   * registry) when Micrometer is on the classpath, none otherwise.
   */
  static ClientMetrics create(Object registry, boolean enabled) {
    if (!enabled) {
      return NONE;
    }
    try {
      Class.forName("io.micrometer.core.instrument.MeterRegistry", false, ClientMetrics.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError absent) {
      if (registry != null) {
        throw new IllegalStateException("a meter registry was given but Micrometer is not on the classpath");
      }
      return NONE;
    }
    return MicrometerClientMetrics.create(registry);
  }
}
