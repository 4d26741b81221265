package io.distcache.jcache;

import io.distcache.client.Codec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import javax.cache.CacheException;

/*
 * Design: JSR-107 caches store by value, and its keys and values are any Serializable objects, so
 * Java serialization is the one encoding that fits every key and value the spec allows. Classes
 * are resolved through the CacheManager's ClassLoader (the spec's rule). The bytes come from the
 * server, which any client may write to, so reading is bounded by an ObjectInputFilter (depth,
 * references, array length, total bytes); which classes may be read is the application's choice,
 * through the JVM-wide jdk.serialFilter, which this filter defers to when it is set. Equal keys
 * must serialize to equal bytes, because the bytes are the distcache key: true of String, the
 * boxed primitives, enums, records of those, and any class whose serialized form has no order
 * of its own (a HashMap field may not qualify).
 */

/** Java serialization of JCache keys and values, read through the cache manager's class loader. */
final class JavaSerializationCodec implements Codec<Object> {
  /** Bounds on what one stored value may make the reader build. */
  static final long MAX_DEPTH = 64;
  static final long MAX_REFERENCES = 1_000_000;
  static final long MAX_ARRAY_LENGTH = 64L * 1024 * 1024;

  private final ClassLoader classLoader;
  private final ObjectInputFilter filter;

  JavaSerializationCodec(ClassLoader classLoader) {
    this.classLoader = classLoader;
    ObjectInputFilter jvmWide = ObjectInputFilter.Config.getSerialFilter();
    this.filter = info -> {
      if (info.depth() > MAX_DEPTH || info.references() > MAX_REFERENCES
          || info.arrayLength() > MAX_ARRAY_LENGTH) {
        return ObjectInputFilter.Status.REJECTED;
      }
      return jvmWide == null ? ObjectInputFilter.Status.UNDECIDED : jvmWide.checkInput(info);
    };
  }

  @Override
  public byte[] encode(Object value) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(value);
    } catch (NotSerializableException e) {
      throw new IllegalArgumentException("JCache keys and values must be Serializable: "
          + value.getClass().getName() + " is not (" + e.getMessage() + ")", e);
    } catch (IOException e) {
      throw new CacheException("cannot serialize a " + value.getClass().getName(), e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object decode(byte[] bytes) {
    try (ObjectInputStream in = new LoaderObjectInputStream(new ByteArrayInputStream(bytes), classLoader)) {
      in.setObjectInputFilter(filter);
      return in.readObject();
    } catch (ClassNotFoundException e) {
      throw new CacheException("cannot deserialize a stored value: class " + e.getMessage()
          + " is not visible to the cache manager's class loader " + classLoader, e);
    } catch (IOException e) {
      throw new CacheException("cannot deserialize a stored value of " + bytes.length + " bytes: " + e, e);
    }
  }

  /** Resolves classes through the given loader first, as the cache manager's loader must see them. */
  private static final class LoaderObjectInputStream extends ObjectInputStream {
    private final ClassLoader loader;

    LoaderObjectInputStream(InputStream in, ClassLoader loader) throws IOException {
      super(in);
      this.loader = loader;
    }

    @Override
    protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
      try {
        return Class.forName(desc.getName(), false, loader);
      } catch (ClassNotFoundException e) {
        return super.resolveClass(desc);
      }
    }
  }
}
