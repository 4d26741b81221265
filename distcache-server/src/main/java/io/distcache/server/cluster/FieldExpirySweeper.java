package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.HashFieldExpiry;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import io.distcache.server.store.FieldExpiryIndex;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import io.distcache.server.store.TypedEntry;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the active half of hash field expiry. An expired field is invisible from its moment on
 * (HashRequests hides it), so this task gives its memory back for hashes nobody touches again,
 * removes a hash whose every field expired, and publishes "hexpired" (and "del") close to when the
 * field expired, as Redis's active expiry does.
 *
 * What is due comes from the store's FieldExpiryIndex (hashes with field times, by the time the
 * sweep should look at each), every PERIOD_MILLIS on the store's clock, in bounded steps: at most
 * ENTRIES_PER_TICK index entries looked at, BYTES_PER_TICK bytes of hash payload read and
 * REAPS_PER_TICK hashes rewritten per tick, and at most MAX_IN_FLIGHT rewrites unanswered, so a
 * tick costs the same whatever the store holds. For each due entry it reads the hash (the index is
 * a hint, never the truth): gone or without times, the entry goes; not due after all, the entry
 * moves to the real time; due, and this node is the slot's primary, it sends HREAP through the
 * node's router like a client's write. HREAP runs in HashRequests under the key's gate stripe,
 * removes the expired fields (or the key with its last field), publishes the events, and is
 * shipped to the replicas by Replicator as the write's effect (the new value, or a delete), never
 * as a command a replica runs again; its putTyped goes through the store's write template, so
 * client tracking invalidates the key and the index gets the hash's next time. Until then the entry
 * waits RETRY_MILLIS, so a lost or refused HREAP is tried again and never spins.
 *
 * Only the primary sweeps. A replica holds index entries too (its applied effects feed it), which
 * is what makes a failover or a migration need no rebuild: the new primary already knows its
 * hashes. While it is a replica an entry that comes due is pushed back by RETRY_MILLIS and, almost
 * always, replaced first by the primary's effect.
 *
 * A store without an index (ReferenceStore), or one whose index is full (it says incomplete), is
 * also walked with a SCAN cursor carried from tick to tick (KEYS_PER_TICK keys a tick, same byte
 * and rewrite bounds): a due hash of this node's slots gets HREAP, after being indexed RETRY_MILLIS
 * ahead (so a lost HREAP is retried from the index, as for a due entry, even once the walk has
 * ended and the index is complete), and a hash the index lacks is offered to it. A whole walk with
 * nothing refused makes the index complete again.
 *
 * Time is the store's clock, so tests call sweepOnce() after moving a ManualClock.
 */

