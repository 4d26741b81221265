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

/** Redis transactions in a three-node cluster: one slot, run on its owner, forwarded whole. */
class ClusterTransactionTest {
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
  void oneSlot_plainConnectionOnANonOwner_forwardedWholeAndRunOnTheOwner() {
    Jedis j = redis(notOwnerOf("{u}a"));
    Transaction t = j.multi();
    t.set("{u}a", "1");
    t.incr("{u}b");
    t.get("{u}a");
    assertThat(t.exec()).containsExactly("OK", 1L, "1");
    DistCacheNode owner = ownerOf("{u}a");
    assertThat(owner.store().get(b("{u}a"))).isEqualTo(b("1"));
    assertThat(owner.store().get(b("{u}b"))).isEqualTo(b("1"));
  }

  @Test
  void clusterConnection_queuedKeyOfAnotherNode_movedAtOnce_andExecAborts() {
    String key = "{m}a";
    DistCacheNode owner = ownerOf(key);
    Jedis j = redis(notOwnerOf(key));
    assertThat(j.readwrite()).isEqualTo("OK"); // only cluster clients send it: routed by their map
    assertThat(j.sendCommand(redis.clients.jedis.Protocol.Command.MULTI)).isEqualTo(b("OK"));
    // As Redis Cluster answers: MOVED while queueing, then EXECABORT, so a cluster client sends the
    // whole transaction to the owner instead of a lone EXEC.
    assertThatThrownBy(() -> j.sendCommand(redis.clients.jedis.Protocol.Command.SET, key, "1"))
        .isInstanceOf(redis.clients.jedis.exceptions.JedisMovedDataException.class)
        .hasMessage("MOVED " + KeySlot.of(b(key)) + " 127.0.0.1:" + owner.port());
    assertThatThrownBy(() -> j.sendCommand(redis.clients.jedis.Protocol.Command.EXEC))
        .isInstanceOf(JedisDataException.class).hasMessageStartingWith("EXECABORT");
    assertThat(owner.store().get(b(key))).isNull();

    Jedis onOwner = redis(owner);
    assertThat(onOwner.readwrite()).isEqualTo("OK");
    Transaction t = onOwner.multi();
    t.set(key, "1");
    t.incr("{m}b");
    assertThat(t.exec()).containsExactly("OK", 1L);
  }

  @Test
  void keysOfTwoSlots_crossSlotAndNothingApplied() {
    String k1 = "x1";
    String k2 = "x2";
    assertThat(KeySlot.of(b(k1))).isNotEqualTo(KeySlot.of(b(k2)));
    Jedis j = redis(nodes.get(0));
    Transaction t = j.multi();
    t.set(k1, "1");
    t.set(k2, "2");
    assertThatThrownBy(t::exec).isInstanceOf(JedisDataException.class)
        .hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    for (DistCacheNode n : nodes) {
      assertThat(n.store().get(b(k1))).isNull();
      assertThat(n.store().get(b(k2))).isNull();
    }
    // A watched key counts as a key of the transaction.
    j.watch(k1);
    Transaction t2 = j.multi();
    t2.set(k2, "2");
    assertThatThrownBy(t2::exec).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThat(ownerOf(k2).store().get(b(k2))).isNull();
  }

  @Test
  void watch_changedOnTheOwner_execFailsOnANonOwner() {
    String key = "{w}k";
    Jedis entry = redis(notOwnerOf(key));
    Jedis direct = redis(ownerOf(key));
    entry.set(key, "1");
    entry.watch(key);
    direct.set(key, "2");
    Transaction t = entry.multi();
    t.set(key, "3");
    t.set("{w}other", "x");
    assertThat(t.exec()).isNull();
    assertThat(direct.get(key)).isEqualTo("2");
    assertThat(direct.get("{w}other")).isNull();
  }

  @Test
  void bitop_keysOfTwoSlotsRefused_oneSlotServedOnTheOwner() {
    Jedis j = redis(nodes.get(0));
    assertThatThrownBy(() -> j.bitop(redis.clients.jedis.args.BitOP.AND, "x1", "x2"))
        .hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    j.set("{b}src", "foobar");
    assertThat(j.bitop(redis.clients.jedis.args.BitOP.NOT, "{b}dst", "{b}src")).isEqualTo(6L);
    assertThat(j.bitcount("{b}dst")).isEqualTo(48L - 26L);
    assertThat(j.setbit("{b}dst", 0, false)).isTrue();
  }

  @Test
  void renameAndCopy_keysOfTwoSlotsRefused_oneSlotMovedOnTheOwner() {
    Jedis j = redis(nodes.get(0));
    j.set("x1", "v");
    assertThatThrownBy(() -> j.rename("x1", "x2")).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThatThrownBy(() -> j.copy("x1", "x2", false)).hasMessage("CROSSSLOT Keys in request don't hash to the same slot");
    assertThat(j.get("x1")).isEqualTo("v");
    j.set("{r}a", "v");
    assertThat(j.rename("{r}a", "{r}b")).isEqualTo("OK");
    assertThat(j.copy("{r}b", "{r}c", false)).isTrue();
    assertThat(ownerOf("{r}c").store().get(b("{r}c"))).isEqualTo(b("v"));
    assertThat(ownerOf("{r}a").store().get(b("{r}a"))).isNull();
  }

  /** Writers move two counters together; readers in transactions must never see them apart. */
  @Test
  void concurrentTransactions_neverObservedHalfDone() throws Exception {
    String x = "{c}x";
    String y = "{c}y";
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        Jedis j = redis(nodes.get(w));
        writers.add(pool.submit(() -> {
          for (int i = 0; i < 300; i++) {
            Transaction t = j.multi();
            t.incr(x);
            t.incr(y);
            t.exec();
          }
        }));
      }
      Jedis reader = redis(nodes.get(2));
      Future<Integer> reads = pool.submit(() -> {
        int n = 0;
        while (!writers.stream().allMatch(Future::isDone)) {
          Transaction t = reader.multi();
          t.get(x);
          t.get(y);
          List<Object> got = t.exec();
          assertThat(got.get(0)).isEqualTo(got.get(1));
          n++;
        }
        return n;
      });
      for (Future<?> f : writers) {
        f.get(60, TimeUnit.SECONDS);
      }
      assertThat(reads.get(60, TimeUnit.SECONDS)).isPositive();
      assertThat(redis(nodes.get(0)).get(x)).isEqualTo("600");
      assertThat(redis(nodes.get(1)).get(y)).isEqualTo("600");
    } finally {
      pool.shutdownNow();
    }
  }
}
