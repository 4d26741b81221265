package io.distcache.server.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.net.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The dialing side of the bus against a peer that accepts and then never answers. */
class PeerBusTest {
  private static final String SELF = "0000000000000000000000000000000000000001";

  private final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private PeerBus bus;

  @AfterEach
  void tearDown() {
    if (bus != null) {
      bus.close();
    }
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PeerBus bus(Duration requestTimeout, int maxInFlight) {
    bus = new PeerBus(null, () -> SELF, 1 << 20, Duration.ofSeconds(5), requestTimeout, maxInFlight);
    bus.start(loops, Transport.NIO);
    return bus;
  }

  private static Frame ping() {
    return Frame.request(Opcode.PING, null);
  }

  @Test
  void silentPeer_requestTimesOutNamingTheAddress() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", silent.getLocalPort());
      PeerBus b = bus(Duration.ofMillis(100), 16);

      CompletableFuture<Frame> reply = b.send(to, ping());

      assertThat(reply).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("no reply from " + to + " within 100 ms");
    }
  }

  @Test
  void inFlightLimit_reached_failsAtOnce() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", silent.getLocalPort());
      PeerBus b = bus(Duration.ofSeconds(30), 2);
      b.send(to, ping());
      b.send(to, ping());

      CompletableFuture<Frame> third = b.send(to, ping());

      assertThat(third).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("too many requests in flight to " + to + " (limit 2)");
    }
  }

  @Test
  void retainOnly_otherAddresses_areNotDialled() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", listener.getLocalPort());
      PeerBus b = bus(Duration.ofSeconds(1), 16);
      b.retainOnly(Set.of(new Address("127.0.0.1", 1)));

      CompletableFuture<Frame> reply = b.send(to, ping());

      assertThat(reply).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("neither an admitted member nor a seed");
      listener.setSoTimeout(1);
      assertThat(accepted(listener)).as("no connection was made").isFalse();
    }
  }

  @Test
  void connectionLost_failsWhatWaits_andTheNextRequestReconnects() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", listener.getLocalPort());
      PeerBus b = bus(Duration.ofSeconds(30), 16);
      CompletableFuture<Frame> first = b.send(to, ping());
      listener.setSoTimeout(5_000);
      try (Socket s = listener.accept()) {
        s.getInputStream().read(); // the HELLO has started to arrive
      } // closed without an answer

      assertThat(first).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("closed");
      b.send(to, ping());
      try (Socket again = listener.accept()) {
        assertThat(again.isConnected()).isTrue();
      }
    }
  }

  private static boolean accepted(ServerSocket listener) throws Exception {
    try (Socket s = listener.accept()) {
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    }
  }
}
