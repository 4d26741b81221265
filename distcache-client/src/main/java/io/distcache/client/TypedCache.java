package io.distcache.client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/*
 * Design: a thin view, not a second client: every method encodes, calls the DistCacheClient it was
 * made from, and decodes. Keys stay strings (UTF-8, as the client's String overloads), values go
 * through the codec. A value that does not decode fails the call with the codec's exception rather
 * than answering null, which would read as a miss.
 */

/**
 * A view of the cache with {@code String} keys and values of type {@code V}, stored through a
 * {@link Codec}; from {@link DistCacheClient#withCodec(Codec)}. It shares the client's
 * connections, routing, retries and metrics; closing the client ends it. Thread-safe.
 *
 * @param <V> the value type
 */
public final class TypedCache<V> {
  private final DistCacheClient client;
  private final Codec<V> codec;

  TypedCache(DistCacheClient client, Codec<V> codec) {
    this.client = client;
    this.codec = Objects.requireNonNull(codec, "codec");
  }

  /**
   * The codec values go through.
   *
   * @return the codec
   */
  public Codec<V> codec() {
    return codec;
  }

  /**
   * The value of {@code key}.
   *
   * @param key the key
   * @return the decoded value, or null when the key is missing
   */
  public V get(String key) {
    return decode(client.get(utf8(key)));
  }

  /**
   * The value of {@code key}, asynchronously.
   *
   * @param key the key
   * @return a future of the decoded value, or of null when the key is missing
   */
  public CompletableFuture<V> getAsync(String key) {
    return client.getAsync(utf8(key)).thenApply(this::decode);
  }

  /**
   * Stores {@code value} under {@code key} without expiry.
   *
   * @param key the key
   * @param value the value; not null
   */
  public void set(String key, V value) {
    client.set(utf8(key), encode(value));
  }

  /**
   * Stores {@code value} under {@code key}, expiring after {@code ttl}.
   *
   * @param key the key
   * @param value the value; not null
   * @param ttl time to live, positive; null for no expiry
   */
  public void set(String key, V value, Duration ttl) {
    if (ttl == null) {
      client.set(utf8(key), encode(value));
    } else {
      client.set(utf8(key), encode(value), ttl);
    }
  }

  /**
   * Stores {@code value} under {@code key}, expiring after {@code ttl}, asynchronously.
   *
   * @param key the key
   * @param value the value; not null
   * @param ttl time to live, positive; null for no expiry
   * @return a future completed when the value is stored
   */
  public CompletableFuture<Void> setAsync(String key, V value, Duration ttl) {
    SetOptions options = ttl == null ? SetOptions.none() : SetOptions.ttl(ttl);
    return client.setAsync(utf8(key), encode(value), options).thenApply(written -> null);
  }

  /**
   * Stores {@code value} only when {@code key} is missing.
   *
   * @param key the key
   * @param value the value; not null
   * @param ttl time to live, positive; null for no expiry
   * @return true when it was stored, false when the key existed
   */
  public boolean setIfAbsent(String key, V value, Duration ttl) {
    SetOptions options = (ttl == null ? SetOptions.none() : SetOptions.ttl(ttl)).ifAbsent();
    return client.set(utf8(key), encode(value), options);
  }

  /**
   * Removes {@code key}.
   *
   * @param key the key
   * @return true when it existed
   */
  public boolean delete(String key) {
    return client.delete(utf8(key));
  }

  /**
   * The values of {@code keys}, in their order.
   *
   * @param keys the keys
   * @return the decoded values, null where a key is missing
   */
  public List<V> getAll(List<String> keys) {
    List<byte[]> raw = new ArrayList<>(keys.size());
    for (String k : keys) {
      raw.add(utf8(k));
    }
    List<byte[]> values = client.getAll(raw);
    List<V> out = new ArrayList<>(values.size());
    for (byte[] v : values) {
      out.add(decode(v));
    }
    return out;
  }

  /**
   * Stores every entry.
   *
   * @param entries keys and values; no value may be null
   * @param ttl time to live of each, positive; null for no expiry
   */
  public void setAll(Map<String, V> entries, Duration ttl) {
    List<byte[]> keys = new ArrayList<>(entries.size());
    List<byte[]> values = new ArrayList<>(entries.size());
    entries.forEach((k, v) -> {
      keys.add(utf8(k));
      values.add(encode(v));
    });
    client.setAll(keys, values, ttl);
  }

  private byte[] encode(V value) {
    Objects.requireNonNull(value, "value (a TypedCache stores no nulls)");
    return Objects.requireNonNull(codec.encode(value), () -> codec + " encoded a value as null");
  }

  private V decode(byte[] bytes) {
    return bytes == null ? null : codec.decode(bytes);
  }

  private static byte[] utf8(String key) {
    return Objects.requireNonNull(key, "key").getBytes(StandardCharsets.UTF_8);
  }
}
