package io.distcache.server;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so. Both readings advance together. */
public final class ManualClock implements Clock {
  private final AtomicLong nanos = new AtomicLong();
  private final long epochMillisAtZero;

  public ManualClock() {
    this(1_700_000_000_000L);
  }

  public ManualClock(long epochMillis) {
    this.epochMillisAtZero = epochMillis;
  }

  @Override
  public long millis() {
    return epochMillisAtZero + nanos.get() / 1_000_000L;
  }

  @Override
  public long nanos() {
    return nanos.get();
  }

  public void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  public void advanceMillis(long ms) {
    nanos.addAndGet(ms * 1_000_000L);
  }
}
