package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.HashFieldExpiry;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ValueType;
import io.distcache.server.Clock;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.ScanResult;
import io.distcache.server.store.Store;
import io.distcache.server.store.TypedEntry;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the active half of hash field expiry. An expired field is invisible from its moment on
 * (HashRequests hides it), so this task only gives its memory back, for hashes nobody writes again,
 * and publishes "hexpired" close to when the field expired, as Redis's active expiry does.
 *
 * It walks the store with a SCAN cursor that carries over from tick to tick, in bounded bites: at
 * most KEYS_PER_TICK keys looked at, BYTES_PER_TICK bytes of hash payload read and REAPS_PER_TICK
 * hashes rewritten per tick (every PERIOD_MILLIS), so its cost per tick does not grow with the
 * store. A hash whose earliest field expiry (read from the payload's trailer without decoding a
 * field) has come gets an HREAP request through the node's router, like a client's write: it runs
 * under the key's gate stripe, on the owner, and its new value (or its deletion) is shipped to the
 * replicas as an effect. Keys of slots this node only replicates are skipped: their owner reaps
 * them and ships the result, so a replica never changes its copy on its own, and after a failover
 * the new owner finds the fields by the same walk, since the times travel inside the values.
 *
 * Why a walk and not an index by expiry (Redis keeps one): the times arrive by many paths (writes,
 * replication, migration, RENAME, COPY, scripts); a walk finds them whatever the path, with no
 * second structure to keep exact. Its price is latency: a field's memory comes back within one full
 * walk, keys / (KEYS_PER_TICK * 1000 / PERIOD_MILLIS) seconds (100 s for a million keys), which
 * docs/ARCHITECTURE.md states. Time is the store's clock, so tests drive sweepOnce() with a manual
 * clock instead of waiting.
 */

/** Reclaims the expired fields of hashes: a bounded walk of the store each tick. */
public final class FieldExpirySweeper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FieldExpirySweeper.class);
  static final long PERIOD_MILLIS = 100;
  static final int KEYS_PER_TICK = 1_000;
  static final int REAPS_PER_TICK = 200;
  static final long BYTES_PER_TICK = 4L * 1024 * 1024;
  private static final int SCAN_STEP = 128;

  private final Store store;
  private final Router router;
  private final Predicate<byte[]> owned;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  /** The walk's position; read and written only by the one thread that runs sweepOnce. */
  private long cursor;

  /**
   * A sweeper of {@code store} that sends its HREAP requests to {@code router} for the keys
   * {@code owned} accepts (this node's own slots); {@link #start} schedules it.
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
   * One bounded bite of the walk; returns how many hashes it asked to reap. Not thread-safe: the
   * scheduled task calls it, or a test that did not start() the schedule.
   */
  public int sweepOnce() {
    long now = clock.millis();
    int examined = 0;
    long bytes = 0;
    int reaped = 0;
    do {
      ScanResult step = store.scan(cursor, SCAN_STEP);
      cursor = step.nextCursor();
      for (byte[] key : step.keys()) {
        examined++;
        if (store.typeOf(key) != ValueType.HASH || !owned.test(key)) {
          continue;
        }
        TypedEntry e = store.peekEntry(key);
        if (e == null || e.type() != ValueType.HASH) {
          continue;
        }
        bytes += e.value().length;
        long earliest = CollectionCodec.earliestFieldExpiry(e.value());
        if (earliest == 0 || earliest > now) {
          continue;
        }
        router.route(Frame.request(Opcode.HASH, 0, key, Frame.EMPTY, HashFieldExpiry.HREAP));
        reaped++;
      }
    } while (cursor != 0 && examined < KEYS_PER_TICK && bytes < BYTES_PER_TICK && reaped < REAPS_PER_TICK);
    return reaped;
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
