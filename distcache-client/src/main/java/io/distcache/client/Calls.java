package io.distcache.client;

import io.distcache.protocol.Flags;
import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The request layout and response reading of every operation, in the order of {@link Opcode}.
 * docs/PROTOCOL.md is the reference for the fields used here.
 */
final class Calls {
  private Calls() {}

  static Call<byte[]> ping(byte[] payload) {
    return new Call<>("PING", Frame.request(Opcode.PING, 0, null, payload), r -> ok("PING", r).value());
  }

  static Call<byte[]> get(byte[] key) {
    return new Call<>("GET", Frame.request(Opcode.GET, key(key)), r -> found("GET", r) ? r.value() : null);
  }

  static Call<CacheEntry> getEntry(byte[] key) {
    return new Call<>("GET", Frame.request(Opcode.GET, Flags.WITH_META, key(key), null),
        r -> found("GET", r) ? new CacheEntry(r.value(), r.extra(0, 0), expireAt(r.extra(1, 0))) : null);
  }

  static Call<Boolean> set(byte[] key, byte[] value, SetOptions options) {
    Frame request = Frame.request(Opcode.SET, options.flags(), key(key), value(value), options.extras());
    return new Call<>("SET", request, r -> applied("SET", r));
  }

  /** Previous value (null when there was none); {@code ttlMillis} 0 for no expiry. */
  static Call<byte[]> getAndSet(byte[] key, byte[] value, long ttlMillis) {
    Frame request = Frame.request(Opcode.GET_AND_SET, 0, key(key), value(value), ttlMillis);
    return new Call<>("GET_AND_SET", request, r -> previous("GET_AND_SET", r));
  }

  static Call<Boolean> delete(byte[] key) {
    return new Call<>("DELETE", Frame.request(Opcode.DELETE, key(key)), r -> found("DELETE", r));
  }

  static Call<Boolean> exists(byte[] key) {
    return new Call<>("EXISTS", Frame.request(Opcode.EXISTS, key(key)), r -> found("EXISTS", r));
  }

  /** {@code ttl} relative ms, or absolute Unix ms when {@code absolute}. */
  static Call<Boolean> expire(byte[] key, long ttl, boolean absolute, ExpireCondition condition) {
    Objects.requireNonNull(condition, "condition");
    Frame request = Frame.request(Opcode.EXPIRE, absolute ? Flags.EXPIRY_ABSOLUTE : 0, key(key), null,
        ttl, condition.wire());
    return new Call<>("EXPIRE", request, r -> r.status() != Status.NOT_FOUND && applied("EXPIRE", r));
  }

  static Call<Boolean> persist(byte[] key) {
    return new Call<>("PERSIST", Frame.request(Opcode.PERSIST, key(key)),
        r -> r.status() != Status.NOT_FOUND && applied("PERSIST", r));
  }

  /** extras index 0: remaining ms, 1: absolute expiry; -1 without expiry, -2 when missing. */
  static Call<Long> ttl(byte[] key, int extraIndex) {
    return new Call<>("TTL", Frame.request(Opcode.TTL, key(key)),
        r -> found("TTL", r) ? r.extra(extraIndex, DistCacheClient.NO_EXPIRY) : DistCacheClient.KEY_MISSING);
  }

  static Call<byte[]> getAndDelete(byte[] key) {
    return new Call<>("GET_AND_DELETE", Frame.request(Opcode.GET_AND_DELETE, key(key)),
        r -> found("GET_AND_DELETE", r) ? r.value() : null);
  }

  static Call<Long> incrementBy(byte[] key, long delta) {
    return new Call<>("INCREMENT", Frame.request(Opcode.INCREMENT, 0, key(key), null, delta),
        r -> ok("INCREMENT", r).extra(0, 0));
  }

  static Call<Double> incrementByFloat(byte[] key, double delta) {
    if (!Double.isFinite(delta)) {
      throw new IllegalArgumentException("delta must be finite: " + delta);
    }
    byte[] text = BigDecimal.valueOf(delta).toPlainString().getBytes(StandardCharsets.US_ASCII);
    return new Call<>("INCREMENT_FLOAT", Frame.request(Opcode.INCREMENT_FLOAT, 0, key(key), text),
        r -> Double.parseDouble(ok("INCREMENT_FLOAT", r).valueText()));
  }

