package io.distcache.client;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: the client's near cache, a bounded Caffeine map from key to the value last read, kept
 * correct by the node's invalidations (Opcode.INVALIDATE on every connection, each of which turned
 * TRACKING on as its first request, so the node remembers every GET made on it).
 *
 * The race every near cache must close: a GET is in flight when an invalidation of its key arrives
 * (the node changed the key after registering the read but before or after running it). Before the
 * GET is sent, a fresh placeholder object is put under the key; an invalidation removes whatever is
 * there; the reply replaces the value only if its own placeholder is still there (an atomic
 * replace(key, placeholder, value)). Worked interleaving: reserve P; GET runs on the node and reads
 * v1; another client writes v2; INVALIDATE(k) arrives and removes P; the GET's reply (v1) finds no P
 * and is not kept; the next get() misses and reads v2. Had the reply come first, v1 would be kept
 * and then removed by the invalidation. A reservation that finds another read's placeholder leaves
 * it alone and does not cache (only one read per key fills the cache at a time).
 *
 * This client's own writes remove the keys they touch before they are sent and again once they
 * are acknowledged, so a get() after an acknowledged write of the same client never finds the old
 * value, even if the node's invalidation for it is still on the wire (it comes on the connection
 * that read the key, which may be another one than the write's).
 *
 * Everything is dropped (values and placeholders, so no reply in flight fills it either) when any
 * connection closes: invalidations sent on it may be lost. A node that refuses TRACKING (an older
 * node) turns the near cache off for good, as it could never be told of changes.
 */

/** A bounded local copy of recently read values, kept correct by the nodes' invalidations. */
final class NearCache {
  private static final Logger log = LoggerFactory.getLogger(NearCache.class);
  /** What the cache holds for a key read as absent. */
  private static final Object ABSENT = new Object();

  private final Cache<ByteBuffer, Object> cache;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder invalidations = new LongAdder();
  private volatile boolean disabled;

  /** A placeholder: one in-flight read's claim on a key. */
  static final class Reservation {}

  NearCache(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("near cache size must be at least 1, got " + maxEntries);
    }
    this.cache = Caffeine.newBuilder().maximumSize(maxEntries).build();
  }

  private static ByteBuffer k(byte[] key) {
    return ByteBuffer.wrap(key);
  }

  /**
   * The cached value: a copy of the bytes, {@link #ABSENT_VALUE} for a key cached as missing, or
   * null when the cache has nothing for the key.
   */
  byte[] get(byte[] key) {
    Object v = cache.getIfPresent(k(key));
    if (v instanceof byte[] b) {
      hits.increment();
      return b.clone();
    }
    if (v == ABSENT) {
      hits.increment();
      return ABSENT_VALUE;
    }
    misses.increment();
    return null;
  }

  /** Returned by {@link #get} for a key cached as absent (compare by identity). */
  static final byte[] ABSENT_VALUE = new byte[0];

  /** Claims the key for a read about to be sent; null when it cannot be cached (another read holds it). */
  Reservation reserve(byte[] key) {
    if (disabled) {
      return null;
    }
    Reservation r = new Reservation();
    Object before = cache.asMap().putIfAbsent(k(key.clone()), r);
    return before == null ? r : null;
  }

  /** The read under {@code r} answered {@code value} (null: absent): kept if no invalidation came since. */
  void fill(byte[] key, Reservation r, byte[] value) {
    if (r == null) {
      return;
    }
    Object v = value == null ? ABSENT : value.clone();
    if (!disabled && cache.asMap().replace(k(key), r, v) && disabled) {
      cache.invalidateAll(); // turned off while filling: nothing may stay
    }
  }

  /**
   * A read that could not reserve the key (another read of it was in flight) answered {@code value}:
   * a cached value that differs is older or about to be invalidated, so it goes; so does the other
   * read's reservation, whose answer may be older than this one (the caller must not see it next).
   */
  void seen(byte[] key, byte[] value) {
    cache.asMap().computeIfPresent(k(key), (k, old) -> old == ABSENT && value == null
        || old instanceof byte[] b && value != null && java.util.Arrays.equals(b, value) ? old : null);
  }

  /** The read under {@code r} failed: frees the key. */
  void release(byte[] key, Reservation r) {
    if (r != null) {
      cache.asMap().remove(k(key), r);
    }
  }

  /** The node said these keys changed, or this client writes them. */
  void invalidate(List<byte[]> keys) {
    for (byte[] key : keys) {
      cache.invalidate(k(key));
    }
    invalidations.add(keys.size());
  }

  void invalidate(byte[] key) {
    cache.invalidate(k(key));
    invalidations.increment();
  }

  /** Every key changed (a flush), or invalidations may have been lost (a connection closed). */
  void invalidateAll() {
    cache.invalidateAll();
    invalidations.increment();
  }

  /** A node refused TRACKING: nothing can be cached correctly any more. */
  void disable(String why) {
    if (!disabled) {
      disabled = true;
      log.warn("near cache turned off: {}", why);
    }
    cache.invalidateAll();
  }

  boolean disabled() {
    return disabled;
  }

  long hits() {
    return hits.sum();
  }

  long misses() {
    return misses.sum();
  }

  long invalidations() {
    return invalidations.sum();
  }

  long size() {
    return cache.estimatedSize();
  }
}
