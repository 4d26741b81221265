package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.client.AtomicBatch;
import io.distcache.client.BatchResult;
import io.distcache.client.CacheEntry;
import io.distcache.client.DistCacheClient;
import io.distcache.client.NotANumberException;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.protocol.cluster.Member;
import io.distcache.server.cluster.LocalExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The binary protocol's atomic batch (TRANSACTION) through the Java client, on one node and in a cluster. */
class ClientAtomicBatchTest {
  private final ManualClock clock = new ManualClock();
  private final List<DistCacheNode> nodes = new ArrayList<>();
  private final List<DistCacheClient> clients = new ArrayList<>();

  @AfterEach
  void tearDown() {
    clients.forEach(DistCacheClient::close);
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheClient client(DistCacheNode n) {
    DistCacheClient c = DistCacheClient.builder().addresses("127.0.0.1:" + n.port()).build();
    clients.add(c);
    return c;
  }

  private DistCacheNode single() {
    DistCacheNode n = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .clock(clock).start();
    nodes.add(n);
    return n;
  }

  @Test
  void operationsRunInOrder_eachWithItsOwnResultOrError() {
    DistCacheClient c = client(single());
    c.set("{k}text", "abc");
    BatchResult r = c.execute(c.atomicBatch()
        .set("{k}a", "1")
        .incrementBy("{k}a", 5)
        .incrementBy("{k}text", 1)
        .get("{k}a")
        .delete("{k}missing")
        .expire("{k}a", Duration.ofSeconds(10)));
    assertThat(r.applied()).isTrue();
    assertThat(r.size()).isEqualTo(6);
    assertThat((Boolean) r.get(0)).isTrue();
    assertThat((Long) r.get(1)).isEqualTo(6L);
    assertThatThrownBy(() -> r.get(2)).isInstanceOf(NotANumberException.class);
    assertThat((byte[]) r.get(3)).isEqualTo("6".getBytes(StandardCharsets.UTF_8));
    assertThat((Boolean) r.get(4)).isFalse();
    assertThat((Boolean) r.get(5)).isTrue();
    assertThat(c.ttl("{k}a")).isEqualTo(10_000L);
  }

  @Test
  void versionCondition_heldRunsChangedRunsNothing() {
    DistCacheClient c = client(single());
    c.set("{cart}total", "10");
    CacheEntry seen = c.getEntry("{cart}total");

    BatchResult ok = c.execute(c.atomicBatch().ifVersion("{cart}total", seen.version())
        .set("{cart}total", "11").incrementBy("{cart}items", 1));
    assertThat(ok.applied()).isTrue();

    BatchResult stale = c.execute(c.atomicBatch().ifVersion("{cart}total", seen.version())
        .set("{cart}total", "99").incrementBy("{cart}items", 1));
    assertThat(stale.applied()).isFalse();
    assertThat(stale.size()).isZero();
    assertThat(c.get("{cart}total")).isEqualTo("11");
    assertThat(c.get("{cart}items")).isEqualTo("1");

    assertThat(c.execute(c.atomicBatch().ifAbsent("{cart}total").delete("{cart}total")).applied()).isFalse();
    assertThat(c.executeAsync(c.atomicBatch().ifAbsent("{cart}new").set("{cart}new", "x")).join().applied()).isTrue();
    assertThat(c.get("{cart}new")).isEqualTo("x");
  }

  @Test
  void keysOfTwoSlots_refusedBeforeSending() {
    DistCacheClient c = client(single());
    AtomicBatch b = c.atomicBatch().set("a", "1");
    assertThatThrownBy(() -> b.set("b", "2")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("every key of an atomic batch must be in one slot");
  }

  @Test
  void executor_malformedOrNonDataRequests_badRequestAndNothingRuns() {
    DistCacheNode n = single();
    LocalExecutor executor = new LocalExecutor(n.store());
    Frame scan = Frame.request(Opcode.SCAN, 0, null, null, 0L, 10L);
    Frame set = Frame.request(Opcode.SET, 0, "k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
    Frame reply = executor.execute(Frame.request(Opcode.TRANSACTION, 0, "k".getBytes(StandardCharsets.UTF_8),
        TransactionCodec.encodeRequest(List.of(), List.of(set, scan))));
    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(reply.valueText()).isEqualTo("SCAN cannot be part of a transaction: only data requests on keys can");
    assertThat(n.store().get("k".getBytes(StandardCharsets.UTF_8))).isNull();

    Frame truncated = executor.execute(Frame.request(Opcode.TRANSACTION, 0, "k".getBytes(StandardCharsets.UTF_8),
        new byte[] {0, 0, 0, 0, 0, 0, 0, 5}));
    assertThat(truncated.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(truncated.valueText()).isEqualTo("request count 5 does not fit the 0 bytes left");
  }

  @Test
  void cluster_batchGoesToItsSlotsOwner_plainOrSmart() {
    DistCacheNode a = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).start();
    nodes.add(a);
    for (int i = 0; i < 2; i++) {
      nodes.add(DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
          .membership(ClusterTest.FAST).joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", a.port())))
          .start());
    }
    await().atMost(ClusterTest.DEADLINE).untilAsserted(() -> {
      for (DistCacheNode n : nodes) {
        assertThat(n.membership().placement().members()).hasSize(3);
        assertThat(n.membership().placement().hasLearners()).as("learners").isFalse();
      }
    });
    for (DistCacheNode entry : nodes) {
      DistCacheClient c = client(entry);
      String tag = "{t" + entry.port() + "}";
      BatchResult r = c.execute(c.atomicBatch().ifAbsent(tag + "x").set(tag + "x", "1").incrementBy(tag + "y", 2));
      assertThat(r.applied()).isTrue();
      Member owner = a.membership().placement().ownerOf((tag + "x").getBytes(StandardCharsets.UTF_8));
      DistCacheNode ownerNode = nodes.stream().filter(n -> n.membership().self().equals(owner)).findFirst().orElseThrow();
      assertThat(ownerNode.store().get((tag + "y").getBytes(StandardCharsets.UTF_8)))
          .isEqualTo("2".getBytes(StandardCharsets.UTF_8));
    }
  }
}
