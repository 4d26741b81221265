package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.BatchOptions;
import org.redisson.api.RAtomicLong;
import org.redisson.api.RBatch;
import org.redisson.api.RBucket;
import org.redisson.api.RLock;
import org.redisson.api.RMap;
import org.redisson.api.RMapCache;
import org.redisson.api.RMapCacheAsync;
import org.redisson.api.RScoredSortedSet;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * Redisson 3.52.0 (default single-server mode) against a node: its objects whose operations are Lua
 * scripts. RLock is taken, re-entered, refused to another thread and freed by its lease; unlock()
 * and forceUnlock() PUBLISH to the lock's channel from inside their script, which wakes a
 * contended lock() waiting on it. RMapCache keeps each entry's expiry and idle times in sorted
 * sets beside its hash (ZADD, ZSCORE, ZREM, ZRANGEBYSCORE, ZINCRBY in its scripts, packed with
 * struct); RScoredSortedSet is the sorted-set commands themselves. An RBatch in IN_MEMORY_ATOMIC
 * mode sends its commands, scripts included, as one MULTI/EXEC.
 */
class RedissonScriptsTest {
  private static RespTestServer server;
  private static RedissonClient redisson;

  @BeforeAll
  static void start() {
    server = new RespTestServer();
    Config config = new Config();
    config.useSingleServer().setAddress("redis://127.0.0.1:" + server.port());
    redisson = Redisson.create(config);
  }

  @AfterAll
  static void stop() {
    if (redisson != null) {
      redisson.shutdown();
    }
    server.close();
  }

