package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * CONFIG SET of maxmemory, maxmemory-policy, lfu-log-factor, lfu-decay-time (and timeout where the
 * node has no network), OBJECT FREQ under each policy, with Redis's replies and error texts.
 */
class ConfigSetRuntimeTest {
  private static final String FAILED = "-ERR CONFIG SET failed (possibly related to argument '";
  private final ManualClock clock = new ManualClock();
  private final Store store =
      Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final RespContext context = RespContext.builder(new LocalRouter(new LocalExecutor(store)), store)
      .clock(clock).version("test").build();
  private final RespChannel resp = new RespChannel(context);

  @AfterEach
  void tearDown() {
    resp.close();
    store.close();
  }

  private String send(String... commands) {
    return resp.send(commands);
  }

  private static String bulk(String s) {
    return "$" + s.length() + "\r\n" + s + "\r\n";
  }

  @Test
  void maxmemory_acceptsRedisUnits_andShowsInConfigGetAndInfo() {
    assertThat(send("CONFIG SET maxmemory 32mb")).isEqualTo("+OK\r\n");
    assertThat(send("CONFIG GET maxmemory")).isEqualTo("*2\r\n" + bulk("maxmemory") + bulk("33554432"));
    assertThat(send("INFO memory")).contains("maxmemory:33554432\r\n").contains("maxmemory_human:32.00M\r\n");
    assertThat(store.stats().bytesMax()).isEqualTo(32L << 20);
    assertThat(send("CONFIG SET maxmemory 40000000")).isEqualTo("+OK\r\n");
    assertThat(send("CONFIG GET maxmemory")).contains(bulk("40000000"));
    assertThat(send("CONFIG SET maxmemory 1G")).isEqualTo("+OK\r\n");
    assertThat(store.config().maxMemoryBytes()).isEqualTo(1_000_000_000L);
  }

  @Test
  void maxmemory_badValues_areRefusedAndChangeNothing() {
    assertThat(send("CONFIG SET maxmemory lots"))
        .isEqualTo(FAILED + "maxmemory') - argument must be a memory value\r\n");
    assertThat(send("CONFIG SET maxmemory -5"))
        .isEqualTo(FAILED + "maxmemory') - argument must be a memory value\r\n");
    assertThat(send("CONFIG SET maxmemory 10xb"))
        .isEqualTo(FAILED + "maxmemory') - argument must be a memory value\r\n");
    long min = store.minMaxMemoryBytes();
    assertThat(send("CONFIG SET maxmemory 0")).startsWith(FAILED + "maxmemory') - distcache always has a memory bound")
        .contains(min + "..");
    assertThat(send("CONFIG SET maxmemory " + (min - 1))).startsWith(FAILED + "maxmemory') - maxmemory " + (min - 1)
        + " is out of range: expected " + min + "..");
    assertThat(send("CONFIG SET maxmemory 9000gb")).startsWith(FAILED + "maxmemory') - maxmemory 9663676416000 is out of range");
    assertThat(send("CONFIG GET maxmemory")).contains(bulk("67108864"));
  }

  @Test
  void maxmemoryPolicy_switchesAtRunTime_andRefusesPoliciesThatDoNotExist() {
    assertThat(send("CONFIG SET maxmemory-policy ALLKEYS-LFU")).isEqualTo("+OK\r\n");
    assertThat(send("CONFIG GET maxmemory-policy")).isEqualTo("*2\r\n" + bulk("maxmemory-policy") + bulk("allkeys-lfu"));
    assertThat(send("INFO memory")).contains("maxmemory_policy:allkeys-lfu\r\n");
    assertThat(send("CONFIG SET maxmemory-policy fifo")).isEqualTo(FAILED + "maxmemory-policy') - argument(s) must be "
        + "one of the following: allkeys-lru, allkeys-lfu, noeviction, allkeys-random, volatile-lru, volatile-lfu, "
        + "volatile-random, volatile-ttl\r\n");
    for (EvictionPolicy p : EvictionPolicy.values()) {
      assertThat(send("CONFIG SET maxmemory-policy " + p.redisName())).isEqualTo("+OK\r\n");
      assertThat(send("CONFIG GET maxmemory-policy")).isEqualTo("*2\r\n" + bulk("maxmemory-policy")
          + bulk(p.redisName()));
      assertThat(store.config().policy()).isEqualTo(p);
    }
    assertThat(send("CONFIG SET maxmemory-policy noeviction")).isEqualTo("+OK\r\n");
    assertThat(store.config().policy()).isEqualTo(EvictionPolicy.NOEVICTION);
  }

