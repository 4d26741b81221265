package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.server.store.EvictionPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.SetParams;

/**
 * Every maxmemory-policy through Jedis on a running node (its clock injected): CONFIG SET and GET
 * and INFO name each; OBJECT IDLETIME answers under the non-LFU ones and Redis's error under the
 * LFU ones; a volatile-* node with no key to evict answers writes with Redis's OOM error.
 */
class MaxmemoryPolicyJedisTest {
  private final ManualClock clock = new ManualClock();
  private DistCacheNode node;

  @BeforeEach
  void start() {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(4L * 1024 * 1024).clock(clock).start();
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void configSet_everyPolicyName_isTakenAndReportedBack() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.set("k", "v");
      for (EvictionPolicy p : EvictionPolicy.values()) {
        assertThat(j.configSet("maxmemory-policy", p.redisName())).as(p.redisName()).isEqualTo("OK");
        assertThat(j.configGet("maxmemory-policy")).containsEntry("maxmemory-policy", p.redisName());
        assertThat(j.info("memory")).contains("maxmemory_policy:" + p.redisName() + "\r\n");
        if (p.lfu()) {
          assertThat(j.objectFreq("k")).as(p.redisName()).isNotNull();
          assertThatThrownBy(() -> j.objectIdletime("k")).isInstanceOf(JedisDataException.class)
              .hasMessage("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                  + "switching between policies at runtime LRU and LFU data will take some time to adjust.");
        } else {
          clock.advanceMillis(2_000);
          assertThat(j.objectIdletime("k")).as(p.redisName()).isEqualTo(2L);
          assertThat(j.get("k")).isEqualTo("v");
          assertThat(j.objectIdletime("k")).isZero();
          assertThatThrownBy(() -> j.objectFreq("k")).isInstanceOf(JedisDataException.class)
              .hasMessageStartingWith("ERR An LFU maxmemory policy is not selected");
        }
      }
      assertThat(j.objectIdletime("nokey")).isNull();
    }
  }

  @Test
  void volatilePolicies_withNoKeyToEvict_answerRedisOomError_untilAKeyWithTtlExists() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.configSet("maxmemory-policy", "volatile-lru");
      String value = "x".repeat(1000);
      JedisDataException refused = null;
      int written = 0;
      for (int i = 0; i < 10_000 && refused == null; i++) {
        try {
          j.set("persistent:" + i, value);
          written++;
        } catch (JedisDataException e) {
          refused = e;
        }
      }
      assertThat(refused).as("keys without expiry are never evicted").isNotNull();
      assertThat(refused.getMessage()).isEqualTo("OOM command not allowed when used memory > 'maxmemory'.");
      assertThat(j.dbSize()).isEqualTo(written);
      assertThat(j.get("persistent:0")).isEqualTo(value);
      assertThat(j.info("stats")).contains("evicted_keys:0\r\n");
    }
  }

  @Test
  void volatileTtl_evictsKeysWithTtl_keepsTheOthers() {
    try (Jedis j = new Jedis("127.0.0.1", node.port())) {
      j.configSet("maxmemory-policy", "volatile-ttl");
      String value = "x".repeat(1000);
      for (int i = 0; i < 1000; i++) {
        j.set("persistent:" + i, value);
      }
      for (int i = 0; i < 20_000; i++) {
        j.set("ttl:" + i, value, SetParams.setParams().ex(3600));
      }
      assertThat(j.info("stats")).doesNotContain("evicted_keys:0\r\n");
      for (int i = 0; i < 1000; i++) {
        assertThat(j.exists("persistent:" + i)).as("persistent:" + i).isTrue();
      }
    }
  }
}
