package io.distcache.client;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.protocol.cluster.KeySlot;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/*
 * Design: the binary protocol's MULTI/EXEC. A batch is one TRANSACTION frame; its owner runs the
 * operations in order with no other request on their keys in between, after checking the
 * conditions (compare-and-set generalised to several keys and operations). Every key must be in
 * one slot, checked here before anything is sent, so the batch has one owner in any cluster
 * (hash tags, "{user:42}:profile", put related keys in one slot). Each operation reuses the
 * request and reply reading of the single call, so its result means what the call's would.
 */

/**
 * Operations to run atomically on one node, in order, when every condition holds. Build with
 * {@link DistCacheClient#atomicBatch()}, run with {@link DistCacheClient#execute(AtomicBatch)}.
 *
 * <pre>{@code
 * CacheEntry seen = cache.getEntry("{cart:7}:total");
 * BatchResult r = cache.execute(cache.atomicBatch()
 *     .ifVersion("{cart:7}:total", seen.version())
 *     .set("{cart:7}:total", "42")
 *     .incrementBy("{cart:7}:items", 1));
 * if (!r.applied()) { ... someone changed the total: nothing was written }
 * }</pre>
 *
 * <p>Every key (of the conditions and the operations) must hash to the same slot; at most {@value
 * #MAX_OPERATIONS} operations. Not thread-safe; a batch may be executed more than once.
 */
public final class AtomicBatch {
  /** The most operations and conditions one batch may hold. */
  public static final int MAX_OPERATIONS = 65_536;

  final List<TransactionCodec.Condition> conditions = new ArrayList<>();
  final List<Call<?>> calls = new ArrayList<>();
  private int slot = -1;
  private byte[] firstKey;

  AtomicBatch() {}

  /**
   * Runs only if {@code key} still has {@code version} (from {@link CacheEntry#version()} or a SET).
   *
   * @param key the key whose version is compared
   * @param version the version it must still have, positive
   * @return this batch
   */
  public AtomicBatch ifVersion(byte[] key, long version) {
    if (version <= 0) {
      throw new IllegalArgumentException("version must be positive (a version the node gave), got " + version);
    }
    return condition(key, version);
  }

  /**
   * {@link #ifVersion(byte[], long)} with a UTF-8 key.
   *
   * @param key the key whose version is compared
   * @param version the version it must still have, positive
   * @return this batch
   */
  public AtomicBatch ifVersion(String key, long version) {
    return ifVersion(utf8(key), version);
  }

  /**
   * Runs only if {@code key} does not exist.
   *
   * @param key the key that must be absent
   * @return this batch
   */
  public AtomicBatch ifAbsent(byte[] key) {
    return condition(key, TransactionCodec.ABSENT);
  }

  /**
   * {@link #ifAbsent(byte[])} with a UTF-8 key.
   *
   * @param key the key that must be absent
   * @return this batch
   */
  public AtomicBatch ifAbsent(String key) {
    return ifAbsent(utf8(key));
  }

  /**
   * Reads a key. Result: the value (byte[]), or null when absent.
   *
   * @param key the key to read
   * @return this batch
   */
  public AtomicBatch get(byte[] key) {
    return add(key, Calls.get(key));
  }

  /**
   * {@link #get(byte[])} with a UTF-8 key.
   *
   * @param key the key to read
   * @return this batch
   */
  public AtomicBatch get(String key) {
    return get(utf8(key));
  }

  /**
   * Writes a key. Result: true when written (false when the options' condition did not hold).
   *
   * @param key the key to write
   * @param value its new value
   * @param options expiry and condition, as for a single set
   * @return this batch
   */
  public AtomicBatch set(byte[] key, byte[] value, SetOptions options) {
    return add(key, Calls.set(key, value, Objects.requireNonNull(options, "options")));
  }

  /**
   * Writes a key without expiry or condition. Result: true.
   *
   * @param key the key to write
   * @param value its new value
   * @return this batch
   */
  public AtomicBatch set(byte[] key, byte[] value) {
    return set(key, value, SetOptions.none());
  }

  /**
   * {@link #set(byte[], byte[])} with UTF-8 key and value.
   *
   * @param key the key to write
   * @param value its new value
   * @return this batch
   */
  public AtomicBatch set(String key, String value) {
    return set(utf8(key), utf8(value));
  }

  /**
   * {@link #set(byte[], byte[], SetOptions)} with UTF-8 key and value.
   *
   * @param key the key to write
   * @param value its new value
   * @param options expiry and condition, as for a single set
   * @return this batch
   */
  public AtomicBatch set(String key, String value, SetOptions options) {
    return set(utf8(key), utf8(value), options);
  }

