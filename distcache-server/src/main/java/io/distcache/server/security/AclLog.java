package io.distcache.server.security;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * ACL LOG: the most recent denials (a failed AUTH, a command or key a user may not use), newest
 * first, at most {@link #MAX_ENTRIES} (Redis's acllog-max-len default). A denial equal to a recent
 * one (same reason, context, object and user, within 60 s) increments its count instead of adding
 * an entry, as Redis does, so a client hammering a wrong password costs one entry.
 *
 * <p>What an entry keeps from client input (the user name tried, the key or channel, the client's
 * description with its name) is cut to {@link #MAX_FIELD_CHARS} characters plus "..." (the
 * description to {@link #MAX_CLIENT_INFO_CHARS}): otherwise
 * 128 entries of a 15 MB user name each (a client need not be authenticated to fail AUTH) hold
 * gigabytes. Redis keeps them whole; its input bounds make that cheaper than ours would be.
 */
public final class AclLog {
  public static final int MAX_ENTRIES = 128;
  private static final long MERGE_MILLIS = 60_000;
  /** The longest a field taken from client input is kept; longer ones end in "...". */
  public static final int MAX_FIELD_CHARS = 128;
  /** The longest client description kept: room for every CLIENT LIST field around a long name. */
  public static final int MAX_CLIENT_INFO_CHARS = 1024;

  /** One entry, with Redis's field names. */
  public static final class Entry {
    public long count = 1;
    public final String reason;
    public final String context;
    public final String object;
    public final String username;
    public final String clientInfo;
    public final long entryId;
    public final long createdMillis;
    public long updatedMillis;

    Entry(String reason, String context, String object, String username, String clientInfo, long id, long now) {
      this.reason = reason;
      this.context = context;
      this.object = object;
      this.username = username;
      this.clientInfo = clientInfo;
      this.entryId = id;
      this.createdMillis = now;
      this.updatedMillis = now;
    }
  }

  private final LongSupplier millis;
  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private long nextId;

  public AclLog(LongSupplier millis) {
    this.millis = millis;
  }

  /**
   * Records a denial. {@code reason}: auth, command, key or channel; {@code object}: the command,
   * key or "AUTH"; {@code username}: the user concerned (the one tried, for auth).
   */
  public void add(String reason, String context, String object, String username, String clientInfo) {
    addClipped(reason, context, clip(object, MAX_FIELD_CHARS), clip(username, MAX_FIELD_CHARS),
        clip(clientInfo, MAX_CLIENT_INFO_CHARS));
  }

  /** {@code s} if at most {@code max} characters, else its first {@code max} and "..." (a copy, not a view). */
  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "...";
  }

  private synchronized void addClipped(String reason, String context, String object, String username, String clientInfo) {
    long now = millis.getAsLong();
    for (Entry e : entries) {
      if (now - e.updatedMillis > MERGE_MILLIS) {
        break;
      }
      if (e.reason.equals(reason) && e.context.equals(context) && e.object.equals(object)
          && e.username.equals(username)) {
        e.count++;
        e.updatedMillis = now;
        return;
      }
    }
    entries.addFirst(new Entry(reason, context, object, username, clientInfo, nextId++, now));
    while (entries.size() > MAX_ENTRIES) {
      entries.removeLast();
    }
  }

  /** The newest {@code n} entries, newest first (copies of the counters at this moment). */
  public synchronized List<Entry> newest(int n) {
    List<Entry> out = new ArrayList<>();
    Iterator<Entry> it = entries.iterator();
    while (it.hasNext() && out.size() < n) {
      out.add(it.next());
    }
    return out;
  }

  public synchronized void reset() {
    entries.clear();
  }

  public long nowMillis() {
    return millis.getAsLong();
  }
}
