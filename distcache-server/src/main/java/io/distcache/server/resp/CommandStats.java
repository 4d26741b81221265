package io.distcache.server.resp;

import java.util.concurrent.atomic.LongAdder;

/*
 * Design: one per command (and subcommand) of a node's table, created with the table, so
 * recording a call is a few LongAdder increments on an object the dispatcher already holds: no
 * lookup by name, no allocation. The meanings are Redis's INFO commandstats ones: calls counts
 * executions, failed_calls the executions that answered an error, rejected_calls the calls refused
 * before running (wrong arity here), usec the time from the start of execution to the reply being
 * rendered (for a forwarded request that includes the hop to the owner).
 */

/** Calls, time, failures and latency of one command on one node. */
public final class CommandStats {
  private final String name;
  private final LongAdder calls = new LongAdder();
  private final LongAdder micros = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LatencyHistogram latency = new LatencyHistogram();

  CommandStats(String name) {
    this.name = name;
  }

  /** Redis's name: "get", "client|list". */
  public String name() {
    return name;
  }

  public long calls() {
    return calls.sum();
  }

  /** Total execution time, microseconds. */
  public long micros() {
    return micros.sum();
  }

  public long failedCalls() {
    return failed.sum();
  }

  public long rejectedCalls() {
    return rejected.sum();
  }

  public LatencyHistogram latency() {
    return latency;
  }

  void record(long durationMicros, boolean failedCall) {
    calls.increment();
    micros.add(durationMicros);
    latency.record(durationMicros);
    if (failedCall) {
      failed.increment();
    }
  }

  void rejected() {
    rejected.increment();
  }

  void reset() {
    calls.reset();
    micros.reset();
    failed.reset();
    rejected.reset();
    latency.reset();
  }
}
