package io.distcache.server.resp;

import io.distcache.server.resp.CommandTable.Registry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/*
 * Design: the commands tools use to look inside a node, with Redis's replies: SLOWLOG (SlowLog),
 * LATENCY (LatencyMonitor), MONITOR (Monitors). Each reads node-wide state kept in RespContext;
 * none touches the store or the router, so they answer for the node they are sent to, as in
 * Redis Cluster.
 */

/** SLOWLOG, LATENCY, MONITOR. */
final class DiagnosticCommands {
  private DiagnosticCommands() {}

  private static final long DEFAULT_SLOWLOG_COUNT = 10;

  static void register(Registry r) {
    r.addContainer("slowlog", -2, "", "server", null, List.of(
        Registry.sub("get", -2, "admin loading stale", "server", DiagnosticCommands::slowlogGet),
        Registry.sub("len", 2, "admin loading stale", "server", (s, a) -> s.out().integer(s.context().slowLog().size())),
        Registry.sub("reset", 2, "admin loading stale", "server", (s, a) -> {
          s.context().slowLog().reset();
          s.out().ok();
        }),
        Registry.sub("help", 2, "loading stale", "server", (s, a) -> ConnectionCommands.helpReply(s, "SLOWLOG", List.of(
            "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name", "LEN", "    Return the length of the slowlog.", "RESET", "    Reset the slowlog.",
            "HELP", "    Print this help.")))));
    r.addContainer("latency", -2, "", "server", null, List.of(
        Registry.sub("latest", 2, "admin noscript loading stale", "server", DiagnosticCommands::latencyLatest),
        Registry.sub("history", 3, "admin noscript loading stale", "server", DiagnosticCommands::latencyHistory),
        Registry.sub("reset", -2, "admin noscript loading stale", "server", DiagnosticCommands::latencyReset),
        Registry.sub("help", 2, "loading stale", "server", (s, a) -> ConnectionCommands.helpReply(s, "LATENCY", List.of(
            "HISTORY <event>", "    Return time-latency samples for the <event> class.",
            "LATEST", "    Return the latest latency samples for all events.",
            "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HELP", "    Print this help.")))));
    r.add("monitor", 1, "admin noscript loading stale", "server", DiagnosticCommands::monitor);
  }

  private static void slowlogGet(RespSession s, byte[][] a) {
    long count = DEFAULT_SLOWLOG_COUNT;
    if (a.length > 3) {
      throw new CommandException(RespErrors.wrongArity("slowlog|get"));
    }
    if (a.length == 3) {
      count = Args.parseLong(a[2], "ERR count should be greater than or equal to -1");
      if (count < -1) {
        throw new CommandException("ERR count should be greater than or equal to -1");
      }
    }
    List<SlowLog.Entry> entries = s.context().slowLog().newest(count);
    RespWriter w = s.out();
    w.array(entries.size());
    for (SlowLog.Entry e : entries) {
      w.array(6);
      w.integer(e.id());
      w.integer(e.unixSeconds());
      w.integer(e.micros());
      w.array(e.args().size());
      for (byte[] arg : e.args()) {
        w.bulk(arg);
      }
      w.bulk(e.client());
      w.bulk(e.clientName());
    }
  }

  private static void latencyLatest(RespSession s, byte[][] a) {
    Map<String, long[]> latest = s.context().latencyMonitor().latest();
    RespWriter w = s.out();
    w.array(latest.size());
    for (Map.Entry<String, long[]> e : latest.entrySet()) {
      w.array(4);
      w.bulk(e.getKey());
      w.integer(e.getValue()[0]);
      w.integer(e.getValue()[1]);
      w.integer(e.getValue()[2]);
    }
  }

  private static void latencyHistory(RespSession s, byte[][] a) {
    List<LatencyMonitor.Sample> samples = s.context().latencyMonitor().history(Args.latin1(a[2]));
    RespWriter w = s.out();
    w.array(samples.size());
    for (LatencyMonitor.Sample sample : samples) {
      w.array(2);
      w.integer(sample.unixSeconds());
      w.integer(sample.millis());
    }
  }

  private static void latencyReset(RespSession s, byte[][] a) {
    List<String> names = new ArrayList<>();
    for (int i = 2; i < a.length; i++) {
      names.add(Args.latin1(a[i]));
    }
    s.out().integer(s.context().latencyMonitor().reset(names));
  }

  private static void monitor(RespSession s, byte[][] a) {
    if (!s.context().monitors().add(s.client())) {
      throw new CommandException("ERR max number of monitors reached (" + Monitors.MAX_MONITORS + ")");
    }
    s.client().monitor = true;
    s.out().ok();
  }
}