  /**
   * Deletes a key. Result: true when the key existed.
   *
   * @param key the key to delete
   * @return this batch
   */
  public AtomicBatch delete(byte[] key) {
    return add(key, Calls.delete(key));
  }

  /**
   * {@link #delete(byte[])} with a UTF-8 key.
   *
   * @param key the key to delete
   * @return this batch
   */
  public AtomicBatch delete(String key) {
    return delete(utf8(key));
  }

  /**
   * Adds to a key's integer value (a missing key counts as 0). Result: the new value (Long).
   *
   * @param key the key to increment
   * @param delta what to add, negative to subtract
   * @return this batch
   */
  public AtomicBatch incrementBy(byte[] key, long delta) {
    return add(key, Calls.incrementBy(key, delta));
  }

  /**
   * {@link #incrementBy(byte[], long)} with a UTF-8 key.
   *
   * @param key the key to increment
   * @param delta what to add, negative to subtract
   * @return this batch
   */
  public AtomicBatch incrementBy(String key, long delta) {
    return incrementBy(utf8(key), delta);
  }

  /**
   * Sets a key's time to live. Result: true when the expiry was set (false: no such key).
   *
   * @param key the key
   * @param ttl its new time to live, positive
   * @return this batch
   */
  public AtomicBatch expire(byte[] key, Duration ttl) {
    return add(key, Calls.expire(key, Durations.positiveMillis("ttl", ttl), false, ExpireCondition.ALWAYS));
  }

  /**
   * {@link #expire(byte[], Duration)} with a UTF-8 key.
   *
   * @param key the key
   * @param ttl its new time to live, positive
   * @return this batch
   */
  public AtomicBatch expire(String key, Duration ttl) {
    return expire(utf8(key), ttl);
  }

  /**
   * The number of operations.
   *
   * @return how many operations were added
   */
  public int size() {
    return calls.size();
  }

  /** The call that runs this batch: one TRANSACTION request, its replies read by each operation's call. */
  Call<BatchResult> call() {
    List<Call<?>> ops = List.copyOf(calls);
    return new Call<>("TRANSACTION", request(), r -> switch (r.status()) {
      case OK -> {
        List<Frame> replies = TransactionCodec.decodeReplies(r.value());
        if (replies.size() != ops.size()) {
          throw new DistCacheException(Status.INTERNAL_ERROR,
              "TRANSACTION answered " + replies.size() + " replies for " + ops.size() + " operations");
        }
        List<Object> results = new ArrayList<>(ops.size());
        for (int i = 0; i < ops.size(); i++) {
          try {
            results.add(ops.get(i).decode(replies.get(i)));
          } catch (DistCacheException e) {
            results.add(e);
          }
        }
        yield new BatchResult(true, java.util.Collections.unmodifiableList(results));
      }
      case CONDITION_FAILED -> new BatchResult(false, List.of());
      default -> throw StatusErrors.unexpected("TRANSACTION", r);
    });
  }

  /** The TRANSACTION request for this batch. */
  Frame request() {
    if (calls.isEmpty() && conditions.isEmpty()) {
      throw new IllegalStateException("an atomic batch needs at least one operation or condition");
    }
    List<Frame> requests = new ArrayList<>(calls.size());
    for (Call<?> c : calls) {
      requests.add(c.request());
    }
    return Frame.request(Opcode.TRANSACTION, 0, firstKey, TransactionCodec.encodeRequest(conditions, requests));
  }

  private AtomicBatch condition(byte[] key, long version) {
    sameSlot(key);
    conditions.add(new TransactionCodec.Condition(key, version, TransactionCodec.ANY_EXPIRY));
    return this;
  }

  private AtomicBatch add(byte[] key, Call<?> call) {
    sameSlot(key);
    calls.add(call);
    return this;
  }

  private void sameSlot(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (calls.size() + conditions.size() >= MAX_OPERATIONS) {
      throw new IllegalStateException("an atomic batch holds at most " + MAX_OPERATIONS + " operations and conditions");
    }
    int s = KeySlot.of(key);
    if (slot < 0) {
      slot = s;
      firstKey = key;
    } else if (s != slot) {
      throw new IllegalArgumentException("every key of an atomic batch must be in one slot: '"
          + new String(key, StandardCharsets.UTF_8) + "' is in slot " + s + ", '"
          + new String(firstKey, StandardCharsets.UTF_8) + "' in slot " + slot
          + "; give related keys one hash tag, e.g. {user:42}:a and {user:42}:b");
    }
  }

  private static byte[] utf8(String s) {
    return Objects.requireNonNull(s, "key or value").getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "AtomicBatch[" + calls.size() + " operations, " + conditions.size() + " conditions, slot " + slot + "]";
  }
}
