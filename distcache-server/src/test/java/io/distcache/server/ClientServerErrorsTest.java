package io.distcache.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.distcache.client.BadRequestException;
import io.distcache.client.CacheFullException;
import io.distcache.client.DistCacheClient;
import io.distcache.client.DistCacheConnectionException;
import io.distcache.client.DistCacheException;
import io.distcache.client.NotANumberException;
import io.distcache.client.TooLargeException;
import io.distcache.client.ValueOverflowException;
import io.distcache.protocol.ProtocolConstants;
import io.distcache.protocol.Status;
import io.distcache.server.store.EvictionPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Node errors reach the caller as typed exceptions, and every size limit holds on both sides. */
class ClientServerErrorsTest {
  private static final int MAX_VALUE = 1024;
  /** The smallest frame limit a node with MAX_VALUE accepts: header, 8 extras, a 64 KiB key, the value. */
  private static final int NODE_MAX_FRAME = MAX_VALUE + ProtocolConstants.HEADER_BYTES
      + 8 * ProtocolConstants.MAX_EXTRAS + ProtocolConstants.MAX_KEY_BYTES;

  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private DistCacheNode node(DistCacheNode.Builder b) {
    DistCacheNode node = b.address("127.0.0.1", 0).start();
    toClose.add(node);
    return node;
  }

  private DistCacheClient client(DistCacheNode node, DistCacheClient.Builder b) {
    DistCacheClient client = b.addresses("127.0.0.1:" + node.port()).build();
    toClose.add(client);
    return client;
  }

  private DistCacheClient limitedPair() {
    DistCacheNode node = node(DistCacheNode.builder().maxMemoryBytes(8L * 1024 * 1024)
        .maxValueBytes(MAX_VALUE).maxFrameBytes(NODE_MAX_FRAME));
    return client(node, DistCacheClient.builder());
  }

  @Test
  void increment_notANumber_throwsNotANumberWithTheNodesMessage() {
    DistCacheClient client = limitedPair();
    client.set("k", "abc");

    assertThatThrownBy(() -> client.increment("k"))
        .isInstanceOf(NotANumberException.class)
        .hasMessageStartingWith("INCREMENT failed: NOT_A_NUMBER: ")
        .extracting(e -> ((DistCacheException) e).status()).isEqualTo(Status.NOT_A_NUMBER);
    assertThatThrownBy(() -> client.incrementByFloat("k", 1.0)).isInstanceOf(NotANumberException.class);
    assertThat(client.get("k")).isEqualTo("abc");
  }

  @Test
  void increment_pastLongMax_throwsOverflowAndKeepsTheValue() {
    DistCacheClient client = limitedPair();
    client.set("k", String.valueOf(Long.MAX_VALUE));

    assertThatThrownBy(() -> client.increment("k")).isInstanceOf(ValueOverflowException.class)
        .extracting(e -> ((DistCacheException) e).status()).isEqualTo(Status.OVERFLOW);
    assertThat(client.get("k")).isEqualTo(String.valueOf(Long.MAX_VALUE));
  }

