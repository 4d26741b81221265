package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.ManualClock;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The owner ships a large string's state in heap chunks (issue 16): the REPLICATE frame holds the
 * batch in a heap buffer around the value's chunks, which were copied from the store's memory in
 * chunks below HEAP_CHUNK_BYTES, never into an array of the value's size; the bytes are the
 * store's. A string below LARGE_VALUE_BYTES and a hash go as arrays, as before.
 */
class LargeEffectShipTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7653));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7654));

  private final Store store = Stores.create(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.ALLKEYS_LRU,
      new ManualClock()));
  private final LocalExecutor local = new LocalExecutor(store);
  private final Placement placement = Placement.of(1, List.of(A, B), 64, 1);
  private final List<Frame> batches = new CopyOnWriteArrayList<>();
  private final io.distcache.server.bus.Peers peers = TestPeers.answering((to, request) -> {
    if (request.op() != Opcode.REPLICATE) {
      return CompletableFuture.completedFuture(request.replyOk());
    }
    batches.add(request);
    int n = request.buffered() != null ? EffectCodec.decode(request.buffered().heapView(), false).size()
        : EffectCodec.decode(request.value()).size();
    return CompletableFuture.completedFuture(request.replyOk(request.extras()[1] + n - 1));
  });
  private final Replicator replicator = new Replicator(store, () -> placement, () -> A, peers, ReplicationMode.SYNC,
      local::execute);

  @AfterEach
  void close() throws Exception {
    replicator.close();
    store.close();
  }

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private Frame set(String key, byte[] value) {
    return replicator.execute(Frame.request(Opcode.SET, 0, key.getBytes(StandardCharsets.UTF_8), value), placement)
        .join();
  }

  @Test
  void aLargeString_shipsInHeapChunks_copiedFromTheStore_andASmallOneAsAnArray() {
    replicator.placementChanged(placement);
    String key = TestKeys.replicatedBy(placement, A, B, 0, "big");
    byte[] big = random(1, 4 * EffectCodec.LARGE_VALUE_BYTES + 11);
    assertThat(set(key, big).status()).isEqualTo(Status.OK);

    assertThat(batches).hasSize(1);
    Frame frame = batches.get(0);
    assertThat(frame.buffered()).as("the batch in a heap buffer around the value's chunks").isNotNull();
    assertThat(frame.buffered().onHeap()).isTrue();
    ByteBuf batch = frame.buffered().heapView();
    for (ByteBuffer piece : batch.nioBuffers()) {
      assertThat(piece.hasArray()).isTrue();
      assertThat(piece.array().length).as("no array of the value's size")
          .isLessThanOrEqualTo(io.distcache.protocol.BufferedValue.HEAP_CHUNK_BYTES);
    }
    List<Effect> effects = EffectCodec.decode(batch, true);
    assertThat(effects).hasSize(1);
    Effect e = effects.get(0);
    assertThat(e.large()).isNotNull();
    byte[] shipped = new byte[e.large().length()];
    e.large().heapView().readBytes(shipped);
    assertThat(shipped).isEqualTo(big).isEqualTo(store.get(key.getBytes(StandardCharsets.UTF_8)));
    assertThat(e.version()).isEqualTo(store.peekEntry(key.getBytes(StandardCharsets.UTF_8)).version());
    assertThat(frame.buffered().copied()).isFalse();

    byte[] small = random(2, EffectCodec.LARGE_VALUE_BYTES - 1);
    assertThat(set(key, small).status()).isEqualTo(Status.OK);
    assertThat(batches).hasSize(2);
    assertThat(batches.get(1).buffered()).as("below the large size: one array, as before").isNull();
    assertThat(EffectCodec.decode(batches.get(1).value()).get(0).value()).isEqualTo(small);
  }
}
