package io.distcache.server.cluster;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: the clients a blocking pop (BZPOPMIN, BZPOPMAX, BZMPOP) parked on this node, by the keys
 * they wait for; node-wide and bounded (park refuses past the limit, so a flood of blocked
 * connections cannot grow it without end). The executor calls written(keys) after it applied a
 * write that can give a key members (LocalExecutor: ZADD, the STORE forms, RENAME/COPY), on the
 * thread that applied it, and only while anyone waits (one volatile read otherwise). Each waiter of
 * those keys is told; wake() must not block: the waiter hands a retry of its pop to its own
 * connection's event loop, and the pop is a normal ZMPOP through the router, so the write and the
 * pop are ordered by the key's gate stripe like any two commands.
 *
 * Every waiter of a key is woken, not the one that waited longest: each retries, one pop wins and
 * the others find the key empty again and stay parked. That keeps this free of ordering state;
 * the cost is that clients blocked on one key are not served in the order they blocked, as Redis
 * serves them (docs/PROTOCOL.md). A wake that finds nothing is harmless, so written() may be told
 * of keys that got no members.
 */

/** The clients parked by blocking pops on this node, by key. Thread-safe. */
public final class KeyWaits {
  /** The most clients parked at once by default, node-wide. */
  public static final int DEFAULT_MAX_PARKED = 10_000;

  /** A parked client: told when one of its keys was written. */
  public interface Waiter {
    /** One of the keys was written; any thread, must not block. */
    void wake();
  }

  private final ConcurrentHashMap<Bytes, Set<Waiter>> byKey = new ConcurrentHashMap<>();
  private final AtomicInteger parked = new AtomicInteger();
  private final int maxParked;

  public KeyWaits(int maxParked) {
    if (maxParked < 1) {
      throw new IllegalArgumentException("max parked clients: expected >= 1, got " + maxParked);
    }
    this.maxParked = maxParked;
  }

  /** The most clients parked at once. */
  public int maxParked() {
    return maxParked;
  }

  /** Parks {@code w} on {@code keys}; false (nothing parked) when the node holds its limit already. */
  public boolean park(Waiter w, List<byte[]> keys) {
    if (parked.incrementAndGet() > maxParked) {
      parked.decrementAndGet();
      return false;
    }
    for (byte[] k : keys) {
      byKey.compute(new Bytes(k), (key, set) -> {
        Set<Waiter> s = set == null ? ConcurrentHashMap.newKeySet() : set;
        s.add(w);
        return s;
      });
    }
    return true;
  }

  /** Unparks {@code w}, parked on {@code keys} by one successful {@link #park}; call once. */
  public void unpark(Waiter w, List<byte[]> keys) {
    for (byte[] k : keys) {
      byKey.computeIfPresent(new Bytes(k), (key, set) -> {
        set.remove(w);
        return set.isEmpty() ? null : set;
      });
    }
    parked.decrementAndGet();
  }

  /** Clients parked now (INFO blocked_clients). */
  public int parked() {
    return parked.get();
  }

  /** Keys clients are parked on now (INFO total_blocking_keys). */
  public int keys() {
    return byKey.size();
  }

  /** Wakes the waiters of {@code keys}. */
  void written(List<byte[]> keys) {
    if (parked.get() == 0) {
      return;
    }
    for (byte[] k : keys) {
      Set<Waiter> s = byKey.get(new Bytes(k));
      if (s != null) {
        for (Waiter w : s) {
          w.wake();
        }
      }
    }
  }
}
