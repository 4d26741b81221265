package io.distcache.client;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/** The built-in codecs. */
final class Codecs {
  private Codecs() {}

  static final Codec<byte[]> BYTES = new Codec<>() {
    @Override
    public byte[] encode(byte[] value) {
      return Objects.requireNonNull(value, "value");
    }

    @Override
    public byte[] decode(byte[] bytes) {
      return bytes;
    }

    @Override
    public String toString() {
      return "Codec.bytes()";
    }
  };

  static final Codec<String> UTF8 = new Codec<>() {
    @Override
    public byte[] encode(String value) {
      return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] bytes) {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Codec.utf8()";
    }
  };
}
