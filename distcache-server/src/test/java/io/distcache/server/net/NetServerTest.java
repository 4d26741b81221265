package io.distcache.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NetServerTest {
  private static final byte[] K = "k".getBytes(StandardCharsets.UTF_8);

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private NetServer start(UnaryOperator<NetConfig> tweak, int maxFrameBytes) {
    NetConfig config = tweak.apply(NetConfig.of(new InetSocketAddress("127.0.0.1", 0))).withIoThreads(1);
    NetServer server = new NetServer(config, new BinaryProtocol(new MapRouter(), maxFrameBytes), UnknownProtocol.INSTANCE);
    server.start();
    toClose.add(server);
    return server;
  }

  private NetServer start() {
    return start(c -> c, ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
  }

  private RawClient connect(NetServer server) {
    RawClient c = new RawClient(server.localAddress().getPort());
    toClose.add(c);
    return c;
  }

  private static Frame request(Opcode op, int id, byte[] key, byte[] value) {
    return Frame.request(op, 0, key, value).withRequestId(id);
  }

  @Test
  void halfClose_afterPipelinedRequests_everyRequestAnsweredThenClosed() {
    NetServer server = start();
    for (int attempt = 0; attempt < 20; attempt++) {
      RawClient c = connect(server);
      // the requests and the FIN usually reach the node in one read
      c.send(request(Opcode.SET, 1, K, "v".getBytes(StandardCharsets.UTF_8)), request(Opcode.GET, 2, K, null))
          .shutdownOutput();

      assertThat(c.read().requestId()).isEqualTo(1);
      Frame get = c.read();
      assertThat(get.requestId()).isEqualTo(2);
      assertThat(get.valueText()).isEqualTo("v");
      assertThat(c.readUntilClosed()).isEmpty();
    }
  }

  @Test
  void halfClose_beforeAnyByte_connectionClosed() {
    RawClient c = connect(start());
    c.shutdownOutput();
    assertThat(c.readUntilClosed()).isEmpty();
  }

  @Test
  void ping_binaryClient_echoesPayloadAndRequestId() {
    RawClient c = connect(start());

    Frame reply = c.send(request(Opcode.PING, 7, null, "hello".getBytes(StandardCharsets.UTF_8))).read();

    assertThat(reply.isResponse()).isTrue();
    assertThat(reply.status()).isEqualTo(Status.OK);
    assertThat(reply.requestId()).isEqualTo(7);
    assertThat(reply.valueText()).isEqualTo("hello");
  }

  @Test
  void clientConnection_fullReads_readBufferGrowsPastNettysDefaultTo1MiB() {
    // The connection's own read-size policy, as the node configured it: a read that fills its
    // buffer lets the next one be larger, up to MAX_READ_BYTES (Netty's default stops at 64 KiB,
    // so a 1 MiB value took 16 reads and 15 copies into the decoder's chunks).
    java.util.concurrent.CompletableFuture<io.netty.channel.ChannelConfig> seen = new java.util.concurrent.CompletableFuture<>();
    NetConfig config = NetConfig.of(new InetSocketAddress("127.0.0.1", 0)).withIoThreads(1);
    NetServer server = new NetServer(config, new BinaryProtocol(new MapRouter(), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES),
        pipeline -> seen.complete(pipeline.channel().config()));
    server.start();
    toClose.add(server);
    connect(server).sendBytes("PING\r\n".getBytes(StandardCharsets.US_ASCII));
    io.netty.channel.ChannelConfig channel = seen.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();

    io.netty.channel.RecvByteBufAllocator.ExtendedHandle reads =
        (io.netty.channel.RecvByteBufAllocator.ExtendedHandle) channel.getRecvByteBufAllocator().newHandle();
    int largest = 0;
    for (int burst = 0; burst < 8; burst++) {
      reads.reset(channel);
      int size = reads.guess();
      largest = Math.max(largest, size);
      reads.attemptedBytesRead(size);
      reads.lastBytesRead(size); // the buffer came back full: more was waiting
      reads.readComplete();
    }

    assertThat(largest).isEqualTo(NetServer.MAX_READ_BYTES).isEqualTo(1 << 20);
  }

  @Test
  void setThenGet_sameConnection_returnsTheValue() {
    RawClient c = connect(start());

    assertThat(c.send(request(Opcode.SET, 1, K, "v".getBytes(StandardCharsets.UTF_8))).read().status())
        .isEqualTo(Status.OK);
    Frame got = c.send(request(Opcode.GET, 2, K, null)).read();

    assertThat(got.status()).isEqualTo(Status.OK);
    assertThat(got.valueText()).isEqualTo("v");
  }

  @Test
  void pipelinedRequests_oneWrite_everyReplyInOrderWithItsId() {
    RawClient c = connect(start());
    Frame[] burst = new Frame[100];
    for (int i = 0; i < burst.length; i++) {
      burst[i] = request(Opcode.PING, 1000 + i, null, ("p" + i).getBytes(StandardCharsets.UTF_8));
    }

    c.send(burst);

    for (int i = 0; i < burst.length; i++) {
      Frame reply = c.read();
      assertThat(reply.requestId()).isEqualTo(1000 + i);
      assertThat(reply.valueText()).isEqualTo("p" + i);
    }
  }

  @Test
  void oversizeFrame_overMaxFrame_answeredTooLargeWithItsIdThenClosed() {
    RawClient c = connect(start(cfg -> cfg, 1024));

    c.send(request(Opcode.SET, 42, K, new byte[2000]));
    Frame reply = c.read();

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.requestId()).isEqualTo(42);
    assertThat(reply.opcode()).isEqualTo(Opcode.SET.code());
    assertThat(reply.valueText()).contains("1024");
    assertThat(c.readUntilClosed()).isEmpty();
  }

  @Test
  void badMagic_afterAValidFrame_connectionClosedWithoutReply() {
    RawClient c = connect(start());
    assertThat(c.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    byte[] garbage = new byte[ProtocolConstants.HEADER_BYTES];
    garbage[0] = 0x2A;
    c.sendBytes(garbage);

    assertThat(c.readUntilClosed()).isEmpty();
  }

  @Test
  void badVersion_firstFrame_connectionClosed() {
    RawClient c = connect(start());
    byte[] header = new byte[ProtocolConstants.HEADER_BYTES];
    header[0] = ProtocolConstants.MAGIC;
    header[1] = 99;

    c.sendBytes(header);

    assertThat(c.readUntilClosed()).isEmpty();
  }

  @Test
  void unknownOpcode_answeredUnknownOpcode_connectionStaysUsable() {
    RawClient c = connect(start());
    Frame unknown = new Frame((byte) 0x7F, 0, 5, Status.OK, Frame.NO_EXTRAS, Frame.EMPTY, Frame.EMPTY);

    Frame reply = c.send(unknown).read();

    assertThat(reply.status()).isEqualTo(Status.UNKNOWN_OPCODE);
    assertThat(reply.requestId()).isEqualTo(5);
    assertThat(reply.valueText()).contains("0x7f");
    assertThat(c.send(request(Opcode.PING, 6, null, null)).read().status()).isEqualTo(Status.OK);
  }

  @Test
  void responseFrame_sentAsRequest_answeredBadRequest() {
    RawClient c = connect(start());

    Frame reply = c.send(request(Opcode.PING, 3, null, null).withFlags(Flags.RESPONSE)).read();

    assertThat(reply.status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(reply.requestId()).isEqualTo(3);
  }

  @Test
  void nonBinaryClient_noOtherProtocolInstalled_toldUnknownProtocolAndClosed() {
    RawClient c = connect(start());

    c.sendBytes("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));

    assertThat(c.readUntilClosed()).isEqualTo("-ERR unknown protocol\r\n");
  }

  @Test
  void maxConnections_binaryClientOverLimit_getsBusyWithItsIdThenClosed() {
    NetServer server = start(cfg -> cfg.withMaxConnections(1), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    RawClient first = connect(server);
    assertThat(first.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    RawClient second = connect(server);
    Frame reply = second.send(request(Opcode.GET, 9, K, null)).read();

    assertThat(reply.status()).isEqualTo(Status.BUSY);
    assertThat(reply.requestId()).isEqualTo(9);
    assertThat(reply.valueText()).isEqualTo("max connections 1 reached");
    assertThat(second.readUntilClosed()).isEmpty();
    assertThat(server.rejectedConnections()).isEqualTo(1);
  }

  @Test
  void maxConnections_redisClientOverLimit_getsRedisErrorThenClosed() {
    NetServer server = start(cfg -> cfg.withMaxConnections(1), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    RawClient first = connect(server);
    assertThat(first.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    RawClient second = connect(server);
    second.sendBytes("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));

    assertThat(second.readUntilClosed()).isEqualTo("-ERR max number of clients reached\r\n");
  }

  @Test
  void maxConnections_tooManyRefusedWaiting_nextRefusedClosedAtOnceWithoutReply() {
    NetConfig config = NetConfig.of(new InetSocketAddress("127.0.0.1", 0)).withMaxConnections(1).withIoThreads(1);
    // Refused connections wait a minute here, so those within the bound are certainly still open.
    NetServer server = new NetServer(config, new BinaryProtocol(new MapRouter(), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES),
        UnknownProtocol.INSTANCE, Duration.ofMinutes(1));
    server.start();
    toClose.add(server);
    RawClient served = connect(server);
    assertThat(served.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);
    int bound = NetServer.maxLingeringRefusals(1);
    List<RawClient> waiting = new ArrayList<>();
    for (int i = 0; i < bound; i++) {
      waiting.add(connect(server));
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> server.rejectedConnections() == bound);

    RawClient flood = connect(server);

    assertThat(flood.readUntilClosed()).isEmpty();
    assertThat(server.rejectedConnections()).isEqualTo(bound + 1);
    // The ones within the bound are still told why, in their protocol.
    Frame reply = waiting.get(0).send(request(Opcode.GET, 5, K, null)).read();
    assertThat(reply.status()).isEqualTo(Status.BUSY);
    assertThat(reply.requestId()).isEqualTo(5);
    assertThat(reply.valueText()).isEqualTo("max connections 1 reached");
  }

  @Test
  void maxConnections_refusedClientSilent_closedAfterTheRejectWait() {
    NetServer server = start(cfg -> cfg.withMaxConnections(1), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    RawClient served = connect(server);
    assertThat(served.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    RawClient silent = connect(server);

    // Closed by the server within RawClient's 5 s read timeout (it waited 10 s before).
    assertThat(silent.readUntilClosed()).isEmpty();
  }

  @Test
  void maxConnections_afterAClientLeaves_newClientIsServed() {
    NetServer server = start(cfg -> cfg.withMaxConnections(1), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    RawClient first = connect(server);
    assertThat(first.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    first.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> server.connections() == 0);

    RawClient next = connect(server);
    assertThat(next.send(request(Opcode.PING, 2, null, null)).read().status()).isEqualTo(Status.OK);
  }

  @Test
  void idleTimeout_silentClient_closedByServer() {
    NetServer server = start(cfg -> cfg.withIdleTimeout(Duration.ofMillis(200)), ProtocolConstants.DEFAULT_MAX_FRAME_BYTES);
    RawClient c = connect(server);
    assertThat(c.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    await().atMost(Duration.ofSeconds(5)).until(() -> server.connections() == 0);
    assertThat(c.readUntilClosed()).isEmpty();
  }

  @Test
  void idleTimeoutZero_silentClient_staysConnected() {
    NetServer server = start();
    RawClient c = connect(server);
    assertThat(c.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> server.connections() == 1);
    assertThat(c.send(request(Opcode.PING, 2, null, null)).read().status()).isEqualTo(Status.OK);
  }

  @Test
  void close_afterServing_portCanBeBoundAgain() throws IOException {
    NetServer server = start();
    int port = server.localAddress().getPort();
    RawClient c = connect(server);
    assertThat(c.send(request(Opcode.PING, 1, null, null)).read().status()).isEqualTo(Status.OK);

    server.close();

    assertThat(c.readUntilClosed()).isEmpty();
    try (ServerSocket again = new ServerSocket()) {
      again.bind(new InetSocketAddress("127.0.0.1", port));
      assertThat(again.getLocalPort()).isEqualTo(port);
    }
  }

  @Test
  void start_portInUse_failsNamingThePort() throws IOException {
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      int port = taken.getLocalPort();
      NetServer server =
          new NetServer(
              NetConfig.of(new InetSocketAddress("127.0.0.1", port)).withIoThreads(1),
              new BinaryProtocol(new MapRouter(), 1024),
              UnknownProtocol.INSTANCE);

      assertThatThrownBy(server::start)
          .isInstanceOf(UncheckedIOException.class)
          .hasMessage("cannot listen on 127.0.0.1:" + port + ": port " + port + " is already in use");
    }
  }
}
