package io.distcache.server.tracking;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A tracking client (id 7, not NOLOOP, not BCAST) that keeps every invalidation it is told. */
final class RecordingReader implements TrackingTable.Reader {
  final List<List<byte[]>> told = new CopyOnWriteArrayList<>();

  @Override
  public long id() {
    return 7;
  }

  @Override
  public boolean noLoop() {
    return false;
  }

  @Override
  public List<byte[]> prefixes() {
    return null;
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
