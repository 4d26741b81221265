package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bit commands touch only the bytes they need where a value lies, never a heap copy of the
 * whole value: on a 16 MiB bitmap one SETBIT copied 48 MiB (get, clone, set) and a pipeline of
 * them held the event loop for seconds. The commands run over an off-heap store behind a proxy
 * that records every store call; a command that read or wrote the whole value (get, getEntry,
 * set, ...) or read more than a field's bytes through getRange fails here.
 */
class BitCommandsInPlaceTest {
  private static final int LENGTH = 1 << 20;
  /** The store calls that copy a whole value out of or into the store. */
  private static final Set<String> WHOLE_VALUE = Set.of("get", "getEntry", "getAll", "getAndDelete", "set",
      "setLendingPrevious", "setAll", "compareAndSet", "peekEntry");

  private final ManualClock clock = new ManualClock();
  private final Store offHeap =
      Stores.create(new StoreConfig(64L << 20, 4 << 20, EvictionPolicy.NOEVICTION, clock));
  /** "method key" for every store call naming a key, with the bytes a getRange answered or a setRange wrote. */
  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final Store store = recording(offHeap);
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store)), store, clock);
  private final byte[] value = new byte[LENGTH];

  @BeforeEach
  void bigValue() {
    for (int i = 0; i < LENGTH; i++) {
      value[i] = (byte) (i * 31 + 7);
    }
    offHeap.set(b("big"), value, SetArgs.expiringAt(clock.millis() + 100_000));
  }

  @AfterEach
  void tearDown() {
    resp.close();
    offHeap.close();
  }

  private Store recording(Store target) {
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          Object answer;
          try {
            answer = method.invoke(target, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
          if (args != null && args.length > 0 && args[0] instanceof byte[] key) {
            String call = method.getName() + " " + new String(key, StandardCharsets.ISO_8859_1);
            if (answer instanceof byte[] bytes && method.getName().equals("getRange")) {
              call += " answered " + bytes.length;
            } else if (method.getName().equals("setRange")) {
              call += " wrote " + ((byte[]) args[2]).length;
            }
            calls.add(call);
          }
          return answer;
        });
  }

  /** Runs the commands, checks no whole-value call was made on any key, and returns the replies. */
  private String inPlace(String... commands) {
    calls.clear();
    String replies = resp.send(commands);
    assertThat(calls).as("store calls of " + Arrays.toString(commands))
        .noneMatch(c -> WHOLE_VALUE.contains(c.substring(0, c.indexOf(' '))))
        .allSatisfy(c -> assertThat(bytesNamed(c)).as(c).isLessThanOrEqualTo(9));
    return replies;
  }

  /** The bytes a getRange answered or a setRange wrote, 0 for other calls. */
  private static int bytesNamed(String call) {
    String[] parts = call.split(" ");
    return parts.length == 4 ? Integer.parseInt(parts[3]) : 0;
  }

  @Test
  void setbit_readsAndWritesTheOneByteThatHoldsTheBit() {
    int old = (value[12345 >>> 3] >> (7 - (12345 & 7))) & 1;
    assertThat(inPlace("SETBIT big 12345 " + (1 - old), "SETBIT big 12345 " + (1 - old), "GETBIT big 12345"))
        .isEqualTo(":" + old + "\r\n:" + (1 - old) + "\r\n:" + (1 - old) + "\r\n");
    assertThat(calls).as("the second SETBIT found the bit as asked and wrote nothing")
        .containsExactly("getRange big answered 1", "setRange big wrote 1", "getRange big answered 1",
            "getRange big answered 1");

    long past = LENGTH * 8L + 17;
    assertThat(inPlace("SETBIT big " + past + " 1")).isEqualTo(":0\r\n");
    assertThat(offHeap.strlen(b("big"))).isEqualTo(LENGTH + 3);
    assertThat(offHeap.getRange(b("big"), LENGTH - 1, -1)).containsExactly(value[LENGTH - 1], 0, 0, 0x40);
    assertThat(offHeap.ttlMillis(b("big"))).isEqualTo(100_000);
  }

  @Test
  void bitfield_readsAndWritesOnlyTheFieldsBytes() {
    assertThat(inPlace("BITFIELD big SET u8 100 7 GET u8 100 INCRBY i64 1003 5 GET u4 " + (LENGTH * 8L + 100)))
        .startsWith("*4\r\n:" + (((value[12] & 0xF) << 4) | ((value[13] & 0xFF) >>> 4)) + "\r\n:7\r\n");
    assertThat(inPlace("BITFIELD_RO big GET u8 0 GET i64 " + (LENGTH * 8L - 9)))
        .startsWith("*2\r\n:" + (value[0] & 0xFF) + "\r\n");
    assertThat(inPlace("BITFIELD big OVERFLOW FAIL INCRBY u2 " + (LENGTH * 8L + 100) + " 5"))
        .as("refused, but the value is grown first, as Redis 7").isEqualTo("*1\r\n$-1\r\n");
    assertThat(offHeap.strlen(b("big"))).isEqualTo(LENGTH + 13);
    assertThat(offHeap.ttlMillis(b("big"))).isEqualTo(100_000);
  }

  @Test
  void bitcountAndBitpos_readTheValueWhereItLies() {
    long ones = 0;
    for (byte x : value) {
      ones += Integer.bitCount(x & 0xFF);
    }
    assertThat(inPlace("BITCOUNT big", "BITCOUNT big 0 0", "BITCOUNT big -1 -1", "BITCOUNT big 5 30 BIT"))
        .startsWith(":" + ones + "\r\n:" + Integer.bitCount(value[0] & 0xFF) + "\r\n:"
            + Integer.bitCount(value[LENGTH - 1] & 0xFF) + "\r\n");
    assertThat(inPlace("BITPOS big 1", "BITPOS big 1 0 0", "BITPOS big 0 -1 -1", "BITPOS big 1 100 200 BIT"))
        .startsWith(":" + (Integer.numberOfLeadingZeros(value[0] & 0xFF) - 24) + "\r\n");
  }

  @Test
  void bitop_readsItsSourcesWhereTheyLie() {
    assertThat(inPlace_sources("BITOP XOR dest big big")).isEqualTo(":" + LENGTH + "\r\n");
    assertThat(offHeap.strlen(b("dest"))).isEqualTo(LENGTH);
    assertThat(offHeap.getRange(b("dest"), 0, 63)).containsOnly(0);
  }

  /** As inPlace for the sources; the destination is written whole (the result is a new value, as in Redis). */
  private String inPlace_sources(String command) {
    calls.clear();
    String reply = resp.send(command);
    assertThat(calls).noneMatch(c -> c.endsWith(" big") && WHOLE_VALUE.contains(c.substring(0, c.indexOf(' '))));
    return reply;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
