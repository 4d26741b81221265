package io.distcache.server.net;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/*
 * Design: what a connection's next request must wait for so that it does not overtake a held
 * write (see cluster/HeldReply). A client's connection is one pipeline: every later request waits
 * for the held one, as Redis runs a pipeline in order. A peer's connection carries the forwards of
 * many clients of the peer (one per event loop), so only the later forwards for the same slot
 * wait (a keyless one, a multi-key part, waits for all and is waited for by all): holding a whole
 * peer link would park every client's forward behind one slot for as long as a hand-off lasts,
 * and with them, once the reading stopped, the membership traffic on the link.
 *
 * Each entry is the barrier of the last request that took the place: its reply while it is held,
 * or, for one that waited itself, a future completed once it has been routed and is not held.
 * Entries are dropped once complete. One instance per connection, used on its event loop only.
 */

/** The per-connection (or, on a peer's connection, per-slot) order of requests behind a held write. */
final class HeldOrder {
  /** A request that names no single slot. */
  static final int ANY_SLOT = -1;

  private final boolean perSlot;
  /** Keyless (or, per connection, every) request's barrier; null when none. */
  private CompletableFuture<?> all;
  private final Map<Integer, CompletableFuture<?>> slots = new HashMap<>();
  /** Requests waiting behind a barrier now (a peer's are bounded by the caller). */
  int waiting;

  HeldOrder(boolean perSlot) {
    this.perSlot = perSlot;
  }

  /** What a request for {@code slot} ({@link #ANY_SLOT} when none) must wait for; null when nothing. */
  CompletableFuture<?> before(int slot) {
    if (all != null && all.isDone()) {
      all = null;
    }
    if (!perSlot || slots.isEmpty()) {
      return all;
    }
    List<CompletableFuture<?>> pending = new ArrayList<>(2);
    if (all != null) {
      pending.add(all);
    }
    if (slot == ANY_SLOT) {
      for (Iterator<CompletableFuture<?>> it = slots.values().iterator(); it.hasNext(); ) {
        CompletableFuture<?> f = it.next();
        if (f.isDone()) {
          it.remove();
        } else {
          pending.add(f);
        }
      }
    } else {
      CompletableFuture<?> f = slots.get(slot);
      if (f != null && f.isDone()) {
        slots.remove(slot);
      } else if (f != null) {
        pending.add(f);
      }
    }
    return switch (pending.size()) {
      case 0 -> null;
      case 1 -> pending.get(0);
      default -> CompletableFuture.allOf(pending.stream().map(f -> f.exceptionally(e -> null))
          .toArray(CompletableFuture<?>[]::new));
    };
  }

  /** Later requests for {@code slot} (all of them, per connection) wait for {@code until}. */
  void occupy(int slot, CompletableFuture<?> until) {
    if (!perSlot || slot == ANY_SLOT) {
      all = until;
    } else {
      slots.put(slot, until);
    }
  }
}
