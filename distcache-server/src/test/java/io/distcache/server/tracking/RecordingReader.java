package io.distcache.server.tracking;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A tracking client (not NOLOOP) that keeps every invalidation it is told. */
final class RecordingReader implements TrackingTable.Reader {
  final List<List<byte[]>> told = new CopyOnWriteArrayList<>();
  private final long id;
  private final List<byte[]> prefixes;

  /** Client 7, not BCAST. */
  RecordingReader() {
    this(7, null);
  }

  /** Client {@code id}, in BCAST mode with {@code prefixes} (empty: every key) unless null. */
  RecordingReader(long id, List<byte[]> prefixes) {
    this.id = id;
    this.prefixes = prefixes;
  }

  @Override
  public long id() {
    return id;
  }

  @Override
  public boolean noLoop() {
    return false;
  }

  @Override
  public List<byte[]> prefixes() {
    return prefixes;
  }

  @Override
  public void invalidate(List<byte[]> keys) {
    told.add(keys);
  }

  /** How often each key was named, by its text. */
  Map<String, Integer> counts() {
    Map<String, Integer> n = new HashMap<>();
    told.forEach(keys -> keys.forEach(k -> n.merge(new String(k, StandardCharsets.UTF_8), 1, Integer::sum)));
    return n;
  }
}
