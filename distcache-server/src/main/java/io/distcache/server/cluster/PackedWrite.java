package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ValueType;
import io.distcache.server.store.PackedEdit;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;

/*
 * Design: what a hash or set write that edited its payload in place (PackedEdit, inside
 * Store.readTyped's reader, which must not call the store) hands back to be done after the view is
 * released: its reply, and the new payload with the expiry the old one was read with. save()
 * writes it as the decoding path's save does: nothing when nothing changed, a delete when the last
 * element went, else one putTyped (a new version, replicated like any write; without the walk
 * that looks for field expiry times, as PackedEdit writes none). The caller holds the
 * key's gate stripe exclusive from the read to the save, so no other request on the key runs in
 * between.
 */

/**
 * A collection write built from the payload's view, to be saved once the view is released:
 * nothing to save unless {@code write}; a null {@code payload} then deletes the key.
 */
record PackedWrite(Frame reply, boolean write, byte[] payload, long expireAt) {

  /**
   * The outcome of {@code edit}: unchanged, emptied, or its new payload checked against the value
   * limit before it is built (StoreException TOO_LARGE, as putTyped would refuse it).
   */
  static PackedWrite of(Frame reply, PackedEdit edit, long expireAt, StoreConfig limits) {
    if (!edit.changed()) {
      return new PackedWrite(reply, false, null, expireAt);
    }
    if (edit.size() == 0) {
      return new PackedWrite(reply, true, null, expireAt);
    }
    limits.checkValueLength(edit.length());
    return new PackedWrite(reply, true, edit.build(), expireAt);
  }

  /** Saves the new payload (deletes the key when it holds nothing) and returns the reply. */
  Frame save(Store store, byte[] key, ValueType type) {
    if (write && payload == null) {
      store.delete(key);
    } else if (write) {
      store.putTypedWithoutFieldTimes(key, type, payload, expireAt); // PackedEdit builds no field times
    }
    return reply;
  }
}
