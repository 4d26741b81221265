package io.distcache.server.resp;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/*
 * Design: every request looks its command up by name, so the lookup works on the argument's bytes
 * as they arrived: no String, no lower-cased copy. Redis matches names case-insensitively; the
 * hash folds ASCII upper case to lower case as it goes, and a candidate is confirmed with a
 * folding byte comparison. Open addressing with linear probing over a power-of-two table kept at
 * most a quarter full: a name is found in one probe nearly always, and a miss (an unknown
 * command) ends at the first empty slot. The table is built once and never changes, so it is
 * shared by every connection without synchronization.
 */

/** Case-insensitive lookup of a command name given as raw bytes. */
final class CommandIndex<V> {
  private final byte[][] names;
  private final Object[] values;
  private final int mask;

  /** @param byLowerName lower-case ASCII names and their values */
  CommandIndex(Map<String, V> byLowerName) {
    int capacity = Integer.highestOneBit(Math.max(4, byLowerName.size() * 4) - 1) << 1;
    names = new byte[capacity][];
    values = new Object[capacity];
    mask = capacity - 1;
    for (Map.Entry<String, V> e : byLowerName.entrySet()) {
      byte[] name = e.getKey().getBytes(StandardCharsets.US_ASCII);
      int i = hash(name) & mask;
      while (names[i] != null) {
        i = (i + 1) & mask;
      }
      names[i] = name;
      values[i] = e.getValue();
    }
  }

  /** The value for {@code name} in any letter case, or null. */
  @SuppressWarnings("unchecked")
  V get(byte[] name) {
    int i = hash(name) & mask;
    for (byte[] candidate; (candidate = names[i]) != null; i = (i + 1) & mask) {
      if (equalsFolded(candidate, name)) {
        return (V) values[i];
      }
    }
    return null;
  }

  private static int hash(byte[] name) {
    int h = name.length;
    for (byte b : name) {
      h = 31 * h + fold(b);
    }
    return h ^ (h >>> 16);
  }

  private static boolean equalsFolded(byte[] lower, byte[] name) {
    if (lower.length != name.length) {
      return false;
    }
    for (int i = 0; i < lower.length; i++) {
      if (lower[i] != fold(name[i])) {
        return false;
      }
    }
    return true;
  }

  private static int fold(byte b) {
    return b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b;
  }
}
