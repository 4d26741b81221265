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
import java.util.ArrayList;
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
    assertThat(waits.park(a, List.of(b("k"), b("j")))).isEqualTo(KeyWaits.Parked.FIRST);
    assertThat(waits.park(c, List.of(b("k")))).isEqualTo(KeyWaits.Parked.BEHIND);
    assertThat(waits.park(() -> { }, List.of(b("x")))).isEqualTo(KeyWaits.Parked.REFUSED);
    assertThat(waits.parked()).isEqualTo(2);
    assertThat(waits.keys()).isEqualTo(2);
    waits.unpark(a, List.of(b("k"), b("j")));
    assertThat(waits.parked()).isEqualTo(1);
    assertThat(waits.keys()).as("j has no waiter left").isEqualTo(1);
    assertThat(waits.park(() -> { }, List.of(b("x")))).isEqualTo(KeyWaits.Parked.FIRST);
    assertThatThrownBy(() -> new KeyWaits(0)).hasMessage("max parked clients: expected >= 1, got 0");
  }

  /** Who was woken, in order, among the waiters a, c and d. */
  private final List<String> woken = new ArrayList<>();
  private final KeyWaits.Waiter a = () -> woken.add("a");
  private final KeyWaits.Waiter c = () -> woken.add("c");
  private final KeyWaits.Waiter d = () -> woken.add("d");

  @Test
  void written_wakesOnlyTheFirstWaiterOfEachKey() {
    KeyWaits waits = new KeyWaits(10);
    waits.park(a, List.of(b("k")));
    waits.park(c, List.of(b("j"), b("k")));
    waits.park(d, List.of(b("k")));
    waits.written(List.of(b("k")));
    assertThat(woken).containsExactly("a");
    waits.written(List.of(b("j"), b("k")));
    assertThat(woken).as("c is first on j").containsExactly("a", "c", "a");
  }

  @Test
  void unpark_ofTheFirstWaiter_passesTheBatonToTheNext_only() {
    KeyWaits waits = new KeyWaits(10);
    waits.park(a, List.of(b("k")));
    waits.park(c, List.of(b("k")));
    waits.park(d, List.of(b("k")));
    waits.unpark(c, List.of(b("k")));
    assertThat(woken).as("c was not first: nobody's turn came").isEmpty();
    waits.unpark(a, List.of(b("k")));
    assertThat(woken).containsExactly("d");
    waits.unpark(d, List.of(b("k")));
    assertThat(woken).containsExactly("d");
    assertThat(waits.keys()).isZero();
    assertThat(waits.parked()).isZero();
  }

  @Test
  void park_sameKeyTwice_isOneQueuePlace() {
    KeyWaits waits = new KeyWaits(10);
    assertThat(waits.park(a, List.of(b("k"), b("k")))).isEqualTo(KeyWaits.Parked.FIRST);
    assertThat(waits.park(() -> { }, List.of(b("k")))).isEqualTo(KeyWaits.Parked.BEHIND);
    waits.unpark(a, List.of(b("k"), b("k")));
    assertThat(waits.parked()).isEqualTo(1);
    assertThat(waits.keys()).isEqualTo(1);
  }

  @Test
  void executor_wakesTheWaitersOfAKeyThatCanGetMembers_only() {
    Store store = Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU,
        new ManualClock()));
    try {
      LocalExecutor executor = new LocalExecutor(store);
      AtomicInteger onK = new AtomicInteger();
      AtomicInteger onOther = new AtomicInteger();
      assertThat(executor.keyWaits().park(onK::incrementAndGet, List.of(b("k")))).isEqualTo(KeyWaits.Parked.FIRST);
      assertThat(executor.keyWaits().park(onOther::incrementAndGet, List.of(b("other"))))
          .isEqualTo(KeyWaits.Parked.FIRST);
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
