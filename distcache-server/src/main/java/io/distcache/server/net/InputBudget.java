package io.distcache.server.net;

import io.distcache.server.HeapBudgets;
import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Design: each connection's limits (RespLimits, --max-frame) bound what one request may claim, but
 * not what many connections hold together: 24 connections each sending an incomplete request of a
 * million empty arguments held 151 MB of wire bytes as far more heap, and killed the node with an
 * OutOfMemoryError; 26 half-sent 31 MB frames used up direct memory. This is the node-wide sum of
 * what every connection holds for requests not yet complete (the decoder's unread bytes, plus the
 * heap copies of a Redis request's arguments already parsed), kept by InputMeter. A connection whose
 * growth would take the sum past the limit is refused and closed; the others keep what they hold.
 *
 * A complete request counts here too while it waits to run: a connection that waits (behind a
 * slower reply, a blocking pop, a script, replies its client does not read) stops reading, but
 * holds what its last reads completed, up to a --max-frame request each; 29 connections each
 * holding a million decoded arguments behind a blocking pop filled a 128 MiB heap. A complete request that
 * runs at once is never counted, so clients that send whole requests to a node that keeps up never
 * meet this bound (InputMeter.holdWaiting). HTTP, which answers one request at a time, counts the
 * requests a connection pipelined behind the one being answered (up to 16 each, with up to 12 KiB
 * of line and headers) until their turn.
 *
 * Every byte counted here is counted in the node's HeapBudgets too (a growth needs room in both,
 * and a refusal by either leaves both unchanged; forced bytes are forced there; shrinking gives
 * back to both), so requests cannot fill the heap together with the node's other budgets.
 *
 * The default is a quarter of the heap or an eighth of direct memory, whichever is smaller (at
 * least 16 MiB): the bytes sit in direct buffers while they arrive and on the heap once parsed.
 */

/** The node-wide bound on bytes held for requests that have not completely arrived, or not yet run. */
public final class InputBudget {
  static final long MIN_DEFAULT_BYTES = 16L * 1024 * 1024;

  private final long limit;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong refusals = new AtomicLong();
  /** The part of {@code used} that parked clients hold (reserveParked). */
  private final AtomicLong parked = new AtomicLong();
  private final HeapBudgets heap;

  public InputBudget(long limitBytes) {
    this(limitBytes, HeapBudgets.unbounded());
  }

  /** A budget whose bytes count in the node's {@code heap} too. */
  public InputBudget(long limitBytes, HeapBudgets heap) {
    if (limitBytes < 1) {
      throw new IllegalArgumentException("input buffer limit must be positive: " + limitBytes);
    }
    this.limit = limitBytes;
    this.heap = heap;
  }

  /** The default limit for this JVM (see the design note). */
  public static long defaultLimitBytes() {
    long heap = Runtime.getRuntime().maxMemory() / 4;
    long direct = PlatformDependent.maxDirectMemory() / 8;
    return Math.max(MIN_DEFAULT_BYTES, Math.min(heap, direct));
  }

  /**
   * Changes one connection's holding from {@code from} to {@code to} bytes; false (and nothing
   * changed) when growing would pass the limit. Shrinking always succeeds. Public for the HTTP
   * side, whose requests decoded but not yet answered count here too (http/HttpHandler).
   */
  public boolean resize(long from, long to) {
    return change(to - from, true);
  }

  /**
   * As {@link #resize}, refused only by this bound: a growth is counted in the node's shared heap
   * total by force (a peer's link, InputMeter.peerLink).
   */
  public boolean resizeOwn(long from, long to) {
    return change(to - from, false);
  }

  private boolean change(long delta, boolean sharedMayRefuse) {
    if (delta <= 0) {
      if (delta < 0) {
        used.addAndGet(delta);
        heap.release(-delta);
      }
      return true;
    }
    if (used.addAndGet(delta) > limit || sharedMayRefuse && !heap.take(delta)) {
      used.addAndGet(-delta);
      refusals.incrementAndGet();
      return false;
    }
    if (!sharedMayRefuse) {
      heap.force(delta);
    }
    return true;
  }

  /**
   * Counts {@code bytes} more whatever the limit: for what is already held and cannot be refused
   * any more (a request that ran and waits for its reply). Others' growth is refused meanwhile.
   */
  public void force(long bytes) {
    if (bytes > 0) {
      used.addAndGet(bytes);
      heap.force(bytes);
    }
  }

  /** True when nothing more fits, here or in the node's heap budgets together. */
  public boolean full() {
    return used.get() >= limit || heap.full();
  }

  /**
   * Counts {@code bytes} for a parked client (a blocking pop's keys, held for as long as its client
   * likes), in a share of its own: refused when one parked client would take more than a sixteenth
   * of the limit, when the parked clients together would pass half of it, or when the whole bound
   * would. So they can never leave the other requests less than half, and filling their half takes
   * many connections (bounded by maxclients and the blocked-client limit); ordinary traffic, for
   * its part, never keeps a pop from parking while the bound has room. False: nothing changed.
   */
  public boolean reserveParked(long bytes) {
    if (bytes <= 0) {
      return true;
    }
    if (bytes > limit / PARKED_SHARES_PER_CLIENT) {
      refusals.incrementAndGet();
      return false;
    }
    if (parked.addAndGet(bytes) > limit / 2) {
      parked.addAndGet(-bytes);
      refusals.incrementAndGet();
      return false;
    }
    if (used.addAndGet(bytes) > limit || !heap.take(bytes)) {
      used.addAndGet(-bytes);
      parked.addAndGet(-bytes);
      refusals.incrementAndGet();
      return false;
    }
    return true;
  }

  /** A parked client counted by {@link #reserveParked} answered or went: its bytes no longer count. */
  public void releaseParked(long bytes) {
    if (bytes > 0) {
      parked.addAndGet(-bytes);
      used.addAndGet(-bytes);
      heap.release(bytes);
    }
  }

  /** Bytes of parked clients (part of {@link #usedBytes}). */
  public long parkedBytes() {
    return parked.get();
  }

  /** One parked client may hold at most this fraction (1/16) of the limit. */
  static final int PARKED_SHARES_PER_CLIENT = 16;

  public long limitBytes() {
    return limit;
  }

  /** The node's limit on its heap budgets together, which this budget counts in too. */
  public HeapBudgets heap() {
    return heap;
  }

  /** True when a growth of {@code more} bytes just refused had room here: the node's heap budgets refused it. */
  public boolean parentRefused(long more) {
    return used.get() + more <= limit;
  }

  /**
   * Why a growth of {@code more} bytes was refused, for the client and the log: this bound's
   * limit, or the node's heap budgets' when this one had room.
   */
  String refusal(long more) {
    long used = usedBytes();
    if (!parentRefused(more)) {
      return "the node's buffers for requests not yet run are full: all connections hold " + used
          + " bytes, the limit is " + limit + " (--max-input-buffer), and this connection needs " + more + " more";
    }
    return "this connection's requests not yet run (" + more + " bytes more) " + heap.overLimit();
  }

  /** Bytes held for requests not yet complete or not yet run now, over every connection. */
  public long usedBytes() {
    return used.get();
  }

  /** Connections refused because the limit was reached, since start. */
  public long refusals() {
    return refusals.get();
  }
}
