package io.distcache.spring.boot;

import io.distcache.client.Codec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;

/**
 * Values as Java serialization, the Spring caches' default codec (as Spring Data Redis's default
 * serializer): any {@link java.io.Serializable} value. Declare a {@code Codec<Object>} bean (JSON,
 * for example) to replace it. Only deserialize values your own applications wrote: Java
 * deserialization of untrusted bytes is unsafe.
 */
public final class JdkSerializationCodec implements Codec<Object> {
  private final ClassLoader classLoader;

  /**
   * A codec resolving classes through {@code classLoader}.
   *
   * @param classLoader the application's class loader
   */
  public JdkSerializationCodec(ClassLoader classLoader) {
    this.classLoader = classLoader;
  }

  @Override
  public byte[] encode(Object value) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(value);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot serialize a " + value.getClass().getName() + ": " + e, e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object decode(byte[] bytes) {
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes)) {
      @Override
      protected Class<?> resolveClass(java.io.ObjectStreamClass desc) throws IOException, ClassNotFoundException {
        return Class.forName(desc.getName(), false, classLoader);
      }
    }) {
      return in.readObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot deserialize a cached value of " + bytes.length + " bytes", e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("cannot deserialize a cached value: " + e.getMessage(), e);
    }
  }
}
