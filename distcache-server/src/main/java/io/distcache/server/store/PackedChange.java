package io.distcache.server.store;

/**
 * What an editor of a hash or set payload (Store.editPacked) decided under the key's lock: its
 * {@code result} (a reply), and the {@code edit} the store then applies; a null edit writes
 * nothing (the editor answered without writing). A {@link #decline}d change leaves the whole
 * command to another path (the caller's decoding one), which reads the key again: the store counts
 * no hit or miss for it, so the command counts one, not two.
 */
public record PackedChange<T>(T result, PackedEdit edit, boolean declined) {

  private static final PackedChange<?> DECLINED = new PackedChange<>(null, null, true);

  /** A change that answers {@code result} and applies {@code edit} (null: writes nothing). */
  public PackedChange(T result, PackedEdit edit) {
    this(result, edit, false);
  }

  /** The editor leaves the command to another path: nothing written, nothing counted. */
  @SuppressWarnings("unchecked")
  public static <T> PackedChange<T> decline() {
    return (PackedChange<T>) DECLINED;
  }

  /** Whether the store wrote (or deleted) the key for this change. */
  public boolean wrote() {
    return edit != null && edit.changed();
  }

  /**
   * Applies a change the way a store without its own edit in place does (Store.editPacked's
   * default, ReferenceStore): nothing when it changes nothing, a delete when no element is left,
   * else the built payload put with {@code expireAtMillis}, checked against the value limit first.
   */
  static void putBuilt(Store store, byte[] key, io.distcache.protocol.ValueType type, PackedChange<?> change,
      long expireAtMillis) {
    if (!change.wrote()) {
      return;
    }
    PackedEdit edit = change.edit();
    if (edit.size() == 0) {
      store.delete(key);
    } else {
      store.config().checkValueLength(edit.length());
      if (edit.timedAfter()) {
        store.putTyped(key, type, edit.build(), expireAtMillis); // the store finds its field times
      } else {
        store.putTypedWithoutFieldTimes(key, type, edit.build(), expireAtMillis);
      }
    }
  }
}
