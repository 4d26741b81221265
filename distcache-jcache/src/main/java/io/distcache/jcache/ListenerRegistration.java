package io.distcache.jcache;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryEventFilter;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.event.EventType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design: one registered CacheEntryListenerConfiguration: the listener and filter its factories
 * made, and, for an asynchronous listener, one thread of its own so that its events arrive in the
 * order the operations completed (the spec's per-key order, kept here for all keys). The queue of
 * an asynchronous listener is bounded: when a listener falls that far behind, the operation that
 * produced the event waits for room (caller runs), which slows writers rather than dropping events
 * or growing without bound. A synchronous listener runs on the calling thread after the operation,
 * and what it throws reaches the caller as a CacheEntryListenerException.
 */

/** A listener registered on a cache, with its filter and, when asynchronous, its delivery thread. */
final class ListenerRegistration<K, V> {
  private static final Logger log = LoggerFactory.getLogger(ListenerRegistration.class);
  /** Events an asynchronous listener may have waiting before writers wait for it. */
  static final int ASYNC_QUEUE_CAPACITY = 10_000;

  final CacheEntryListenerConfiguration<K, V> configuration;
  private final CacheEntryListener<? super K, ? super V> listener;
  private final CacheEntryEventFilter<? super K, ? super V> filter;
  private final ExecutorService executor;
  /** Failures of an asynchronous listener are logged at most this often. */
  static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
  private final java.util.concurrent.atomic.AtomicLong lastLogNanos = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong unlogged = new java.util.concurrent.atomic.AtomicLong();

  ListenerRegistration(CacheEntryListenerConfiguration<K, V> configuration, String cacheName) {
    this.configuration = configuration;
    Factory<CacheEntryListener<? super K, ? super V>> lf = configuration.getCacheEntryListenerFactory();
    if (lf == null) {
      throw new IllegalArgumentException("a listener configuration needs a listener factory");
    }
    this.listener = lf.create();
    Factory<CacheEntryEventFilter<? super K, ? super V>> ff = configuration.getCacheEntryEventFilterFactory();
    this.filter = ff == null ? null : ff.create();
    if (configuration.isSynchronous()) {
      this.executor = null;
    } else {
      this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
          new LinkedBlockingQueue<>(ASYNC_QUEUE_CAPACITY), r -> {
            Thread t = new Thread(r, "distcache-jcache-listener-" + cacheName);
            t.setDaemon(true);
            return t;
          }, new ThreadPoolExecutor.CallerRunsPolicy());
    }
  }

  boolean synchronous() {
    return executor == null;
  }

  /** Hands the events this listener wants to it: now when synchronous, on its thread otherwise. */
  void deliver(List<EntryEvent<K, V>> events) {
    for (EventType type : EventType.values()) {
      if (!listensTo(type)) {
        continue;
      }
      List<CacheEntryEvent<? extends K, ? extends V>> selected = new java.util.ArrayList<>();
      for (EntryEvent<K, V> e : events) {
        if (e.getEventType() == type && accepts(e)) {
          selected.add(e);
        }
      }
      if (selected.isEmpty()) {
        continue;
      }
      if (executor == null) {
        call(type, selected);
      } else {
        executor.execute(() -> {
          try {
            call(type, selected);
          } catch (RuntimeException e) {
            failed(type, e);
          }
        });
      }
    }
  }

  /**
   * Logs an asynchronous listener's failure, at most once per {@link #LOG_INTERVAL_NANOS} with the
   * count of those not logged, so a listener failing on every event cannot flood the log.
   */
  private void failed(EventType type, RuntimeException e) {
    long now = System.nanoTime();
    long last = lastLogNanos.get();
    if (last != 0 && now - last < LOG_INTERVAL_NANOS) {
      unlogged.incrementAndGet();
      return;
    }
    if (lastLogNanos.compareAndSet(last, now == 0 ? 1 : now)) {
      log.warn("asynchronous cache entry listener {} failed on {} events ({} more failures since the last report): {}",
          listener, type, unlogged.getAndSet(0), e.toString());
    } else {
      unlogged.incrementAndGet();
    }
  }

  private boolean accepts(EntryEvent<K, V> e) {
    if (filter == null) {
      return true;
    }
    try {
      return filter.evaluate(e);
    } catch (CacheEntryListenerException ex) {
      throw ex;
    } catch (RuntimeException ex) {
      throw new CacheEntryListenerException("cache entry event filter " + filter + " failed", ex);
    }
  }

  private boolean listensTo(EventType type) {
    return switch (type) {
      case CREATED -> listener instanceof CacheEntryCreatedListener;
      case UPDATED -> listener instanceof CacheEntryUpdatedListener;
      case REMOVED -> listener instanceof CacheEntryRemovedListener;
      case EXPIRED -> listener instanceof CacheEntryExpiredListener;
    };
  }

  @SuppressWarnings("unchecked")
  private void call(EventType type, List<CacheEntryEvent<? extends K, ? extends V>> events) {
    Iterable<CacheEntryEvent<? extends K, ? extends V>> it = events;
    try {
      switch (type) {
        case CREATED -> ((CacheEntryCreatedListener<K, V>) listener).onCreated(it);
        case UPDATED -> ((CacheEntryUpdatedListener<K, V>) listener).onUpdated(it);
        case REMOVED -> ((CacheEntryRemovedListener<K, V>) listener).onRemoved(it);
        case EXPIRED -> ((CacheEntryExpiredListener<K, V>) listener).onExpired(it);
      }
    } catch (CacheEntryListenerException e) {
      throw e;
    } catch (RuntimeException e) {
      // An Error is not wrapped: it reaches the caller as it is.
      throw new CacheEntryListenerException("cache entry listener " + listener + " failed on " + type, e);
    }
  }

  /** Stops the delivery thread after the events already queued, and closes what the factories made. */
  void close() {
    if (executor != null) {
      executor.shutdown();
    }
    closeQuietly(listener);
    closeQuietly(filter);
  }

  private static void closeQuietly(Object o) {
    try {
      if (o instanceof AutoCloseable c) {
        c.close();
      } else if (o instanceof Closeable c) {
        c.close();
      }
    } catch (IOException e) {
      log.warn("closing {} failed: {}", o, e.toString());
    } catch (Exception e) {
      log.warn("closing {} failed: {}", o, e.toString());
    }
  }
}
