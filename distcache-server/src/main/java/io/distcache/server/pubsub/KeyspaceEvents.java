package io.distcache.server.pubsub;

import java.nio.charset.StandardCharsets;

/*
 * Design: Redis's keyspace notifications (notify-keyspace-events). The flags are one volatile int;
 * every hook first tests its class bit, so with notifications off (the default) a write pays one
 * volatile read and a branch, and the store's expiry and eviction paths call nothing at all (the
 * node removes their listener). An event is published to this node's subscribers only, as Redis
 * Cluster keeps notifications node-local: `__keyspace@0__:<key>` carries the event name,
 * `__keyevent@0__:<event>` carries the key.
 *
 * Classes without a command here (l lists, z sorted sets, t streams, d modules, m key misses, n new
 * keys) are accepted and shown, as Redis accepts them, and never fire.
 */

/** The notify-keyspace-events setting, and publishing keyspace and keyevent messages. */
public final class KeyspaceEvents {
  public static final int KEYSPACE = 1;
  public static final int KEYEVENT = 1 << 1;
  public static final int GENERIC = 1 << 2;
  public static final int STRING = 1 << 3;
  public static final int LIST = 1 << 4;
  public static final int SET = 1 << 5;
  public static final int HASH = 1 << 6;
  public static final int ZSET = 1 << 7;
  public static final int EXPIRED = 1 << 8;
  public static final int EVICTED = 1 << 9;
  public static final int STREAM = 1 << 10;
  public static final int KEY_MISS = 1 << 11;
  public static final int MODULE = 1 << 12;
  public static final int NEW = 1 << 13;
  /** Redis's 'A': every class but key misses and new keys. */
  public static final int ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

  private static final byte[] KEYSPACE_PREFIX = "__keyspace@0__:".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] KEYEVENT_PREFIX = "__keyevent@0__:".getBytes(StandardCharsets.US_ASCII);

  private final PubSubHub hub;
  private volatile int flags;

  public KeyspaceEvents(PubSubHub hub) {
    this.hub = hub;
  }

  public int flags() {
    return flags;
  }

  /** Sets the classes (see {@link #parse}). */
  public void flags(int flags) {
    this.flags = flags;
    Runnable r = onChange;
    if (r != null) {
      r.run();
    }
  }

  private volatile Runnable onChange;

  /** Runs after every change of the classes (the node attaches or detaches the store's listener). */
  public void onChange(Runnable r) {
    this.onChange = r;
  }

  /** True when an event of {@code type} would be published: a cheap test for hooks. */
  public boolean enabled(int type) {
    int f = flags;
    return (f & type) != 0 && (f & (KEYSPACE | KEYEVENT)) != 0;
  }

  /** Publishes {@code event} about {@code key} on this node if its class is on. */
  public void notify(int type, String event, byte[] key) {
    int f = flags;
    if ((f & type) == 0) {
      return;
    }
    byte[] name = event.getBytes(StandardCharsets.US_ASCII);
    if ((f & KEYSPACE) != 0) {
      hub.deliver(concat(KEYSPACE_PREFIX, key), name);
    }
    if ((f & KEYEVENT) != 0) {
      hub.deliver(concat(KEYEVENT_PREFIX, name), key);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Redis's keyspaceEventsStringToFlags; -1 for a character that is not a class. */
  public static int parse(String classes) {
    int f = 0;
    for (int i = 0; i < classes.length(); i++) {
      switch (classes.charAt(i)) {
        case 'A' -> f |= ALL;
        case 'g' -> f |= GENERIC;
        case '$' -> f |= STRING;
        case 'l' -> f |= LIST;
        case 's' -> f |= SET;
        case 'h' -> f |= HASH;
        case 'z' -> f |= ZSET;
        case 'x' -> f |= EXPIRED;
        case 'e' -> f |= EVICTED;
        case 'K' -> f |= KEYSPACE;
        case 'E' -> f |= KEYEVENT;
        case 't' -> f |= STREAM;
        case 'm' -> f |= KEY_MISS;
        case 'd' -> f |= MODULE;
        case 'n' -> f |= NEW;
        default -> {
          return -1;
        }
      }
    }
    return f;
  }

  /** Redis's keyspaceEventsFlagsToString: what CONFIG GET shows. */
  public static String format(int f) {
    StringBuilder sb = new StringBuilder();
    if ((f & ALL) == ALL) {
      sb.append('A');
    } else {
      append(sb, f, GENERIC, 'g');
      append(sb, f, STRING, '$');
      append(sb, f, LIST, 'l');
      append(sb, f, SET, 's');
      append(sb, f, HASH, 'h');
      append(sb, f, ZSET, 'z');
      append(sb, f, EXPIRED, 'x');
      append(sb, f, EVICTED, 'e');
      append(sb, f, STREAM, 't');
      append(sb, f, MODULE, 'd');
      append(sb, f, NEW, 'n');
    }
    append(sb, f, KEYSPACE, 'K');
    append(sb, f, KEYEVENT, 'E');
    append(sb, f, KEY_MISS, 'm');
    return sb.toString();
  }

  private static void append(StringBuilder sb, int f, int bit, char c) {
    if ((f & bit) != 0) {
      sb.append(c);
    }
  }
}
