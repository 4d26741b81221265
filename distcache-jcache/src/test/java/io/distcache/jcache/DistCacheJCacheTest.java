package io.distcache.jcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.client.DistCacheClient;
import io.distcache.client.DistCacheUnavailableException;
import io.distcache.junit5.DistCacheExtension;
import java.io.Serializable;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.expiry.CreatedExpiryPolicy;
import javax.cache.expiry.TouchedExpiryPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The provider against real nodes: what the TCK (one JVM, one manager at a time) does not cover. */
class DistCacheJCacheTest {
  @RegisterExtension
  static final DistCacheExtension node = DistCacheExtension.singleNode();

  private final List<DistCacheCachingProvider> providers = new ArrayList<>();

  @AfterEach
  void closeProviders() {
    providers.forEach(DistCacheCachingProvider::close);
  }

  /** A cache manager of its own provider: its own client, as another JVM would have. */
  private CacheManager manager(String addresses) {
    DistCacheCachingProvider p = new DistCacheCachingProvider();
    providers.add(p);
    return p.getCacheManager(URI.create("distcache://" + addresses), getClass().getClassLoader());
  }

  private CacheManager manager() {
    return manager(node.addresses().get(0));
  }

  private static <K, V> MutableConfiguration<K, V> config(Class<K> k, Class<V> v) {
    return new MutableConfiguration<K, V>().setTypes(k, v);
  }

  @Test
  void sameCacheName_twoManagers_shareEntries() {
    Cache<Long, String> a = manager().createCache("shared", config(Long.class, String.class));
    Cache<Long, String> b = manager().createCache("shared", config(Long.class, String.class));

    a.put(1L, "one");
    assertThat(b.get(1L)).isEqualTo("one");
    assertThat(b.remove(1L)).isTrue();
    assertThat(a.containsKey(1L)).isFalse();
    a.getCacheManager().destroyCache("shared");
  }

  @Test
  void destroyCache_byAManagerWithoutTheCache_removesItsEntriesClusterWide() {
    Cache<String, String> doomed = manager().createCache("doomed", config(String.class, String.class));
    Cache<String, String> bystander = manager().createCache("bystander", config(String.class, String.class));
    doomed.put("k", "v");
    bystander.put("k", "v");

    manager().destroyCache("doomed");

    assertThat(doomed.containsKey("k")).isFalse();
    assertThat(bystander.get("k")).isEqualTo("v");
  }

  @Test
  void conditionalReplace_racingManagers_exactlyOneWins() throws Exception {
    List<Cache<String, String>> caches = List.of(
        manager().createCache("race", config(String.class, String.class)),
        manager().createCache("race", config(String.class, String.class)));
    caches.get(0).put("k", "start");
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Boolean>> wins = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Cache<String, String> c = caches.get(i % 2);
        String mine = "writer-" + i;
        wins.add(pool.submit(() -> {
          go.await();
          return c.replace("k", "start", mine);
        }));
      }
      go.countDown();
      List<Integer> winners = new ArrayList<>();
      for (int i = 0; i < wins.size(); i++) {
        if (wins.get(i).get(30, TimeUnit.SECONDS)) {
          winners.add(i);
        }
      }
      assertThat(winners).hasSize(1);
      assertThat(caches.get(1).get("k")).isEqualTo("writer-" + winners.get(0));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void invoke_concurrentIncrementsFromTwoManagers_loseNoUpdate() throws Exception {
    List<Cache<String, Integer>> caches = List.of(
        manager().createCache("counter", config(String.class, Integer.class)),
        manager().createCache("counter", config(String.class, Integer.class)));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<Void>> tasks = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        Cache<String, Integer> c = caches.get(t % 2);
        tasks.add(() -> {
          for (int i = 0; i < 50; i++) {
            c.invoke("n", (entry, args) -> {
              entry.setValue(entry.exists() ? entry.getValue() + 1 : 1);
              return null;
            });
          }
          return null;
        });
      }
      for (Future<Void> f : pool.invokeAll(tasks)) {
        f.get(60, TimeUnit.SECONDS);
      }
      assertThat(caches.get(0).get("n")).isEqualTo(200);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void iterator_moreEntriesThanOneScanPage_yieldsEachOnceAndNothingOfOtherCaches() {
    CacheManager m = manager();
    Cache<Integer, String> big = m.createCache("a", config(Integer.class, String.class));
    Cache<Integer, String> other = m.createCache("a:b", config(Integer.class, String.class));
    Map<Integer, String> expected = new HashMap<>();
    for (int i = 0; i < DistCacheCache.SCAN_COUNT * 3 + 7; i++) {
      expected.put(i, "v" + i);
    }
    big.putAll(expected);
    other.put(-1, "other");

    Map<Integer, String> seen = new HashMap<>();
    for (Cache.Entry<Integer, String> e : big) {
      assertThat(seen.put(e.getKey(), e.getValue())).as("key %s seen twice", e.getKey()).isNull();
    }
    assertThat(seen).isEqualTo(expected);

    big.clear();
    assertThat(big.iterator().hasNext()).isFalse();
    assertThat(other.get(-1)).isEqualTo("other");
  }

