package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A binary-protocol request that must wait for another client's running script waits off the event
 * loop: every connection here is on the node's one event loop, so a request waiting for the script
 * on the loop would leave the others unanswered, SCRIPT KILL included (the clients' read timeouts
 * and the Awaitility bounds only turn that hang into a failure; nothing here is timed).
 */
class BinaryScriptWaitTest {
  private DistCacheNode node;
  private Jedis admin;
  private FrameClient frames;

  @BeforeEach
  void start() {
    node = OneLoopNode.start();
    admin = jedis();
    admin.configSet("busy-reply-threshold", OneLoopNode.NEVER_BUSY_MILLIS);
    admin.set("k", "v");
    frames = FrameClient.builder().requestTimeout(Duration.ofSeconds(60)).build();
    // The binary connection is open (and on the loop) before the script starts: PING never waits.
    assertThat(frames.send(address(), Frame.request(Opcode.PING, 0, null, bytes("hi"))).join().status())
        .isEqualTo(Status.OK);
  }

  @AfterEach
  void stop() {
    frames.close();
    admin.close();
    node.close(); // also stops a script a test left running
  }

  private Address address() {
    return new Address("127.0.0.1", node.port());
  }

  private Jedis jedis() {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", node.port()),
        DefaultJedisClientConfig.builder().socketTimeoutMillis(20_000).build());
    j.ping();
    return j;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A raw Redis connection running a script that loops until killed; returns once the node runs it. */
  private Socket loopingScript() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(30_000);
    String body = "while true do end";
    s.getOutputStream().write(("*3\r\n$4\r\nEVAL\r\n$" + body.length() + "\r\n" + body + "\r\n$1\r\n0\r\n")
        .getBytes(StandardCharsets.UTF_8));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.scripts(node).running());
    return s;
  }

  /** The script connection's reply line (the script was killed). */
  private static String readLine(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (!out.toString(StandardCharsets.UTF_8).endsWith("\r\n")) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      out.write(b);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Sends {@code requests} in order and returns their replies once the node has read them all. */
  @SuppressWarnings("unchecked")
  private CompletableFuture<Frame>[] sendAndAwaitRead(Frame... requests) {
    long before = NodeAccess.netBytesIn(node);
    CompletableFuture<Frame>[] replies = new CompletableFuture[requests.length];
    for (int i = 0; i < requests.length; i++) {
      replies[i] = frames.send(address(), requests[i]);
    }
    long sent = 0;
    for (Frame r : requests) {
      sent += r.encodedLength();
    }
    long expected = before + sent;
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.netBytesIn(node) >= expected);
    return replies;
  }

  /** Another connection of the loop is answered (FUNCTION STATS is allow_busy) while the script still runs. */
  private void answeredWhileTheScriptRuns(Jedis third) {
    assertThat(third.functionStats().getEngines()).containsKey("LUA");
    assertThat(NodeAccess.scripts(node).running()).as("the script still runs").isTrue();
  }

  @Test
  void binaryGetWaitingForAScript_otherConnectionsOnItsLoop_answeredWhileTheScriptRuns() throws Exception {
    try (Jedis third = jedis(); Socket script = loopingScript()) {
      CompletableFuture<Frame> get = sendAndAwaitRead(Frame.request(Opcode.GET, bytes("k")))[0];
      answeredWhileTheScriptRuns(third);
      assertThat(get).as("the GET waits for the script").isNotDone();
      assertThat(third.scriptKill()).isEqualTo("OK");
      assertThat(readLine(script)).startsWith("-ERR Script killed by user with SCRIPT KILL");
      Frame reply = get.join();
      assertThat(reply.status()).isEqualTo(Status.OK);
      assertThat(reply.valueText()).isEqualTo("v");
    }
  }

  @Test
  void binaryRequestsPipelinedBehindAScript_runInTheirOrderAfterIt() throws Exception {
    try (Jedis third = jedis(); Socket script = loopingScript()) {
      CompletableFuture<Frame>[] replies = sendAndAwaitRead(
          Frame.request(Opcode.SET, 0, bytes("k"), bytes("w")),
          Frame.request(Opcode.PING, 0, null, bytes("p")),
          Frame.request(Opcode.GET, bytes("k")),
          Frame.request(Opcode.SIZE, 0, null, null));
      answeredWhileTheScriptRuns(third);
      assertThat(replies[0]).isNotDone();
      assertThat(third.scriptKill()).isEqualTo("OK");
      readLine(script);
      assertThat(replies[0].join().status()).isEqualTo(Status.OK);
      assertThat(replies[1].join().valueText()).isEqualTo("p");
      // The GET ran after the SET sent before it, though both waited for the script.
      assertThat(replies[2].join().valueText()).isEqualTo("w");
      assertThat(replies[3].join().status()).isEqualTo(Status.OK);
    }
  }

  @Test
  void forwardedRequestWaitingForAScript_otherConnectionsOnItsLoop_answeredWhileTheScriptRuns() throws Exception {
    try (Jedis third = jedis(); PeerSession peer = PeerSession.open(node.port())) {
      assertThat(peer.handshake(null).status()).isEqualTo(Status.OK);
      try (Socket script = loopingScript()) {
        Frame get = Frame.request(Opcode.GET, Flags.FORWARDED, bytes("k"), null).withRequestId(7);
        long expected = NodeAccess.netBytesIn(node) + get.encodedLength();
        peer.raw().send(get);
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> NodeAccess.netBytesIn(node) >= expected);
        answeredWhileTheScriptRuns(third);
        assertThat(third.scriptKill()).isEqualTo("OK");
        readLine(script);
        Frame reply = peer.raw().read();
        assertThat(reply.requestId()).isEqualTo(7);
        assertThat(reply.status()).isEqualTo(Status.OK);
        assertThat(reply.valueText()).isEqualTo("v");
      }
    }
  }

  @Test
  void binaryRequestWaitingForAScript_pastTheBusyThreshold_answeredScriptBusy() throws Exception {
    try (Socket script = loopingScript()) {
      CompletableFuture<Frame> get = sendAndAwaitRead(Frame.request(Opcode.GET, bytes("k")))[0];
      // The threshold lowered while the GET waits: it is answered SCRIPT_BUSY at its next look.
      NodeAccess.scripts(node).busyThresholdMillis(0);
      assertThat(get.join().status()).isEqualTo(Status.SCRIPT_BUSY);
      assertThat(frames.send(address(), Frame.request(Opcode.SCRIPT_KILL, 0, null, null)).join().status())
          .isEqualTo(Status.OK);
      readLine(script);
    }
  }
}
