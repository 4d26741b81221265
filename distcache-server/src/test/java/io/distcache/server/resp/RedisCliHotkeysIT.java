package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.DistCacheNode;
import io.distcache.server.store.EvictionPolicy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stock {@code redis-cli --hotkeys} (SCAN + OBJECT FREQ) against a node under allkeys-lfu, and its refusal under LRU. */
class RedisCliHotkeysIT {
  private DistCacheNode node;

  @BeforeEach
  void start() {
    RedisTools.require("redis-cli");
    node = DistCacheNode.builder()
        .address("127.0.0.1", 0)
        .maxMemoryBytes(64L * 1024 * 1024)
        .evictionPolicy(EvictionPolicy.ALLKEYS_LFU)
        .start();
  }

  @AfterEach
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  private List<String> base(String... args) {
    List<String> cmd = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(node.port())));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private RedisTools.Result cli(String... args) throws Exception {
    RedisTools.Result r = RedisTools.run(null, base(args).toArray(String[]::new));
    assertThat(r.exitCode()).as("redis-cli %s: %s", List.of(args), r.stderr()).isZero();
    return r;
  }

  /**
   * 40 keys; hot:0 read 3,000 times, hot:1 300 times, hot:2 30 times, the others never. The decay is
   * off: it counts wall-clock minutes, and a minute boundary between the reads and the checks took
   * one step off every counter (a cold key read 4, not 5, in one CI run).
   */
  private void load() throws Exception {
    StringBuilder script = new StringBuilder("CONFIG SET lfu-log-factor 1\nCONFIG SET lfu-decay-time 0\n");
    for (int i = 0; i < 37; i++) {
      script.append("SET cold:").append(i).append(" v\n");
    }
    int[] reads = {3000, 300, 30};
    for (int h = 0; h < reads.length; h++) {
      script.append("SET hot:").append(h).append(" v\n");
      for (int i = 0; i < reads[h]; i++) {
        script.append("GET hot:").append(h).append('\n');
      }
    }
    RedisTools.Result r = RedisTools.run(script.toString().getBytes(StandardCharsets.US_ASCII), base().toArray(String[]::new));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
  }

  @Test
  void hotkeys_reportsTheMostReadKeysWithTheirCounters() throws Exception {
    load();
    String out = cli("--hotkeys").out();

    // redis-cli prints "hot key found with counter: N\tkeyname: NAME" for each new leader, then a summary
    Matcher m = Pattern.compile("hot key found with counter: (\\d+)\\s+keyname: \"?([^\"\\s]+)\"?").matcher(out);
    List<String> found = new ArrayList<>();
    while (m.find()) {
      found.add(m.group(2) + "=" + m.group(1));
    }
    assertThat(found).as(out).isNotEmpty();
    assertThat(out).contains("Sampled 40 keys in the keyspace!");
    assertThat(out).containsPattern("hot key found with counter: \\d+\\s+keyname: \"?hot:0\"?");
    long hot0 = Long.parseLong(cli("OBJECT", "FREQ", "hot:0").out().trim());
    long hot1 = Long.parseLong(cli("OBJECT", "FREQ", "hot:1").out().trim());
    long hot2 = Long.parseLong(cli("OBJECT", "FREQ", "hot:2").out().trim());
    long cold = Long.parseLong(cli("OBJECT", "FREQ", "cold:0").out().trim());
    assertThat(hot0).isGreaterThan(hot1);
    assertThat(hot1).isGreaterThan(hot2);
    assertThat(hot2).isGreaterThan(cold);
    assertThat(cold).isEqualTo(5);
    assertThat(out).contains("counter: " + hot0 + "\tkeyname: \"hot:0\"");
    assertThat(found).contains("hot:0=" + hot0, "hot:1=" + hot1);
  }

  @Test
  void hotkeys_underLru_isRefusedWithRedisError() throws Exception {
    load();
    cli("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    RedisTools.Result r = RedisTools.run(null, base("--hotkeys").toArray(String[]::new));

    assertThat(r.out() + r.stderr()).contains("An LFU maxmemory policy is not selected");
  }
}
