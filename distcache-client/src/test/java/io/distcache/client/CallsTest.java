package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The request layout and response reading of each operation, without a network. */
class CallsTest {
  private static final byte[] K = utf8("k");
  private static final byte[] V = utf8("v");

  @Test
  void get_hitAndMiss_returnValueOrNull() {
    Call<byte[]> call = Calls.get(K);

    assertRequest(call, Opcode.GET, 0, K, Frame.EMPTY);
    assertThat(call.decode(call.request().replyValue(V))).containsExactly(V);
    assertThat(call.decode(call.request().reply(Status.NOT_FOUND))).isNull();
  }

  @Test
  void getEntry_withMeta_readsVersionAndExpiry() {
    Call<CacheEntry> call = Calls.getEntry(K);

    assertRequest(call, Opcode.GET, Flags.WITH_META, K, Frame.EMPTY);
    CacheEntry entry = call.decode(call.request().replyValue(V, 42, 1_700_000_000_000L));
    assertThat(entry.value()).containsExactly(V);
    assertThat(entry.version()).isEqualTo(42);
    assertThat(entry.expiresAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
    assertThat(call.decode(call.request().replyValue(V, 1, 0)).expiresAt()).isNull();
  }

  @Test
  void set_ttlAndIfAbsent_setsFlagAndTtlExtraAndReadsConditionFailed() {
    Call<Boolean> call = Calls.set(K, V, SetOptions.ttl(Duration.ofSeconds(5)).ifAbsent());

    assertRequest(call, Opcode.SET, Flags.IF_ABSENT, K, V, 5000);
    assertThat(call.decode(call.request().replyOk(1))).isTrue();
    assertThat(call.decode(call.request().reply(Status.CONDITION_FAILED))).isFalse();
  }

  @Test
  void set_options_mapToFlags() {
    assertRequest(Calls.set(K, V, SetOptions.none()), Opcode.SET, 0, K, V);
    assertRequest(Calls.set(K, V, SetOptions.none().ifPresent().keepTtl()), Opcode.SET,
        Flags.IF_PRESENT | Flags.KEEP_TTL, K, V);
    assertRequest(Calls.set(K, V, SetOptions.expireAt(Instant.ofEpochMilli(123_456))), Opcode.SET,
        Flags.EXPIRY_ABSOLUTE, K, V, 123_456);
    assertRequest(Calls.set(K, V, SetOptions.ttl(Duration.ofNanos(1))), Opcode.SET, 0, K, V, 1);
    assertThatThrownBy(() -> SetOptions.ttl(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive: PT0S");
  }

  @Test
  void getAndSet_previousFlag_decidesBetweenValueAndNull() {
    Call<byte[]> call = Calls.getAndSet(K, V, 0);

    assertRequest(call, Opcode.GET_AND_SET, 0, K, V, 0);
    assertThat(call.decode(call.request().reply(Status.OK, Flags.PREVIOUS_PRESENT, utf8("old")))).containsExactly(utf8("old"));
    assertThat(call.decode(call.request().reply(Status.OK))).isNull();
  }

  @Test
  void keyOnlyOps_foundOrNotFound_mapToBooleanOrNull() {
    Call<Boolean> delete = Calls.delete(K);
    Call<Boolean> exists = Calls.exists(K);
    Call<byte[]> getAndDelete = Calls.getAndDelete(K);

    assertRequest(delete, Opcode.DELETE, 0, K, Frame.EMPTY);
    assertRequest(exists, Opcode.EXISTS, 0, K, Frame.EMPTY);
    assertRequest(getAndDelete, Opcode.GET_AND_DELETE, 0, K, Frame.EMPTY);
    assertThat(delete.decode(delete.request().replyOk())).isTrue();
    assertThat(exists.decode(exists.request().reply(Status.NOT_FOUND))).isFalse();
    assertThat(getAndDelete.decode(getAndDelete.request().replyValue(V))).containsExactly(V);
    assertThat(getAndDelete.decode(getAndDelete.request().reply(Status.NOT_FOUND))).isNull();
  }

  @Test
  void expireAndPersist_conditionFailedOrMissing_returnFalse() {
    Call<Boolean> expire = Calls.expire(K, 1500, false, ExpireCondition.GT);
    Call<Boolean> expireAt = Calls.expire(K, 99_000, true, ExpireCondition.NX);
    Call<Boolean> persist = Calls.persist(K);

    assertRequest(expire, Opcode.EXPIRE, 0, K, Frame.EMPTY, 1500, 3);
    assertRequest(expireAt, Opcode.EXPIRE, Flags.EXPIRY_ABSOLUTE, K, Frame.EMPTY, 99_000, 1);
    assertRequest(persist, Opcode.PERSIST, 0, K, Frame.EMPTY);
    assertThat(expire.decode(expire.request().replyOk())).isTrue();
    assertThat(expire.decode(expire.request().reply(Status.CONDITION_FAILED))).isFalse();
    assertThat(expire.decode(expire.request().reply(Status.NOT_FOUND))).isFalse();
    assertThat(persist.decode(persist.request().reply(Status.CONDITION_FAILED))).isFalse();
  }

  @Test
  void ttl_readsRemainingOrExpireTimeOrMissing() {
    Call<Long> remaining = Calls.ttl(K, 0);
    Call<Long> at = Calls.ttl(K, 1);

    assertRequest(remaining, Opcode.TTL, 0, K, Frame.EMPTY);
    assertThat(remaining.decode(remaining.request().replyOk(900, 5_000))).isEqualTo(900);
    assertThat(at.decode(at.request().replyOk(900, 5_000))).isEqualTo(5_000);
    assertThat(remaining.decode(remaining.request().replyOk(-1, -1))).isEqualTo(DistCacheClient.NO_EXPIRY);
    assertThat(at.decode(at.request().reply(Status.NOT_FOUND))).isEqualTo(DistCacheClient.KEY_MISSING);
  }

  @Test
  void counters_encodeDeltaAndReadResult() {
    Call<Long> incr = Calls.incrementBy(K, -7);
    Call<Double> incrFloat = Calls.incrementByFloat(K, 0.1);

    assertRequest(incr, Opcode.INCREMENT, 0, K, Frame.EMPTY, -7);
    assertThat(incr.decode(incr.request().replyOk(35))).isEqualTo(35);
    assertRequest(incrFloat, Opcode.INCREMENT_FLOAT, 0, K, utf8("0.1"));
    assertThat(incrFloat.decode(incrFloat.request().replyValue(utf8("3.14")))).isEqualTo(3.14);
    assertThat(Calls.incrementByFloat(K, 1e20).request().valueText()).isEqualTo("100000000000000000000");
    assertThatThrownBy(() -> Calls.incrementByFloat(K, Double.NaN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("delta must be finite: NaN");
  }

  @Test
  void stringOps_encodeOffsetsAndReadLengths() {
    Call<Long> append = Calls.append(K, V);
    Call<Long> strlen = Calls.strlen(K);
    Call<byte[]> getRange = Calls.getRange(K, 0, -1);
    Call<Long> setRange = Calls.setRange(K, 4, V);

    assertRequest(append, Opcode.APPEND, 0, K, V);
    assertRequest(strlen, Opcode.STRLEN, 0, K, Frame.EMPTY);
    assertRequest(getRange, Opcode.GET_RANGE, 0, K, Frame.EMPTY, 0, -1);
    assertRequest(setRange, Opcode.SET_RANGE, 0, K, V, 4);
    assertThat(append.decode(append.request().replyOk(6))).isEqualTo(6);
    assertThat(strlen.decode(strlen.request().replyOk(3))).isEqualTo(3);
    assertThat(getRange.decode(getRange.request().replyValue(V))).containsExactly(V);
    assertThat(setRange.decode(setRange.request().replyOk(5))).isEqualTo(5);
  }

  @Test
  void compareAndSet_eachOutcome_mapsToResult() {
    Call<CasResult> call = Calls.compareAndSet(K, 3, V, 2000);

    assertRequest(call, Opcode.COMPARE_AND_SET, 0, K, V, 3, 2000);
    assertThat(call.decode(call.request().replyOk(4))).isEqualTo(new CasResult(CasResult.Outcome.WRITTEN, 4));
    assertThat(call.decode(call.request().reply(Status.VERSION_MISMATCH, 0, null, 9)))
        .isEqualTo(new CasResult(CasResult.Outcome.VERSION_MISMATCH, 9));
    assertThat(call.decode(call.request().reply(Status.NOT_FOUND)))
        .isEqualTo(new CasResult(CasResult.Outcome.NOT_FOUND, 0));
  }

  @Test
  void multiKeyOps_encodeListsAndReadCounts() {
    List<byte[]> keys = List.of(utf8("a"), utf8("b"));
    Call<List<byte[]>> getAll = Calls.getAll(keys);
    Call<Void> setAll = Calls.setAll(keys, List.of(utf8("1"), utf8("2")), 750);
    Call<Boolean> setAllIfAbsent = Calls.setAllIfAbsent(keys, List.of(utf8("1"), utf8("2")));
    Call<Long> deleteAll = Calls.deleteAll(keys);
    Call<Long> existsCount = Calls.existsCount(keys);

    assertRequest(getAll, Opcode.MULTI_GET, 0, Frame.EMPTY, ListCodec.encodeKeys(keys));
    assertRequest(setAll, Opcode.MULTI_SET, 0, Frame.EMPTY, ListCodec.encodePairs(keys, List.of(utf8("1"), utf8("2"))), 750);
    assertRequest(setAllIfAbsent, Opcode.MULTI_SET_IF_ABSENT, 0, Frame.EMPTY,
        ListCodec.encodePairs(keys, List.of(utf8("1"), utf8("2"))));
    assertRequest(deleteAll, Opcode.MULTI_DELETE, 0, Frame.EMPTY, ListCodec.encodeKeys(keys));
    assertRequest(existsCount, Opcode.MULTI_EXISTS, 0, Frame.EMPTY, ListCodec.encodeKeys(keys));

    List<byte[]> values = getAll.decode(getAll.request().replyValue(ListCodec.encodeValues(Arrays.asList(utf8("x"), null))));
    assertThat(values).hasSize(2);
    assertThat(values.get(0)).containsExactly(utf8("x"));
    assertThat(values.get(1)).isNull();
    assertThat(setAllIfAbsent.decode(setAllIfAbsent.request().reply(Status.CONDITION_FAILED))).isFalse();
    assertThat(deleteAll.decode(deleteAll.request().replyOk(1))).isEqualTo(1);
    assertThat(existsCount.decode(existsCount.request().replyOk(2))).isEqualTo(2);
  }

  @Test
  void getAll_malformedOrShortValueList_throwsNamingTheProblem() {
    Call<List<byte[]>> getAll = Calls.getAll(List.of(utf8("a"), utf8("b")));

    assertThatThrownBy(() -> getAll.decode(getAll.request().replyValue(new byte[] {0, 0, 0, 9})))
        .isInstanceOf(DistCacheException.class)
        .hasMessageContaining("MULTI_GET got a malformed list from the node");
    assertThatThrownBy(() -> getAll.decode(getAll.request().replyValue(ListCodec.encodeValues(List.of(V)))))
        .isInstanceOf(DistCacheException.class)
        .hasMessage("MULTI_GET asked for 2 keys and got 1 values");
  }

  @Test
  void nodeOps_encodeAndDecode() {
    Call<ScanResult> scan = Calls.scan(17, 100);
    Call<Long> size = Calls.size();
    Call<java.util.Map<String, String>> stats = Calls.stats();
    Call<byte[]> randomKey = Calls.randomKey();
    Call<Void> flush = Calls.flush();
    Call<byte[]> ping = Calls.ping(V);

    assertRequest(scan, Opcode.SCAN, 0, Frame.EMPTY, Frame.EMPTY, 17, 100);
    assertRequest(size, Opcode.SIZE, 0, Frame.EMPTY, Frame.EMPTY);
    assertRequest(stats, Opcode.STATS, 0, Frame.EMPTY, Frame.EMPTY);
    assertRequest(randomKey, Opcode.RANDOM_KEY, 0, Frame.EMPTY, Frame.EMPTY);
    assertRequest(flush, Opcode.FLUSH, 0, Frame.EMPTY, Frame.EMPTY);
    assertRequest(ping, Opcode.PING, 0, Frame.EMPTY, V);

    ScanResult step = scan.decode(scan.request().replyValue(ListCodec.encodeKeys(List.of(K)), 0));
    assertThat(step.finished()).isTrue();
    assertThat(step.keys()).singleElement().satisfies(k -> assertThat(k).containsExactly(K));
    assertThat(size.decode(size.request().replyOk(12))).isEqualTo(12);
    assertThat(stats.decode(stats.request().replyValue(utf8("keys:3\r\nused_memory:100\n# comment\n"))))
        .containsExactly(java.util.Map.entry("keys", "3"), java.util.Map.entry("used_memory", "100"));
    assertThat(randomKey.decode(randomKey.request().reply(Status.NOT_FOUND))).isNull();
    assertThat(flush.decode(flush.request().replyOk())).isNull();
    assertThat(ping.decode(ping.request().replyValue(V))).containsExactly(V);
  }

  @Test
  void errorStatus_forAnyOp_throwsBeforeTheDecoderSeesIt() {
    Call<Boolean> set = Calls.set(K, V, SetOptions.none());

    assertThatThrownBy(() -> set.decode(set.request().replyError(Status.OUT_OF_MEMORY, "used_memory 100 > maxmemory 50")))
        .isExactlyInstanceOf(CacheFullException.class)
        .hasMessage("SET failed: OUT_OF_MEMORY: used_memory 100 > maxmemory 50");
  }

  private static void assertRequest(Call<?> call, Opcode op, int flags, byte[] key, byte[] value, long... extras) {
    Frame r = call.request();
    assertThat(r.op()).isEqualTo(op);
    assertThat(call.op()).isEqualTo(op.name());
    assertThat(r.flags()).as("flags").isEqualTo(flags);
    assertThat(r.key()).as("key").containsExactly(key);
    assertThat(r.value()).as("value").containsExactly(value);
    assertThat(r.extras()).as("extras").containsExactly(extras);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
