package io.distcache.server.http;

/** What /healthz and /readyz report. Safe to call from any thread; never blocks. */
public interface Health {

  /** True while the process serves (the node is started and not stopped). */
  boolean live();

  /**
   * Null when the node is ready for traffic: it has joined its cluster and serves its slots.
   * Otherwise why not, in a few words ("starting", "joining", "leaving", "slots not confirmed yet").
   */
  String notReady();
}
