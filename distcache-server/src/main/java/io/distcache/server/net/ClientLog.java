package io.distcache.server.net;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;

/*
 * Design: whatever a client can make the node log, it can make the node log a million times (one
 * malformed frame per connection wrote 32.6 MB of log in 10 s, 9x the bytes sent). Each cause (a
 * short fixed name, never built from client input) gets its own LogLimiter: one line per cause per
 * ten seconds, and that line says how many of the same cause were held back since the last one, so
 * a flood of one kind neither fills the disk nor hides a rarer kind behind it.
 */

/** Rate-limited log lines for events a remote party can trigger, one limiter per cause. */
public final class ClientLog {
  private static final ConcurrentMap<String, LogLimiter> LIMITERS = new ConcurrentHashMap<>();
  /** Causes are compile-time names; this only guards against a bug turning them into a leak. */
  private static final int MAX_CAUSES = 256;

  private ClientLog() {}

  /**
   * Logs {@code format} at WARN unless a line of the same {@code cause} was logged less than ten
   * seconds ago; the line that does get through ends with the number held back since the last one.
   */
  public static void warn(Logger log, String cause, String format, Object... args) {
    if (log.isWarnEnabled()) {
      String suffix = admit(cause);
      if (suffix != null) {
        log.warn(format + suffix, args);
      }
    }
  }

  /** As {@link #warn}, at INFO. */
  public static void info(Logger log, String cause, String format, Object... args) {
    if (log.isInfoEnabled()) {
      String suffix = admit(cause);
      if (suffix != null) {
        log.info(format + suffix, args);
      }
    }
  }

  /** Null when this occurrence is suppressed, else the suffix naming what was suppressed before it. */
  private static String admit(String cause) {
    LogLimiter limiter = LIMITERS.get(cause);
    if (limiter == null) {
      limiter = LIMITERS.size() < MAX_CAUSES ? LIMITERS.computeIfAbsent(cause, c -> new LogLimiter())
          : LIMITERS.computeIfAbsent("(other)", c -> new LogLimiter());
    }
    if (!limiter.allow()) {
      return null;
    }
    long more = limiter.takeSuppressed();
    return more > 0 ? " (" + more + " more of these in the last 10 s not logged)" : "";
  }
}
