package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Codecs, MATCH scans, listeners, members() and metrics, against a fake 3-node cluster. */
class ClientFeaturesTest {
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private FakeCluster cluster(int nodes) {
    FakeCluster c = new FakeCluster(nodes);
    toClose.add(c);
    return c;
  }

  private DistCacheClient client(DistCacheClient.Builder b) {
    DistCacheClient c = b.build();
    toClose.add(c);
    return c;
  }

  /** A codec of its own: "x,y" points. */
  record Point(int x, int y) {}

  static final Codec<Point> POINTS = new Codec<>() {
    @Override
    public byte[] encode(Point p) {
      return (p.x() + "," + p.y()).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Point decode(byte[] bytes) {
      String[] parts = new String(bytes, StandardCharsets.UTF_8).split(",");
      return new Point(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
    }
  };

  @Test
  void withCodec_valuesGoThroughTheCodec_andMissesAreNull() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));
    TypedCache<Point> points = client.withCodec(POINTS);

    points.set("p1", new Point(3, 4));
    points.setAll(Map.of("p2", new Point(5, 6), "p3", new Point(7, 8)), null);

    assertThat(points.get("p1")).isEqualTo(new Point(3, 4));
    assertThat(client.get("p1")).as("stored as the codec's bytes").isEqualTo("3,4");
    assertThat(points.getAll(List.of("p2", "missing", "p3"))).containsExactly(new Point(5, 6), null, new Point(7, 8));
    assertThat(points.get("missing")).isNull();
    assertThatThrownBy(() -> points.set("p4", null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("stores no nulls");
  }

  @Test
  void builtInCodecs_roundTrip() {
    byte[] raw = {0, 1, (byte) 0xFF};
    assertThat(Codec.bytes().decode(Codec.bytes().encode(raw))).isEqualTo(raw);
    assertThat(Codec.utf8().decode(Codec.utf8().encode("héllo"))).isEqualTo("héllo");
  }

  @Test
  void scanWithMatch_walksEveryMemberAndReturnsOnlyMatchingKeys() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)));
    for (int i = 0; i < 60; i++) {
      client.set("user:" + i, "u");
      client.set("order:" + i, "o");
    }

    Set<String> seen = new HashSet<>();
    long cursor = 0;
    do {
      ScanResult step = client.scan(cursor, 7, "user:*");
      step.keys().forEach(k -> seen.add(new String(k, StandardCharsets.UTF_8)));
      cursor = step.nextCursor();
    } while (cursor != 0);

    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 60; i++) {
      expected.add("user:" + i);
    }
    assertThat(seen).isEqualTo(expected);
    assertThat(client.size()).isEqualTo(120);
  }

  @Test
  void listeners_hearMembersComeAndGo_andMembersShowsOnlyCurrentOnes() {
    FakeCluster cluster = cluster(3);
    cluster.allAlive();
    List<String> events = new CopyOnWriteArrayList<>();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .topologyRefreshInterval(Duration.ofMillis(50))
        .listener(new DistCacheListener() {
          @Override
          public void memberAdded(ClusterMember member) {
            events.add("+" + member.id());
          }

          @Override
          public void memberRemoved(ClusterMember member) {
            events.add("-" + member.id());
          }

          @Override
          public void connected(String address) {
            events.add("connected " + address);
          }
        }));
    client.ping();
    await().atMost(Duration.ofSeconds(5)).until(() -> events.containsAll(
        List.of("+" + cluster.id(0), "+" + cluster.id(1), "+" + cluster.id(2))));
    assertThat(events).contains("connected " + cluster.address(0));

    cluster.setMembers(List.of(cluster.member(0, ClusterMember.State.ALIVE),
        cluster.member(1, ClusterMember.State.DEAD), cluster.member(2, ClusterMember.State.LEFT)));

    await().atMost(Duration.ofSeconds(5)).until(() -> events.containsAll(List.of("-" + cluster.id(1), "-" + cluster.id(2))));
    assertThat(client.members()).extracting(ClusterMember::id).containsExactly(cluster.id(0));
  }

  @Test
  void listenerThatThrows_doesNotStopTheClient() {
    FakeCluster cluster = cluster(1);
    cluster.allAlive();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0))
        .listener(new DistCacheListener() {
          @Override
          public void connected(String address) {
            throw new IllegalStateException("listener bug");
          }
        }));

    client.set("k", "v");
    assertThat(client.get("k")).isEqualTo("v");
  }

  @Test
  void meterRegistry_recordsCallsByOpAndOutcome() {
    FakeCluster cluster = cluster(1);
    cluster.allAlive();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DistCacheClient client = client(DistCacheClient.builder().addresses(cluster.address(0)).meterRegistry(registry));

    client.set("k", "v");
    client.get("k");
    client.get("k");

    Timer gets = registry.find(MicrometerClientMetrics.CALLS).tag("op", "GET").tag("outcome", "success").timer();
    assertThat(gets).isNotNull();
    assertThat(gets.count()).isEqualTo(2);
    assertThat(registry.find(MicrometerClientMetrics.CALLS).tag("op", "SET").timer().count()).isEqualTo(1);
  }

  @Test
  void meterRegistry_notARegistry_isRefusedAtBuild() {
    assertThatThrownBy(() -> DistCacheClient.builder().addresses("127.0.0.1:1").meterRegistry("nope").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("meterRegistry must be an io.micrometer.core.instrument.MeterRegistry, got: java.lang.String");
  }
}
