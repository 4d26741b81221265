package io.distcache.server.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.cluster.KeySlot;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SlotCleanerTest {
  private final Store real = Stores.create(new StoreConfig(16L << 20, 4096, EvictionPolicy.ALLKEYS_LRU, new ManualClock()));
  private final AtomicInteger scans = new AtomicInteger();
  private volatile int failingScans;

  /** The real store, except that its first {@code failingScans} scans throw. */
  private final Store flaky = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
      (proxy, method, args) -> {
        if (method.getName().startsWith("scan") && scans.incrementAndGet() <= failingScans) {
          throw new IllegalStateException("scan failed (test)");
        }
        try {
          return method.invoke(real, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
  private final SlotCleaner cleaner = new SlotCleaner(flaky);

  @AfterEach
  void close() {
    cleaner.close();
    real.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private long[] slotOf(String key) {
    long[] slots = new long[KeySlot.SLOTS / 64];
    int s = KeySlot.of(bytes(key));
    slots[s >>> 6] |= 1L << s;
    return slots;
  }

  @Test
  void dropThatFailsOnce_isRunAgain_andTheSlotIsDoneOnlyWhenItsKeysAreGone() {
    real.put(bytes("gone"), bytes("v"));
    real.put(bytes("{other}kept"), bytes("v"));
    failingScans = 1;
    AtomicInteger done = new AtomicInteger();

    cleaner.drop(slotOf("gone"), done::incrementAndGet);

    await().atMost(Duration.ofSeconds(10)).until(() -> done.get() == 1);
    assertThat(real.get(bytes("gone"))).isNull();
    assertThat(real.get(bytes("{other}kept"))).isNotNull();
    assertThat(scans.get()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void dropThatKeepsFailing_leavesTheSlotUnserved() {
    real.put(bytes("gone"), bytes("v"));
    failingScans = Integer.MAX_VALUE;
    AtomicInteger done = new AtomicInteger();

    cleaner.drop(slotOf("gone"), done::incrementAndGet);

    await().atMost(Duration.ofSeconds(10)).until(() -> scans.get() >= 3);
    cleaner.close(); // waits for the task to end
    assertThat(scans.get()).as("three attempts").isEqualTo(3);
    assertThat(done.get()).as("never reported dropped, so never served").isZero();
  }

  @Test
  void close_duringADrop_stopsItBetweenPagesWithoutReportingItDone() throws Exception {
    for (int i = 0; i < 5000; i++) {
      real.put(bytes("k" + i), bytes("v"));
    }
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
    AtomicInteger pages = new AtomicInteger();
    // The real store, except that the first scan waits until the cleaner is closed (interrupted).
    Store stalling = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          if (method.getName().startsWith("scan") && pages.incrementAndGet() == 1) {
            started.countDown();
            try {
              never.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          try {
            return method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    SlotCleaner stopping = new SlotCleaner(stalling);
    long[] all = new long[KeySlot.SLOTS / 64];
    java.util.Arrays.fill(all, -1L);
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    stopping.drop(all, () -> done.set(true));
    started.await();

    stopping.close(); // returns once the drop has stopped (it used to run its whole pass)

    assertThat(pages).hasValue(1);
    assertThat(done).isFalse(); // the slots stay unserved: never served with part of their old keys
    assertThat(real.size()).isGreaterThan(5000 / 2); // one page of about 1,024 keys went, not the whole pass
  }
}
