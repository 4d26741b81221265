package io.distcache.server.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.ManualClock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.ReferenceStore;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class LocalExecutorTest {
  private static final int REQUEST_ID = 0x01020304;

  private final ManualClock clock = new ManualClock();
  private final Store store = new ReferenceStore(new StoreConfig(16L << 20, 1024, EvictionPolicy.ALLKEYS_LRU, clock));
  private final LocalExecutor executor = new LocalExecutor(store);

  @AfterEach
  void closeStore() {
    store.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private long now() {
    return clock.millis();
  }

  /** Runs the request and checks what every response must carry. */
  private Frame exec(Frame request) {
    Frame response = executor.execute(request.withRequestId(REQUEST_ID));
    assertThat(response.isResponse()).isTrue();
    assertThat(response.requestId()).isEqualTo(REQUEST_ID);
    assertThat(response.opcode()).isEqualTo(request.opcode());
    assertThat(response.key()).isEmpty();
    return response;
  }

  private Frame exec(Opcode op, int flags, String key, byte[] value, long... extras) {
    return exec(Frame.request(op, flags, key == null ? null : b(key), value, extras));
  }

  private Frame exec(Opcode op, String key, long... extras) {
    return exec(op, 0, key, null, extras);
  }

  private static void assertStatus(Frame response, Status status) {
    assertThat(response.status()).as(response.valueText()).isEqualTo(status);
  }

  private static void assertError(Frame response, Status status, String messagePart) {
    assertStatus(response, status);
    assertThat(response.valueText()).contains(messagePart);
    assertThat(response.extras()).isEmpty();
  }

  // ---- every opcode ----

  @ParameterizedTest
  @EnumSource(Opcode.class)
  void execute_everyOpcodeWithEmptyFields_answersWithoutInternalError(Opcode op) {
    Frame response = exec(Frame.request(op, 0, b("k"), b("1"), 0, 0));

    assertThat(response.status()).isNotEqualTo(Status.INTERNAL_ERROR).isNotEqualTo(Status.UNKNOWN_OPCODE);
  }

  @Test
  void execute_unknownOpcode_unknownOpcodeNamingTheByte() {
    Frame request = new Frame((byte) 0x7F, 0, 9, Status.OK, Frame.NO_EXTRAS, b("k"), Frame.EMPTY);

    Frame response = executor.execute(request);

    assertThat(response.status()).isEqualTo(Status.UNKNOWN_OPCODE);
    assertThat(response.valueText()).isEqualTo("unknown opcode 0x7f");
    assertThat(response.opcode()).isEqualTo((byte) 0x7F);
    assertThat(response.requestId()).isEqualTo(9);
    assertThat(response.isResponse()).isTrue();
  }

  @Test
  void execute_storeThrowsUnexpectedly_internalErrorNamingTheOpcode() {
    Store broken = (Store) Proxy.newProxyInstance(
        Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, method, args) -> {
          if (method.getName().equals("config")) {
            return store.config();
          }
          throw new IllegalStateException("disk on fire");
        });
    LocalExecutor failing = new LocalExecutor(broken);

    Frame response = failing.execute(Frame.request(Opcode.GET, b("k")).withRequestId(5));

    assertThat(response.status()).isEqualTo(Status.INTERNAL_ERROR);
    assertThat(response.valueText()).contains("GET").contains("disk on fire");
    assertThat(response.requestId()).isEqualTo(5);
  }

  // ---- PING, GET, SET ----

  @Test
  void ping_payload_echoed() {
    Frame r = exec(Opcode.PING, 0, null, b("hello"));

    assertStatus(r, Status.OK);
    assertThat(r.valueText()).isEqualTo("hello");
    assertThat(r.flags()).isEqualTo(Flags.RESPONSE);
  }

  @Test
  void get_absent_notFoundEmpty() {
    Frame r = exec(Opcode.GET, "k");

    assertStatus(r, Status.NOT_FOUND);
    assertThat(r.value()).isEmpty();
    assertThat(r.extras()).isEmpty();
  }

  @Test
  void get_present_okWithValueAndNoExtras() {
    store.put(b("k"), new byte[] {0, (byte) 0xFF});

    Frame r = exec(Opcode.GET, "k");

    assertStatus(r, Status.OK);
    assertThat(r.value()).containsExactly(0, 0xFF);
    assertThat(r.extras()).isEmpty();
  }

  @Test
  void get_withMeta_extrasAreVersionAndExpiry() {
    long version = store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 500)).version();
    store.put(b("p"), b("v"));

    Frame r = exec(Opcode.GET, Flags.WITH_META, "k", null);
    Frame p = exec(Opcode.GET, Flags.WITH_META, "p", null);

    assertThat(r.extras()).containsExactly(version, now() + 500);
    assertThat(r.valueText()).isEqualTo("v");
    assertThat(p.extras()).containsExactly(store.getEntry(b("p")).version(), 0L);
    assertStatus(exec(Opcode.GET, Flags.WITH_META, "absent", null), Status.NOT_FOUND);
  }

  @Test
  void set_plain_okWithVersionAndNoExpiry() {
    Frame r = exec(Opcode.SET, 0, "k", b("v"));

    assertStatus(r, Status.OK);
    assertThat(r.extras()).containsExactly(store.getEntry(b("k")).version());
    assertThat(r.value()).isEmpty();
    assertThat(r.flags()).isEqualTo(Flags.RESPONSE);
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void set_relativeTtl_expiresThatManyMillisFromNow() {
    exec(Opcode.SET, 0, "k", b("v"), 1_500);

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 1_500);
    clock.advanceMillis(1_500);
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void set_absoluteTtl_expiresAtThatTime() {
    exec(Opcode.SET, Flags.EXPIRY_ABSOLUTE, "k", b("v"), now() + 42);

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 42);
  }

  @Test
  void set_negativeTtl_badRequestNamingTheValue() {
    assertError(exec(Opcode.SET, 0, "k", b("v"), -5), Status.BAD_REQUEST, "-5");
    assertError(exec(Opcode.SET, Flags.EXPIRY_ABSOLUTE, "k", b("v"), -7), Status.BAD_REQUEST, "-7");
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void set_ttlBeyondTheClock_badRequest() {
    assertError(exec(Opcode.SET, 0, "k", b("v"), Long.MAX_VALUE), Status.BAD_REQUEST, Long.toString(Long.MAX_VALUE));
  }

  @Test
  void set_ifAbsentAndIfPresentTogether_badRequest() {
    Frame r = exec(Opcode.SET, Flags.IF_ABSENT | Flags.IF_PRESENT, "k", b("v"));

    assertError(r, Status.BAD_REQUEST, "IF_ABSENT");
    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void set_keepTtlWithTtl_badRequest() {
    assertError(exec(Opcode.SET, Flags.KEEP_TTL, "k", b("v"), 100), Status.BAD_REQUEST, "KEEP_TTL");
  }

  @Test
  void set_ifAbsent_secondWriteConditionFailedWithoutExtras() {
    assertStatus(exec(Opcode.SET, Flags.IF_ABSENT, "k", b("one")), Status.OK);

    Frame r = exec(Opcode.SET, Flags.IF_ABSENT, "k", b("two"));

    assertStatus(r, Status.CONDITION_FAILED);
    assertThat(r.extras()).isEmpty();
    assertThat(r.value()).isEmpty();
    assertThat(store.get(b("k"))).isEqualTo(b("one"));
  }

  @Test
  void set_ifPresent_onlyExistingKey() {
    assertStatus(exec(Opcode.SET, Flags.IF_PRESENT, "k", b("v")), Status.CONDITION_FAILED);
    store.put(b("k"), b("old"));
    assertStatus(exec(Opcode.SET, Flags.IF_PRESENT, "k", b("new")), Status.OK);
    assertThat(store.get(b("k"))).isEqualTo(b("new"));
  }

  @Test
  void set_keepTtl_keepsExpiry() {
    store.set(b("k"), b("v"), SetArgs.expiringAt(now() + 900));

    exec(Opcode.SET, Flags.KEEP_TTL, "k", b("w"));

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 900);
  }

  @Test
  void set_returnPrevious_previousValueFlagged() {
    Frame first = exec(Opcode.SET, Flags.RETURN_PREVIOUS, "k", b("one"));
    Frame second = exec(Opcode.SET, Flags.RETURN_PREVIOUS, "k", b("two"));

    assertStatus(first, Status.OK);
    assertThat(first.flags()).isEqualTo(Flags.RESPONSE);
    assertThat(first.value()).isEmpty();
    assertStatus(second, Status.OK);
    assertThat(second.flags()).isEqualTo(Flags.RESPONSE | Flags.PREVIOUS_PRESENT);
    assertThat(second.valueText()).isEqualTo("one");
    assertThat(second.extras()).containsExactly(store.getEntry(b("k")).version());
  }

  @Test
  void set_returnPreviousNotWritten_conditionFailedWithPrevious() {
    store.put(b("k"), b("old"));

    Frame r = exec(Opcode.SET, Flags.RETURN_PREVIOUS | Flags.IF_ABSENT, "k", b("new"));

    assertStatus(r, Status.CONDITION_FAILED);
    assertThat(r.hasFlag(Flags.PREVIOUS_PRESENT)).isTrue();
    assertThat(r.valueText()).isEqualTo("old");
  }

  @Test
  void set_valueOverLimit_tooLargeWithStoreMessage() {
    assertError(exec(Opcode.SET, 0, "k", new byte[1025]), Status.TOO_LARGE, "1025");
  }

  @Test
  void set_full_outOfMemory() {
    Store tiny = new ReferenceStore(new StoreConfig(200, 1024, EvictionPolicy.NOEVICTION, clock));
    LocalExecutor small = new LocalExecutor(tiny);
    small.execute(Frame.request(Opcode.SET, 0, b("a"), new byte[100]));

    Frame r = small.execute(Frame.request(Opcode.SET, 0, b("b"), new byte[100]));

    assertThat(r.status()).isEqualTo(Status.OUT_OF_MEMORY);
    assertThat(r.valueText()).contains("OOM");
  }

  // ---- DELETE, EXISTS, GET_AND_SET, GET_AND_DELETE ----

  @Test
  void delete_presentThenAbsent_okThenNotFound() {
    store.put(b("k"), b("v"));

    assertStatus(exec(Opcode.DELETE, "k"), Status.OK);
    assertStatus(exec(Opcode.DELETE, "k"), Status.NOT_FOUND);
  }

  @Test
  void exists_emptyKeyIsAKey() {
    assertStatus(exec(Opcode.EXISTS, ""), Status.NOT_FOUND);
    store.put(new byte[0], b("v"));
    assertStatus(exec(Opcode.EXISTS, ""), Status.OK);
  }

  @Test
  void getAndSet_existing_previousFlaggedAndTtlFromExtras() {
    store.set(b("k"), b("old"), SetArgs.expiringAt(now() + 10));

    Frame r = exec(Opcode.GET_AND_SET, 0, "k", b("new"), 300);

    assertStatus(r, Status.OK);
    assertThat(r.flags()).isEqualTo(Flags.RESPONSE | Flags.PREVIOUS_PRESENT);
    assertThat(r.valueText()).isEqualTo("old");
    assertThat(store.get(b("k"))).isEqualTo(b("new"));
    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 300);
  }

  @Test
  void getAndSet_absent_okWithoutPreviousAndNoTtl() {
    Frame r = exec(Opcode.GET_AND_SET, 0, "k", b("new"));

    assertStatus(r, Status.OK);
    assertThat(r.flags()).isEqualTo(Flags.RESPONSE);
    assertThat(r.value()).isEmpty();
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void getAndSet_negativeTtl_badRequest() {
    assertError(exec(Opcode.GET_AND_SET, 0, "k", b("new"), -1), Status.BAD_REQUEST, "-1");
  }

  @Test
  void getAndDelete_presentThenAbsent() {
    store.put(b("k"), b("v"));

    Frame r = exec(Opcode.GET_AND_DELETE, "k");

    assertStatus(r, Status.OK);
    assertThat(r.valueText()).isEqualTo("v");
    assertStatus(exec(Opcode.GET_AND_DELETE, "k"), Status.NOT_FOUND);
  }

  // ---- EXPIRE, PERSIST, TTL ----

  @Test
  void expire_relative_setsExpiry() {
    store.put(b("k"), b("v"));

    assertStatus(exec(Opcode.EXPIRE, "k", 2_000), Status.OK);

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 2_000);
  }

  @Test
  void expire_absolute_setsThatTime() {
    store.put(b("k"), b("v"));

    assertStatus(exec(Opcode.EXPIRE, Flags.EXPIRY_ABSOLUTE, "k", null, now() + 77), Status.OK);

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 77);
  }

  @ParameterizedTest
  @CsvSource({"0", "-1", "-9223372036854775808"})
  void expire_relativeTtlNotPositive_deletesKey(long ttl) {
    store.put(b("k"), b("v"));

    assertStatus(exec(Opcode.EXPIRE, "k", ttl), Status.OK);

    assertThat(store.exists(b("k"))).isFalse();
  }

  @Test
  void expire_missingKey_notFound() {
    assertStatus(exec(Opcode.EXPIRE, "k", 100), Status.NOT_FOUND);
  }

  @Test
  void expire_conditions_mapToNxXxGtLt() {
    store.put(b("k"), b("v"));

    assertStatus(exec(Opcode.EXPIRE, "k", 100, 2), Status.CONDITION_FAILED); // XX, no expiry yet
    assertStatus(exec(Opcode.EXPIRE, "k", 100, 1), Status.OK); // NX
    assertStatus(exec(Opcode.EXPIRE, "k", 200, 1), Status.CONDITION_FAILED); // NX, has one
    assertStatus(exec(Opcode.EXPIRE, "k", 50, 3), Status.CONDITION_FAILED); // GT, earlier
    assertStatus(exec(Opcode.EXPIRE, "k", 150, 3), Status.OK); // GT, later
    assertStatus(exec(Opcode.EXPIRE, "k", 160, 4), Status.CONDITION_FAILED); // LT, later
    assertStatus(exec(Opcode.EXPIRE, "k", 120, 4), Status.OK); // LT, earlier
    assertStatus(exec(Opcode.EXPIRE, "k", 300, 2), Status.OK); // XX
    assertStatus(exec(Opcode.EXPIRE, "k", 400, 0), Status.OK); // always

    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 400);
  }

  @ParameterizedTest
  @CsvSource({"5", "-1", "256"})
  void expire_unknownCondition_badRequestNamingIt(long condition) {
    store.put(b("k"), b("v"));

    assertError(exec(Opcode.EXPIRE, "k", 100, condition), Status.BAD_REQUEST, Long.toString(condition));
    assertThat(store.ttlMillis(b("k"))).isEqualTo(Store.NO_TTL);
  }

  @Test
  void expire_withoutTtlExtra_badRequest() {
    store.put(b("k"), b("v"));

    assertError(exec(Opcode.EXPIRE, "k"), Status.BAD_REQUEST, "ttl");
  }

  @Test
  void persist_states_okConditionFailedNotFound() {
    store.set(b("t"), b("v"), SetArgs.expiringAt(now() + 100));
    store.put(b("p"), b("v"));

    assertStatus(exec(Opcode.PERSIST, "t"), Status.OK);
    assertThat(store.ttlMillis(b("t"))).isEqualTo(Store.NO_TTL);
    assertStatus(exec(Opcode.PERSIST, "p"), Status.CONDITION_FAILED);
    assertStatus(exec(Opcode.PERSIST, "absent"), Status.NOT_FOUND);
  }

  @Test
  void ttl_states_extrasRemainingAndExpireAt() {
    store.set(b("t"), b("v"), SetArgs.expiringAt(now() + 1_234));
    store.put(b("p"), b("v"));

    Frame t = exec(Opcode.TTL, "t");
    Frame p = exec(Opcode.TTL, "p");

    assertStatus(t, Status.OK);
    assertThat(t.extras()).containsExactly(1_234L, now() + 1_234);
    assertStatus(p, Status.OK);
    assertThat(p.extras()).containsExactly(-1L, -1L);
    assertStatus(exec(Opcode.TTL, "absent"), Status.NOT_FOUND);
  }

  // ---- numbers ----

  @Test
  void increment_delta_okWithNewValueExtra() {
    store.put(b("n"), b("40"));

    Frame r = exec(Opcode.INCREMENT, "n", 2);

    assertStatus(r, Status.OK);
    assertThat(r.extras()).containsExactly(42L);
    assertThat(r.value()).isEmpty();
    assertThat(exec(Opcode.INCREMENT, "fresh", -3).extras()).containsExactly(-3L);
  }

  @Test
  void increment_notAnInteger_notANumberWithRedisMessage() {
    store.put(b("n"), b("01"));

    assertError(exec(Opcode.INCREMENT, "n", 1), Status.NOT_A_NUMBER, "value is not an integer or out of range");
  }

  @Test
  void increment_overflow_overflowStatus() {
    store.put(b("n"), b(Long.toString(Long.MAX_VALUE)));

    assertError(exec(Opcode.INCREMENT, "n", 1), Status.OVERFLOW, "overflow");
  }

  @Test
  void increment_withoutDelta_badRequest() {
    assertError(exec(Opcode.INCREMENT, "n"), Status.BAD_REQUEST, "delta");
  }

  @Test
  void incrementFloat_decimalDelta_okWithTextValue() {
    store.put(b("f"), b("10.50"));

    Frame r = exec(Opcode.INCREMENT_FLOAT, 0, "f", b("0.1"));

    assertStatus(r, Status.OK);
    assertThat(r.valueText()).isEqualTo("10.6");
    assertThat(r.extras()).isEmpty();
  }

  @Test
  void incrementFloat_badDelta_notANumberValueIsNotAValidFloat() {
    assertError(exec(Opcode.INCREMENT_FLOAT, 0, "f", b("abc")), Status.NOT_A_NUMBER, "value is not a valid float");
    assertError(exec(Opcode.INCREMENT_FLOAT, 0, "f", b("")), Status.NOT_A_NUMBER, "value is not a valid float");
    assertThat(store.exists(b("f"))).isFalse();
  }

  @Test
  void incrementFloat_infiniteDelta_overflow() {
    assertError(exec(Opcode.INCREMENT_FLOAT, 0, "f", b("inf")), Status.OVERFLOW, "NaN or Infinity");
  }

  // ---- strings ----

  @Test
  void append_okWithNewLength() {
    assertThat(exec(Opcode.APPEND, 0, "k", b("ab")).extras()).containsExactly(2L);
    assertThat(exec(Opcode.APPEND, 0, "k", b("cde")).extras()).containsExactly(5L);
    assertThat(store.get(b("k"))).isEqualTo(b("abcde"));
  }

  @Test
  void strlen_okWithLengthZeroWhenAbsent() {
    store.put(b("k"), b("hello"));

    assertThat(exec(Opcode.STRLEN, "k").extras()).containsExactly(5L);
    Frame absent = exec(Opcode.STRLEN, "absent");
    assertStatus(absent, Status.OK);
    assertThat(absent.extras()).containsExactly(0L);
  }

  @Test
  void getRange_redisOffsets() {
    store.put(b("k"), b("This is a string"));

    assertThat(exec(Opcode.GET_RANGE, "k", -3, -1).valueText()).isEqualTo("ing");
    assertThat(exec(Opcode.GET_RANGE, "k", 0, 3).valueText()).isEqualTo("This");
    Frame absent = exec(Opcode.GET_RANGE, "absent", 0, -1);
    assertStatus(absent, Status.OK);
    assertThat(absent.value()).isEmpty();
    assertError(exec(Opcode.GET_RANGE, "k", 0), Status.BAD_REQUEST, "end");
  }

  @Test
  void setRange_okWithNewLength() {
    store.put(b("k"), b("Hello World"));

    Frame r = exec(Opcode.SET_RANGE, 0, "k", b("Redis"), 6);

    assertThat(r.extras()).containsExactly(11L);
    assertThat(store.get(b("k"))).isEqualTo(b("Hello Redis"));
  }

  @Test
  void setRange_badOffsets_badRequestOrTooLarge() {
    assertError(exec(Opcode.SET_RANGE, 0, "k", b("x"), -1), Status.BAD_REQUEST, "-1");
    assertError(exec(Opcode.SET_RANGE, 0, "k", b("x"), 1024), Status.TOO_LARGE, "1024");
    assertError(exec(Opcode.SET_RANGE, 0, "k", b("x")), Status.BAD_REQUEST, "offset");
  }

  // ---- COMPARE_AND_SET ----

  @Test
  void compareAndSet_matching_okWithNewVersionAndTtl() {
    long version = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();

    Frame r = exec(Opcode.COMPARE_AND_SET, 0, "k", b("two"), version, 250);

    assertStatus(r, Status.OK);
    assertThat(r.extras()).containsExactly(store.getEntry(b("k")).version());
    assertThat(r.extras()[0]).isNotEqualTo(version);
    assertThat(store.expireTimeMillis(b("k"))).isEqualTo(now() + 250);
  }

  @Test
  void compareAndSet_stale_versionMismatchWithCurrentVersion() {
    long stale = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();
    long current = store.set(b("k"), b("two"), SetArgs.ALWAYS).version();

    Frame r = exec(Opcode.COMPARE_AND_SET, 0, "k", b("three"), stale);

    assertStatus(r, Status.VERSION_MISMATCH);
    assertThat(r.extras()).containsExactly(current);
    assertThat(store.get(b("k"))).isEqualTo(b("two"));
  }

  @Test
  void compareAndSet_absent_notFound() {
    Frame r = exec(Opcode.COMPARE_AND_SET, 0, "k", b("v"), 1);

    assertStatus(r, Status.NOT_FOUND);
    assertThat(r.extras()).isEmpty();
  }

  @Test
  void compareAndSet_negativeTtlOrNoVersion_badRequest() {
    long version = store.set(b("k"), b("one"), SetArgs.ALWAYS).version();

    assertError(exec(Opcode.COMPARE_AND_SET, 0, "k", b("v"), version, -3), Status.BAD_REQUEST, "-3");
    assertError(exec(Opcode.COMPARE_AND_SET, 0, "k", b("v")), Status.BAD_REQUEST, "expected version");
  }

  // ---- multi-key ----

  @Test
  void multiGet_keyList_valueListWithMissing() {
    store.put(b("a"), b("1"));
    store.put(b("c"), new byte[0]);

    Frame r = exec(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(List.of(b("a"), b("b"), b("c"))));

    assertStatus(r, Status.OK);
    List<byte[]> values = ListCodec.decodeValues(r.value());
    assertThat(values).hasSize(3);
    assertThat(values.get(0)).isEqualTo(b("1"));
    assertThat(values.get(1)).isNull();
    assertThat(values.get(2)).isEmpty();
  }

  @Test
  void multiSet_pairsWithTtl_okAndAllWritten() {
    byte[] pairs = ListCodec.encodePairs(List.of(b("a"), b("b")), List.of(b("1"), b("2")));

    Frame r = exec(Opcode.MULTI_SET, 0, null, pairs, 700);

    assertStatus(r, Status.OK);
    assertThat(r.extras()).isEmpty();
    assertThat(store.get(b("a"))).isEqualTo(b("1"));
    assertThat(store.get(b("b"))).isEqualTo(b("2"));
    assertThat(store.expireTimeMillis(b("b"))).isEqualTo(now() + 700);
  }

  @Test
  void multiSet_negativeTtl_badRequestAndNothingWritten() {
    byte[] pairs = ListCodec.encodePairs(List.of(b("a")), List.of(b("1")));

    assertError(exec(Opcode.MULTI_SET, 0, null, pairs, -9), Status.BAD_REQUEST, "-9");
    assertThat(store.exists(b("a"))).isFalse();
  }

  @Test
  void multiOpcodes_malformedList_badRequest() {
    byte[] lying = {0, 0, 0, 5, 0, 0, 0, 1, 'a'};

    for (Opcode op : List.of(Opcode.MULTI_GET, Opcode.MULTI_SET, Opcode.MULTI_SET_IF_ABSENT,
        Opcode.MULTI_DELETE, Opcode.MULTI_EXISTS)) {
      Frame r = exec(op, 0, null, lying);
      assertThat(r.status()).as(op.name()).isEqualTo(Status.BAD_REQUEST);
      assertThat(r.valueText()).as(op.name()).contains("count 5");
    }
  }

  @Test
  void multiSetIfAbsent_okThenConditionFailed() {
    byte[] first = ListCodec.encodePairs(List.of(b("a"), b("b")), List.of(b("1"), b("2")));
    byte[] second = ListCodec.encodePairs(List.of(b("c"), b("b")), List.of(b("3"), b("4")));

    assertStatus(exec(Opcode.MULTI_SET_IF_ABSENT, 0, null, first), Status.OK);
    assertStatus(exec(Opcode.MULTI_SET_IF_ABSENT, 0, null, second), Status.CONDITION_FAILED);

    assertThat(store.exists(b("c"))).isFalse();
    assertThat(store.get(b("b"))).isEqualTo(b("2"));
  }

  @Test
  void multiDelete_countsKeysDeleted() {
    store.put(b("a"), b("1"));
    store.put(b("b"), b("2"));

    Frame r = exec(Opcode.MULTI_DELETE, 0, null, ListCodec.encodeKeys(List.of(b("a"), b("x"), b("b"), b("a"))));

    assertThat(r.extras()).containsExactly(2L);
    assertThat(store.size()).isZero();
  }

  @Test
  void multiExists_countsEveryMention() {
    store.put(b("a"), b("1"));

    Frame r = exec(Opcode.MULTI_EXISTS, 0, null, ListCodec.encodeKeys(List.of(b("a"), b("x"), b("a"))));

    assertThat(r.extras()).containsExactly(2L);
  }

  // ---- whole store ----

  @Test
  void scan_fullCursorLoop_returnsEveryKey() {
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 250; i++) {
      store.put(b("key" + i), b("v"));
      expected.add("key" + i);
    }

    Set<String> seen = new HashSet<>();
    long cursor = 0;
    int steps = 0;
    do {
      Frame r = exec(Opcode.SCAN, null, cursor, 20);
      assertStatus(r, Status.OK);
      assertThat(r.extras()).hasSize(1);
      ListCodec.decodeKeys(r.value()).forEach(k -> seen.add(new String(k, UTF_8)));
      cursor = r.extras()[0];
      steps++;
    } while (cursor != 0);

    assertThat(seen).isEqualTo(expected);
    assertThat(steps).isGreaterThan(1);
  }

  @Test
  void scan_countZeroOrMissing_defaultsToTen() {
    for (int i = 0; i < 100; i++) {
      store.put(b("key" + i), b("v"));
    }

    Frame zero = exec(Opcode.SCAN, null, 0, 0);
    Frame missing = exec(Opcode.SCAN, null);

    assertThat(ListCodec.decodeKeys(zero.value())).hasSize(LocalExecutor.DEFAULT_SCAN_COUNT);
    assertThat(ListCodec.decodeKeys(missing.value())).hasSize(LocalExecutor.DEFAULT_SCAN_COUNT);
    assertThat(zero.extras()[0]).isNotZero();
  }

  @Test
  void flush_removesEverything() {
    store.put(b("a"), b("1"));

    assertStatus(exec(Opcode.FLUSH, null), Status.OK);

    assertThat(store.size()).isZero();
  }

  @Test
  void size_okWithEntries() {
    store.put(b("a"), b("1"));
    store.put(b("b"), b("1"));

    Frame r = exec(Opcode.SIZE, null);

    assertStatus(r, Status.OK);
    assertThat(r.extras()).containsExactly(2L);
  }

  @Test
  void stats_utf8NameValueLines() {
    store.put(b("a"), b("1"));
    store.get(b("a"));
    store.get(b("x"));

    Frame r = exec(Opcode.STATS, null);

    assertStatus(r, Status.OK);
    assertThat(r.valueText()).isEqualTo(
        "hits:1\nmisses:1\nexpired:0\nevicted:0\nentries:1\nbytes_used:"
            + store.stats().bytesUsed() + "\nbytes_max:" + (16L << 20) + "\n");
  }

  @Test
  void randomKey_emptyThenOneKey() {
    assertStatus(exec(Opcode.RANDOM_KEY, null), Status.NOT_FOUND);
    store.put(new byte[] {0, (byte) 0xFF}, b("v"));

    Frame r = exec(Opcode.RANDOM_KEY, null);

    assertStatus(r, Status.OK);
    assertThat(r.value()).containsExactly(0, 0xFF);
  }

  // ---- the router ----

  @Test
  void localRouter_route_completedWithTheExecutorsAnswer() {
    store.put(b("k"), b("v"));
    LocalRouter router = new LocalRouter(executor);

    CompletableFuture<Frame> future = router.route(Frame.request(Opcode.GET, b("k")).withRequestId(77));

    assertThat(future).isDone();
    Frame r = future.join();
    assertThat(r.status()).isEqualTo(Status.OK);
    assertThat(r.valueText()).isEqualTo("v");
    assertThat(r.requestId()).isEqualTo(77);
  }

  @Test
  void localRouter_badRequest_completesNormallyWithErrorFrame() {
    LocalRouter router = new LocalRouter(executor);
    List<CompletableFuture<Frame>> futures = new ArrayList<>();

    futures.add(router.route(new Frame((byte) 0xEE, 0, 1, Status.OK, Frame.NO_EXTRAS, Frame.EMPTY, Frame.EMPTY)));
    futures.add(router.route(Frame.request(Opcode.MULTI_GET, 0, null, new byte[] {1})));

    assertThat(futures).allSatisfy(f -> {
      assertThat(f).isCompleted();
      assertThat(f.join().status().isError()).isTrue();
    });
  }

  /** MULTI_GET of two values of {@code bytes} each through an executor whose max frame is 1024. */
  private Frame multiGetOfTwo(int bytes) {
    LocalExecutor limited = new LocalExecutor(store, 1024);
    store.set(b("a"), new byte[bytes], SetArgs.ALWAYS);
    store.set(b("b"), new byte[bytes], SetArgs.ALWAYS);
    byte[] both = ListCodec.encodeKeys(List.of(b("a"), b("b")));
    return limited.execute(Frame.request(Opcode.MULTI_GET, 0, null, both).withRequestId(REQUEST_ID));
  }

  @Test
  void multiGet_replyOverTheMaxFrame_answersTooLargeNamingSizeAndLimit() {
    Frame reply = multiGetOfTwo(500);

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.requestId()).isEqualTo(REQUEST_ID);
    // header 20 + count 4 + two values of (length 4 + 500 bytes)
    assertThat(reply.valueText()).contains("reply of 1032 bytes for 2 keys exceeds the max frame 1024");
  }

  @Test
  void multiGet_valuesOverTheMaxFrame_answersTooLargeBeforeCopyingThemAll() {
    Frame reply = multiGetOfTwo(600);

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.valueText()).contains("reply of more than 1024 bytes").contains("2 keys")
        .contains("exceeds the max frame 1024");
  }

  @Test
  void transaction_repliesOverTheMaxFrame_runEveryRequest_andAnswerTooLarge() {
    LocalExecutor limited = new LocalExecutor(store, 1024);
    store.set(b("a"), new byte[600], SetArgs.ALWAYS);
    store.set(b("b"), new byte[600], SetArgs.ALWAYS);
    List<Frame> requests = List.of(Frame.request(Opcode.GET, b("a")), Frame.request(Opcode.GET, b("b")),
        Frame.request(Opcode.SET, 0, b("c"), b("written")));

    Frame reply = limited.execute(Frame.request(Opcode.TRANSACTION, 0, b("a"),
        io.distcache.protocol.TransactionCodec.encodeRequest(List.of(), requests)));

    assertThat(reply.status()).isEqualTo(Status.TOO_LARGE);
    assertThat(reply.valueText()).contains("the transaction ran").contains("max frame 1024");
    assertThat(store.get(b("c"))).as("the batch ran whole").isEqualTo(b("written"));
  }

  @Test
  void scan_keysOverTheMaxFrameAtTheAskedCount_smallerStepsFitAndTheLoopReturnsEveryKey() {
    // 40 keys of 500 bytes: a count of 100 would need a reply of about 20 KB; the limit is 4 KiB.
    LocalExecutor limited = new LocalExecutor(store, 4096);
    Set<String> written = new HashSet<>();
    for (int i = 0; i < 40; i++) {
      String key = String.format("%03d", i) + "x".repeat(497);
      store.set(b(key), b("v"), SetArgs.ALWAYS);
      written.add(key);
    }
    Set<String> seen = new HashSet<>();
    long cursor = 0;
    int steps = 0;
    do {
      Frame reply = limited.execute(Frame.request(Opcode.SCAN, 0, null, null, cursor, 100).withRequestId(REQUEST_ID));
      assertThat(reply.status()).isEqualTo(Status.OK);
      assertThat(reply.encodedLength()).isLessThanOrEqualTo(4096);
      for (byte[] k : ListCodec.decodeKeys(reply.value())) {
        seen.add(new String(k, UTF_8));
      }
      cursor = reply.extra(0, 0);
      steps++;
    } while (cursor != 0 && steps < 1000);

    assertThat(seen).isEqualTo(written);
    assertThat(steps).isGreaterThan(1);
  }

  @Test
  void multiGet_replyExactlyAtTheMaxFrame_isServed() {
    LocalExecutor limited = new LocalExecutor(store, 20 + 4 + 4 + 600);
    store.set(b("a"), new byte[600], SetArgs.ALWAYS);

    Frame reply = limited.execute(Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(List.of(b("a")))));

    assertThat(reply.status()).isEqualTo(Status.OK);
    assertThat(reply.encodedLength()).isEqualTo(limited.maxFrameBytes());
  }

  @Test
  void classNewEventsOn_malformedOrOversizedSmove_isAnsweredNotThrown() {
    io.distcache.server.pubsub.PubSubHub hub = new io.distcache.server.pubsub.PubSubHub();
    io.distcache.server.pubsub.KeyspaceEvents events = new io.distcache.server.pubsub.KeyspaceEvents(hub);
    events.flags(io.distcache.server.pubsub.KeyspaceEvents.parse("KEAn"));
    executor.pubSub(hub, events);
    byte[] tooLong = new byte[70_000];
    java.util.Arrays.fill(tooLong, (byte) 'd');

    Frame oversized = executor.execute(Frame.request(Opcode.SETS, 0, "src".getBytes(UTF_8),
        ListCodec.encodeValues(List.of(tooLong, "m".getBytes(UTF_8))), SetRequests.SMOVE));
    Frame empty = executor.execute(Frame.request(Opcode.SETS, 0, "src".getBytes(UTF_8),
        ListCodec.encodeValues(List.of()), SetRequests.SMOVE));

    // Answered (the source is missing: nothing moved; the member list empty: refused), never thrown.
    assertThat(oversized.status()).as(oversized.valueText()).isIn(Status.OK, Status.NOT_FOUND, Status.TOO_LARGE,
        Status.BAD_REQUEST);
    assertThat(empty.status()).as(empty.valueText()).isEqualTo(Status.BAD_REQUEST);
  }

  /**
   * Class n: two SETs creating one key at once. Whether the key was absent is asked before a
   * request runs; under shared stripes both asked before either wrote, and both sent "new" (Redis,
   * single-threaded, sends one). The first pauses right after its ask; the second then either runs
   * through (both send "new") or waits for the first's stripe, as a request run alone on its keys.
   */
  @Test
  void classNew_twoWritersCreatingOneKeyAtOnce_sendOneNew() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean asked = new java.util.concurrent.atomic.AtomicBoolean();
    Store pausing = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
        (proxy, method, args) -> {
          Object answer;
          try {
            answer = method.invoke(store, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
          if (method.getName().equals("exists") && !asked.get()) {
            asked.set(true);
            release.await(); // the first writer was told the key is absent, and has not written yet
          }
          return answer;
        });
    LocalExecutor both = new LocalExecutor(pausing);
    io.distcache.server.pubsub.PubSubHub hub = new io.distcache.server.pubsub.PubSubHub();
    io.distcache.server.pubsub.KeyspaceEvents events = new io.distcache.server.pubsub.KeyspaceEvents(hub);
    events.flags(io.distcache.server.pubsub.KeyspaceEvents.parse("KEAn"));
    both.pubSub(hub, events);
    List<String> created = new java.util.concurrent.CopyOnWriteArrayList<>();
    io.distcache.server.pubsub.HubSubscriptions.subscribe(hub, new io.distcache.server.pubsub.Subscriber() {
      @Override
      public void message(byte[] channel, byte[] message) {
        created.add(new String(message, UTF_8));
      }

      @Override
      public void patternMessage(byte[] pattern, byte[] channel, byte[] message) {}

      @Override
      public void shardMessage(byte[] channel, byte[] message) {}
    }, b("__keyevent@0__:new"));

    List<Frame> replies = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread first = new Thread(() -> replies.add(both.execute(Frame.request(Opcode.SET, 0, b("k"), b("1")))));
    first.start();
    org.awaitility.Awaitility.await().untilTrue(asked);
    Thread second = new Thread(() -> replies.add(both.execute(Frame.request(Opcode.SET, 0, b("k"), b("2")))));
    second.start();
    org.awaitility.Awaitility.await().until(() -> !second.isAlive() || second.getState() == Thread.State.WAITING
        || second.getState() == Thread.State.TIMED_WAITING);
    release.countDown();
    first.join();
    second.join();

    assertThat(replies).extracting(Frame::status).containsExactly(Status.OK, Status.OK);
    assertThat(created).containsExactly("k");
  }
}
