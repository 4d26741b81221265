package io.distcache.junit5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.client.ClusterMember;
import io.distcache.client.DistCacheClient;
import io.distcache.server.DistCacheNode;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class DistCacheExtensionTest {

  @Nested
  class PerClassCluster {
    @RegisterExtension
    static final DistCacheExtension cluster = DistCacheExtension.cluster(3);

    @Test
    void cluster_started_everyNodeSeesThreeAliveMembers() {
      assertThat(cluster.nodes()).hasSize(3).allMatch(DistCacheNode::isRunning);
      for (String address : cluster.addresses()) {
        try (DistCacheClient c = DistCacheClient.builder().addresses(address).build()) {
          assertThat(c.refreshMembers()).hasSize(3).extracting(ClusterMember::state).containsOnly(ClusterMember.State.ALIVE);
        }
      }
    }

    @Test
    void client_writesThroughOneNode_readsThroughAnother() {
      cluster.client().set("ext:key", "value");
      try (DistCacheClient other = DistCacheClient.builder().addresses(cluster.addresses().get(2)).smartRouting(false).build()) {
        assertThat(other.get("ext:key")).isEqualTo("value");
      }
    }
  }

  @Nested
  class PerMethodNode {
    @RegisterExtension
    final DistCacheExtension node = DistCacheExtension.singleNode().configure(b -> b.maxMemoryBytes(8L << 20));

    @Test
    void node_perMethod_startsEmptyOnAFreeLoopbackPort() {
      assertThat(node.node().isRunning()).isTrue();
      assertThat(node.addresses()).singleElement().asString().startsWith("127.0.0.1:");
      assertThat(node.node().maxMemoryBytes()).isEqualTo(8L << 20);
      assertThat(node.client().size()).isZero();
      node.client().set("k", "v");
    }

    @Test
    void node_secondMethod_doesNotSeeTheFirstMethodsEntries() {
      assertThat(node.client().size()).isZero();
    }
  }

  @Test
  void stop_closesEveryNode() {
    DistCacheExtension ext = DistCacheExtension.cluster(2);
    ext.start();
    List<DistCacheNode> nodes = ext.nodes();
    ext.stop();
    assertThat(nodes).noneMatch(DistCacheNode::isRunning);
    assertThatThrownBy(ext::nodes).isInstanceOf(IllegalStateException.class).hasMessageContaining("no node is running");
  }

  @Test
  void cluster_tooManyMembers_refusedWithTheLimit() {
    assertThatThrownBy(() -> DistCacheExtension.cluster(10))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("members: expected 1..9, got 10");
  }
}
