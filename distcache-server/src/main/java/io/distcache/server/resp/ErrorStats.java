package io.distcache.server.resp;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/*
 * Design: Redis's INFO errorstats counts error replies by their code, the first word ("ERR",
 * "WRONGTYPE", "MOVED"). Codes are few but come from the error text, so the table is bounded as
 * Redis bounds it (128 codes; later new codes are counted only in the total), and a code is at
 * most 32 characters of [A-Z_-]: anything else counts as ERR. Only error replies pay for this.
 */

/** Error replies of a node, by error code. */
public final class ErrorStats {
  static final int MAX_CODES = 128;
  private static final int MAX_CODE_LENGTH = 32;

  private final ConcurrentHashMap<String, LongAdder> byCode = new ConcurrentHashMap<>();
  private final LongAdder total = new LongAdder();

  void count(String errorText) {
    total.increment();
    String code = code(errorText);
    LongAdder a = byCode.get(code);
    if (a == null) {
      if (byCode.size() >= MAX_CODES) {
        return;
      }
      a = byCode.computeIfAbsent(code, c -> new LongAdder());
    }
    a.increment();
  }

  static String code(String errorText) {
    int end = errorText.indexOf(' ');
    if (end < 0) {
      end = errorText.length();
    }
    if (end == 0 || end > MAX_CODE_LENGTH) {
      return "ERR";
    }
    for (int i = 0; i < end; i++) {
      char c = errorText.charAt(i);
      if (!(c >= 'A' && c <= 'Z' || c == '_' || c == '-')) {
        return "ERR";
      }
    }
    return errorText.substring(0, end);
  }

  /** Error replies since start (Redis total_error_replies). */
  public long total() {
    return total.sum();
  }

  /** Counts by code, sorted by code. */
  public Map<String, Long> byCode() {
    Map<String, Long> out = new TreeMap<>();
    byCode.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  void reset() {
    byCode.clear();
    total.reset();
  }
}
