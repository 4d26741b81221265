package io.distcache.server.cluster;

import io.distcache.server.store.CollectionCodec.Bytes;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * Design: the clients a blocking pop (BZPOPMIN, BZPOPMAX, BZMPOP) parked on this node, by the keys
 * they wait for; node-wide and bounded (park refuses past the limit, so a flood of blocked
 * connections cannot grow it without end). The executor calls written(keys) after it applied a
 * write that can give a key members (LocalExecutor: ZADD, the STORE forms, RENAME/COPY), on the
 * thread that applied it, and only while anyone waits (one volatile read otherwise). wake() must
 * not block: the waiter hands a retry of its pop to its own connection's event loop, and the pop is
 * a normal ZMPOP through the router, so the write and the pop are ordered by the key's gate stripe
 * like any two commands.
 *
 * Order: Redis serves the clients blocked on a key in the order they blocked. So each key keeps
 * its waiters in a queue (insertion order), and a write wakes only the first of each key it
 * wrote. The baton then passes: whenever the first waiter of a key leaves its queue (it popped, its
 * timeout came, its connection closed, CLIENT UNBLOCK), the new first is woken, since the key may
 * still have members (a ZADD of two members serves two clients, one after the other). A waiter
 * that finds nothing stays parked, and nobody behind it is woken: there was nothing to give. A
 * client that parks behind others does not look at the key again after parking (park answers
 * BEHIND): a write that came in between woke the first, and the baton reaches this one in its
 * turn; the first waiter of a key (FIRST) must look again, since nobody would wake it for such a
 * write. Worked example: A, B, C blocked on k in that order; ZADD k 1 x wakes A only, A pops x and
 * leaves, which wakes B, who finds k empty and stays; ZADD k 2 y then wakes B.
 *
 * What stays unordered: a pop the baton passes to is a retry on its own event loop, so a client
 * that pops without blocking (ZPOPMIN, or a BZPOPMIN whose first attempt finds members) can take a
 * member between a write and the woken waiter's retry; in Redis the blocked client is served
 * before any other command runs (docs/PROTOCOL.md). A wake that finds nothing is harmless, so
 * written() may be told of keys that got no members.
 */

/** The clients parked by blocking pops on this node, by key, in the order they parked. Thread-safe. */
public final class KeyWaits {
  /** The most clients parked at once by default, node-wide. */
  public static final int DEFAULT_MAX_PARKED = 10_000;

  /** A parked client: told when one of its keys was written, or when its turn came. */
  public interface Waiter {
    /** One of its keys may have members for it; any thread, must not block. */
    void wake();

    /** True when it waits with a timeout (INFO clients_in_timeout_table); the same for its whole wait. */
    default boolean timed() {
      return false;
    }
  }

  /** What {@link #park} did. */
  public enum Parked {
    /** Nothing: the node holds its limit of parked clients already. */
    REFUSED,
    /** Parked, first in the queue of at least one of its keys: it must look at its keys again. */
    FIRST,
    /** Parked behind other clients on every one of its keys: the baton reaches it in its turn. */
    BEHIND
  }

  /** Each key's waiters, first parked first; a queue is only read or changed inside compute. */
  private final ConcurrentHashMap<Bytes, LinkedHashSet<Waiter>> byKey = new ConcurrentHashMap<>();
  private final AtomicInteger parked = new AtomicInteger();
  private final AtomicInteger timed = new AtomicInteger();
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

  /**
   * The heap a client parked on {@code keys} holds beyond its request's arguments (which its
   * connection counts already): each key's bytes once more (the pop's own request) plus
   * {@link #PER_KEY_BYTES}. Measured: 300,000 keys of 11 bytes parked by one BZPOPMIN held 94 MB
   * (about 315 bytes a key, 43 of them its argument) after a full GC.
   */
  public static long heldBytes(List<byte[]> keys) {
    long bytes = 0;
    for (byte[] k : keys) {
      bytes += k.length + PER_KEY_BYTES;
    }
    return bytes;
  }

  /** A parked key's overhead beyond its bytes and its argument: its queue, map entry and wrapper, its place in the request. */
  static final long PER_KEY_BYTES = 260;

  /** Parks {@code w} on {@code keys}, at the end of each key's queue; REFUSED past the node's limit. */
  public Parked park(Waiter w, List<byte[]> keys) {
    if (parked.incrementAndGet() > maxParked) {
      parked.decrementAndGet();
      return Parked.REFUSED;
    }
    if (w.timed()) {
      timed.incrementAndGet();
    }
    boolean[] first = {false};
    for (byte[] k : keys) {
      byKey.compute(new Bytes(k), (key, queue) -> {
        LinkedHashSet<Waiter> q = queue == null ? new LinkedHashSet<>() : queue;
        if (q.isEmpty() || q.iterator().next() == w) {
          first[0] = true;
        }
        q.add(w);
        return q;
      });
    }
    return first[0] ? Parked.FIRST : Parked.BEHIND;
  }

  /**
   * Unparks {@code w}, parked on {@code keys} by one successful {@link #park}; call once. Where it
   * was first, the next waiter is woken (the baton: see the design note).
   */
  public void unpark(Waiter w, List<byte[]> keys) {
    for (byte[] k : keys) {
      Waiter[] next = {null};
      byKey.computeIfPresent(new Bytes(k), (key, q) -> {
        boolean wasFirst = q.iterator().next() == w;
        q.remove(w);
        if (q.isEmpty()) {
          return null;
        }
        if (wasFirst) {
          next[0] = q.iterator().next();
        }
        return q;
      });
      if (next[0] != null) {
        next[0].wake();
      }
    }
    if (w.timed()) {
      timed.decrementAndGet();
    }
    parked.decrementAndGet();
  }

  /** Clients parked now (INFO blocked_clients). */
  public int parked() {
    return parked.get();
  }

  /** Clients parked now with a timeout (INFO clients_in_timeout_table, as Redis's timeout table). */
  public int timed() {
    return timed.get();
  }

  /** Keys clients are parked on now (INFO total_blocking_keys). */
  public int keys() {
    return byKey.size();
  }

  /** Wakes the first waiter of each of {@code keys}. */
  void written(List<byte[]> keys) {
    if (parked.get() == 0) {
      return;
    }
    for (byte[] k : keys) {
      Waiter[] first = {null};
      byKey.computeIfPresent(new Bytes(k), (key, q) -> {
        first[0] = q.iterator().next();
        return q;
      });
      if (first[0] != null) {
        first[0].wake();
      }
    }
  }
}
