package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedPayloads;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A removal from a large set must not need memory: SMOVE adds to the destination, then removes from
 * the source in place; when that removal would leave more than a quarter dead and the compacting
 * rebuild has no room (a full node under noeviction), it is made in place past the bound. Before,
 * it fell back to a put that failed with OOM, and the member stayed in both sets (a reviewer).
 */
class SmoveOnAFullNodeTest {
  private final ManualClock clock = new ManualClock();
  private final Store store = Stores.create(new StoreConfig(16L << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store,
      ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 1_000_000)), store, clock);

  @AfterEach
  void close() {
    resp.close();
    store.close();
  }

  private static String m(int i) {
    return String.format("member-%05d", i);
  }

  @Test
  void smove_whenTheSourceRemovalCannotCompactForMemory_movesInPlace_memberInExactlyOneSet() {
    for (int i = 0; i < 2000; i += 100) {
      StringBuilder sb = new StringBuilder("SADD {k}s");
      for (int j = i; j < i + 100; j++) {
        sb.append(' ').append(m(j));
      }
      resp.send(sb.toString());
    }
    resp.send("SADD {k}t a b c");
    // remove from the front (never the tail) until the next removal would pass a quarter dead
    for (int i = 0; i < 500; i++) {
      assertThat(resp.send("SREM {k}s " + m(i))).isEqualTo(":1\r\n");
    }
    assertThat(PackedPayloads.deadBytes(store.peekEntry("{k}s".getBytes(StandardCharsets.UTF_8)).value(), false))
        .as("the next removal passes a quarter dead").isGreaterThan(0);
    // fill memory
    int n = 0;
    for (int size : new int[] {200_000, 50_000, 10_000, 2_000, 500, 100}) {
      String v = "x".repeat(size);
      while (true) {
        String r = resp.send("SET fill" + (n++) + " " + v);
        if (!r.startsWith("+OK")) {
          break;
        }
      }
    }
    String reply = resp.send("SMOVE {k}s {k}t " + m(1000));
    assertThat(reply).isEqualTo(":1\r\n");
    assertThat(resp.send("SREM {k}s " + m(1001))).as("an SREM on the full node").isEqualTo(":1\r\n");
    String in = resp.send("SISMEMBER {k}s " + m(1000), "SISMEMBER {k}t " + m(1000));
    assertThat(in).as("member in exactly one set; reply " + reply).isIn(":0\r\n:1\r\n", ":1\r\n:0\r\n");
    if (!reply.equals(":1\r\n")) {
      assertThat(in).as("failed SMOVE changed nothing").isEqualTo(":1\r\n:0\r\n");
    }
  }
}
