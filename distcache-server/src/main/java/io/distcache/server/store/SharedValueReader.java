package io.distcache.server.store;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A reader of {@link Store#readValue} that can take a large value as a reference to the store's
 * memory instead of a view lent for the call (LargeMemory's design note): the off-heap store hands
 * it a string stored in a buffer of its own and at least {@link #sharedFrom()} bytes long as a
 * read-only ByteBuf that keeps the memory from being freed or reused until it is released; any
 * other value goes to {@link #accept} as before. Stores without such memory (ReferenceStore) call
 * accept only.
 */
public interface SharedValueReader extends Consumer<ByteBuffer> {

  /** The shortest value worth holding rather than copying. */
  int sharedFrom();

  /**
   * Takes the value: {@code value}'s readable bytes, which stay exactly these until it is released.
   * Called under the key's lock (do not call the store); the reader owns {@code value} and must
   * release it (once written, or at once), whatever it throws.
   */
  void acceptShared(ByteBuf value);
}
