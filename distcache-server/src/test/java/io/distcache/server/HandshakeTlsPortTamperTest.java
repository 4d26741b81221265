package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.server.bus.ClusterSecret;
import io.distcache.server.bus.PeerHandshake;
import io.distcache.server.net.TlsFiles;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A man in the middle without the cluster secret, between two nodes with a secret and TLS ports
 * (the bus not on TLS), rewrites the TLS port in the peer handshake: the proofs cover the ports,
 * so the handshake fails and no port is recorded. The same relay, rewriting nothing, lets the
 * handshake through (the test's control).
 */
class HandshakeTlsPortTamperTest {
  private static final ClusterSecret SECRET = ClusterSecret.ofText("correct horse battery staple");

  private TlsFiles files;
  private DistCacheNode a;
  /** Dials a only through the relay, its seed (the bus dials members and seeds only). */
  private DistCacheNode b;
  private final List<Relay> relays = new ArrayList<>();

  @BeforeEach
  void nodes(@TempDir Path dir) throws Exception {
    TestCerts certs = TestCerts.create(dir);
    files = new TlsFiles(certs.serverCert, certs.serverKey, certs.caCert, TlsFiles.AuthClients.NO);
    a = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).clusterSecret(SECRET).tls(0, files).start();
  }

  private void startB(Relay seed) {
    b = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024)
        .membership(ClusterTest.FAST).clusterSecret(SECRET).tls(0, files)
        .joinAddresses(List.of(java.net.InetSocketAddress.createUnresolved("127.0.0.1", seed.address().port())))
        .start();
  }

  @AfterEach
  void stop() {
    for (Relay r : relays) {
      r.close();
    }
    if (b != null) {
      b.close();
    }
    a.close();
  }

  @Test
  void untouchedRelay_handshakeSucceeds_andThePortsAreLearned() throws Exception {
    Relay relay = relay(UnaryOperator.identity(), UnaryOperator.identity());

    Frame pong = b.bus().send(relay.address(), Frame.request(Opcode.PING, null)).get(10, TimeUnit.SECONDS);

    assertThat(pong.status()).isEqualTo(Status.OK);
    assertThat(a.tlsEndpoints().tlsPort(b.membership().self())).isEqualTo(b.tlsPort());
    assertThat(b.tlsEndpoints().tlsPort(a.membership().self())).isEqualTo(a.tlsPort());
  }

  /**
   * The acceptor proves first, over the port it received (9999): the dialer, checking over the
   * port it sent, stops there and never sends its own proof (PeerGateTest covers the acceptor
   * refusing a dialer's proof over another port).
   */
  @Test
  void dialersTlsPortRewritten_dialerRefusesTheAcceptorsProof_andTheAcceptorRecordsNothing() {
    Relay relay = relay(hello -> withPort(hello, 75, 9999), UnaryOperator.identity());

    CompletableFuture<Frame> ping = b.bus().send(relay.address(), Frame.request(Opcode.PING, null));

    assertThat(ping).failsWithin(java.time.Duration.ofSeconds(10)).withThrowableOfType(ExecutionException.class)
        .withMessageContaining("the peer did not prove the cluster secret");
    assertThat(a.tlsEndpoints().tlsPort(b.membership().self())).isZero();
    assertThat(a.peerAccess().peerConnections()).isZero();
  }

  @Test
  void acceptorsTlsPortRewritten_dialerRefusesTheAcceptorsProof() {
    // In the reply the port follows step, mode, id [40] and nonce [32].
    Relay relay = relay(UnaryOperator.identity(), reply -> withPort(reply, 2 + 40 + 32, 9999));

    CompletableFuture<Frame> ping = b.bus().send(relay.address(), Frame.request(Opcode.PING, null));

    assertThat(ping).failsWithin(java.time.Duration.ofSeconds(10)).withThrowableOfType(ExecutionException.class)
        .withMessageContaining("the peer did not prove the cluster secret");
    assertThat(b.tlsEndpoints().tlsPort(a.membership().self())).isZero();
  }

  private Relay relay(UnaryOperator<byte[]> helloValue, UnaryOperator<byte[]> replyValue) {
    try {
      Relay r = new Relay(a.port(), helloValue, replyValue);
      relays.add(r);
      startB(r);
      return r;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] withPort(byte[] value, int at, int port) {
    byte[] out = value.clone();
    out[at] = (byte) (port >>> 8);
    out[at + 1] = (byte) port;
    return out;
  }

  /**
   * A TCP relay to a node that decodes the frames both ways and rewrites the value of the first
   * PEER_HELLO each way (the HELLO and its reply); everything else passes unchanged.
   */
  private static final class Relay implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> sockets = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final int target;
    private final UnaryOperator<byte[]> helloValue;
    private final UnaryOperator<byte[]> replyValue;

    Relay(int target, UnaryOperator<byte[]> helloValue, UnaryOperator<byte[]> replyValue) throws IOException {
      this.server = new ServerSocket(0, 8, InetAddress.getByName("127.0.0.1"));
      this.target = target;
      this.helloValue = helloValue;
      this.replyValue = replyValue;
      start(this::accept);
    }

    Address address() {
      return new Address("127.0.0.1", server.getLocalPort());
    }

    private void start(Runnable r) {
      Thread t = new Thread(r, "tamper-relay");
      t.setDaemon(true);
      synchronized (threads) {
        threads.add(t);
      }
      t.start();
    }

    private void accept() {
      try {
        while (true) {
          Socket in = server.accept();
          Socket out = new Socket("127.0.0.1", target);
          synchronized (sockets) {
            sockets.add(in);
            sockets.add(out);
          }
          start(() -> pump(in, out, helloValue));
          start(() -> pump(out, in, replyValue));
        }
      } catch (IOException closed) {
        // the relay was closed
      }
    }

    private static void pump(Socket from, Socket to, UnaryOperator<byte[]> firstHello) {
      EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder());
      boolean rewritten = false;
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) > 0) {
          decoder.writeInbound(Unpooled.copiedBuffer(chunk, 0, n));
          Frame f;
          while ((f = decoder.readInbound()) != null) {
            if (!rewritten && f.op() == Opcode.PEER_HELLO && f.value().length > 0
                && f.value()[0] == PeerHandshake.STEP_HELLO) {
              rewritten = true;
              f = new Frame(f.opcode(), f.flags(), f.requestId(), f.status(), f.extras(), f.key(),
                  firstHello.apply(f.value()));
            }
            ByteBuf buf = Unpooled.buffer();
            FrameEncoder.write(f, buf);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            buf.release();
            out.write(bytes);
            out.flush();
          }
        }
      } catch (IOException | RuntimeException closed) {
        // either side closed
      } finally {
        decoder.finishAndReleaseAll();
        try {
          to.shutdownOutput();
        } catch (IOException ignored) {
          // already closed
        }
      }
    }

    @Override
    public void close() {
      try {
        server.close();
      } catch (IOException ignored) {
        // closing anyway
      }
      synchronized (sockets) {
        for (Socket s : sockets) {
          try {
            s.close();
          } catch (IOException ignored) {
            // closing anyway
          }
        }
      }
      synchronized (threads) {
        for (Thread t : threads) {
          try {
            t.join(5_000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    }
  }
}