  static Call<Long> append(byte[] key, byte[] suffix) {
    return new Call<>("APPEND", Frame.request(Opcode.APPEND, 0, key(key), value(suffix)),
        r -> ok("APPEND", r).extra(0, 0));
  }

  static Call<CasResult> compareAndSet(byte[] key, long expectedVersion, byte[] value, long ttlMillis) {
    Frame request = Frame.request(Opcode.COMPARE_AND_SET, 0, key(key), value(value), expectedVersion, ttlMillis);
    return new Call<>("COMPARE_AND_SET", request, r -> switch (r.status()) {
      case OK -> new CasResult(CasResult.Outcome.WRITTEN, r.extra(0, 0));
      case VERSION_MISMATCH -> new CasResult(CasResult.Outcome.VERSION_MISMATCH, r.extra(0, 0));
      case NOT_FOUND -> new CasResult(CasResult.Outcome.NOT_FOUND, 0);
      default -> throw StatusErrors.unexpected("COMPARE_AND_SET", r);
    });
  }

  static Call<Long> strlen(byte[] key) {
    return new Call<>("STRLEN", Frame.request(Opcode.STRLEN, key(key)), r -> ok("STRLEN", r).extra(0, 0));
  }

  static Call<byte[]> getRange(byte[] key, long start, long end) {
    return new Call<>("GET_RANGE", Frame.request(Opcode.GET_RANGE, 0, key(key), null, start, end),
        r -> ok("GET_RANGE", r).value());
  }

  static Call<Long> setRange(byte[] key, long offset, byte[] value) {
    if (offset < 0) {
      throw new IllegalArgumentException("offset cannot be negative: " + offset);
    }
    return new Call<>("SET_RANGE", Frame.request(Opcode.SET_RANGE, 0, key(key), value(value), offset),
        r -> ok("SET_RANGE", r).extra(0, 0));
  }

  static Call<List<byte[]>> getAll(List<byte[]> keys) {
    Frame request = Frame.request(Opcode.MULTI_GET, 0, null, ListCodec.encodeKeys(keys(keys)));
    return new Call<>("MULTI_GET", request, r -> {
      List<byte[]> values = decodeList("MULTI_GET", ok("MULTI_GET", r).value(), true);
      if (values.size() != keys.size()) {
        throw new DistCacheException(null,
            "MULTI_GET asked for " + keys.size() + " keys and got " + values.size() + " values");
      }
      return values;
    });
  }

  static Call<Void> setAll(List<byte[]> keys, List<byte[]> values, long ttlMillis) {
    Frame request = Frame.request(Opcode.MULTI_SET, 0, null, pairs(keys, values), ttlMillis);
    return new Call<>("MULTI_SET", request, r -> {
      ok("MULTI_SET", r);
      return null;
    });
  }

  static Call<Boolean> setAllIfAbsent(List<byte[]> keys, List<byte[]> values) {
    Frame request = Frame.request(Opcode.MULTI_SET_IF_ABSENT, 0, null, pairs(keys, values));
    return new Call<>("MULTI_SET_IF_ABSENT", request, r -> applied("MULTI_SET_IF_ABSENT", r));
  }

  static Call<Long> deleteAll(List<byte[]> keys) {
    Frame request = Frame.request(Opcode.MULTI_DELETE, 0, null, ListCodec.encodeKeys(keys(keys)));
    return new Call<>("MULTI_DELETE", request, r -> ok("MULTI_DELETE", r).extra(0, 0));
  }

  static Call<Long> existsCount(List<byte[]> keys) {
    Frame request = Frame.request(Opcode.MULTI_EXISTS, 0, null, ListCodec.encodeKeys(keys(keys)));
    return new Call<>("MULTI_EXISTS", request, r -> ok("MULTI_EXISTS", r).extra(0, 0));
  }

  static Call<ScanResult> scan(long cursor, int count) {
    if (count <= 0) {
      throw new IllegalArgumentException("count must be positive: " + count);
    }
    Frame request = Frame.request(Opcode.SCAN, 0, null, null, cursor, count);
    return new Call<>("SCAN", request, r -> new ScanResult(
        ok("SCAN", r).extra(0, 0), decodeList("SCAN", r.value(), false)));
  }

