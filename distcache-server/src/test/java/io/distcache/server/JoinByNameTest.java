package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.membership.MemberState;
import io.distcache.server.membership.MemberStatus;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** --join with a host name: every address behind it is a seed, and names are re-resolved as members appear. */
class JoinByNameTest {
  private final List<DistCacheNode> nodes = new ArrayList<>();

  @AfterEach
  void tearDown() {
    nodes.forEach(DistCacheNode::close);
  }

  private DistCacheNode start(DistCacheNode.Builder b) {
    DistCacheNode n = b.start();
    nodes.add(n);
    return n;
  }

  private static DistCacheNode.Builder builder() {
    return DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST);
  }

  private static long alive(DistCacheNode n) {
    return n.membership().snapshot().orElseThrow().members().stream()
        .map(MemberStatus::state).filter(s -> s == MemberState.ALIVE).count();
  }

  @Test
  void joinName_resolvingToTheSeedsAddress_joinsItsCluster_andBecomesReady() {
    DistCacheNode first = start(builder());
    DistCacheNode second = start(builder()
        .joinAddresses(List.of(InetSocketAddress.createUnresolved("distcache-headless.test", first.port())))
        .seedLookup(host -> {
          if (!host.equals("distcache-headless.test")) {
            throw new UnknownHostException(host);
          }
          return List.of("127.0.0.1");
        }));

    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
      assertThat(alive(first)).isEqualTo(2);
      assertThat(alive(second)).isEqualTo(2);
      assertThat(second.notReady()).isNull();
    });
  }

  @Test
  void joinName_thatResolvesOnlyLater_isRetriedUntilItDoes() {
    DistCacheNode first = start(builder());
    AtomicBoolean published = new AtomicBoolean();
    DistCacheNode late = start(builder()
        .joinAddresses(List.of(InetSocketAddress.createUnresolved("late.test", first.port())))
        .seedLookup(host -> {
          if (!published.get()) {
            throw new UnknownHostException(host);
          }
          return List.of("127.0.0.1");
        }));
    assertThat(late.notReady()).isEqualTo("joining the cluster");

    published.set(true);

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(alive(first)).isEqualTo(2);
      assertThat(late.notReady()).isNull();
    });
  }
}
