package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.BufferedPairs;
import io.distcache.protocol.BufferedValue;
import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.Stores;
import io.distcache.server.store.StoreConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A large value served here from its connection's buffer: once the store holds it, the
 * connection's release keeps no heap copy even while the reply waits for the replicas (sync
 * replication, the default: a reviewer found every large SET, MSET and GETSET on a node with a
 * replica still copied its value to the heap); a request not served here keeps one.
 */
class LocalExecutorBufferedTest {
  /** The node's store (off-heap), which copies a buffered value straight from its buffer. */
  private final Store store = Stores.create(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor executor = new LocalExecutor(store);

  @AfterEach
  void close() {
    store.close();
  }

  private static byte[] value(int length, int seed) {
    byte[] v = new byte[length];
    for (int i = 0; i < length; i++) {
      v[i] = (byte) (i * 31 + seed);
    }
    return v;
  }

  private static ByteBuf direct(byte[] v) {
    return Unpooled.directBuffer(v.length).writeBytes(v);
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void setAndGetSet_servedHere_releaseWhileTheReplyWaits_makesNoHeapCopy() {
    byte[] v = value(100_000, 1);
    for (Opcode op : List.of(Opcode.SET, Opcode.GET_AND_SET)) {
      BufferedValue buffered = new BufferedValue(direct(v));
      Frame reply = executor.execute(Frame.request(op, 0, b("k"), null).withValue(buffered));
      assertThat(reply.status()).as("%s", op).isEqualTo(Status.OK);

      buffered.release(true); // what the connection does while the reply waits for the replicas

      assertThat(buffered.copied()).as("%s made a heap copy", op).isFalse();
      assertThat(buffered.held()).isFalse();
      assertThat(store.get(b("k"))).isEqualTo(v);
    }
  }

  @Test
  void multiSetAndMultiSetIfAbsent_servedHere_releaseWhileTheReplyWaits_makesNoHeapCopy() {
    byte[] v1 = value(70_000, 2);
    byte[] v2 = value(90_000, 3);
    for (Opcode op : List.of(Opcode.MULTI_SET, Opcode.MULTI_SET_IF_ABSENT)) {
      String p = op == Opcode.MULTI_SET ? "a" : "b";
      BufferedValue list = BufferedPairs.encode(List.of(b(p + "1"), b(p + "2")), Arrays.asList(null, null),
          Arrays.asList(direct(v1), direct(v2)));
      Frame reply = executor.execute(Frame.request(op, 0, null, null).withValue(list));
      assertThat(reply.status()).as("%s", op).isEqualTo(Status.OK);

      list.release(true);

      assertThat(list.copied()).as("%s made a heap copy", op).isFalse();
      assertThat(store.get(b(p + "1"))).isEqualTo(v1);
      assertThat(store.get(b(p + "2"))).isEqualTo(v2);
    }
  }

  @Test
  void aRequestNotServedHere_keepsItsValueAsACopy() {
    byte[] v = value(100_000, 4);
    BufferedValue buffered = new BufferedValue(direct(v));
    Frame request = Frame.request(Opcode.SET, 0, b("k"), null).withValue(buffered); // forwarded, or held

    buffered.release(true);

    assertThat(buffered.copied()).isTrue();
    assertThat(request.value()).isEqualTo(v);
  }
}
