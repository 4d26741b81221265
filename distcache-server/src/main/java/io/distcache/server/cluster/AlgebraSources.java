package io.distcache.server.cluster;

import io.distcache.server.HeapBudgets;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.Store;
import io.distcache.server.store.TypedEntry;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.function.Function;

/*
 * Design: the sources one set or sorted-set command over several keys (SINTER, SUNION, SDIFF,
 * ZUNION, ZINTER, ZDIFF and their STORE and CARD forms) reads, each decoded onto the heap. A key
 * named several times is read and decoded once ("SINTER big big ... big" would otherwise hold its
 * set once per mention), and what the distinct sources take on the heap decoded is bounded
 * (maxBytes): their encoded bytes plus DECODED_ELEMENT_BYTES per element (a decoded member is an
 * array, a map entry and a wrapper: counting the encoded bytes alone, a ZUNION of 220 sets of
 * 16,384 nine-byte members passed 64 MiB of bound as 470 MB of heap and killed a node, a tester).
 * Past it the command is refused, naming the limit, before the source that crosses it is decoded.
 * The bound is per command; commands run on a few threads, so the heap they take together is a
 * few times it. What the sources count is taken from the node's HeapBudgets too, source by source
 * before each is decoded (refused as the bound refuses, naming the shared limit), and given back
 * when the command is done with them (close). Used by one command on one thread.
 */

/** The decoded sources of one multi-key set or sorted-set command, each key read once, bounded in bytes. */
final class AlgebraSources<T> implements AutoCloseable {
  /** The default bound on the bytes one command loads: an eighth of the heap. */
  static final long DEFAULT_MAX_BYTES = Runtime.getRuntime().maxMemory() / 8;

  /** What one decoded element takes on the heap besides its bytes (about 100-130 measured). */
  static final long DECODED_ELEMENT_BYTES = 128;

  private final Store store;
  private final long maxBytes;
  private final Function<TypedEntry, T> decode;
  private final HashMap<ByteBuffer, T> byKey = new HashMap<>();
  private final HeapBudgets heap;
  private long loaded;

  /**
   * {@code decode} turns an entry (null: the key is absent) into a source, or throws for a wrong
   * type; what is loaded counts in {@code heap} until {@link #close}.
   */
  AlgebraSources(Store store, long maxBytes, HeapBudgets heap, Function<TypedEntry, T> decode) {
    this.store = store;
    this.maxBytes = maxBytes;
    this.heap = heap;
    this.decode = decode;
  }

  /** The source held at {@code key}, decoded the first time it is named. */
  T get(byte[] key) {
    ByteBuffer k = ByteBuffer.wrap(key);
    T done = byKey.get(k);
    if (done != null) {
      return done;
    }
    TypedEntry e = store.getTyped(key);
    if (e != null) {
      long elements = e.type() == io.distcache.protocol.ValueType.STRING ? 0 : CollectionCodec.count(e.value());
      long bytes = e.value().length + elements * DECODED_ELEMENT_BYTES;
      if (loaded + bytes > maxBytes) {
        throw new IllegalArgumentException("the keys of this command hold more than " + maxBytes
            + " bytes, the limit one set or sorted set command over several keys may load (with "
            + RandomPicks.printable(key) + ", " + (loaded + bytes) + " bytes decoded)");
      }
      if (!heap.take(bytes)) {
        throw new IllegalArgumentException("the keys of this command (with " + RandomPicks.printable(key) + ", "
            + (loaded + bytes) + " bytes decoded) " + heap.overLimit());
      }
      loaded += bytes;
    }
    T t = decode.apply(e);
    byKey.put(k, t);
    return t;
  }

  /** The command is done with its sources: what they counted is given back. */
  @Override
  public void close() {
    heap.release(loaded);
    loaded = 0;
  }
}
