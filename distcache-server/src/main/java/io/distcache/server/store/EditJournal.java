package io.distcache.server.store;

import io.distcache.protocol.ValueType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/*
 * Design: what the in-place edits of large hashes and sets (Store.editPacked) and the range writes
 * of strings (APPEND, SETRANGE, SETBIT, BITFIELD: OffHeapStore.splice) did during one write, so that
 * replication can ship the edit instead of the whole value (issue 11 and 13: a 10,000-field hash is
 * 440 KB, one HSET of it a few dozen bytes; issue 16: one SETBIT of a 16 MiB bitmap shipped 16 MiB). The owner's replicator opens a journal on its
 * thread around a write it ships (open, then close in a finally); the off-heap store records each
 * edit it applies on that thread: the key, its version before and after, its expiry and length after,
 * and the calls that made it (PackedEdit.ops); an edit that changed nothing (SADD of a member
 * present) is recorded too, its versions before and after the same. A thread with no journal open pays one ThreadLocal
 * read per edit and records nothing.
 *
 * A record is a claim about one moment, not about the key's state when the write ends: a later
 * command of the same transaction or script may rewrite the key, change its expiry, or edit it again.
 * So edit() answers an edit only when it explains the key's state as it is now: exactly one edit of
 * the key was recorded, it left the version and expiry the key has now (every change of a payload
 * gives a new version; an expiry-only change keeps it, hence the expiry too), the collection is
 * large (PackedIndex's layout, more than INDEXED_ABOVE elements: a small one ships whole) and the
 * calls are few. Every edit is recorded, small ones too, so that a second edit of a key is seen.
 * The base version must also be the one the replica holds, which only holds when no other write
 * of the key ran before the edit in the same request: the replicator opens a journal only for a
 * single hash, set, APPEND, SETRANGE or bit command (never a transaction or a script, which may
 * write the key another way first), and such a command edits each key once or writes it another
 * way, not both. A BITFIELD writes one range per field: ranges of one string recorded one after
 * the other (each edit's base version the last one's version) make one edit, their calls in order,
 * since replaying them in order from the first base gives the state the last left; any other second
 * edit of a key makes its state no single edit's. For a string, "large" means nothing: the
 * replicator ships the edit when it is smaller than the value (Replicator.effectOf). Anything else (two edits, an edit not recorded because the journal was full, an edit through the
 * decoding path or a store that records nothing) answers null, and the caller ships the whole value,
 * as before. Keys are few per write: a list searched linearly, bounded by MAX_KEYS.
 */

/** The in-place edits of hashes, sets and strings applied on this thread while a journal is open. */
public final class EditJournal {
  /** At most this many edited keys per write are recorded; the rest are shipped whole. */
  static final int MAX_KEYS = 64;
  /** At most this many calls per shipped edit (a replica replays them against each other, O(n^2)). */
  public static final int MAX_OPS = 64;

  private static final ThreadLocal<EditJournal> CURRENT = new ThreadLocal<>();

  /** One edit of one key: its version before ({@code baseVersion}, 0 when absent) and after. */
  public record Edit(byte[] key, ValueType type, long baseVersion, long version, long expireAtMillis, long length,
      boolean indexed, List<PackedEdit.Op> ops) {}

  private final List<Edit> edits = new ArrayList<>(2);
  /** Keys edited more than once in this write: shipped whole. */
  private final List<byte[]> repeated = new ArrayList<>(0);

  private EditJournal() {}

  /** Opens a journal on this thread (replacing any left open), to be closed by {@link #close()}. */
  public static EditJournal open() {
    EditJournal j = new EditJournal();
    CURRENT.set(j);
    return j;
  }

  /** Stops recording on this thread. */
  public void close() {
    if (CURRENT.get() == this) {
      CURRENT.remove();
    }
  }

  /** The journal open on this thread, or null. */
  static EditJournal current() {
    return CURRENT.get();
  }

  /** Called by the store under the key's lock once an edit of {@code key} is applied. */
  void record(byte[] key, ValueType type, long baseVersion, long version, long expireAtMillis, long length,
      boolean indexed, List<PackedEdit.Op> ops) {
    for (int i = 0; i < edits.size(); i++) {
      Edit e = edits.get(i);
      if (Arrays.equals(e.key(), key)) {
        if (type == ValueType.STRING && e.type() == ValueType.STRING && e.version() == baseVersion
            && e.ops().size() + ops.size() <= MAX_OPS) {
          // The next range of the same string (a BITFIELD's fields, one write each): replayed in
          // order from the first edit's base, the ranges give the state this one left.
          List<PackedEdit.Op> both = new ArrayList<>(e.ops());
          both.addAll(ops);
          edits.set(i, new Edit(key, type, e.baseVersion(), version, expireAtMillis, length, indexed, both));
          return;
        }
        edits.remove(i);
        repeated.add(key);
        return;
      }
    }
    if (isRepeated(key) || edits.size() >= MAX_KEYS) {
      return;
    }
    edits.add(new Edit(key, type, baseVersion, version, expireAtMillis, length, indexed, List.copyOf(ops)));
  }

  private boolean isRepeated(byte[] key) {
    for (byte[] k : repeated) {
      if (Arrays.equals(k, key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The one edit that left {@code key} as it is now (its version {@code version}, its expiry
   * {@code expireAtMillis}), or null when the key's state is not that edit's alone (see above).
   */
  public Edit edit(byte[] key, long version, long expireAtMillis) {
    for (Edit e : edits) {
      if (Arrays.equals(e.key(), key)) {
        boolean explains = e.version() == version && e.expireAtMillis() == expireAtMillis && e.baseVersion() != 0
            && e.indexed() && !e.ops().isEmpty() && e.ops().size() <= MAX_OPS;
        return explains ? e : null;
      }
    }
    return null;
  }
}
