package io.distcache.server.cluster;

import io.distcache.protocol.cluster.Member;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/*
 * Design: the requests this node has forwarded and not yet heard back about, counted per slot
 * with the member they went to. When a slot changes owner, a request for it must not go to the
 * new owner while one forwarded to the old owner is still on its way: the old owner may hold that
 * one (it is handing its slots off, or the slot is moving to a joining member) and send it to the
 * new owner only later, so the later request, routed straight there, would overtake it (a
 * pipelined SET k 1, SET k 2 leaving 1, or a GET reading the value before an acknowledged SET).
 * So a request for a slot with forwards in flight to another member waits until they have all
 * been answered (ClusterRouter.forward). Nothing waits while the owner stays the same, which is
 * every request but those in the moments after a change.
 *
 * One entry per slot with forwards in flight (at most 16,384), dropped when its count reaches 0.
 */

/** Forwards in flight per slot, and the member they went to. */
final class SlotForwards {
  private static final class InFlight {
    final Member to;
    int count;
    final CompletableFuture<Void> answered = new CompletableFuture<>();

    InFlight(Member to) {
      this.to = to;
    }
  }

  private final ConcurrentHashMap<Integer, InFlight> slots = new ConcurrentHashMap<>();

  /**
   * Null when a request for {@code slot} may go to {@code to} now, and it is then counted until
   * {@link #answered}; otherwise what it must wait for: every forward for the slot to another
   * member answered (then ask again).
   */
  CompletableFuture<Void> sendOrWait(int slot, Member to) {
    CompletableFuture<Void>[] wait = new CompletableFuture[1];
    slots.compute(slot, (s, f) -> {
      if (f == null) {
        f = new InFlight(to);
      } else if (!f.to.equals(to)) {
        wait[0] = f.answered;
        return f;
      }
      f.count++;
      return f;
    });
    return wait[0];
  }

  /** A forward counted by {@link #sendOrWait} for {@code slot} has been answered (or failed). */
  void answered(int slot) {
    CompletableFuture<Void>[] done = new CompletableFuture[1];
    slots.computeIfPresent(slot, (s, f) -> {
      if (--f.count > 0) {
        return f;
      }
      done[0] = f.answered;
      return null;
    });
    if (done[0] != null) {
      done[0].complete(null);
    }
  }

  /**
   * Null when no forward for {@code slot} is in flight; otherwise completes once every one has been
   * answered. For a node that became the slot's owner while its forwards to the old owner are on
   * their way: the old owner may hold them, and serving here first would overtake them.
   */
  CompletableFuture<Void> pending(int slot) {
    InFlight f = slots.get(slot);
    return f == null ? null : f.answered;
  }

  /**
   * Null when no forward of any slot is in flight; otherwise completes once those of one slot have
   * all been answered (ask again). For a request whose keys are not known here (a multi-key request
   * on a node that owns every slot).
   */
  CompletableFuture<Void> anyPending() {
    for (InFlight f : slots.values()) {
      return f.answered;
    }
    return null;
  }

  /** Forwards for {@code slot} in flight to {@code to}: 0 when none, or when they went to another member. */
  int count(int slot, Member to) {
    InFlight f = slots.get(slot);
    return f != null && f.to.equals(to) ? f.count : 0;
  }

  /** Slots with forwards in flight (for tests). */
  int slotsInFlight() {
    return slots.size();
  }
}
