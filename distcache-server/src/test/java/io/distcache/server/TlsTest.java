package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.FrameEncoder;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.net.TlsFiles;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/** The TLS port: both protocols, client certificates as --tls-auth-clients says, TLS 1.2/1.3 only, reload. */
class TlsTest {
  @TempDir Path dir;
  private DistCacheNode node;

  @AfterEach
  void tearDown() {
    if (node != null) {
      node.close();
    }
  }

  private DistCacheNode start(TestCerts c, TlsFiles.AuthClients auth) {
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20)
        .tls(0, new TlsFiles(c.serverCert, c.serverKey, c.caCert, auth)).start();
    return node;
  }

  private SSLSocket connect(SSLContext ctx, String... protocols) throws Exception {
    SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", node.tlsPort());
    s.setSoTimeout(10_000);
    if (protocols.length > 0) {
      s.setEnabledProtocols(protocols);
    }
    s.startHandshake();
    return s;
  }

  @Test
  void jedisAndBinaryFrames_overTls_withoutClientCertificates() throws Exception {
    TestCerts c = TestCerts.create(dir);
    start(c, TlsFiles.AuthClients.NO);
    SSLContext ctx = c.clientContext(false);
    try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", node.tlsPort()), DefaultJedisClientConfig.builder()
        .ssl(true).sslSocketFactory(ctx.getSocketFactory()).build())) {
      assertThat(j.set("k", "v")).isEqualTo("OK");
      assertThat(j.get("k")).isEqualTo("v");
    }
    try (SSLSocket s = connect(ctx)) {
      ByteBuf buf = Unpooled.buffer();
      FrameEncoder.write(Frame.request(Opcode.GET, "k".getBytes(StandardCharsets.UTF_8)), buf);
      byte[] bytes = new byte[buf.readableBytes()];
      buf.readBytes(bytes);
      s.getOutputStream().write(bytes);
      s.getOutputStream().flush();
      io.netty.channel.embedded.EmbeddedChannel decoder = new io.netty.channel.embedded.EmbeddedChannel(new io.distcache.protocol.FrameDecoder());
      InputStream in = s.getInputStream();
      Frame reply = null;
      byte[] chunk = new byte[4096];
      while (reply == null) {
        int n = in.read(chunk);
        assertThat(n).isPositive();
        decoder.writeInbound(Unpooled.wrappedBuffer(chunk, 0, n));
        reply = decoder.readInbound();
      }
      assertThat(reply.status()).isEqualTo(Status.OK);
      assertThat(new String(reply.value(), StandardCharsets.UTF_8)).isEqualTo("v");
    }
  }

  @Test
  void javaClient_overTls_withClientCertificateAndAUser() throws Exception {
    TestCerts c = TestCerts.create(dir);
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20).requirePass("s3cret")
        .tls(0, new TlsFiles(c.serverCert, c.serverKey, c.caCert, TlsFiles.AuthClients.YES)).start();
    try (io.distcache.client.DistCacheClient client = io.distcache.client.DistCacheClient.builder()
        .addresses("127.0.0.1:" + node.tlsPort()).smartRouting(false)
        .tls(c.caCert, c.clientCert, c.clientKey).credentials("default", "s3cret").build()) {
      client.set("k", "over tls");
      assertThat(client.get("k")).isEqualTo("over tls");
    }
    // No retries: the default policy (20 attempts, backoff to 1 s) spent 13 s of CI reconnecting
    // before it gave up; a server that let this client in would answer the first attempt.
    try (io.distcache.client.DistCacheClient noCert = io.distcache.client.DistCacheClient.builder()
        .addresses("127.0.0.1:" + node.tlsPort()).smartRouting(false).retryPolicy(io.distcache.client.RetryPolicy.none())
        .tls(c.caCert, null, null).credentials("default", "s3cret").build()) {
      assertThatThrownBy(() -> noCert.get("k")).isInstanceOf(io.distcache.client.DistCacheException.class);
    }
  }

  @Test
  void lettuce_overTls_withAnAclUser() throws Exception {
    TestCerts c = TestCerts.create(dir);
    java.nio.file.Path acl = dir.resolve("users.acl");
    java.nio.file.Files.writeString(acl, "user alice on >wonder ~cache:* +@read +@write\n");
    node = DistCacheNode.builder().address("127.0.0.1", 0).maxMemoryBytes(64L << 20).aclFile(acl)
        .tls(0, new TlsFiles(c.serverCert, c.serverKey, c.caCert, TlsFiles.AuthClients.NO)).start();
    io.lettuce.core.RedisClient lettuce = io.lettuce.core.RedisClient.create(
        io.lettuce.core.RedisURI.Builder.redis("127.0.0.1", node.tlsPort()).withSsl(true)
            .withAuthentication("alice", "wonder".toCharArray()).build());
    try {
      lettuce.setOptions(io.lettuce.core.ClientOptions.builder()
          .sslOptions(io.lettuce.core.SslOptions.builder().jdkSslProvider().trustManager(c.caCert.toFile()).build())
          .build());
      try (io.lettuce.core.api.StatefulRedisConnection<String, String> conn = lettuce.connect()) {
        assertThat(conn.sync().set("cache:t", "1")).isEqualTo("OK");
        assertThat(conn.sync().get("cache:t")).isEqualTo("1");
        assertThatThrownBy(() -> conn.sync().set("other", "1")).hasMessage("NOPERM No permissions to access a key");
      }
    } finally {
      lettuce.shutdown();
    }
  }

  @Test
  void clientCertificate_requiredByDefault() throws Exception {
    TestCerts c = TestCerts.create(dir);
    start(c, TlsFiles.AuthClients.YES);
    try (SSLSocket s = connect(c.clientContext(true))) {
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] got = new byte[7];
      assertThat(s.getInputStream().readNBytes(got, 0, 7)).isEqualTo(7);
      assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
    }
    assertThatThrownBy(() -> {
      try (SSLSocket s = connect(c.clientContext(false))) {
        s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        if (s.getInputStream().read() < 0) {
          throw new java.io.EOFException("closed");
        }
      }
    }).isInstanceOf(java.io.IOException.class);
  }

  @Test
  void onlyTls12And13_areEnabled() throws Exception {
    TestCerts c = TestCerts.create(dir);
    TlsFiles files = new TlsFiles(c.serverCert, c.serverKey, c.caCert, TlsFiles.AuthClients.NO);
    // BoringSSL's engine also lists SSLv2Hello: not a protocol, only the old hello format, which
    // can still negotiate nothing below TLS 1.2 (the TLSv1.1 handshake below is refused).
    assertThat(java.util.Arrays.stream(files.context().newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT)
        .getEnabledProtocols()).filter(p -> !p.equals("SSLv2Hello")))
        .containsExactlyInAnyOrder("TLSv1.3", "TLSv1.2");
    start(c, TlsFiles.AuthClients.NO);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, trustAll(), null);
    assertThatThrownBy(() -> connect(ctx, "TLSv1.1")).isInstanceOf(javax.net.ssl.SSLException.class);
    try (SSLSocket s = connect(c.clientContext(false), "TLSv1.3")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.3");
    }
    try (SSLSocket s = connect(c.clientContext(false), "TLSv1.2")) {
      assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.2");
    }
  }

  private static javax.net.ssl.TrustManager[] trustAll() {
    return new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }};
  }

  @Test
  void certificateAndKey_areReloadedWhenTheFilesChange() throws Exception {
    TestCerts c = TestCerts.create(dir);
    start(c, TlsFiles.AuthClients.NO);
    SSLContext ctx = c.clientContext(false);
    try (SSLSocket s = connect(ctx)) {
      assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
          .isEqualTo("CN=server1");
    }
    c.issueServer("server2");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      try (SSLSocket s = connect(ctx)) {
        assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName())
            .isEqualTo("CN=server2");
      }
    });
  }
}
