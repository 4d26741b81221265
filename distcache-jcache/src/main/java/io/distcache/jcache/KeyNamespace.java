package io.distcache.jcache;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/*
 * Design: a JCache Cache is a key prefix in distcache: "jcache:" + the cache name, escaped, + ":",
 * then the serialized key. The escape keeps the prefixes of two caches from being prefixes of
 * one another ("a" and "a:b" would otherwise share "jcache:a:") and keeps braces out of the key,
 * so a cache name never becomes a Redis Cluster hash tag that would pin all its keys to one slot.
 * The whole-cache operations (iterator, clear, removeAll) find a cache's keys by a SCAN MATCH on
 * the prefix, with the glob characters of the prefix escaped.
 */

/** The distcache key prefix of one JCache cache, and the conversions between JCache and distcache keys. */
final class KeyNamespace {
  private final byte[] prefix;
  private final String pattern;

  KeyNamespace(String cacheName) {
    String escaped = escape(cacheName);
    this.prefix = ("jcache:" + escaped + ":").getBytes(StandardCharsets.UTF_8);
    this.pattern = globEscape("jcache:" + escaped + ":") + "*";
  }

  /** The distcache key of a serialized JCache key. */
  byte[] key(byte[] serializedKey) {
    byte[] k = Arrays.copyOf(prefix, prefix.length + serializedKey.length);
    System.arraycopy(serializedKey, 0, k, prefix.length, serializedKey.length);
    return k;
  }

  /** The serialized JCache key of a distcache key, or null when the key is not in this namespace. */
  byte[] serializedKey(byte[] key) {
    if (key.length < prefix.length || !Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length)) {
      return null;
    }
    return Arrays.copyOfRange(key, prefix.length, key.length);
  }

  /** The SCAN MATCH pattern of every key of this cache. */
  String pattern() {
    return pattern;
  }

  static String escape(String name) {
    StringBuilder b = new StringBuilder(name.length());
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      switch (c) {
        case '%' -> b.append("%25");
        case ':' -> b.append("%3A");
        case '{' -> b.append("%7B");
        case '}' -> b.append("%7D");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  static String globEscape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        b.append('\\');
      }
      b.append(c);
    }
    return b.toString();
  }
}
