package io.distcache.jcache;

import io.distcache.client.AtomicBatch;
import io.distcache.client.CacheEntry;
import io.distcache.client.DistCacheClient;
import io.distcache.client.DistCacheException;
import io.distcache.client.ScanResult;
import io.distcache.client.SetOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import javax.cache.CacheException;

/*
 * Design: the calls a JCache cache makes to the cluster, in one place so that every client
 * failure reaches the JCache caller as the CacheException the spec promises, with the client's
 * typed exception as the cause (a DistCacheUnavailableException cause says the call may be
 * retried; the client has already retried it under its RetryPolicy when that was safe).
 */

/** The distcache calls of a JCache cache, their failures turned into CacheExceptions. */
final class Remote {
  private final DistCacheClient client;
  private final String cacheName;

  Remote(DistCacheClient client, String cacheName) {
    this.client = client;
    this.cacheName = cacheName;
  }

  CacheEntry getEntry(byte[] key) {
    return call("GET", () -> client.getEntry(key));
  }

  List<byte[]> getAll(List<byte[]> keys) {
    return call("MULTI_GET", () -> client.getAll(keys));
  }

  boolean exists(byte[] key) {
    return call("EXISTS", () -> client.exists(key));
  }

  boolean set(byte[] key, byte[] value, SetOptions options) {
    return call("SET", () -> client.set(key, value, options));
  }

  /** Sets every key to its value with the same options, the requests all in flight at once. */
  void setAll(List<byte[]> keys, List<byte[]> values, SetOptions options) {
    call("SET", () -> {
      List<CompletableFuture<Boolean>> sent = new ArrayList<>(keys.size());
      for (int i = 0; i < keys.size(); i++) {
        sent.add(client.setAsync(keys.get(i), values.get(i), options));
      }
      try {
        CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0])).join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof DistCacheException d) {
          throw d;
        }
        throw e;
      }
      return null;
    });
  }

  byte[] getAndDelete(byte[] key) {
    return call("GETDEL", () -> client.getAndDelete(key));
  }

  boolean delete(byte[] key) {
    return call("DELETE", () -> client.delete(key));
  }

  long deleteAll(List<byte[]> keys) {
    return call("MULTI_DELETE", () -> client.deleteAll(keys));
  }

  boolean expire(byte[] key, Duration ttl) {
    return call("EXPIRE", () -> client.expire(key, ttl));
  }

  boolean persist(byte[] key) {
    return call("PERSIST", () -> client.persist(key));
  }

  ScanResult scan(long cursor, int count, String match) {
    return call("SCAN", () -> client.scan(cursor, count, match));
  }

  /** Deletes {@code key} only if it still has {@code version}; false when it changed or is gone. */
  boolean deleteIfVersion(byte[] key, long version) {
    return execute(client.atomicBatch().ifVersion(key, version).delete(key));
  }

  /** A one-key conditional transaction, started with the version it requires. */
  AtomicBatch ifVersion(byte[] key, long version) {
    return client.atomicBatch().ifVersion(key, version);
  }

  /** Runs a transaction; false when its condition no longer held (nothing was applied). */
  boolean execute(AtomicBatch batch) {
    return call("TRANSACTION", () -> client.execute(batch).applied());
  }

  private <T> T call(String operation, Supplier<T> call) {
    try {
      return call.get();
    } catch (DistCacheException e) {
      throw new CacheException("cache " + cacheName + ": " + operation + " failed: " + e.getMessage(), e);
    }
  }
}
