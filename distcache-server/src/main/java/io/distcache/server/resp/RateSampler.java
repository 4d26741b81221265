package io.distcache.server.resp;

/*
 * Design: Redis's instantaneous_* fields: every 100 ms the node samples its running totals
 * (commands, bytes in, bytes out), and a rate is the mean over the last 16 samples (1.6 s), so
 * INFO shows what is happening now, not an average since start. sample() runs on one event loop
 * task; readers on any thread see the published rates through volatiles.
 */

/** instantaneous_ops_per_sec, instantaneous_input_kbps, instantaneous_output_kbps. */
final class RateSampler {
  static final int SAMPLES = 16;

  private final long[] times = new long[SAMPLES];
  private final long[][] totals = new long[3][SAMPLES];
  private int next;
  private int filled;
  private volatile double opsPerSec;
  private volatile double inputKbps;
  private volatile double outputKbps;

  /** Records the totals at {@code nanos}; called every 100 ms by one thread. */
  synchronized void sample(long nanos, long commands, long bytesIn, long bytesOut) {
    times[next] = nanos;
    totals[0][next] = commands;
    totals[1][next] = bytesIn;
    totals[2][next] = bytesOut;
    int oldest = filled < SAMPLES ? 0 : (next + 1) % SAMPLES;
    next = (next + 1) % SAMPLES;
    filled = Math.min(SAMPLES, filled + 1);
    if (filled < 2) {
      return;
    }
    int newest = (next + SAMPLES - 1) % SAMPLES;
    double seconds = (times[newest] - times[oldest]) / 1e9;
    if (seconds <= 0) {
      return;
    }
    opsPerSec = (totals[0][newest] - totals[0][oldest]) / seconds;
    inputKbps = (totals[1][newest] - totals[1][oldest]) / seconds / 1024;
    outputKbps = (totals[2][newest] - totals[2][oldest]) / seconds / 1024;
  }

  long opsPerSec() {
    return Math.round(opsPerSec);
  }

  double inputKbps() {
    return inputKbps;
  }

  double outputKbps() {
    return outputKbps;
  }
}
