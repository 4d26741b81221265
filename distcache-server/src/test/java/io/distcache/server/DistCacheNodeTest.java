package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.net.RawClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DistCacheNodeTest {
  private static final byte[] KEY = "user:1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = "alice".getBytes(StandardCharsets.UTF_8);

  private DistCacheNode node;
  private RawClient client;

  @AfterEach
  void tearDown() {
    if (client != null) {
      client.close();
    }
    if (node != null) {
      node.close();
    }
  }

  private static DistCacheNode.Builder loopback() {
    return DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024);
  }

  @Test
  void start_portZero_bindsAnEphemeralPortOnTheGivenHost() {
    node = loopback().start();

    assertThat(node.port()).isPositive();
    assertThat(node.address().getAddress().isLoopbackAddress()).isTrue();
    assertThat(node.isRunning()).isTrue();
    assertThat(node.transport()).isIn("epoll", "nio");
  }

  @Test
  void start_hostLeftOut_listensOnEveryInterfaceIncludingLoopback() {
    node = DistCacheNode.builder().address(null, 0).maxMemoryBytes(16L * 1024 * 1024).start();
    client = new RawClient(node.port());

    assertThat(node.address().getAddress().isAnyLocalAddress()).isTrue();
    assertThat(node.displayAddress()).isEqualTo("*:" + node.port());
    assertThat(client.send(Frame.request(Opcode.PING, null).withRequestId(1)).read().status()).isEqualTo(Status.OK);
  }

  @Test
  void setThenGet_binaryProtocol_servedFromTheStore() {
    node = loopback().start();
    client = new RawClient(node.port());

    Frame set = client.send(Frame.request(Opcode.SET, 0, KEY, VALUE).withRequestId(1)).read();
    Frame get = client.send(Frame.request(Opcode.GET, KEY).withRequestId(2)).read();

    assertThat(set.status()).isEqualTo(Status.OK);
    assertThat(get.status()).isEqualTo(Status.OK);
    assertThat(get.value()).isEqualTo(VALUE);
    assertThat(node.store().get(KEY)).isEqualTo(VALUE);
  }

  @Test
  void close_withClientConnected_closesItAndFreesThePort() throws IOException {
    node = loopback().start();
    int port = node.port();
    client = new RawClient(port);
    assertThat(client.send(Frame.request(Opcode.PING, null).withRequestId(1)).read().status()).isEqualTo(Status.OK);

    node.close();

    assertThat(node.isRunning()).isFalse();
    assertThat(client.readUntilClosed()).isEmpty();
    try (ServerSocket again = new ServerSocket()) {
      again.bind(new InetSocketAddress("127.0.0.1", port));
    }
  }

  @Test
  void close_calledTwice_secondIsANoOp() {
    node = loopback().start();

    node.close();
    node.close();

    assertThat(node.isRunning()).isFalse();
  }

  @Test
  void start_calledTwice_refused() {
    node = loopback().start();

    assertThatThrownBy(node::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("already started");
  }

  @Test
  void start_portInUse_failsNamingThePort() throws IOException {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      int port = taken.getLocalPort();
      DistCacheNode clash = loopback().address("127.0.0.1", port).build();

      assertThatThrownBy(clash::start)
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("port " + port + " is already in use");
      assertThat(clash.isRunning()).isFalse();
    }
  }

  @Test
  void start_withJoinAddresses_runsStandalone() {
    node = loopback().joinAddresses(List.of(InetSocketAddress.createUnresolved("127.0.0.1", 7999))).start();
    client = new RawClient(node.port());

    assertThat(node.joinAddresses()).hasSize(1);
    assertThat(client.send(Frame.request(Opcode.PING, null).withRequestId(1)).read().status()).isEqualTo(Status.OK);
  }

  @Test
  void build_maxFrameSmallerThanMaxValue_refusedNamingBoth() {
    assertThatThrownBy(() -> loopback().maxFrameBytes(1024 * 1024).maxValueBytes(4 * 1024 * 1024).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max frame 1048576")
        .hasMessageContaining("max value 4194304");
  }

  @Test
  void builder_invalidSettings_refusedNamingTheValue() {
    assertThatThrownBy(() -> DistCacheNode.builder().address("127.0.0.1", 70000)).hasMessageContaining("70000");
    assertThatThrownBy(() -> DistCacheNode.builder().maxMemoryBytes(0)).hasMessageContaining("0");
    assertThatThrownBy(() -> DistCacheNode.builder().maxConnections(0)).hasMessageContaining("0");
    assertThatThrownBy(() -> DistCacheNode.builder().maxFrameBytes(10)).hasMessageContaining("10");
  }
}
