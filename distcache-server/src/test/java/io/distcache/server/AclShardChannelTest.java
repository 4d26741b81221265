package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameDecoder;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * SPUBLISH, on both protocols, is checked against the user's channel rules (&pattern) and not its
 * key patterns, as Redis does (its shard channel is "not a key" for ACLs): the binary
 * SHARD_PUBLISH (0x47) was checked against key patterns only, and RESP SPUBLISH against both.
 * Users: "news" may use keys of no name and channels news:*; "keys" may use every key and no
 * channel.
 */
class AclShardChannelTest {
  @TempDir Path dir;
  private DistCacheNode node;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    Path acl = dir.resolve("users.acl");
    Files.writeString(acl, "user default on nopass ~* &* +@all\n"
        + "user news on >pw resetkeys &news:* +@all\n"
        + "user keys on >pw ~* resetchannels +@all\n");
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(16L * 1024 * 1024).aclFile(acl).start();
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    node.close();
  }

  private Jedis jedis(String user) {
    Jedis j = new Jedis(new HostAndPort("127.0.0.1", node.port()),
        DefaultJedisClientConfig.builder().user(user).password("pw").build());
    toClose.add(j);
    return j;
  }

  @Test
  void respSpublish_checksChannelRulesNotKeyPatterns() {
    Jedis news = jedis("news");
    Jedis keys = jedis("keys");

    assertThat(spublish(news, "news:today")).isEqualTo(0L);
    assertThatThrownBy(() -> spublish(news, "secret")).hasMessage("NOPERM No permissions to access a channel");
    assertThatThrownBy(() -> spublish(keys, "news:today")).hasMessage("NOPERM No permissions to access a channel");

    Jedis admin = jedis("news"); // ACL LOG needs no key: news has +@all
    List<redis.clients.jedis.resps.AccessControlLogEntry> log = admin.aclLog();
    assertThat(log.get(0).getReason()).isEqualTo("channel");
    assertThat(log.get(0).getObject()).isEqualTo("news:today");
    assertThat(log.get(0).getUsername()).isEqualTo("keys");
  }

  @Test
  void binaryShardPublish_checksChannelRulesNotKeyPatterns() throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.port())) {
      s.setSoTimeout(10_000);
      EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder());
      try {
        assertThat(call(s, decoder, auth("news")).status()).isEqualTo(Status.OK);
        assertThat(call(s, decoder, publish("news:today")).status()).isEqualTo(Status.OK);
        Frame refused = call(s, decoder, publish("secret"));
        assertThat(refused.status()).isEqualTo(Status.NO_PERMISSION);
        assertThat(refused.valueText()).isEqualTo("NOPERM No permissions to access a channel");

        assertThat(call(s, decoder, auth("keys")).status()).isEqualTo(Status.OK);
        Frame keysRefused = call(s, decoder, publish("news:today"));
        assertThat(keysRefused.status()).isEqualTo(Status.NO_PERMISSION);
        assertThat(keysRefused.valueText()).isEqualTo("NOPERM No permissions to access a channel");
      } finally {
        decoder.finishAndReleaseAll();
      }
    }
    List<redis.clients.jedis.resps.AccessControlLogEntry> log = jedis("news").aclLog();
    assertThat(log).hasSizeGreaterThanOrEqualTo(2);
    assertThat(log.get(0).getReason()).isEqualTo("channel");
    assertThat(log.get(0).getUsername()).isEqualTo("keys");
    assertThat(log.get(0).getObject()).isEqualTo("news:today");
    assertThat(log.get(1).getReason()).isEqualTo("channel");
    assertThat(log.get(1).getUsername()).isEqualTo("news");
    assertThat(log.get(1).getObject()).isEqualTo("secret");
  }

  private static Object spublish(Jedis j, String channel) {
    return j.sendCommand(() -> "SPUBLISH".getBytes(StandardCharsets.US_ASCII), channel, "hi");
  }

  private static Frame auth(String user) {
    return Frame.request(Opcode.AUTH, 0, user.getBytes(StandardCharsets.UTF_8), "pw".getBytes(StandardCharsets.UTF_8));
  }

  private static Frame publish(String channel) {
    return Frame.request(Opcode.SHARD_PUBLISH, 0, channel.getBytes(StandardCharsets.UTF_8), "m".getBytes());
  }

  private static int nextId = 1;

  private static Frame call(Socket s, EmbeddedChannel decoder, Frame request) throws Exception {
    ByteBuf buf = Unpooled.buffer();
    FrameEncoder.write(request.withRequestId(nextId++), buf);
    byte[] bytes = new byte[buf.readableBytes()];
    buf.readBytes(bytes);
    buf.release();
    s.getOutputStream().write(bytes);
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    byte[] chunk = new byte[4096];
    while (true) {
      Frame f = decoder.readInbound();
      if (f != null) {
        return f;
      }
      int n = in.read(chunk);
      assertThat(n).as("bytes before the close").isPositive();
      decoder.writeInbound(Unpooled.copiedBuffer(chunk, 0, n));
    }
  }
}
