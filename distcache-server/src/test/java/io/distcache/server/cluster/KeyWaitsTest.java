package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.SortedSets;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The node's parked blocking pops: bounded, woken by the writes that can give their keys members. */
class KeyWaitsTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void park_pastTheLimit_isRefused_andUnparkFreesTheRoom() {
    KeyWaits waits = new KeyWaits(2);
    KeyWaits.Waiter a = () -> { };
    KeyWaits.Waiter c = () -> { };
    assertThat(waits.park(a, List.of(b("k"), b("j")))).isTrue();
    assertThat(waits.park(c, List.of(b("k")))).isTrue();
    assertThat(waits.park(() -> { }, List.of(b("x")))).isFalse();
    assertThat(waits.parked()).isEqualTo(2);
    assertThat(waits.keys()).isEqualTo(2);
    waits.unpark(a, List.of(b("k"), b("j")));
    assertThat(waits.parked()).isEqualTo(1);
    assertThat(waits.keys()).as("j has no waiter left").isEqualTo(1);
    assertThat(waits.park(() -> { }, List.of(b("x")))).isTrue();
    assertThatThrownBy(() -> new KeyWaits(0)).hasMessage("max parked clients: expected >= 1, got 0");
  }

  @Test
  void executor_wakesTheWaitersOfAKeyThatCanGetMembers_only() {
    Store store = Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU,
        new ManualClock()));
    try {
      LocalExecutor executor = new LocalExecutor(store);
      AtomicInteger onK = new AtomicInteger();
      AtomicInteger onOther = new AtomicInteger();
      assertThat(executor.keyWaits().park(onK::incrementAndGet, List.of(b("k")))).isTrue();
      assertThat(executor.keyWaits().park(onOther::incrementAndGet, List.of(b("other")))).isTrue();
      executor.execute(zsets(b("k"), SortedSets.ZSCORE, List.of(b("m"))));
      assertThat(onK).as("a read wakes nobody").hasValue(0);
      executor.execute(zsets(b("k"), SortedSets.ZADD, List.of(SortedSets.encodeScore(1), b("m")), 0));
      assertThat(onK).hasValue(1);
      executor.execute(zsets(b("k"), SortedSets.ZUNIONSTORE, List.of(b("k")), 1, 0, 0, 0));
      assertThat(onK).as("a STORE form's destination").hasValue(2);
      assertThat(onOther).hasValue(0);
    } finally {
      store.close();
    }
  }

  private static Frame zsets(byte[] key, long command, List<byte[]> values, long... more) {
    long[] extras = new long[1 + more.length];
    extras[0] = command;
    System.arraycopy(more, 0, extras, 1, more.length);
    return Frame.request(Opcode.ZSETS, 0, key, ListCodec.encodeValues(values), extras);
  }
}
