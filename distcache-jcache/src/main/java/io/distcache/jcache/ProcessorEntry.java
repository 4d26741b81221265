package io.distcache.jcache;

import java.util.Objects;
import java.util.function.Function;
import javax.cache.processor.MutableEntry;

/*
 * Design: the entry an EntryProcessor sees. It records what the processor did as one net
 * operation (the spec's rules: a value set on a missing entry is a creation, set on a present one
 * an update; removing what the processor itself created or loaded leaves nothing to do), which the
 * cache then applies in one conditional write. Reading a missing entry loads it through the cache
 * loader when read-through is on.
 */

/** The MutableEntry handed to an EntryProcessor, and what it did to it. */
final class ProcessorEntry<K, V> implements MutableEntry<K, V> {
  enum Operation {
    NONE,
    ACCESS,
    CREATE,
    LOAD,
    UPDATE,
    REMOVE
  }

  private final K key;
  private final V original;
  private final Function<K, V> loader;
  private V value;
  private Operation operation = Operation.NONE;

  /**
   * @param original the value when the processor started, null when absent
   * @param loader loads a missing value (read-through), or null
   */
  ProcessorEntry(K key, V original, Function<K, V> loader) {
    this.key = key;
    this.original = original;
    this.value = original;
    this.loader = loader;
  }

  Operation operation() {
    return operation;
  }

  V original() {
    return original;
  }

  V value() {
    return value;
  }

  @Override
  public K getKey() {
    return key;
  }

  @Override
  public V getValue() {
    if (operation == Operation.NONE) {
      if (value == null) {
        if (loader != null) {
          V loaded = loader.apply(key);
          if (loaded != null) {
            value = loaded;
            operation = Operation.LOAD;
          }
        }
      } else {
        operation = Operation.ACCESS;
      }
    }
    return value;
  }

  @Override
  public boolean exists() {
    return value != null;
  }

  @Override
  public void remove() {
    operation = operation == Operation.CREATE || operation == Operation.LOAD ? Operation.NONE : Operation.REMOVE;
    value = null;
  }

  @Override
  public void setValue(V newValue) {
    Objects.requireNonNull(newValue, "an entry processor cannot set a null value (use remove())");
    operation = original == null ? Operation.CREATE : Operation.UPDATE;
    value = newValue;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap a mutable entry to " + clazz.getName());
  }
}
