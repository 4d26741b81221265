package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/*
 * Design: Redis's SLOWLOG: commands that took longer than slowlog-log-slower-than microseconds
 * (negative: none; 0: all) are kept, newest first, at most slowlog-max-len of them. Only a slow
 * command pays for an entry, and what an entry keeps is bounded as in Redis: at most 32
 * arguments (the last one then says how many more there were), each cut to 128 bytes (then
 * "... (N more bytes)"), so a slow MSET of huge values cannot make the log large.
 */

/** The node's slow log. */
public final class SlowLog {
  static final int MAX_ARGS = 32;
  static final int MAX_ARG_BYTES = 128;
  static final long DEFAULT_SLOWER_THAN_MICROS = 10_000;
  static final int DEFAULT_MAX_LEN = 128;
  /**
   * The most entries slowlog-max-len keeps (a larger setting is taken as this): an entry holds up
   * to 32 arguments of 128 bytes, about 4.6 KB on the heap, so a client's CONFIG SET
   * slowlog-max-len 100000000 with slowlog-log-slower-than 0 filled a 512 MiB heap at 114,000
   * entries (a tester). 10,000 of them hold at most about 46 MB.
   */
  static final int MAX_LEN = 10_000;

  /** One slow command. */
  record Entry(long id, long unixSeconds, long micros, List<byte[]> args, String client, String clientName) {}

  private volatile long slowerThanMicros = DEFAULT_SLOWER_THAN_MICROS;
  private volatile int maxLen = DEFAULT_MAX_LEN;
  /** Newest first. Guarded by this. */
  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  /** Guarded by this. */
  private long nextId;

  long slowerThanMicros() {
    return slowerThanMicros;
  }

  void slowerThanMicros(long micros) {
    slowerThanMicros = micros;
  }

  int maxLen() {
    return maxLen;
  }

  synchronized void maxLen(int n) {
    maxLen = Math.min(n, MAX_LEN);
    trim();
  }

  /**
   * What an entry shows of an argument of {@code length} bytes that begins with {@code head} (its
   * first MAX_ARG_BYTES, or all of it): the head, then "... (N more bytes)" when it was cut. The
   * session passes a large SET value in this form (the value itself goes to the store from its
   * buffer), and add keeps an argument already in it as it is.
   */
  static byte[] shortened(byte[] head, long length) {
    if (length <= MAX_ARG_BYTES) {
      return head;
    }
    byte[] tail = (CUT_START + (length - MAX_ARG_BYTES) + CUT_END).getBytes(StandardCharsets.US_ASCII);
    byte[] both = Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, both, head.length, tail.length);
    return both;
  }

  private static final String CUT_START = "... (";
  private static final String CUT_END = " more bytes)";

  /** True when {@code arg} is in {@link #shortened}'s form already. */
  private static boolean isShortened(byte[] arg) {
    int tailLength = arg.length - MAX_ARG_BYTES;
    if (tailLength > CUT_START.length() + 19 + CUT_END.length()) {
      return false; // looked at no further: a long argument is never in that form
    }
    String tail = new String(arg, MAX_ARG_BYTES, tailLength, StandardCharsets.US_ASCII);
    return tail.startsWith(CUT_START) && tail.endsWith(CUT_END)
        && tail.substring(CUT_START.length(), tail.length() - CUT_END.length()).matches("[1-9][0-9]*");
  }

  /** True when a command of this duration goes into the log (called for every command: one volatile read). */
  boolean isSlow(long micros) {
    long t = slowerThanMicros;
    return t >= 0 && micros >= t;
  }

  void add(long unixSeconds, long micros, byte[][] args, String client, String clientName) {
    int kept = Math.min(args.length, MAX_ARGS);
    List<byte[]> copy = new ArrayList<>(kept);
    for (int i = 0; i < kept; i++) {
      if (i == MAX_ARGS - 1 && args.length > MAX_ARGS) {
        copy.add(("... (" + (args.length - MAX_ARGS + 1) + " more arguments)").getBytes(StandardCharsets.US_ASCII));
      } else if (args[i].length > MAX_ARG_BYTES && !isShortened(args[i])) {
        copy.add(shortened(Arrays.copyOf(args[i], MAX_ARG_BYTES), args[i].length));
      } else {
        copy.add(args[i].clone());
      }
    }
    synchronized (this) {
      entries.addFirst(new Entry(nextId++, unixSeconds, micros, List.copyOf(copy), client, clientName));
      trim();
    }
  }

  private void trim() {
    while (entries.size() > maxLen) {
      entries.removeLast();
    }
  }

  /** The newest {@code count} entries (all when negative). */
  synchronized List<Entry> newest(long count) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (count >= 0 && out.size() >= count) {
        break;
      }
      out.add(e);
    }
    return out;
  }

  synchronized int size() {
    return entries.size();
  }

  synchronized void reset() {
    entries.clear();
  }
}
