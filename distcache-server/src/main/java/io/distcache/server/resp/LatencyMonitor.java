package io.distcache.server.resp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/*
 * Design: Redis's latency monitor. With latency-monitor-threshold at 0 (the default, as in Redis)
 * nothing is recorded. Above it, a command that took at least the threshold in milliseconds is an
 * event: "command" for a slow command, "fast-command" for one flagged fast (Redis's two command
 * events). Per event the node keeps one sample per second (the worst of that second), the last
 * 160 seconds that had one (Redis's LATENCY HISTORY length), the latest and the all-time maximum.
 */

/** LATENCY LATEST / HISTORY / RESET. */
public final class LatencyMonitor {
  static final int HISTORY = 160;

  /** One second's worst latency of an event. */
  record Sample(long unixSeconds, long millis) {}

  /** One event's record. */
  static final class Series {
    final ArrayList<Sample> samples = new ArrayList<>();
    long max;

    Sample latest() {
      return samples.get(samples.size() - 1);
    }
  }

  private volatile long thresholdMillis;
  /** Guarded by this. */
  private final Map<String, Series> events = new LinkedHashMap<>();

  long thresholdMillis() {
    return thresholdMillis;
  }

  void thresholdMillis(long ms) {
    thresholdMillis = ms;
  }

  /** Called for every command: one volatile read unless the monitor is on and the command was slow. */
  void commandTook(boolean fast, long micros, long unixSeconds) {
    long t = thresholdMillis;
    if (t <= 0 || micros / 1000 < t) {
      return;
    }
    record(fast ? "fast-command" : "command", micros / 1000, unixSeconds);
  }

  synchronized void record(String event, long millis, long unixSeconds) {
    Series s = events.computeIfAbsent(event, e -> new Series());
    if (!s.samples.isEmpty() && s.latest().unixSeconds() == unixSeconds) {
      if (s.latest().millis() < millis) {
        s.samples.set(s.samples.size() - 1, new Sample(unixSeconds, millis));
      }
    } else {
      s.samples.add(new Sample(unixSeconds, millis));
      if (s.samples.size() > HISTORY) {
        s.samples.remove(0);
      }
    }
    s.max = Math.max(s.max, millis);
  }

  /** event name -> (latest sample, all-time max), in the order the events first happened. */
  synchronized Map<String, long[]> latest() {
    Map<String, long[]> out = new LinkedHashMap<>();
    events.forEach((k, v) -> out.put(k, new long[] {v.latest().unixSeconds(), v.latest().millis(), v.max}));
    return out;
  }

  synchronized List<Sample> history(String event) {
    Series s = events.get(event);
    return s == null ? List.of() : List.copyOf(s.samples);
  }

  /** Resets the given events (all when empty); returns how many were reset. */
  synchronized int reset(List<String> names) {
    if (names.isEmpty()) {
      int n = events.size();
      events.clear();
      return n;
    }
    int n = 0;
    for (String name : names) {
      if (events.remove(name) != null) {
        n++;
      }
    }
    return n;
  }

  static List<String> eventNames(Map<String, long[]> latest) {
    return new ArrayList<>(latest.keySet());
  }
}