  @Test
  void objectFreq_underLfu_countsReadsAndDecaysWithLfuDecayTime() {
    assertThat(send("CONFIG SET maxmemory-policy allkeys-lfu lfu-log-factor 0 lfu-decay-time 2")).isEqualTo("+OK\r\n");
    assertThat(send("CONFIG GET lfu-*")).isEqualTo("*4\r\n" + bulk("lfu-log-factor") + bulk("0")
        + bulk("lfu-decay-time") + bulk("2"));
    send("SET k v");
    assertThat(send("OBJECT FREQ k")).isEqualTo(":5\r\n");
    send("GET k", "GET k", "GET k", "TOUCH k");
    assertThat(send("OBJECT FREQ k", "OBJECT FREQ k")).as("OBJECT FREQ is not a use").isEqualTo(":9\r\n:9\r\n");
    clock.advance(Duration.ofMinutes(4));
    assertThat(send("OBJECT FREQ k")).isEqualTo(":7\r\n");
    assertThat(send("OBJECT FREQ nokey")).isEqualTo("$-1\r\n");
    assertThat(send("CONFIG SET maxmemory-policy allkeys-lru", "OBJECT FREQ k"))
        .isEqualTo("+OK\r\n-" + KeyCopyCommands.NO_LFU + "\r\n");
  }

  @Test
  void lfuSettings_refuseBadIntegersInRedisWords() {
    assertThat(send("CONFIG SET lfu-log-factor -1"))
        .isEqualTo(FAILED + "lfu-log-factor') - argument must be between 0 and 2147483647 inclusive\r\n");
    assertThat(send("CONFIG SET lfu-decay-time ten"))
        .isEqualTo(FAILED + "lfu-decay-time') - argument couldn't be parsed into an integer\r\n");
    assertThat(send("CONFIG SET lfu-decay-time 2147483648"))
        .isEqualTo(FAILED + "lfu-decay-time') - argument must be between 0 and 2147483647 inclusive\r\n");
    assertThat(send("CONFIG GET lfu-*")).contains(bulk("10")).contains(bulk("1"));
  }

  @Test
  void timeout_badValuesInRedisWords_andRefusedWithoutANetwork() {
    assertThat(send("CONFIG SET timeout -1"))
        .isEqualTo(FAILED + "timeout') - argument must be between 0 and 2147483647 inclusive\r\n");
    assertThat(send("CONFIG SET timeout soon"))
        .isEqualTo(FAILED + "timeout') - argument couldn't be parsed into an integer\r\n");
    assertThat(send("CONFIG SET timeout 5"))
        .isEqualTo(FAILED + "timeout') - this node has no connections to time out\r\n");
  }

  @Test
  void loweringMaxmemoryUnderNoeviction_refusesWritesWithOom_readsAndDeletesGoOn() {
    send("CONFIG SET maxmemory-policy noeviction");
    String value = "x".repeat(1000);
    for (int i = 0; store.stats().bytesUsed() < (24L << 20); i++) {
      send("SET key:" + i + " " + value);
    }
    long min = store.minMaxMemoryBytes();
    assertThat(send("CONFIG SET maxmemory " + Math.max(min, 8L << 20))).isEqualTo("+OK\r\n");
    assertThat(send("SET another v")).isEqualTo("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    assertThat(send("GET key:0")).isEqualTo(bulk(value));
    assertThat(send("DEL key:0")).isEqualTo(":1\r\n");
    assertThat(send("INFO stats")).contains("evicted_keys:0\r\n");
  }
}