  @Test
  void createdExpiry_nodeEndsTheEntry() {
    MutableConfiguration<String, String> c = config(String.class, String.class);
    c.setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(new javax.cache.expiry.Duration(TimeUnit.MILLISECONDS, 300)));
    Cache<String, String> cache = manager().createCache("expiring", c);

    cache.put("k", "v");
    assertThat(cache.get("k")).isEqualTo("v");
    await().atMost(Duration.ofSeconds(10)).until(() -> cache.get("k") == null);
    assertThat(cache.containsKey("k")).isFalse();
  }

  @Test
  void touchedExpiry_access_setsTheNodeTtl() {
    MutableConfiguration<String, String> c = config(String.class, String.class);
    c.setExpiryPolicyFactory(TouchedExpiryPolicy.factoryOf(new javax.cache.expiry.Duration(TimeUnit.HOURS, 1)));
    Cache<String, String> cache = manager().createCache("touched", c);
    DistCacheClient client = cache.unwrap(DistCacheClient.class);

    cache.put("k", "v");
    byte[] key = new KeyNamespace("touched").key(new JavaSerializationCodec(getClass().getClassLoader()).encode("k"));
    client.persist(key);
    assertThat(client.ttl(key)).isEqualTo(DistCacheClient.NO_EXPIRY);
    assertThat(cache.get("k")).isEqualTo("v");
    assertThat(client.ttl(key)).isBetween(Duration.ofMinutes(59).toMillis(), Duration.ofHours(1).toMillis());
  }

  @Test
  void hugeExpiry_isEternalRatherThanAnError() {
    MutableConfiguration<String, String> c = config(String.class, String.class);
    c.setExpiryPolicyFactory(TouchedExpiryPolicy.factoryOf(new javax.cache.expiry.Duration(TimeUnit.DAYS, Long.MAX_VALUE / 2)));
    Cache<String, String> cache = manager().createCache("forever", c);
    DistCacheClient client = cache.unwrap(DistCacheClient.class);
    byte[] key = new KeyNamespace("forever").key(new JavaSerializationCodec(getClass().getClassLoader()).encode("k"));

    cache.put("k", "v");
    assertThat(cache.get("k")).isEqualTo("v");
    cache.put("k", "w");
    assertThat(cache.get("k")).isEqualTo("w");
    assertThat(client.ttl(key)).isEqualTo(DistCacheClient.NO_EXPIRY);
  }

  @Test
  void listener_hearsThisManagersCreations() {
    Cache<String, String> cache = manager().createCache("heard", config(String.class, String.class));
    List<String> created = new java.util.concurrent.CopyOnWriteArrayList<>();
    cache.registerCacheEntryListener(new MutableCacheEntryListenerConfiguration<String, String>(
        FactoryBuilder.factoryOf(new Recorder(created)), null, false, true));

    cache.put("a", "1");
    cache.put("a", "2");
    cache.putIfAbsent("b", "3");

    assertThat(created).containsExactly("a=1", "b=3");
  }

  /** Records created events; a static list, as the factory makes a copy of it by serialization. */
  static final class Recorder implements CacheEntryCreatedListener<String, String>, Serializable {
    private static final long serialVersionUID = 1L;
    private static final Map<Integer, List<String>> SINKS = new java.util.concurrent.ConcurrentHashMap<>();
    private final int id;

    Recorder(List<String> sink) {
      this.id = System.identityHashCode(sink);
      SINKS.put(id, sink);
    }

    @Override
    public void onCreated(Iterable<CacheEntryEvent<? extends String, ? extends String>> events) {
      for (CacheEntryEvent<? extends String, ? extends String> e : events) {
        SINKS.get(id).add(e.getKey() + "=" + e.getValue());
      }
    }
  }

  @Test
  void put_notSerializableValue_refusedNamingTheClass() {
    Cache<String, Object> cache = manager().createCache("objects", config(String.class, Object.class));
    assertThatThrownBy(() -> cache.put("k", new Object()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("java.lang.Object");
    assertThat(cache.containsKey("k")).isFalse();
  }

  @Test
  void get_valueNotWrittenByJCache_isACacheExceptionNotACrash() {
    Cache<String, String> cache = manager().createCache("foreign", config(String.class, String.class));
    DistCacheClient client = cache.unwrap(DistCacheClient.class);
    byte[] key = new KeyNamespace("foreign").key(new JavaSerializationCodec(getClass().getClassLoader()).encode("k"));
    client.set(key, "not java serialization".getBytes(java.nio.charset.StandardCharsets.UTF_8));

    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(CacheException.class).hasMessageContaining("deserialize");
  }

  @Test
  void get_deeplyNestedStoredValue_refusedByTheReadBound() {
    Object deep = "leaf";
    for (int i = 0; i < JavaSerializationCodec.MAX_DEPTH + 10; i++) {
      deep = new Object[] {deep};
    }
    JavaSerializationCodec codec = new JavaSerializationCodec(getClass().getClassLoader());
    byte[] bytes = codec.encode(deep);
    assertThatThrownBy(() -> codec.decode(bytes)).isInstanceOf(CacheException.class).hasMessageContaining("deserialize");
  }

  @Test
  void unreachableCluster_operationFailsWithCacheExceptionCarryingTheRetryableType() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    DistCacheCachingProvider p = new DistCacheCachingProvider();
    providers.add(p);
    Properties props = new Properties();
    props.setProperty(DistCacheCachingProvider.REQUEST_TIMEOUT_MILLIS, "500");
    CacheManager m = p.getCacheManager(URI.create("distcache://127.0.0.1:" + port), getClass().getClassLoader(), props);
    Cache<String, String> cache = m.createCache("nowhere", config(String.class, String.class));

    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(CacheException.class)
        .hasCauseInstanceOf(DistCacheUnavailableException.class);
  }

  @Test
  void uri_namesEveryAddress_andRefusesOtherSchemes() {
    assertThat(DistCacheCachingProvider.addresses(URI.create("distcache://10.0.0.1:7000,10.0.0.2:7001")))
        .containsExactly("10.0.0.1:7000", "10.0.0.2:7001");
    assertThatThrownBy(() -> DistCacheCachingProvider.addresses(URI.create("redis://127.0.0.1:6379")))
        .isInstanceOf(CacheException.class).hasMessageContaining("distcache://host:port");
  }

  @Test
  void namespace_cacheNamesNeverShareAPrefix() {
    byte[] a = new KeyNamespace("a").key(new byte[] {'b', ':', 'x'});
    assertThat(new KeyNamespace("a:b").serializedKey(a)).isNull();
    assertThat(new KeyNamespace("a").serializedKey(a)).containsExactly('b', ':', 'x');
    assertThat(new KeyNamespace("{tag}*").pattern()).isEqualTo("jcache:%7Btag%7D\\*:*");
  }

  /** Every whole-cache operation spans the members: keys of one cache live on all of them. */
  @Nested
  class OnAThreeNodeCluster {
    @RegisterExtension
    static final DistCacheExtension cluster = DistCacheExtension.cluster(3);

    @Test
    void putAllIterateRemoveAll_everyMember() {
      Cache<Integer, Integer> cache = manager(cluster.addresses().get(0)).createCache("spread", config(Integer.class, Integer.class));
      Map<Integer, Integer> entries = new HashMap<>();
      for (int i = 0; i < 300; i++) {
        entries.put(i, i * i);
      }
      cache.putAll(entries);

      Map<Integer, Integer> seen = new HashMap<>();
      cache.forEach(e -> seen.put(e.getKey(), e.getValue()));
      assertThat(seen).isEqualTo(entries);
      assertThat(cache.getAll(entries.keySet())).isEqualTo(entries);

      cache.removeAll();
      assertThat(cache.iterator().hasNext()).isFalse();
      assertThat(cluster.client().size()).isZero();
    }
  }
}
