package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.server.net.TlsFiles;
import io.distcache.server.store.Store;
import io.netty.util.ResourceLeakDetector;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import redis.clients.jedis.Jedis;

/**
 * A GET of a large value is written from the store's memory (LargeMemory): while its reply waits
 * on a client that does not read, the entry may be overwritten, deleted, expired, evicted or flushed,
 * and the same-size writes that follow may take pooled buffers, yet the reply's bytes are exactly
 * the value the GET read; the store counts the buffer (replyHeldBytes, in used_memory) until the
 * reply is written or the connection closes, and not after. Over TLS the same. Netty's leak detector
 * runs PARANOID meanwhile and must report nothing.
 */
class LargeGetHeldReplyTest {
  private static final int SIZE = 1 << 20;
  private static final int GETS = 8;
  private static ResourceLeakDetector.Level levelBefore;
  private static final List<String> leaks = Collections.synchronizedList(new ArrayList<>());

  @TempDir Path dir;
  private DistCacheNode node;
  private Store store;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void paranoidLeakDetection() throws Exception {
    levelBefore = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    java.lang.reflect.Field f = io.netty.buffer.AbstractByteBuf.class.getDeclaredField("leakDetector");
    f.setAccessible(true);
    ((ResourceLeakDetector<io.netty.buffer.ByteBuf>) f.get(null)).setLeakListener((type, records) -> leaks.add(type));
  }

  @AfterAll
  static void noLeakReported() {
    // Leaks are reported when a lost buffer has been collected and a later buffer is tracked.
    for (int i = 0; i < 3; i++) {
      System.gc();
      for (int j = 0; j < 100; j++) {
        io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(64).release();
      }
    }
    ResourceLeakDetector.setLevel(levelBefore);
    assertThat(leaks).as("Netty leak reports").isEmpty();
  }

  @AfterEach
  void tearDown() {
    if (node != null) {
      node.close();
    }
  }

  private void start(DistCacheNode.Builder b) {
    node = b.address("127.0.0.1", 0).maxMemoryBytes(32L << 20).maxValueBytes(4 << 20).start();
    store = NodeAccess.store(node);
  }

  private static byte[] value(int seed) {
    byte[] v = new byte[SIZE];
    for (int i = 0; i < v.length; i++) {
      v[i] = (byte) (i * 31 + seed);
    }
    return v;
  }

  /** A numeric field of INFO memory. */
  private static long infoField(Jedis j, String name) {
    return Arrays.stream(j.info("memory").split("\r\n")).filter(l -> l.startsWith(name + ":"))
        .mapToLong(l -> Long.parseLong(l.substring(name.length() + 1).trim())).findFirst()
        .orElseThrow(() -> new AssertionError(name + " is not in INFO memory"));
  }

