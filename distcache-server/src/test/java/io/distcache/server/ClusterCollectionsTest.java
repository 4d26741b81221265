package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;
import io.distcache.protocol.ValueType;
import java.util.Map;
import java.util.Set;
import redis.clients.jedis.params.ScanParams;

/** Hashes and sets in a three-node cluster: served on the key's owner, one slot for multi-key set commands. */
class ClusterCollectionsTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<Jedis> clients = new ArrayList<>();

  @BeforeEach
  void cluster3() {
    DistCacheNode a = start();
    start(a);
    start(a);
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
      }
    });
  }

  @AfterEach
  void tearDown() {
    clients.forEach(Jedis::close);
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode... seeds) {
    List<InetSocketAddress> join = new ArrayList<>();
    for (DistCacheNode s : seeds) {
      join.add(InetSocketAddress.createUnresolved("127.0.0.1", s.port()));
    }
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).joinAddresses(join).start();
    nodes.add(n);
    return n;
  }

  private Jedis redis(DistCacheNode n) {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", n.port()), DefaultJedisClientConfig.builder().build());
    clients.add(j);
    return j;
  }

  private DistCacheNode ownerOf(String key) {
    Member owner = nodes.get(0).membership().placement().ownerOf(b(key));
    return nodes.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
  }

  private DistCacheNode notOwnerOf(String key) {
    DistCacheNode owner = ownerOf(key);
    return nodes.stream().filter(n -> n != owner).findFirst().orElseThrow();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
  @Test
  void hashesAndSets_servedOnTheOwner_multiKeySetCommandsNeedOneSlot() {
    Jedis j = redis(notOwnerOf("user:1"));
    assertThat(j.hset("user:1", Map.of("name", "ada", "n", "1"))).isEqualTo(2);
    assertThat(j.hincrBy("user:1", "n", 2)).isEqualTo(3);
    assertThat(ownerOf("user:1").store().typeOf(b("user:1"))).isEqualTo(ValueType.HASH);
    assertThat(j.hgetAll("user:1")).containsExactlyInAnyOrderEntriesOf(Map.of("name", "ada", "n", "3"));
    assertThatThrownBy(() -> j.get("user:1")).hasMessage("WRONGTYPE Operation against a key holding the wrong kind of value");

    assertThat(j.sadd("s1", "a", "b")).isEqualTo(2);
    assertThatThrownBy(() -> j.sinter("s1", "s2")).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThatThrownBy(() -> j.smove("s1", "s2", "a")).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThatThrownBy(() -> j.sunionstore("s3", "s1")).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThat(j.smembers("s1")).containsExactlyInAnyOrder("a", "b");

    j.sadd("{t}a", "1", "2", "3");
    j.sadd("{t}b", "2", "3", "4");
    assertThat(j.sinter("{t}a", "{t}b")).containsExactlyInAnyOrder("2", "3");
    assertThat(j.sdiffstore("{t}c", "{t}a", "{t}b")).isEqualTo(1);
    assertThat(j.smove("{t}a", "{t}c", "2")).isEqualTo(1);
    assertThat(j.smembers("{t}c")).containsExactlyInAnyOrder("1", "2");
    assertThat(ownerOf("{t}c").store().typeOf(b("{t}c"))).isEqualTo(ValueType.SET);

    Set<String> hashes = new java.util.HashSet<>();
    String cursor = ScanParams.SCAN_POINTER_START;
    do {
      var page = j.scan(cursor, new ScanParams().count(100), "hash");
      hashes.addAll(page.getResult());
      cursor = page.getCursor();
    } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    assertThat(hashes).as("SCAN TYPE over every member").containsExactly("user:1");
  }

  @Test
  void sortedSets_forwardedToTheOwner_typedThere_andFoundByScanType() {
    Jedis j = redis(notOwnerOf("board"));
    assertThat(j.zadd("board", Map.of("ada", 3.0, "bob", 1.0, "cy", 2.0))).isEqualTo(3);
    assertThat(j.zincrby("board", 5, "bob")).isEqualTo(6.0);
    assertThat(j.zrevrange("board", 0, 1)).containsExactly("bob", "ada");
    assertThat(j.zrank("board", "cy")).isZero();
    assertThat(ownerOf("board").store().typeOf(b("board"))).isEqualTo(ValueType.ZSET);
    assertThatThrownBy(() -> j.sadd("board", "x")).hasMessage("WRONGTYPE Operation against a key holding the wrong kind of value");

    Set<String> zsets = new java.util.HashSet<>();
    String cursor = ScanParams.SCAN_POINTER_START;
    do {
      var page = j.scan(cursor, new ScanParams().count(100), "zset");
      zsets.addAll(page.getResult());
      cursor = page.getCursor();
    } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
    assertThat(zsets).as("SCAN TYPE zset over every member").containsExactly("board");
  }
}