/** Reclaims the expired fields of hashes: due hashes from the store's index, a bounded step each tick. */
public final class FieldExpirySweeper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FieldExpirySweeper.class);
  static final long PERIOD_MILLIS = 100;
  static final int ENTRIES_PER_TICK = 1_000;
  static final int KEYS_PER_TICK = 1_000;
  static final int REAPS_PER_TICK = 200;
  static final long BYTES_PER_TICK = 4L * 1024 * 1024;
  /** How long an entry waits after an HREAP was sent for it, or while this node only replicates it. */
  public static final long RETRY_MILLIS = 1_000;
  static final int MAX_IN_FLIGHT = 1_000;
  private static final int SCAN_STEP = 128;

  private final Store store;
  private final Router router;
  private final Predicate<byte[]> owned;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final AtomicInteger inFlight = new AtomicInteger();
  /** The walk's position and what the index had refused when it began; only the sweeping thread uses them. */
  private long cursor;
  private long refusalsAtWalkStart;

  /**
   * A sweeper of {@code store} that sends its HREAP requests to {@code router} for the keys
   * {@code owned} accepts (the slots this node is primary of); {@link #start} schedules it.
   */
  public FieldExpirySweeper(Store store, Router router, Predicate<byte[]> owned) {
    this.store = store;
    this.router = router;
    this.owned = owned;
    this.clock = store.config().clock();
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "distcache-field-expiry");
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs a tick every PERIOD_MILLIS from now on. */
  public FieldExpirySweeper start() {
    executor.scheduleWithFixedDelay(this::tick, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    return this;
  }

  private void tick() {
    try {
      sweepOnce();
    } catch (RuntimeException e) {
      // never let one failure end the schedule: expired fields would keep their memory
      log.error("hash field expiry sweep failed", e);
    }
  }

  /**
   * One bounded step; returns how many hashes it asked to reap. Not thread-safe: the scheduled
   * task calls it, or a test that did not start() the schedule.
   */
  public int sweepOnce() {
    long now = clock.millis();
    FieldExpiryIndex index = store.fieldExpiryIndex();
    Budget budget = new Budget();
    if (index != null) {
      for (FieldExpiryIndex.Due d : index.due(now, ENTRIES_PER_TICK)) {
        if (!budget.left()) {
          break;
        }
        visit(index, d, now, budget);
      }
    }
    if (index == null || index.incomplete()) {
      walk(index, now, budget);
    }
    return budget.reaped;
  }

  private void visit(FieldExpiryIndex index, FieldExpiryIndex.Due d, long now, Budget budget) {
    // Read where the hash lies, not copied: a large hash's due time is a pass over its table's
    // times. A replica's bound (the 8 bytes its replayed edits write) can stay at or before now
    // while its fields are not due, so its entry comes due again after every replayed edit; a
    // copy of the whole hash each time was a 10 MB copy per tick on a reviewer's replica.
    // The step's byte budget counts what was read: a small hash whole (copied), a large one about
    // its table's share (the times, not the fields).
    long[] seen = store.peekValue(d.key(), (type, v, expireAt) -> type != ValueType.HASH ? null
        : new long[] {FieldExpiryIndex.dueTime(v, expireAt), PackedIndex.isIndexed(v) ? v.limit() / 4 : v.limit()});
    if (seen == null) {
      index.reschedule(d.key(), d.at(), 0); // deleted, evicted, expired or overwritten
      return;
    }
    budget.bytes += seen[1];
    long at = seen[0];
    if (at == 0 || at > now) {
      index.reschedule(d.key(), d.at(), at); // no times left, or a later one than indexed
      return;
    }
    index.reschedule(d.key(), d.at(), now + RETRY_MILLIS); // the reap's own write puts the next time
    if (owned.test(d.key())) {
      reap(d.key(), budget);
    }
  }

  /** One bite of the walk: for a store without an index, or while the index is incomplete. */
  private void walk(FieldExpiryIndex index, long now, Budget budget) {
    int examined = 0;
    do {
      if (cursor == 0 && index != null) {
        refusalsAtWalkStart = index.refusals();
      }
      ScanResult step = store.scan(cursor, SCAN_STEP);
      cursor = step.nextCursor();
      for (byte[] key : step.keys()) {
        examined++;
        if (store.typeOf(key) != ValueType.HASH) {
          continue;
        }
        TypedEntry e = store.peekEntry(key);
        if (e == null || e.type() != ValueType.HASH) {
          continue;
        }
        budget.bytes += e.value().length;
        long at = FieldExpiryIndex.dueTime(e.value(), e.expireAtMillis());
        if (at == 0) {
          continue;
        }
        if (at <= now && owned.test(key) && budget.left()) {
          if (index != null) {
            // first, as visit does: the reap's own write puts the next time, and should it be lost
            // the hash waits here instead of being left out until its next write
            index.retryAt(key, now + RETRY_MILLIS);
          }
          reap(key, budget);
        } else if (index != null) {
          index.offer(key, e.value(), e.expireAtMillis());
        }
      }
      if (cursor == 0 && index != null) {
        index.markComplete(refusalsAtWalkStart);
      }
    } while (cursor != 0 && examined < KEYS_PER_TICK && budget.left());
  }

  private void reap(byte[] key, Budget budget) {
    budget.reaped++;
    inFlight.incrementAndGet();
    router.route(Frame.request(Opcode.HASH, 0, key, Frame.EMPTY, HashFieldExpiry.HREAP))
        .whenComplete((reply, failure) -> inFlight.decrementAndGet());
  }

  /** What one tick may still spend. */
  private final class Budget {
    int reaped;
    long bytes;

    boolean left() {
      return reaped < REAPS_PER_TICK && bytes < BYTES_PER_TICK && inFlight.get() < MAX_IN_FLIGHT;
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
