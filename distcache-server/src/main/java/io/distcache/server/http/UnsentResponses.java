package io.distcache.server.http;

import io.distcache.server.HeapBudgets;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design: the node-wide bound on HTTP response bytes the node has written to connections and the
 * kernel has not taken yet. Each connection holds at most one such response (HttpHandler answers
 * the next request only once the last response is written), but 300 connections pipelining
 * /metrics without reading once grew the node to 2.25 GB, and --max-connections allows thousands:
 * this bounds their sum, as InputBudget bounds incomplete requests. A response that would pass it
 * is not written: its connection gets a short 503 and is closed. A response's bytes are given
 * back when its write completes or fails (the connection closed).
 *
 * Its bytes count in the node's HeapBudgets by force, never refused there: a response is small
 * (tens of KiB) and refusing it for want of room that Redis clients took would answer /healthz and
 * /readyz with 503, and a probe that sees those restarts a node that is well.
 */

/** Bytes of HTTP responses waiting to be sent, over every connection of the node. */
final class UnsentResponses {
  /** Far above what a few scrapers and browsers hold at once (a scrape is tens of KiB). */
  static final long DEFAULT_MAX_BYTES = 64L << 20;

  private final long max;
  private final AtomicLong used = new AtomicLong();
  private final HeapBudgets heap;

  UnsentResponses(long max) {
    this(max, HeapBudgets.unbounded());
  }

  UnsentResponses(long max, HeapBudgets heap) {
    if (max < 1) {
      throw new IllegalArgumentException("the HTTP response budget must be positive: " + max);
    }
    this.max = max;
    this.heap = heap;
  }

  /** Takes {@code bytes}; false, taking nothing, when that would pass the limit. */
  boolean take(long bytes) {
    if (used.addAndGet(bytes) > max) {
      used.addAndGet(-bytes);
      return false;
    }
    heap.force(bytes);
    return true;
  }

  void release(long bytes) {
    used.addAndGet(-bytes);
    heap.release(bytes);
  }

  long used() {
    return used.get();
  }

  long max() {
    return max;
  }
}
