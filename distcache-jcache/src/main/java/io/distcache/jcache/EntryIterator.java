package io.distcache.jcache;

import io.distcache.client.ScanResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import javax.cache.Cache;

/*
 * Design: walks a cache's keys with SCAN and the cache's prefix as MATCH, a page at a time,
 * reading each page's values in one multi-get; an entry removed between the two steps is skipped.
 * SCAN may return a key twice (a member's table resized mid-walk), so the keys already returned
 * are remembered, one set entry per key: the price of never returning an entry twice. The walk is
 * not a snapshot: entries written during it may or may not be returned.
 */

/** The iterator of a DistCacheCache. Not thread-safe, as the spec allows. */
final class EntryIterator<K, V> implements Iterator<Cache.Entry<K, V>> {
  private final DistCacheCache<K, V> cache;
  private final Set<ByteBuffer> seen = new HashSet<>();
  private final List<Cache.Entry<K, V>> page = new ArrayList<>();
  private int index;
  private long cursor;
  private boolean started;
  private Cache.Entry<K, V> last;

  EntryIterator(DistCacheCache<K, V> cache) {
    this.cache = cache;
  }

  @Override
  public boolean hasNext() {
    while (index >= page.size()) {
      if (started && cursor == 0) {
        return false;
      }
      fill();
    }
    return true;
  }

  private void fill() {
    page.clear();
    index = 0;
    started = true;
    ScanResult step = cache.remote().scan(cursor, DistCacheCache.SCAN_COUNT, cache.namespace().pattern());
    cursor = step.nextCursor();
    List<byte[]> keys = new ArrayList<>();
    for (byte[] k : step.keys()) {
      if (seen.add(ByteBuffer.wrap(k))) {
        keys.add(k);
      }
    }
    if (keys.isEmpty()) {
      return;
    }
    List<byte[]> values = cache.remote().getAll(keys);
    for (int i = 0; i < keys.size(); i++) {
      byte[] v = values.get(i);
      if (v != null) {
        page.add(new CacheEntryView<>(cache.decodeKey(keys.get(i)), cache.decode(v)));
      }
    }
  }

  @Override
  public Cache.Entry<K, V> next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    last = page.get(index++);
    cache.iterated(last.getKey(), last.getValue());
    return last;
  }

  @Override
  public void remove() {
    if (last == null) {
      throw new IllegalStateException("next() was not called, or remove() was already called for this entry");
    }
    K key = last.getKey();
    last = null;
    cache.removeIterated(key);
  }
}
