package io.distcache.server.pubsub;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: Redis's `client-output-buffer-limit pubsub <hard> <soft> <soft-seconds>` for connections
 * that subscribe. A subscriber's output is what it has not read yet: the messages queued for its
 * event loop plus the bytes its channel has not written to the socket. Each delivery checks it:
 * over the hard limit, or over the soft limit for soft-seconds without a break, the connection is
 * closed (its queued messages dropped), as Redis closes it, so a subscriber that does not read
 * costs the node at most about the hard limit plus one message. Zero disables a limit, as in Redis.
 * The settings are volatile: CONFIG SET applies to the next delivery.
 */

/** The output-buffer limit of subscribed connections, and how many it disconnected. */
public final class OutputLimit {
  /** Redis's defaults: 32 MiB hard, 8 MiB soft for 60 s. */
  public static final long DEFAULT_HARD_BYTES = 32L << 20;
  public static final long DEFAULT_SOFT_BYTES = 8L << 20;
  public static final long DEFAULT_SOFT_SECONDS = 60;

  private volatile long hardBytes = DEFAULT_HARD_BYTES;
  private volatile long softBytes = DEFAULT_SOFT_BYTES;
  private volatile long softSeconds = DEFAULT_SOFT_SECONDS;
  private final LongAdder disconnections = new LongAdder();

  public long hardBytes() {
    return hardBytes;
  }

  public long softBytes() {
    return softBytes;
  }

  public long softSeconds() {
    return softSeconds;
  }

  public void set(long hard, long soft, long seconds) {
    if (hard < 0 || soft < 0 || seconds < 0) {
      throw new IllegalArgumentException("output buffer limits cannot be negative: " + hard + " " + soft + " " + seconds);
    }
    this.hardBytes = hard;
    this.softBytes = soft;
    this.softSeconds = seconds;
  }

  /** INFO's client_output_buffer_limit_disconnections. */
  public long disconnections() {
    return disconnections.sum();
  }


  /**
   * Whether a subscriber holding {@code pendingBytes} unread must be disconnected now; {@code
   * overSoft} keeps when it went over the soft limit (element 0; 0 while under it).
   */
  public boolean exceeded(long pendingBytes, long nowNanos, long[] overSoft) {
    long hard = hardBytes;
    if (hard > 0 && pendingBytes >= hard) {
      return true;
    }
    long soft = softBytes;
    if (soft > 0 && pendingBytes >= soft) {
      if (overSoft[0] == 0) {
        overSoft[0] = nowNanos == 0 ? 1 : nowNanos;
        return softSeconds == 0;
      }
      return nowNanos - overSoft[0] >= TimeUnit.SECONDS.toNanos(softSeconds);
    }
    overSoft[0] = 0;
    return false;
  }

  /** Counts a disconnection made by the caller. */
  public void countDisconnection() {
    disconnections.increment();
  }

  /** CONFIG GET client-output-buffer-limit: Redis's layout; normal clients have none (see docs). */
  public String describe() {
    return "normal 0 0 0 pubsub " + hardBytes + " " + softBytes + " " + softSeconds;
  }

  /**
   * CONFIG SET client-output-buffer-limit: {@code "<class> <hard> <soft> <seconds>"} groups, sizes with
   * Redis's units (b, k, kb, m, mb, g, gb). Returns the pubsub triple to set, or throws
   * IllegalArgumentException with the reason. Only the pubsub class is settable; "normal 0 0 0"
   * (what distcache has: normal clients are held by backpressure, not a limit) is accepted.
   */
  public static long[] parse(String value) {
    String[] parts = value.trim().isEmpty() ? new String[0] : value.trim().split("\\s+");
    if (parts.length == 0 || parts.length % 4 != 0) {
      throw new IllegalArgumentException("Wrong number of arguments in buffer limit configuration.");
    }
    long[] pubsub = null;
    for (int i = 0; i < parts.length; i += 4) {
      String cls = parts[i].toLowerCase(Locale.ROOT);
      long hard = memory(parts[i + 1]);
      long soft = memory(parts[i + 2]);
      long seconds;
      try {
        seconds = Long.parseLong(parts[i + 3]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("Error in soft_seconds setting in buffer limit configuration.");
      }
      if (hard < 0 || soft < 0 || seconds < 0) {
        throw new IllegalArgumentException("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
      }
      switch (cls) {
        case "pubsub" -> pubsub = new long[] {hard, soft, seconds};
        case "normal" -> {
          if (hard != 0 || soft != 0 || seconds != 0) {
            throw new IllegalArgumentException("distcache sets only the pubsub class (normal clients are paused by"
                + " backpressure, not disconnected): got normal " + hard + " " + soft + " " + seconds);
          }
        }
        case "replica", "slave", "master" -> throw new IllegalArgumentException(
            "distcache sets only the pubsub class (it has no Redis replicas): got " + cls);
        default -> throw new IllegalArgumentException("Invalid client class specified in buffer limit configuration.");
      }
    }
    return pubsub;
  }

  /** Redis's memtoull: a number with an optional unit b, k, kb, m, mb, g, gb (case-insensitive). */
  static long memory(String s) {
    String t = s.toLowerCase(Locale.ROOT);
    long mul = 1;
    String digits = t;
    String[][] units = {{"gb", "1073741824"}, {"mb", "1048576"}, {"kb", "1024"}, {"g", "1000000000"},
        {"m", "1000000"}, {"k", "1000"}, {"b", "1"}};
    for (String[] u : units) {
      if (t.endsWith(u[0])) {
        mul = Long.parseLong(u[1]);
        digits = t.substring(0, t.length() - u[0].length());
        break;
      }
    }
    try {
      long v = Long.parseLong(digits);
      if (v < 0 || v > Long.MAX_VALUE / mul) {
        throw new IllegalArgumentException("Error in hard or soft setting in buffer limit configuration: " + s);
      }
      return v * mul;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
  }
}
