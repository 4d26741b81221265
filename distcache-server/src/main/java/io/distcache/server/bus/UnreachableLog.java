package io.distcache.server.bus;

import io.distcache.protocol.cluster.Address;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/*
 * Design: which cluster bus failures are worth a WARN line. Membership keeps dialling a DEAD member
 * (and an unanswered seed) every reconnect interval, on purpose: that is how two sides of a healed
 * partition find each other again. So a member that died stays unreachable for as long as its
 * tombstone lives, and logging each failed dial (even one per 10 s) fills the log with the same
 * line. Per address: the first failure since it last answered is a WARN, then at most one WARN per
 * REPEAT_NANOS saying how many failures it held back, and the first successful handshake after a
 * WARN is an INFO. Everything else is DEBUG. State exists only for failing addresses the bus may
 * still dial (retain() drops the others), so it is bounded by the membership table. Time injected.
 */

/** Per-address rate limit of the cluster bus's connection failure logs. */
final class UnreachableLog {
  /** After the first WARN for an address, at most one more per this interval while it keeps failing. */
  static final long REPEAT_NANOS = TimeUnit.MINUTES.toNanos(10);

  /** What to log for a failure. */
  enum Verdict {
    /** First failure since the address last answered: WARN. */
    FIRST,
    /** Still failing, the interval has passed: WARN with the count held back. */
    REPEAT,
    /** Still failing within the interval: DEBUG only. */
    QUIET
  }

  private static final class Failing {
    long lastWarnNanos;
    long heldBack;
  }

  private final LongSupplier nanos;
  private final Map<Address, Failing> failing = new ConcurrentHashMap<>();

  UnreachableLog(LongSupplier nanos) {
    this.nanos = nanos;
  }

  /** A connection or handshake to {@code address} failed: how to log it. */
  Verdict failed(Address address) {
    long now = nanos.getAsLong();
    Failing[] created = new Failing[1];
    Failing f = failing.computeIfAbsent(address, a -> {
      Failing n = new Failing();
      n.lastWarnNanos = now;
      created[0] = n;
      return n;
    });
    if (created[0] != null) {
      return Verdict.FIRST;
    }
    synchronized (f) {
      if (now - f.lastWarnNanos >= REPEAT_NANOS) {
        f.lastWarnNanos = now;
        return Verdict.REPEAT;
      }
      f.heldBack++;
      return Verdict.QUIET;
    }
  }

  /** Failures held back since the last WARN for {@code address} (reset by the call). */
  long takeHeldBack(Address address) {
    Failing f = failing.get(address);
    if (f == null) {
      return 0;
    }
    synchronized (f) {
      long n = f.heldBack;
      f.heldBack = 0;
      return n;
    }
  }

  /** A handshake with {@code address} succeeded: true when a failure had been reported (worth an INFO). */
  boolean answered(Address address) {
    return failing.remove(address) != null;
  }

  /** Forgets addresses the bus may no longer dial. */
  void retain(Set<Address> keep) {
    failing.keySet().retainAll(keep);
  }

  void clear() {
    failing.clear();
  }
}