  @Test
  void rlock_taken_reentered_refusedToOthers_freedByItsLease() throws Exception {
    RLock lock = redisson.getLock("r-lock");
    assertThat(lock.tryLock(0, 30, TimeUnit.SECONDS)).isTrue();
    assertThat(lock.isLocked()).isTrue();
    assertThat(lock.isHeldByCurrentThread()).isTrue();
    assertThat(lock.tryLock(0, 30, TimeUnit.SECONDS)).isTrue(); // re-entrant: the hold count goes up
    assertThat(lock.getHoldCount()).isEqualTo(2);
    assertThat(lock.remainTimeToLive()).isPositive();
    Boolean other = CompletableFuture.supplyAsync(() -> {
      try {
        return redisson.getLock("r-lock").tryLock(0, 30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }).get(10, TimeUnit.SECONDS);
    assertThat(other).isFalse();

    RLock leased = redisson.getLock("r-lock-leased");
    assertThat(leased.tryLock(0, 300, TimeUnit.MILLISECONDS)).isTrue();
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !leased.isLocked());
    Boolean afterLease = CompletableFuture.supplyAsync(() -> {
      try {
        return redisson.getLock("r-lock-leased").tryLock(0, 30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }).get(10, TimeUnit.SECONDS);
    assertThat(afterLease).isTrue();
  }

  @Test
  void rlock_unlock_wakesAWaiter_forceUnlockFrees() throws Exception {
    RLock lock = redisson.getLock("r-lock-unlock");
    lock.lock();
    assertThat(lock.isHeldByCurrentThread()).isTrue();
    // A contended lock() subscribes to the lock's channel and waits for the unlock's PUBLISH.
    CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
      RLock mine = redisson.getLock("r-lock-unlock");
      mine.lock();
      try {
        return mine.isHeldByCurrentThread();
      } finally {
        mine.unlock();
      }
    });
    Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> redisson.getTopic("redisson_lock__channel:{r-lock-unlock}").countSubscribers() > 0
            || waiter.isDone());
    assertThat(waiter).isNotDone();
    lock.unlock();
    assertThat(waiter.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(lock.isLocked()).isFalse();

    RLock held = redisson.getLock("r-lock-forced");
    assertThat(held.tryLock(0, 60, TimeUnit.SECONDS)).isTrue();
    assertThat(CompletableFuture.supplyAsync(() -> redisson.getLock("r-lock-forced").forceUnlock())
        .get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(held.isLocked()).isFalse();
  }

  @Test
  void rmap_putReturnsPrevious_putIfAbsent_removeIfValue() {
    RMap<String, String> map = redisson.getMap("r-map", StringCodec.INSTANCE);
    assertThat(map.put("a", "1")).isNull();
    assertThat(map.put("a", "2")).isEqualTo("1");
    assertThat(map.putIfAbsent("a", "3")).isEqualTo("2");
    assertThat(map.putIfAbsent("b", "4")).isNull();
    assertThat(map.remove("a", "wrong")).isFalse();
    assertThat(map.remove("a", "2")).isTrue();
    assertThat(map.readAllMap()).containsExactly(java.util.Map.entry("b", "4"));
  }

  @Test
  void atomicLongAndBucket_compareAndSet() {
    RAtomicLong counter = redisson.getAtomicLong("r-counter");
    counter.set(5);
    assertThat(counter.compareAndSet(4, 10)).isFalse();
    assertThat(counter.compareAndSet(5, 10)).isTrue();
    assertThat(counter.get()).isEqualTo(10);
    RBucket<String> bucket = redisson.getBucket("r-bucket", StringCodec.INSTANCE);
    bucket.set("x");
    assertThat(bucket.compareAndSet("y", "z")).isFalse();
    assertThat(bucket.compareAndSet("x", "z")).isTrue();
    assertThat(bucket.get()).isEqualTo("z");
  }

  @Test
  void rmapCache_putWithTtl_get_expires_remove_size_putIfAbsent_fastPut() {
    RMapCache<String, String> cache = redisson.getMapCache("r-map-cache", StringCodec.INSTANCE);
    assertThat(cache.put("kept", "1", 10, TimeUnit.MINUTES)).isNull();
    assertThat(cache.put("kept", "2", 10, TimeUnit.MINUTES)).isEqualTo("1");
    assertThat(cache.put("short", "s", 300, TimeUnit.MILLISECONDS)).isNull();
    assertThat(cache.get("kept")).isEqualTo("2");
    assertThat(cache.get("short")).isEqualTo("s");
    assertThat(cache.remainTimeToLive("kept")).isPositive();
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> cache.get("short") == null);
    assertThat(cache.containsKey("short")).isFalse();
    assertThat(cache.remove("short")).as("an expired entry is not there to remove").isNull();

    assertThat(cache.putIfAbsent("kept", "3", 10, TimeUnit.MINUTES)).isEqualTo("2");
    assertThat(cache.putIfAbsent("new", "n", 10, TimeUnit.MINUTES)).isNull();
    assertThat(cache.fastPut("fast", "f", 10, TimeUnit.MINUTES)).isTrue();
    assertThat(cache.fastPut("fast", "g")).isFalse(); // an update, and now without a time to live
    assertThat(cache.get("fast")).isEqualTo("g");
    // size() is the hash's length: it counts "short" until Redisson's eviction task drops it (its
    // documented behaviour; redis-server 7.0 answers 4 here too).
    assertThat(cache.size()).isEqualTo(4);
    assertThat(cache.remove("kept")).isEqualTo("2");
    assertThat(cache.get("kept")).isNull();
    assertThat(cache.readAllMap()).containsOnly(java.util.Map.entry("new", "n"), java.util.Map.entry("fast", "g"));
  }

  @Test
  void scoredSortedSet_roundTrip() {
    RScoredSortedSet<String> set = redisson.getScoredSortedSet("r-zset", StringCodec.INSTANCE);
    assertThat(set.add(2.5, "b")).isTrue();
    assertThat(set.add(1, "a")).isTrue();
    assertThat(set.add(3, "c")).isTrue();
    assertThat(set.add(1, "a")).isFalse();
    assertThat(set.addScore("a", 10)).isEqualTo(11.0);
    assertThat(set.getScore("b")).isEqualTo(2.5);
    assertThat(set.rank("c")).isEqualTo(1);
    assertThat(set.revRank("c")).isEqualTo(1);
    assertThat(set.valueRange(0, -1)).containsExactly("b", "c", "a");
    assertThat(set.valueRange(2, true, 5, false)).containsExactly("b", "c");
    assertThat(set.count(3, true, Double.POSITIVE_INFINITY, true)).isEqualTo(2);
    assertThat(set.first()).isEqualTo("b");
    assertThat(set.pollLast()).isEqualTo("a");
    assertThat(set.remove("b")).isTrue();
    assertThat(set.size()).isEqualTo(1);
    assertThat(set.readAll()).containsExactly("c");
    assertThat(set.pollFirst()).isEqualTo("c");
    assertThat(set.isExists()).isFalse();
  }

  @Test
  void rbatchInMemoryAtomic_mapCachePutAndBucketSet_runAsOneTransaction() {
    RBatch batch = redisson.createBatch(BatchOptions.defaults().executionMode(BatchOptions.ExecutionMode.IN_MEMORY_ATOMIC));
    RMapCacheAsync<String, String> cache = batch.getMapCache("r-batch-cache", StringCodec.INSTANCE);
    cache.putAsync("f", "1", 10, TimeUnit.MINUTES); // a Lua script, inside MULTI/EXEC
    cache.putAsync("f", "2", 10, TimeUnit.MINUTES);
    batch.getBucket("r-batch-bucket", StringCodec.INSTANCE).setAsync("x");
    batch.getAtomicLong("r-batch-counter").incrementAndGetAsync();
    List<?> responses = batch.execute().getResponses();
    assertThat(new ArrayList<Object>(responses)).containsExactly(null, "1", null, 1L);
    RMapCache<String, String> after = redisson.getMapCache("r-batch-cache", StringCodec.INSTANCE);
    assertThat(after.get("f")).isEqualTo("2");
    assertThat(after.remainTimeToLive("f")).isPositive();
    assertThat(redisson.<String>getBucket("r-batch-bucket", StringCodec.INSTANCE).get()).isEqualTo("x");
    assertThat(redisson.getAtomicLong("r-batch-counter").get()).isEqualTo(1);
  }
}
