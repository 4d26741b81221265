package io.distcache.server.resp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/*
 * Design: INFO's process facts come from Linux's /proc (RSS from statm, CPU time from stat), read
 * when INFO is asked, as Redis reads them. Elsewhere (no /proc) the fields are -1 rather than
 * invented.
 */

/** Resident memory and CPU time of this process. */
final class ProcessInfo {
  private ProcessInfo() {}

  private static final long PAGE_BYTES = 4096;
  /** USER_HZ: the unit of /proc/self/stat's CPU times on every Linux architecture the JDK runs on. */
  private static final double TICKS_PER_SECOND = 100.0;

  /** Resident set size in bytes, -1 when unknown. */
  static long rssBytes() {
    try {
      String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
      return Long.parseLong(f[1]) * PAGE_BYTES;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** {user seconds, system seconds} of CPU used by the process, or {-1, -1}. */
  static double[] cpuSeconds() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"));
      // the command name (field 2) is in parentheses and may hold spaces: count from the last ')'
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return new double[] {Long.parseLong(f[11]) / TICKS_PER_SECOND, Long.parseLong(f[12]) / TICKS_PER_SECOND};
    } catch (IOException | RuntimeException e) {
      return new double[] {-1, -1};
    }
  }
}
