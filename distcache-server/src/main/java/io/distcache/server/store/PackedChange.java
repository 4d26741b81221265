package io.distcache.server.store;

/**
 * What an editor of a hash or set payload (Store.editPacked) decided under the key's lock: its
 * {@code result} (a reply), and the {@code edit} the store then applies; a null edit writes
 * nothing (the editor answered without writing, or leaves the write to another path).
 */
public record PackedChange<T>(T result, PackedEdit edit) {

  /** Whether the store wrote (or deleted) the key for this change. */
  public boolean wrote() {
    return edit != null && edit.changed();
  }
}