  /** A gauge of the node's Prometheus page. */
  private double metric(String name) throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    String body = http.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create("http://127.0.0.1:" + node.port() + "/metrics")).timeout(Duration.ofSeconds(5)).GET().build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    return Arrays.stream(body.split("\n")).filter(l -> l.startsWith(name + " "))
        .mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1).trim())).findFirst()
        .orElseThrow(() -> new AssertionError(name + " is not in /metrics"));
  }

  private Jedis jedis() {
    return new Jedis("127.0.0.1", node.port());
  }

  /** A connection with a tiny receive buffer that sent {@code GETS} pipelined GETs of {@code key} and reads nothing yet. */
  private Socket slowReader(String key) throws IOException {
    Socket s = new Socket();
    s.setReceiveBufferSize(4096);
    s.connect(new InetSocketAddress("127.0.0.1", node.port()), 5_000);
    s.setSoTimeout(20_000);
    sendGets(s, key);
    return s;
  }

  private static void sendGets(Socket s, String key) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < GETS; i++) {
      sb.append("*2\r\n$3\r\nGET\r\n$").append(key.length()).append("\r\n").append(key).append("\r\n");
    }
    s.getOutputStream().write(sb.toString().getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
  }

  /** Waits until the node holds unwritten reply bytes for a connection (CLIENT LIST's omem). */
  private void awaitQueuedReply(Jedis j) {
    await().atMost(Duration.ofSeconds(20)).until(() -> Arrays.stream(j.clientList().split("\n"))
        .anyMatch(line -> line.contains(" omem=") && !line.contains(" omem=0 ")));
  }

  /** The next bulk reply's bytes, null for a nil. */
  private static byte[] readBulk(DataInputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      assertThat(c).as("reply ends early").isNotNegative();
      line.write(c);
    }
    String header = line.toString(StandardCharsets.US_ASCII).trim();
    assertThat(header).startsWith("$");
    int n = Integer.parseInt(header.substring(1));
    if (n < 0) {
      return null;
    }
    byte[] v = new byte[n];
    in.readFully(v);
    assertThat(in.read()).isEqualTo('\r');
    assertThat(in.read()).isEqualTo('\n');
    return v;
  }

  /** What ends the entry while a reply of it waits, and what the GETs after that read. */
  enum Death {
    OVERWRITE(j -> j.set("k".getBytes(StandardCharsets.US_ASCII), value(2)), value(2)),
    DELETE(j -> j.del("k"), null),
    EXPIRY(j -> {
      j.pexpire("k", 1);
      await().atMost(Duration.ofSeconds(10)).until(() -> j.get("k") == null); // a read removes it
    }, null),
    EVICTION(j -> {
      // 32 MiB of memory: LRU's second chances (the GETs read k) may keep k a few rounds
      for (int i = 0; i < 400 && j.exists("k"); i++) {
        j.set(("fill" + i % 64).getBytes(StandardCharsets.US_ASCII), value(10 + i));
      }
      assertThat(j.exists("k")).isFalse();
    }, null),
    FLUSHALL(Jedis::flushAll, null);

    final Consumer<Jedis> kill;
    final byte[] after;

    Death(Consumer<Jedis> kill, byte[] after) {
      this.kill = kill;
      this.after = after;
    }
  }

  @ParameterizedTest
  @EnumSource(Death.class)
  void entryEnds_whileItsGetReplyWaitsOnASlowReader_replyIsTheOldValue_memoryCountedUntilWritten(Death death)
      throws Exception {
    start(DistCacheNode.builder());
    byte[] old = value(1);
    try (Jedis j = jedis()) {
      j.set("k".getBytes(StandardCharsets.US_ASCII), old);
      try (Socket slow = slowReader("k")) {
        awaitQueuedReply(j);

        death.kill.accept(j);
        assertThat(store.replyHeldBytes()).as("a queued reply holds the old buffer").isGreaterThanOrEqualTo(SIZE);
        assertThat(store.stats().bytesUsed()).as("counted in used memory")
            .isGreaterThanOrEqualTo(store.replyHeldBytes());
        assertThat(infoField(j, "distcache_reply_held_bytes")).as("and shown in INFO").isGreaterThanOrEqualTo(SIZE);
        assertThat(metric("distcache_memory_reply_held_bytes")).as("and in the metrics").isGreaterThanOrEqualTo(SIZE);
        for (int i = 0; i < 6; i++) { // same-size writes: they would take the buffer if it were pooled
          byte[] churn = ("churn" + i).getBytes(StandardCharsets.US_ASCII);
          j.set(churn, value(50 + i));
          j.del(churn);
        }

        // The GETs run before the entry ended read it whole; the others read what followed.
        DataInputStream in = new DataInputStream(new BufferedInputStream(slow.getInputStream()));
        int oldReplies = 0;
        for (int i = 0; i < GETS; i++) {
          byte[] got = readBulk(in);
          if (oldReplies == i && Arrays.equals(got, old)) {
            oldReplies++;
          } else {
            assertThat(got).as("reply %d, after the entry ended", i).isEqualTo(death.after);
          }
        }
        assertThat(oldReplies).isPositive();
        await().atMost(Duration.ofSeconds(20)).until(() -> store.replyHeldBytes() == 0);
        assertThat(infoField(j, "distcache_reply_held_bytes")).isZero();
        assertThat(metric("distcache_memory_reply_held_bytes")).isZero();
      }
    }
  }

  @Test
  void connectionClosedWithAHeldReplyUnwritten_releasesIt() throws Exception {
    start(DistCacheNode.builder());
    try (Jedis j = jedis()) {
      j.set("k".getBytes(StandardCharsets.US_ASCII), value(3));
      Socket slow = slowReader("k");
      awaitQueuedReply(j);
      j.del("k");
      assertThat(store.replyHeldBytes()).isGreaterThanOrEqualTo(SIZE);
      slow.setSoLinger(true, 0); // a reset, as a client that dies
      slow.close();
      await().atMost(Duration.ofSeconds(20)).until(() -> store.replyHeldBytes() == 0);
      assertThat(j.dbSize()).isZero();
    }
  }

  /**
   * Every GET of a live key gives the store's reference back once its reply is written, one at a
   * time or pipelined: deleted afterwards, nothing of the value stays held (a reference kept would
   * leave its memory counted, and never freed, for good).
   */
  @Test
  void getsOfALiveKey_giveEveryReferenceBack_soItsDeleteFreesIt() {
    start(DistCacheNode.builder());
    byte[] key = "live".getBytes(StandardCharsets.US_ASCII);
    byte[] v = value(7);
    try (Jedis j = jedis()) {
      j.set(key, v);
      for (int i = 0; i < 10; i++) {
        assertThat(j.get(key)).isEqualTo(v);
      }
      redis.clients.jedis.Pipeline p = j.pipelined();
      List<redis.clients.jedis.Response<byte[]>> gets = new ArrayList<>();
      for (int i = 0; i < GETS; i++) {
        gets.add(p.get(key));
      }
      p.sync();
      for (redis.clients.jedis.Response<byte[]> r : gets) {
        assertThat(r.get()).isEqualTo(v);
      }
      assertThat(j.del(key)).isEqualTo(1L);
      // While the connection is open: a reference kept until it closes would pass after the close.
      await().atMost(Duration.ofSeconds(20)).until(() -> store.replyHeldBytes() == 0);
    }
  }

  @Test
  void manyReaders_whileTheValueIsRewritten_eachReplyIsOneWholeValue() throws Exception {
    start(DistCacheNode.builder());
    byte[][] values = {value(4), value(5), value(6)};
    byte[] key = "k".getBytes(StandardCharsets.US_ASCII);
    try (Jedis j = jedis()) {
      j.set(key, values[0]);
    }
    ExecutorService pool = Executors.newFixedThreadPool(5);
    try {
      List<Future<?>> readers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        readers.add(pool.submit(() -> {
          try (Jedis r = jedis()) {
            for (int i = 0; i < 40; i++) {
              byte[] got = r.get(key);
              assertThat(Arrays.stream(values).anyMatch(v -> Arrays.equals(v, got))).isTrue();
            }
          }
          return null;
        }));
      }
      try (Jedis w = jedis()) {
        for (int i = 1; i < 60; i++) {
          w.set(key, values[i % values.length]);
        }
      }
      for (Future<?> r : readers) {
        r.get();
      }
    } finally {
      pool.shutdownNow();
    }
    await().atMost(Duration.ofSeconds(20)).until(() -> store.replyHeldBytes() == 0);
  }

  @Test
  void largeGet_overTls_exactBytes_evenWhenOverwrittenWhileQueued() throws Exception {
    TestCerts c = TestCerts.create(dir);
    start(DistCacheNode.builder().tls(0, new TlsFiles(c.serverCert, c.serverKey, c.caCert, TlsFiles.AuthClients.NO)));
    byte[] old = value(7);
    byte[] next = value(8);
    try (Jedis j = jedis()) {
      j.set("k".getBytes(StandardCharsets.US_ASCII), old);
      SSLSocket s = (SSLSocket) c.clientContext(false).getSocketFactory().createSocket();
      s.setReceiveBufferSize(4096);
      s.connect(new InetSocketAddress("127.0.0.1", node.tlsPort()), 5_000);
      s.setSoTimeout(20_000);
      s.startHandshake();
      try (s) {
        sendGets(s, "k");
        awaitQueuedReply(j);
        j.set("k".getBytes(StandardCharsets.US_ASCII), next);
        InputStream raw = s.getInputStream();
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw));
        int oldReplies = 0;
        for (int i = 0; i < GETS; i++) {
          byte[] got = readBulk(in);
          if (Arrays.equals(got, old) && oldReplies == i) {
            oldReplies++;
          } else {
            assertThat(got).isEqualTo(next);
          }
        }
        assertThat(oldReplies).isPositive();
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> store.replyHeldBytes() == 0);
    }
  }
}