  static Call<Void> flush() {
    return new Call<>("FLUSH", Frame.request(Opcode.FLUSH, 0, null, null), r -> {
      ok("FLUSH", r);
      return null;
    });
  }

  static Call<Long> size() {
    return new Call<>("SIZE", Frame.request(Opcode.SIZE, 0, null, null), r -> ok("SIZE", r).extra(0, 0));
  }

  /** "name:value" lines, in the node's order; lines without a colon are skipped. */
  static Call<Map<String, String>> stats() {
    return new Call<>("STATS", Frame.request(Opcode.STATS, 0, null, null), r -> {
      Map<String, String> stats = new LinkedHashMap<>();
      for (String line : ok("STATS", r).valueText().split("\r?\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          stats.put(line.substring(0, colon), line.substring(colon + 1));
        }
      }
      return Collections.unmodifiableMap(stats);
    });
  }

  static Call<byte[]> randomKey() {
    return new Call<>("RANDOM_KEY", Frame.request(Opcode.RANDOM_KEY, 0, null, null),
        r -> found("RANDOM_KEY", r) ? r.value() : null);
  }

  /** The members and ring parameters a node reports (for the smart client's routing). */
  static Call<MemberList> clusterMembers() {
    return clusterMembers(false);
  }

  /** As above; {@code withTlsPorts}: also each member's TLS port (a client on TLS dials those). */
  static Call<MemberList> clusterMembers(boolean withTlsPorts) {
    Frame request = withTlsPorts
        ? Frame.request(Opcode.CLUSTER_MEMBERS, 0, null, null, io.distcache.protocol.ProtocolConstants.MEMBERS_WITH_TLS_PORTS)
        : Frame.request(Opcode.CLUSTER_MEMBERS, 0, null, null);
    return new Call<>("CLUSTER_MEMBERS", request, r -> MemberListCodec.decode(ok("CLUSTER_MEMBERS", r)));
  }

  // ---- response helpers ----

  private static Frame ok(String op, Frame r) {
    if (r.status() != Status.OK) {
      throw StatusErrors.unexpected(op, r);
    }
    return r;
  }

  /** OK → true, NOT_FOUND → false. */
  private static boolean found(String op, Frame r) {
    if (r.status() == Status.OK) {
      return true;
    }
    if (r.status() == Status.NOT_FOUND) {
      return false;
    }
    throw StatusErrors.unexpected(op, r);
  }

  /** OK → true, CONDITION_FAILED → false. */
  private static boolean applied(String op, Frame r) {
    if (r.status() == Status.OK) {
      return true;
    }
    if (r.status() == Status.CONDITION_FAILED) {
      return false;
    }
    throw StatusErrors.unexpected(op, r);
  }

  private static byte[] previous(String op, Frame r) {
    ok(op, r);
    return r.hasFlag(Flags.PREVIOUS_PRESENT) ? r.value() : null;
  }

  private static List<byte[]> decodeList(String op, byte[] bytes, boolean values) {
    try {
      return values ? ListCodec.decodeValues(bytes) : ListCodec.decodeKeys(bytes);
    } catch (ListCodec.MalformedListException e) {
      throw new DistCacheException(null, op + " got a malformed list from the node: " + e.getMessage());
    }
  }

  // ---- argument checks: fail in the caller's thread, before anything is sent ----

  private static byte[] key(byte[] key) {
    return Objects.requireNonNull(key, "key");
  }

  private static byte[] value(byte[] value) {
    return Objects.requireNonNull(value, "value");
  }

  private static List<byte[]> keys(List<byte[]> keys) {
    Objects.requireNonNull(keys, "keys");
    for (int i = 0; i < keys.size(); i++) {
      Objects.requireNonNull(keys.get(i), () -> "keys contains null");
    }
    return keys;
  }

  private static byte[] pairs(List<byte[]> keys, List<byte[]> values) {
    keys(keys);
    Objects.requireNonNull(values, "values");
    for (byte[] v : values) {
      Objects.requireNonNull(v, "values contains null");
    }
    return ListCodec.encodePairs(keys, values);
  }

  /** The wire's "no expiry" (0 in GET's metadata) as the client's one convention, {@link DistCacheClient#NO_EXPIRY}. */
  private static long expireAt(long wireMillis) {
    return wireMillis == 0 ? DistCacheClient.NO_EXPIRY : wireMillis;
  }
}
