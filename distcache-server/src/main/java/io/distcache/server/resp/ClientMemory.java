package io.distcache.server.resp;

import io.distcache.server.HeapBudgets;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design: one node-wide budget for what Redis connections keep between commands: MULTI queues,
 * WATCHed keys, BCAST prefixes, and replies rendered behind a reply that has not come yet (parked,
 * RespSession; charged, since they exist already, and a connection holding some makes no more
 * while the budget is spent, as it makes none while its client does not read). Each of these has its own bound per connection; this
 * bounds their sum over all connections (a quarter of the heap by default), so that many
 * connections, each within its own bounds, cannot fill the heap together. A connection takes bytes
 * from the budget before it adds to one of them (the command is refused with an error naming the
 * limit when the budget is spent, and nothing is added), gives them back when it drops them (DISCARD,
 * UNWATCH, CLIENT TRACKING OFF; a queue and its watched keys once the transaction EXEC sent has
 * answered, since a forwarded one holds them, and the batch made of them, until then: EXEC charges
 * the batch's heap when it is more, past the limit if need be), and gives back all it holds when it
 * closes.
 *
 * What it counts is counted in the node's HeapBudgets too (taken there after here, refused with the
 * parent's limit named when the sum of the node's budgets would pass it; charged there by force;
 * given back to both), so it cannot fill the heap together with the other budgets either.
 *
 * Each connection's Account is used on its event loop only; the shared total is atomic. A release
 * never gives back more than the account holds, so a structure dropped after the connection closed
 * (and released everything) cannot drive the total below what others hold.
 */

/** The node-wide budget for per-connection state, and each connection's share of it. */
final class ClientMemory {
  /** The default budget: a quarter of the JVM's maximum heap. */
  static final long DEFAULT_MAX_BYTES = Runtime.getRuntime().maxMemory() / 4;

  private final long max;
  private final AtomicLong used = new AtomicLong();
  private final HeapBudgets heap;

  ClientMemory(long max) {
    this(max, HeapBudgets.unbounded());
  }

  ClientMemory(long max, HeapBudgets heap) {
    if (max <= 0) {
      throw new IllegalArgumentException("the connections' memory budget must be positive: " + max);
    }
    this.max = max;
    this.heap = heap;
  }

  long max() {
    return max;
  }

  /** Bytes held by all connections now. */
  long used() {
    return used.get();
  }

  /** A new connection's account, holding nothing. */
  Account account() {
    return new Account();
  }

  /** One connection's share of the budget. */
  final class Account {
    private long held;

    private Account() {}

    /**
     * Takes {@code bytes} for {@code what} (named in the error), or throws, taking nothing, when the
     * node's budget, or the node's heap budgets together, would be exceeded.
     */
    void take(long bytes, String what) {
      long now = used.addAndGet(bytes);
      if (now > max) {
        used.addAndGet(-bytes);
        throw new CommandException("ERR " + what + " (" + bytes + " bytes) would take the memory all connections"
            + " hold for MULTI queues, WATCH and BCAST prefixes over " + max + " bytes, the node's limit ("
            + (now - bytes) + " held); retry later");
      }
      if (!heap.take(bytes)) {
        used.addAndGet(-bytes);
        throw new CommandException("ERR " + what + " (" + bytes + " bytes) " + heap.overLimit() + "; retry later");
      }
      held += bytes;
    }

    /**
     * Counts {@code bytes} that are held already and cannot be refused (replies rendered while
     * earlier ones are parked, RespSession): the total may pass the limit, and {@link #spent} then
     * tells the connections to stop producing more.
     */
    void charge(long bytes) {
      used.addAndGet(bytes);
      heap.force(bytes);
      held += bytes;
    }

    /** True when the node's budget, or its heap budgets together, are spent: a connection holding parked replies makes no more. */
    boolean spent() {
      return used.get() >= max || heap.full();
    }

    /** Gives back {@code bytes} (no more than the account holds). */
    void release(long bytes) {
      long r = Math.min(bytes, held);
      held -= r;
      used.addAndGet(-r);
      heap.release(r);
    }

    /** Gives back everything (the connection closed). */
    void releaseAll() {
      release(held);
    }

    long held() {
      return held;
    }
  }
}