  @Test
  void incrementAsync_error_failsTheFutureWithTheTypedException() {
    DistCacheClient client = limitedPair();
    client.set("k", "x");

    assertThatThrownBy(() -> client.incrementByAsync("k", 1).join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(NotANumberException.class);
  }

  @Test
  void set_valueOverTheNodesLimit_throwsTooLargeAndAtTheLimitSucceeds() {
    DistCacheClient client = limitedPair();

    client.set("k".getBytes(), new byte[MAX_VALUE]);
    assertThat(client.strlen("k")).isEqualTo(MAX_VALUE);
    assertThatThrownBy(() -> client.set("k".getBytes(), new byte[MAX_VALUE + 1]))
        .isInstanceOf(TooLargeException.class)
        .hasMessageContaining("TOO_LARGE");
    assertThatThrownBy(() -> client.append("k", "x")).isInstanceOf(TooLargeException.class);
    assertThat(client.strlen("k")).isEqualTo(MAX_VALUE);
  }

  @Test
  void set_frameOverTheNodesMaxFrame_throwsTooLargeAndTheClientRecovers() {
    DistCacheClient client = limitedPair();

    // Within the client's 32 MiB limit, over the node's: the node answers TOO_LARGE and closes.
    assertThatThrownBy(() -> client.set("k".getBytes(), new byte[NODE_MAX_FRAME]))
        .isInstanceOf(TooLargeException.class)
        .hasMessageContaining(String.valueOf(NODE_MAX_FRAME));

    // The node closed that connection; the client reconnects on a later request.
    await().atMost(Duration.ofSeconds(5)).ignoreException(DistCacheConnectionException.class)
        .untilAsserted(() -> assertThat(client.get("k")).isNull());
    client.set("k", "v");
    assertThat(client.get("k")).isEqualTo("v");
  }

  @Test
  void set_frameOverTheClientsMaxFrame_failsBeforeSending() {
    DistCacheNode node = node(DistCacheNode.builder().maxMemoryBytes(8L * 1024 * 1024));
    DistCacheClient client = client(node, DistCacheClient.builder().maxFrameBytes(4096));

    assertThatThrownBy(() -> client.set("k".getBytes(), new byte[4096]))
        .isInstanceOf(TooLargeException.class)
        .hasMessage("SET: frame length " + (ProtocolConstants.HEADER_BYTES + 1 + 4096) + " exceeds the limit 4096");
    assertThat(client.exists("k")).isFalse();
    assertThat(client.stats()).containsEntry("entries", "0");
  }

  @Test
  void get_keyOneByteOverTheLimit_failsBeforeSendingAndTheLimitItselfWorks() {
    DistCacheClient client = limitedPair();
    byte[] atLimit = new byte[ProtocolConstants.MAX_KEY_BYTES];
    byte[] overLimit = new byte[ProtocolConstants.MAX_KEY_BYTES + 1];

    client.set(atLimit, "v".getBytes());
    assertThat(client.get(atLimit)).isEqualTo("v".getBytes());
    assertThatThrownBy(() -> client.get(overLimit))
        .isInstanceOf(TooLargeException.class)
        .hasMessage("GET: key length 65537 exceeds the limit 65536");
    assertThatThrownBy(() -> client.setAsync(overLimit, new byte[0]).join())
        .hasCauseInstanceOf(TooLargeException.class);
  }

  @Test
  void multiSet_keyOverTheLimitInsideTheList_isRefusedByTheNode() {
    DistCacheClient client = limitedPair();
    byte[] overLimit = new byte[ProtocolConstants.MAX_KEY_BYTES + 1];

    assertThatThrownBy(() -> client.setAll(List.of("ok".getBytes(), overLimit), List.of(new byte[1], new byte[1])))
        .isInstanceOf(DistCacheException.class)
        .satisfies(e -> assertThat(((DistCacheException) e).status()).isIn(Status.TOO_LARGE, Status.BAD_REQUEST));
    assertThat(client.exists("ok")).isFalse();
  }

  @Test
  void set_noevictionNodeFull_throwsCacheFull() {
    DistCacheNode node = node(DistCacheNode.builder().maxMemoryBytes(16 * 1024)
        .evictionPolicy(EvictionPolicy.NOEVICTION));
    DistCacheClient client = client(node, DistCacheClient.builder());

    assertThatThrownBy(() -> client.set("big".getBytes(), new byte[32 * 1024]))
        .isInstanceOf(CacheFullException.class)
        .extracting(e -> ((DistCacheException) e).status()).isEqualTo(Status.OUT_OF_MEMORY);
    assertThat(client.exists("big")).isFalse();

    // Small writes fill it up the same way, and reads keep working once it is full.
    int written = 0;
    try {
      for (int i = 0; i < 1000; i++) {
        client.set(("k" + i).getBytes(), new byte[512]);
        written++;
      }
    } catch (CacheFullException expected) {
      assertThat(expected.getMessage()).startsWith("SET failed: OUT_OF_MEMORY");
    }
    assertThat(written).isBetween(1, 31);
    assertThat(client.size()).isEqualTo(written);
    assertThat(client.get("k0".getBytes())).hasSize(512);
  }

  @Test
  void set_ttlTooFarInTheFuture_throwsBadRequestNamingIt() {
    DistCacheClient client = limitedPair();

    assertThatThrownBy(() -> client.set("k", "v", Duration.ofMillis(Long.MAX_VALUE)))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("too far in the future")
        .extracting(e -> ((DistCacheException) e).status()).isEqualTo(Status.BAD_REQUEST);
    assertThat(client.exists("k")).isFalse();
  }
}
