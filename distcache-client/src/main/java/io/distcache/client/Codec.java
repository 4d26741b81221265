package io.distcache.client;

/**
 * Turns values of type {@code T} into the bytes the cache stores, and back. Use one with {@link
 * DistCacheClient#withCodec(Codec)} for a typed view of the cache. Implementations must be
 * thread-safe and must never return null from {@link #encode}.
 *
 * <p>A JSON codec with Jackson, for example:
 *
 * <pre>{@code
 * final class JsonCodec<T> implements Codec<T> {
 *   private final ObjectMapper mapper;
 *   private final Class<T> type;
 *
 *   JsonCodec(ObjectMapper mapper, Class<T> type) { this.mapper = mapper; this.type = type; }
 *
 *   public byte[] encode(T value) {
 *     try { return mapper.writeValueAsBytes(value); }
 *     catch (JsonProcessingException e) { throw new IllegalArgumentException("cannot encode " + type, e); }
 *   }
 *
 *   public T decode(byte[] bytes) {
 *     try { return mapper.readValue(bytes, type); }
 *     catch (IOException e) { throw new IllegalStateException("cannot decode " + type, e); }
 *   }
 * }
 * }</pre>
 *
 * @param <T> the value type
 */
public interface Codec<T> {

  /**
   * The bytes to store for {@code value}.
   *
   * @param value the value; never null (the typed view refuses null values)
   * @return its encoding, never null
   */
  byte[] encode(T value);

  /**
   * The value stored as {@code bytes}.
   *
   * @param bytes what {@link #encode} produced (or another writer stored)
   * @return the value
   */
  T decode(byte[] bytes);

  /**
   * The identity: values are the stored bytes.
   *
   * @return the byte-array codec
   */
  static Codec<byte[]> bytes() {
    return Codecs.BYTES;
  }

  /**
   * Strings as UTF-8, as the client's {@code String} overloads store them.
   *
   * @return the UTF-8 string codec
   */
  static Codec<String> utf8() {
    return Codecs.UTF8;
  }
}
