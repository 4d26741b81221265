package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrameClientTest {
  private final FrameClient client = FrameClient.builder().requestTimeout(Duration.ofMillis(500)).build();
  private final List<ScriptedServer> servers = new ArrayList<>();

  @AfterEach
  void tearDown() {
    client.close();
    servers.forEach(ScriptedServer::close);
  }

  private Address serve(ScriptedServer.Script script) {
    ScriptedServer s = ScriptedServer.start(script);
    servers.add(s);
    return new Address("127.0.0.1", s.port());
  }

  @Test
  void send_errorStatusReply_completesWithTheFrameNotAnException() {
    Address node = serve(ScriptedServer.answering(r -> r.replyError(Status.NOT_OWNER, "127.0.0.1:7001")));

    Frame reply = client.send(node, Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8))).join();

    assertThat(reply.status()).isEqualTo(Status.NOT_OWNER);
    assertThat(reply.valueText()).isEqualTo("127.0.0.1:7001");
  }

  @Test
  void send_manyRequestsAtOnce_shareOnePooledConnection() {
    ScriptedServer s = ScriptedServer.start(ScriptedServer.answering(r -> r.replyValue(r.key())));
    servers.add(s);
    Address node = new Address("127.0.0.1", s.port());
    List<CompletableFuture<Frame>> replies = new ArrayList<>();

    for (int i = 0; i < 200; i++) {
      replies.add(client.send(node, Frame.request(Opcode.GET, ("k" + i).getBytes(StandardCharsets.UTF_8))));
    }

    for (int i = 0; i < 200; i++) {
      assertThat(replies.get(i).join().valueText()).isEqualTo("k" + i);
    }
    assertThat(s.accepted()).isEqualTo(1);
  }

  @Test
  void send_nobodyListening_failsWithAConnectionError() throws IOException {
    int port;
    try (ServerSocket probe = new ServerSocket()) {
      probe.bind(new InetSocketAddress("127.0.0.1", 0));
      port = probe.getLocalPort();
    }

    CompletableFuture<Frame> reply = client.send(new Address("127.0.0.1", port), Frame.request(Opcode.PING, null));

    assertThatThrownBy(reply::join).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(DistCacheConnectionException.class)
        .hasMessageContaining("127.0.0.1:" + port);
  }

  @Test
  void send_noReply_timesOut() {
    Address silent = serve((ctx, request) -> { });

    CompletableFuture<Frame> reply = client.send(silent, Frame.request(Opcode.PING, null));

    assertThatThrownBy(reply::join).hasCauseInstanceOf(DistCacheTimeoutException.class);
  }

  @Test
  void retainOnly_dropsPoolsOfOtherAddresses() {
    Address a = serve(ScriptedServer.answering(r -> r.replyOk()));
    Address b = serve(ScriptedServer.answering(r -> r.replyOk()));
    client.send(a, Frame.request(Opcode.PING, null)).join();
    client.send(b, Frame.request(Opcode.PING, null)).join();

    client.retainOnly(Set.of(a));

    assertThat(client.addresses()).containsExactly(a);
    assertThat(client.send(b, Frame.request(Opcode.PING, null)).join().status()).isEqualTo(Status.OK);
  }

  @Test
  void send_replyOverTheMaxFrame_failsOnlyThatRequestAndKeepsTheConnection() {
    FrameClient limited = FrameClient.builder().maxFrameBytes(1024).requestTimeout(Duration.ofSeconds(5)).build();
    // The first two requests are answered together, the oversize reply first and in one write, so
    // the small reply follows it in the same socket read; later ones are answered at once.
    List<Frame> held = new ArrayList<>();
    ScriptedServer s = ScriptedServer.start((ctx, r) -> {
      boolean isBig = new String(r.key(), StandardCharsets.UTF_8).equals("big");
      Frame reply = isBig ? r.replyValue(new byte[2000]) : r.replyValue(r.key());
      if (held.size() == 2) {
        ctx.writeAndFlush(reply);
        return;
      }
      held.add(isBig ? 0 : held.size(), reply);
      if (held.size() == 2) {
        held.forEach(ctx::write);
        ctx.flush();
      }
    });
    servers.add(s);
    Address node = new Address("127.0.0.1", s.port());
    try {
      CompletableFuture<Frame> big = limited.send(node, Frame.request(Opcode.GET, "big".getBytes(StandardCharsets.UTF_8)));
      CompletableFuture<Frame> small = limited.send(node, Frame.request(Opcode.GET, "small".getBytes(StandardCharsets.UTF_8)));

      assertThatThrownBy(big::join).hasCauseInstanceOf(TooLargeException.class)
          .hasMessageContaining("127.0.0.1:" + s.port()).hasMessageContaining("exceeds the limit 1024");
      assertThat(small.join().valueText()).isEqualTo("small");
      assertThat(limited.send(node, Frame.request(Opcode.GET, "after".getBytes(StandardCharsets.UTF_8))).join().valueText())
          .isEqualTo("after");
      assertThat(s.accepted()).isEqualTo(1);
    } finally {
      limited.close();
    }
  }
}
