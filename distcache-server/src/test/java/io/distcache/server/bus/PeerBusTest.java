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
import java.util.List;
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
  void queueBound_reached_failsAtOnce_namingBothLimits() throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", silent.getLocalPort());
      PeerBus b = bus(Duration.ofSeconds(30), 1);
      List<CompletableFuture<Frame>> queued = new java.util.ArrayList<>();
      for (int i = 0; i < PeerBus.QUEUED_PER_IN_FLIGHT; i++) {
        queued.add(b.send(to, ping()));
      }

      CompletableFuture<Frame> past = b.send(to, ping());

      assertThat(past).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("too many requests for " + to + ": 0 in flight and 16 queued (limits 1 and 16)");
      assertThat(queued).as("those within the bound wait for the handshake").noneMatch(CompletableFuture::isDone);
    }
  }

  /**
   * Past maxInFlight, requests queue and go out as replies come: with one of four slots taken by a
   * request the peer never answers, 60 requests at once (within the 64 a link of 4 queues) all succeed. (They
   * used to fail at once, "too many requests in flight", which a client pipelining through a
   * non-owner got as BUSY from a healthy owner.)
   */
  @Test
  void pastMaxInFlight_requestsQueue_andAreSentAsRepliesCome() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", listener.getLocalPort());
      Thread peer = answeringPeer(listener, -1);
      PeerBus b = bus(Duration.ofSeconds(30), 4);
      connected(b, to);
      CompletableFuture<Frame> held = b.send(to, Frame.request(Opcode.GET, "held".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));

      List<CompletableFuture<Frame>> burst = new java.util.ArrayList<>();
      for (int i = 0; i < 60; i++) {
        burst.add(b.send(to, Frame.request(Opcode.GET, ("k" + i).getBytes(java.nio.charset.StandardCharsets.US_ASCII))));
      }

      for (int i = 0; i < burst.size(); i++) {
        int n = i;
        assertThat(burst.get(i)).succeedsWithin(Duration.ofSeconds(10))
            .satisfies(f -> assertThat(f.status()).as("request %d", n).isEqualTo(io.distcache.protocol.Status.OK));
      }
      assertThat(held).isNotDone();
      b.close();
      peer.join(5_000);
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

  /**
   * A peer that completes the open handshake, answers every PING at once, and holds the request
   * whose key is "held": answers it once {@code answerHeldAfterMillis} have passed since it came
   * (measured at the next PING), or never when negative.
   */
  private static Thread answeringPeer(ServerSocket listener, long answerHeldAfterMillis) {
    Thread t = new Thread(() -> {
      io.netty.channel.embedded.EmbeddedChannel decoder =
          new io.netty.channel.embedded.EmbeddedChannel(new io.distcache.protocol.FrameDecoder());
      try (Socket s = listener.accept()) {
        java.io.InputStream in = s.getInputStream();
        java.io.OutputStream out = s.getOutputStream();
        Frame held = null;
        long heldAt = 0;
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) >= 0) {
          decoder.writeInbound(io.netty.buffer.Unpooled.copiedBuffer(chunk, 0, n));
          for (Frame f; (f = decoder.readInbound()) != null; ) {
            List<Frame> replies = new java.util.ArrayList<>();
            if (f.op() == Opcode.PEER_HELLO) {
              PeerHandshake.Hello hello = PeerHandshake.decodeHello(f.value());
              replies.add(f.replyValue(PeerHandshake.encodeReply(PEER, hello.nonce(), null)));
            } else if (f.key() != null && new String(f.key(), java.nio.charset.StandardCharsets.US_ASCII).equals("held")) {
              held = f;
              heldAt = System.nanoTime();
            } else {
              replies.add(f.replyOk());
              if (held != null && answerHeldAfterMillis >= 0
                  && System.nanoTime() - heldAt >= TimeUnit.MILLISECONDS.toNanos(answerHeldAfterMillis)) {
                replies.add(held.replyOk());
                held = null;
              }
            }
            io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.buffer();
            for (Frame r : replies) {
              io.distcache.protocol.FrameEncoder.write(r, buf);
            }
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            buf.release();
            out.write(bytes);
            out.flush();
          }
        }
      } catch (Exception e) {
        // the bus closed the connection: the test is over
      } finally {
        decoder.finishAndReleaseAll();
      }
    }, "test-answering-peer");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static final String PEER = "0000000000000000000000000000000000000002";

  /** Connected and handshaken: a PING is answered (the first ones may time out while the peer thread warms up). */
  private static void connected(PeerBus b, Address to) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
        .until(() -> b.send(to, ping()).get(5, TimeUnit.SECONDS).status() == io.distcache.protocol.Status.OK);
  }

  /** Sends PINGs one after another (each answered) until {@code held} is done or 10 s passed. */
  private static void keepTheConnectionAnswering(PeerBus b, Address to, CompletableFuture<Frame> held) throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!held.isDone() && System.nanoTime() - until < 0) {
      b.send(to, ping()).get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void peerAnsweringOtherRequests_aRequestPastItsTimeoutIsStillAnswered() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", listener.getLocalPort());
      Thread peer = answeringPeer(listener, 2_500);
      PeerBus b = bus(Duration.ofSeconds(1), 64);
      connected(b, to);

      CompletableFuture<Frame> held = b.send(to, Frame.request(Opcode.GET, "held".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
      keepTheConnectionAnswering(b, to, held);

      assertThat(held).succeedsWithin(Duration.ZERO).satisfies(f -> assertThat(f.status()).isEqualTo(io.distcache.protocol.Status.OK));
      b.close();
      peer.join(5_000);
    }
  }

  @Test
  void peerAnsweringOtherRequests_aRequestItNeverAnswersFailsAtTheGrace() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      Address to = new Address("127.0.0.1", listener.getLocalPort());
      Thread peer = answeringPeer(listener, -1);
      PeerBus b = bus(Duration.ofSeconds(1), 64);
      connected(b, to);

      CompletableFuture<Frame> held = b.send(to, Frame.request(Opcode.GET, "held".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
      keepTheConnectionAnswering(b, to, held);

      assertThat(held).failsWithin(Duration.ZERO).withThrowableOfType(ExecutionException.class)
          .withMessageContaining("no reply from " + to + " within 1000 ms (waited"); // past the plain timeout
      b.close();
      peer.join(5_000);
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
