package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.client.CacheEntry;
import io.distcache.client.CasResult;
import io.distcache.client.DistCacheClient;
import io.distcache.client.ExpireCondition;
import io.distcache.client.ScanResult;
import io.distcache.client.SetOptions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every {@link DistCacheClient} operation against a real node on a free loopback port, blocking
 * and async, byte[] and String forms. Expiry runs on the node's injected clock, so TTLs are exact
 * and nothing sleeps.
 */
class ClientServerTest {
  private final ManualClock clock = new ManualClock();
  private DistCacheNode node;
  private DistCacheClient client;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L * 1024 * 1024).clock(clock).start();
    client = DistCacheClient.builder().addresses("127.0.0.1:" + node.port()).build();
  }

  @AfterEach
  void stop() {
    client.close();
    node.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void ping_withAndWithoutPayload_echoes() {
    client.ping();
    client.pingAsync().join();

    assertThat(client.ping(b("hello"))).isEqualTo(b("hello"));
  }

  @Test
  void getAndSet_allForms_roundTripBytesAndUtf8() {
    client.set("k1", "v1 ünïcode");
    client.set(b("k2"), new byte[] {0, (byte) 0xFF, 7});
    assertThat(client.setAsync("k3", "v3").join()).isTrue();
    assertThat(client.setAsync(b("k4"), b("v4")).join()).isTrue();

    assertThat(client.get("k1")).isEqualTo("v1 ünïcode");
    assertThat(client.get(b("k2"))).containsExactly(0, 0xFF, 7);
    assertThat(client.getAsync("k3").join()).isEqualTo("v3");
    assertThat(client.getAsync(b("k4")).join()).isEqualTo(b("v4"));
    assertThat(client.get("absent")).isNull();
    assertThat(client.getAsync(b("absent")).join()).isNull();
  }

  @Test
  void set_emptyValueAndLargeKey_storedExactly() {
    byte[] key = new byte[64 * 1024];
    Arrays.fill(key, (byte) 'k');
    client.set(key, new byte[0]);

    assertThat(client.get(key)).isEmpty();
    assertThat(client.exists(key)).isTrue();
  }

  @Test
  void set_conditions_answerWhetherWritten() {
    assertThat(client.set("k", "a", SetOptions.none().ifPresent())).isFalse();
    assertThat(client.setIfAbsent("k", "a")).isTrue();
    assertThat(client.setIfAbsent(b("k"), b("b"))).isFalse();
    assertThat(client.set("k", "c", SetOptions.none().ifPresent())).isTrue();
    assertThat(client.setAsync("k", "d", SetOptions.none().ifAbsent()).join()).isFalse();

    assertThat(client.get("k")).isEqualTo("c");
  }

  @Test
  void set_withTtl_expiresExactlyOnTheNodesClock() {
    long now = clock.millis();
    client.set("a", "1", Duration.ofSeconds(5));
    client.set(b("b"), b("2"), Duration.ofMillis(1500));
    client.set("c", "3", SetOptions.expireAt(Instant.ofEpochMilli(now + 3000)));

    assertThat(client.ttl("a")).isEqualTo(5000);
    assertThat(client.expireTime("a")).isEqualTo(now + 5000);
    assertThat(client.ttlAsync(b("b")).join()).isEqualTo(1500);
    assertThat(client.expireTimeAsync("c").join()).isEqualTo(now + 3000);
    assertThat(client.getEntry("a").expiresAt()).isEqualTo(Instant.ofEpochMilli(now + 5000));

    clock.advanceMillis(1499);
    assertThat(client.get("b")).isEqualTo("2");
    assertThat(client.ttl("b")).isEqualTo(1);
    clock.advanceMillis(1);
    assertThat(client.get("b")).isNull();
    assertThat(client.ttl("b")).isEqualTo(DistCacheClient.KEY_MISSING);

    clock.advanceMillis(1500);
    assertThat(client.exists("c")).isFalse();
    assertThat(client.ttl("a")).isEqualTo(2000);
    clock.advanceMillis(2000);
    assertThat(client.get("a")).isNull();
  }

  @Test
  void set_subMillisecondTtl_roundsUpInsteadOfMeaningNoExpiry() {
    client.set("k", "v", Duration.ofNanos(1));

    assertThat(client.ttl("k")).isEqualTo(1);
    clock.advanceMillis(1);
    assertThat(client.get("k")).isNull();
  }

  @Test
  void set_keepTtl_keepsTheExpiryAndPlainSetClearsIt() {
    client.set("k", "v1", Duration.ofSeconds(10));
    client.set("k", "v2", SetOptions.none().keepTtl());
    assertThat(client.ttl("k")).isEqualTo(10_000);

    client.set("k", "v3");
    assertThat(client.ttl("k")).isEqualTo(DistCacheClient.NO_EXPIRY);
    assertThat(client.expireTime("k")).isEqualTo(DistCacheClient.NO_EXPIRY);
  }

  @Test
  void getEntry_versionsChangeOnEveryWriteAndDriveCompareAndSet() {
    assertThat(client.getEntry("k")).isNull();
    client.set("k", "v1");
    CacheEntry first = client.getEntry("k");
    assertThat(first.valueAsString()).isEqualTo("v1");
    assertThat(first.expireAtMillis()).isEqualTo(DistCacheClient.NO_EXPIRY);
    assertThat(first.expiresAt()).isNull();

    CasResult written = client.compareAndSet("k", first.version(), "v2");
    assertThat(written.written()).isTrue();
    assertThat(written.version()).isNotEqualTo(first.version());
    CacheEntry second = client.getEntryAsync(b("k")).join();
    assertThat(second.version()).isEqualTo(written.version());

    CasResult stale = client.compareAndSet(b("k"), first.version(), b("v3"));
    assertThat(stale.outcome()).isEqualTo(CasResult.Outcome.VERSION_MISMATCH);
    assertThat(stale.version()).isEqualTo(second.version());
    assertThat(client.compareAndSet("absent", 1, "x").outcome()).isEqualTo(CasResult.Outcome.NOT_FOUND);
    assertThat(client.get("k")).isEqualTo("v2");

    CasResult withTtl = client.compareAndSet(b("k"), second.version(), b("v4"), Duration.ofSeconds(3));
    assertThat(withTtl.written()).isTrue();
    assertThat(client.ttl("k")).isEqualTo(3000);
    CasResult asyncCas = client.compareAndSetAsync(b("k"), withTtl.version(), b("v5"), null).join();
    assertThat(asyncCas.written()).isTrue();
    assertThat(client.ttl("k")).isEqualTo(DistCacheClient.NO_EXPIRY);
  }

  @Test
  void getAndSet_returnsPreviousAndAppliesTtl() {
    assertThat(client.getAndSet("k", "v1")).isNull();
    assertThat(client.getAndSet(b("k"), b("v2"))).isEqualTo(b("v1"));
    assertThat(client.getAndSet("k", "v3", Duration.ofSeconds(2))).isEqualTo("v2");
    assertThat(client.ttl("k")).isEqualTo(2000);
    assertThat(client.getAndSetAsync("k", "v4").join()).isEqualTo("v3");
    assertThat(client.ttl("k")).isEqualTo(DistCacheClient.NO_EXPIRY);
    assertThat(client.getAndSetAsync(b("k"), b("v5"), Duration.ofMillis(10)).join()).isEqualTo(b("v4"));
    assertThat(client.getAndSet(b("k"), b("v6"), Duration.ofSeconds(1))).isEqualTo(b("v5"));
  }

  @Test
  void getAndDelete_returnsValueOnceThenNull() {
    client.set("k", "v");
    client.set("k2", "v2");

    assertThat(client.getAndDelete("k")).isEqualTo("v");
    assertThat(client.getAndDelete(b("k"))).isNull();
    assertThat(client.getAndDeleteAsync("k2").join()).isEqualTo("v2");
    assertThat(client.getAndDeleteAsync(b("k2")).join()).isNull();
    assertThat(client.size()).isZero();
  }

  @Test
  void deleteAndExists_answerWhetherTheKeyWasThere() {
    client.set("k", "v");
    client.set("k2", "v");

    assertThat(client.exists("k")).isTrue();
    assertThat(client.existsAsync(b("k")).join()).isTrue();
    assertThat(client.delete("k")).isTrue();
    assertThat(client.delete(b("k"))).isFalse();
    assertThat(client.exists(b("k"))).isFalse();
    assertThat(client.existsAsync("k").join()).isFalse();
    assertThat(client.deleteAsync("k2").join()).isTrue();
    assertThat(client.deleteAsync(b("k2")).join()).isFalse();
  }

  @Test
  void expire_conditionsAndAbsentKeys() {
    assertThat(client.expire("absent", Duration.ofSeconds(1))).isFalse();
    client.set("k", "v");

    assertThat(client.expire("k", Duration.ofSeconds(10), ExpireCondition.XX)).isFalse();
    assertThat(client.expire("k", Duration.ofSeconds(10), ExpireCondition.NX)).isTrue();
    assertThat(client.expire("k", Duration.ofSeconds(5), ExpireCondition.GT)).isFalse();
    assertThat(client.expire("k", Duration.ofSeconds(20), ExpireCondition.GT)).isTrue();
    assertThat(client.expire(b("k"), Duration.ofSeconds(30), ExpireCondition.LT)).isFalse();
    assertThat(client.expireAsync("k", Duration.ofSeconds(4), ExpireCondition.LT).join()).isTrue();
    assertThat(client.ttl("k")).isEqualTo(4000);
    assertThat(client.expire(b("k"), Duration.ofSeconds(7))).isTrue();
    assertThat(client.expireAsync(b("k"), Duration.ofSeconds(8), ExpireCondition.ALWAYS).join()).isTrue();
    assertThat(client.ttl("k")).isEqualTo(8000);

    clock.advanceMillis(8000);
    assertThat(client.exists("k")).isFalse();
  }

  @Test
  void expireAt_futureSetsAbsoluteExpiryAndPastDeletes() {
    client.set("k", "v");
    client.set("gone", "v");
    Instant at = Instant.ofEpochMilli(clock.millis() + 12_345);

    assertThat(client.expireAt("k", at, ExpireCondition.ALWAYS)).isTrue();
    assertThat(client.expireTime("k")).isEqualTo(at.toEpochMilli());
    assertThat(client.expireAtAsync(b("gone"), Instant.ofEpochMilli(clock.millis() - 1), ExpireCondition.ALWAYS)
        .join()).isTrue();
    assertThat(client.exists("gone")).isFalse();
    assertThat(client.expireAt(b("absent"), at, ExpireCondition.ALWAYS)).isFalse();
  }

  @Test
  void persist_removesExpiryOnce() {
    client.set("k", "v", Duration.ofSeconds(1));

    assertThat(client.persist("k")).isTrue();
    assertThat(client.persist(b("k"))).isFalse();
    assertThat(client.persistAsync("absent").join()).isFalse();
    assertThat(client.persistAsync(b("k")).join()).isFalse();
    clock.advance(Duration.ofHours(1));
    assertThat(client.get("k")).isEqualTo("v");
  }

  @Test
  void counters_integerForms() {
    assertThat(client.increment("n")).isEqualTo(1);
    assertThat(client.increment(b("n"))).isEqualTo(2);
    assertThat(client.incrementBy("n", 40)).isEqualTo(42);
    assertThat(client.incrementBy(b("n"), -2)).isEqualTo(40);
    assertThat(client.incrementByAsync("n", 10).join()).isEqualTo(50);
    assertThat(client.incrementByAsync(b("n"), 1).join()).isEqualTo(51);
    assertThat(client.decrement("n")).isEqualTo(50);
    assertThat(client.decrement(b("n"))).isEqualTo(49);
    assertThat(client.decrementBy("n", 9)).isEqualTo(40);
    assertThat(client.decrementBy(b("n"), 50)).isEqualTo(-10);
    assertThat(client.decrementByAsync("n", 5).join()).isEqualTo(-15);
    assertThat(client.decrementByAsync(b("n"), -15).join()).isZero();
    assertThat(client.get("n")).isEqualTo("0");
  }

  @Test
  void counters_floatForms() {
    assertThat(client.incrementByFloat("f", 1.5)).isEqualTo(1.5);
    assertThat(client.incrementByFloat(b("f"), 0.25)).isEqualTo(1.75);
    assertThat(client.incrementByFloatAsync("f", -0.75).join()).isEqualTo(1.0);
    assertThat(client.incrementByFloatAsync(b("f"), 1e3).join()).isEqualTo(1001.0);
    assertThat(client.get("f")).isEqualTo("1001");
  }

  @Test
  void strings_appendStrlenAndRanges() {
    assertThat(client.append("s", "Hello")).isEqualTo(5);
    assertThat(client.append(b("s"), b(" World"))).isEqualTo(11);
    assertThat(client.appendAsync("s", "!").join()).isEqualTo(12);
    assertThat(client.appendAsync(b("s"), b("?")).join()).isEqualTo(13);
    assertThat(client.strlen("s")).isEqualTo(13);
    assertThat(client.strlen(b("absent"))).isZero();
    assertThat(client.strlenAsync("s").join()).isEqualTo(13);
    assertThat(client.strlenAsync(b("s")).join()).isEqualTo(13);

    assertThat(client.getRange("s", 0, 4)).isEqualTo("Hello");
    assertThat(client.getRange(b("s"), -7, -3)).isEqualTo(b("World"));
    assertThat(client.getRangeAsync(b("s"), 100, 200).join()).isEmpty();
    assertThat(client.getRange("absent", 0, -1)).isEmpty();

    assertThat(client.setRange("s", 6, "Earth")).isEqualTo(13);
    assertThat(client.get("s")).isEqualTo("Hello Earth!?");
    assertThat(client.setRange(b("pad"), 3, b("x"))).isEqualTo(4);
    assertThat(client.get(b("pad"))).containsExactly(0, 0, 0, 'x');
    assertThat(client.setRangeAsync(b("pad"), 0, b("ab")).join()).isEqualTo(4);
    assertThat(client.get(b("pad"))).containsExactly('a', 'b', 0, 'x');
  }

  @Test
  void multiKey_allForms() {
    Map<String, String> entries = new LinkedHashMap<>();
    entries.put("m1", "a");
    entries.put("m2", "b");
    client.setAll(entries);
    client.setAll(List.of(b("m3"), b("m4")), List.of(b("c"), b("d")));
    Map<String, String> expiring = new LinkedHashMap<>();
    expiring.put("e1", "x");
    client.setAll(expiring, Duration.ofSeconds(2));
    client.setAllAsync(List.of(b("e2")), List.of(b("y")), Duration.ofSeconds(3)).join();

    assertThat(client.getAll("m1", "absent", "m2", "m4")).containsExactly("a", null, "b", "d");
    assertThat(client.getAll(List.of(b("m3"), b("absent")))).containsExactly(b("c"), null);
    assertThat(client.getAllAsync(List.of(b("e1"), b("e2"))).join()).containsExactly(b("x"), b("y"));
    assertThat(client.ttl("e1")).isEqualTo(2000);
    assertThat(client.ttl("e2")).isEqualTo(3000);
    assertThat(client.ttl("m1")).isEqualTo(DistCacheClient.NO_EXPIRY);

    assertThat(client.existsCount("m1", "m1", "absent", "m2")).isEqualTo(3);
    assertThat(client.existsCount(List.of(b("m3"), b("e1")))).isEqualTo(2);
    assertThat(client.existsCountAsync(List.of(b("absent"))).join()).isZero();

    assertThat(client.setAllIfAbsent(Map.of("m1", "z", "n1", "z"))).isFalse();
    assertThat(client.exists("n1")).isFalse();
    assertThat(client.setAllIfAbsent(List.of(b("n1"), b("n2")), List.of(b("1"), b("2")))).isTrue();
    assertThat(client.setAllIfAbsentAsync(List.of(b("n3")), List.of(b("3"))).join()).isTrue();
    assertThat(client.getAll("n1", "n2", "n3")).containsExactly("1", "2", "3");

    assertThat(client.deleteAll("m1", "m2", "absent")).isEqualTo(2);
    assertThat(client.deleteAll(List.of(b("m3"), b("m3")))).isEqualTo(1);
    assertThat(client.deleteAllAsync(List.of(b("m4"), b("n1"))).join()).isEqualTo(2);
    assertThat(client.getAll(List.of())).isEmpty();
  }

  @Test
  void wholeNode_sizeScanRandomKeyStatsFlush() {
    assertThat(client.randomKey()).isNull();
    Set<String> written = new HashSet<>();
    for (int i = 0; i < 250; i++) {
      client.set("key-" + i, "v");
      written.add("key-" + i);
    }

    assertThat(client.size()).isEqualTo(250);
    assertThat(client.sizeAsync().join()).isEqualTo(250);
    assertThat(written).contains(new String(client.randomKey(), StandardCharsets.UTF_8));
    assertThat(written).contains(new String(client.randomKeyAsync().join(), StandardCharsets.UTF_8));

    Set<String> scanned = new HashSet<>();
    long cursor = 0;
    int steps = 0;
    do {
      ScanResult step = steps % 2 == 0 ? client.scan(cursor, 40) : client.scanAsync(cursor, 40).join();
      step.keys().forEach(k -> scanned.add(new String(k, StandardCharsets.UTF_8)));
      cursor = step.nextCursor();
      steps++;
    } while (cursor != 0 && steps < 1000);
    assertThat(scanned).isEqualTo(written);

    client.get("key-1");
    client.get("nope");
    Map<String, String> stats = client.stats();
    assertThat(stats).containsEntry("entries", "250").containsKeys("hits", "misses", "bytes_used", "bytes_max");
    assertThat(Long.parseLong(stats.get("hits"))).isGreaterThanOrEqualTo(1);
    assertThat(client.statsAsync().join()).containsEntry("entries", "250");

    client.flush();
    assertThat(client.size()).isZero();
    client.set("again", "v");
    client.flushAsync().join();
    assertThat(client.exists("again")).isFalse();
  }

  @Test
  void getAll_manyKeysInOneRequest_answersEveryValueInOrder() {
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      keys.add(b("bulk-" + i));
      values.add(b("value-" + i));
    }
    client.setAll(keys, values);

    List<byte[]> got = client.getAll(keys);
    assertThat(got).hasSize(5_000);
    for (int i = 0; i < got.size(); i++) {
      assertThat(got.get(i)).isEqualTo(values.get(i));
    }
  }
}
