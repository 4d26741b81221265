package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/*
 * Design: a write of a few named members of a sorted set (ZADD with any flags, ZINCRBY, ZREM) that
 * builds the new payload from the old one where the store keeps it (Store.readTyped's view), as
 * PackedEdit does for hashes and sets, instead of decoding it into ScoredMembers (a Scored, an
 * array and a map entry per member), changing that and encoding it again. A JFR profile of ZADD on
 * a set of 10,000 members (docs/BENCHMARKS.md, "Large sorted sets") put 85% of its samples in
 * that decode and encode; the copies of the value into the store were under 10%.
 *
 * The layout is CollectionCodec's, unchanged (a varint count, then per member a varint length, its
 * bytes and an 8-byte big-endian score, in ascending (score, member) order): no table, so finding a
 * member is a walk. One walk (of()) finds each named member's element and score, compared by
 * length and bytes through PackedLookup.Names, and stops at the last one found. The command then
 * says, name by name and in its own order, what happens (score() reads the state its earlier calls left, put() and remove() change
 * it), so a name given twice sees its first pair's effect, as the decoding path's sequential
 * updates do. build() writes the new payload in one pass: the new count, the unchanged runs
 * between the edited elements in bulk copies from the view, a removed element left out and each
 * member put with a new score (or new) written at its place in the order. Those places come from a
 * second walk (only when something is inserted) that reads each element's score and compares the
 * member's bytes only on a tie: O(payload) reads, no allocation in proportion to it but the new
 * payload itself. The result is byte for byte encodeZset of what ScoredMembers would hold after the
 * same calls (ZsetEditTest checks it on random sets and operations), including which of -0.0 and
 * 0.0 is stored: a put of a score equal to the present one (== compares them equal, as Redis's <
 * and > do) changes nothing, as ZSetRequests decides before it calls put.
 *
 * The payload comes only from this store, and is read so that no byte outside it is read: every
 * length is checked against what is left. Unlike the decoder, the edit does not check the order of
 * the whole payload (only where it walks to place a name), nor that the element count matches its
 * bytes: a payload corrupted in memory would be copied on, where decoding refused it (review 154).
 */

/** An edit of a packed sorted-set payload: one walk to find the names, one pass to build. */
public final class ZsetEdit {
  private final ByteBuffer payload;
  private final List<byte[]> names;
  /** For each name, the first name with the same bytes: the one that carries the state. */
  private final int[] first;
  private final int count;
  private final int elementsAt;
  private final int elementsEnd;
  /** Each name's element in the old payload, [start, end), start -1 when absent, and its score. */
  private final int[] start;
  private final int[] end;
  private final double[] oldScore;
  /** Each name's state as the calls left it: present, and its score. */
  private final boolean[] present;
  private final double[] score;
  private int size;

  private ZsetEdit(ByteBuffer payload, List<byte[]> names) {
    this.payload = payload;
    this.names = names;
    int k = names.size();
    start = new int[k];
    end = new int[k];
    oldScore = new double[k];
    present = new boolean[k];
    score = new double[k];
    Arrays.fill(start, -1);
    PackedLookup.Names lookup = new PackedLookup.Names(names);
    first = lookup.first();
    if (payload == null) {
      count = 0;
      elementsAt = 0;
      elementsEnd = 0;
      return;
    }
    ByteBuffer b = payload.duplicate();
    b.position(0);
    count = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    elementsAt = b.position();
    int found = 0;
    // The walk stops at the last name found (on average half of it for one name): no trailer follows
    // a sorted set's members, so they end where the payload does, and places() reads the rest.
    for (int i = 0; i < count && found < lookup.distinctCount(); i++) {
      int at = b.position();
      int len = CollectionCodec.zsetMemberLength(b);
      int memberAt = b.position();
      b.position(memberAt + len);
      double s = b.getDouble();
      int f = lookup.match(b, memberAt, len);
      if (f >= 0 && start[f] < 0) {
        found++;
        start[f] = at;
        end[f] = b.position();
        oldScore[f] = s;
        present[f] = true;
        score[f] = s;
      }
    }
    elementsEnd = b.limit();
    size = count;
  }

  /** Finds {@code names} in a sorted-set payload view (null: an empty set): one walk. */
  public static ZsetEdit of(ByteBuffer payload, List<byte[]> names) {
    return new ZsetEdit(payload, names);
  }

  /** Name {@code i}'s score as the calls so far leave it, or null when it is not a member. */
  public Double score(int i) {
    int f = first[i];
    return present[f] ? score[f] : null;
  }

  /** Gives name {@code i} {@code s} (adds it when absent); true when it was not a member. */
  public boolean put(int i, double s) {
    if (Double.isNaN(s)) {
      throw new IllegalArgumentException("a score cannot be NaN");
    }
    int f = first[i];
    boolean added = !present[f];
    present[f] = true;
    score[f] = s;
    size += added ? 1 : 0;
    return added;
  }

  /** Removes name {@code i}; true when it was a member. */
  public boolean remove(int i) {
    int f = first[i];
    boolean was = present[f];
    present[f] = false;
    size -= was ? 1 : 0;
    return was;
  }

  /** The members after the calls. */
  public int size() {
    return size;
  }

  /** Whether name {@code f} (a first) leaves its old element: removed, or given another score's bits. */
  private boolean leaves(int f) {
    return start[f] >= 0
        && (!present[f] || Double.doubleToRawLongBits(score[f]) != Double.doubleToRawLongBits(oldScore[f]));
  }

  /** Whether name {@code f} (a first) has an element written anew: new, or with another score. */
  private boolean enters(int f) {
    return present[f] && (start[f] < 0 || leaves(f));
  }

  /** Whether the calls change the payload. */
  public boolean changed() {
    for (int f = 0; f < first.length; f++) {
      if (first[f] == f && (leaves(f) || enters(f))) {
        return true;
      }
    }
    return false;
  }

  /** The new payload's length in bytes. */
  public long length() {
    long length = CollectionCodec.varintSize(size) + (elementsEnd - elementsAt);
    for (int f = 0; f < first.length; f++) {
      if (first[f] != f) {
        continue;
      }
      if (leaves(f)) {
        length -= end[f] - start[f];
      }
      if (enters(f)) {
        length += elementSize(names.get(f));
      }
    }
    return length;
  }

  private static int elementSize(byte[] member) {
    return CollectionCodec.varintSize(member.length) + member.length + Double.BYTES;
  }

  /**
   * The new payload (the caller checked length() against the value limit first): the old one's
   * runs copied in bulk, the removed elements left out, the entering ones written in their places.
   */
  public byte[] build() {
    int k = first.length;
    int[] in = new int[k]; // the entering names (firsts), sorted by (score, member)
    int entering = 0;
    int[] out = new int[k]; // the leaving names (firsts), sorted by start
    int leaving = 0;
    for (int f = 0; f < k; f++) {
      if (first[f] != f) {
        continue;
      }
      if (enters(f)) {
        in[entering++] = f;
      }
      if (leaves(f)) {
        out[leaving++] = f;
      }
    }
    Integer[] sortedIn = new Integer[entering];
    for (int j = 0; j < entering; j++) {
      sortedIn[j] = in[j];
    }
    Arrays.sort(sortedIn, (x, y) -> ScoredMembers.compare(score[x], names.get(x), score[y], names.get(y)));
    Integer[] sortedOut = new Integer[leaving];
    for (int j = 0; j < leaving; j++) {
      sortedOut[j] = out[j];
    }
    Arrays.sort(sortedOut, (x, y) -> Integer.compare(start[x], start[y]));
    int[] at = places(sortedIn);
    long length = length();
    if (length > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "sorted set of " + length + " bytes exceeds 2^31");
    }
    ByteBuffer b = ByteBuffer.allocate((int) length);
    CollectionCodec.writeVarint(b, size);
    int from = elementsAt;
    int i = 0;
    int o = 0;
    // At one offset an entering element goes before the element that starts there, leaving or not.
    while (i < entering || o < leaving) {
      boolean insert = o == leaving || i < entering && at[i] <= start[sortedOut[o]];
      if (insert) {
        copy(b, from, at[i]);
        from = at[i];
        int f = sortedIn[i++];
        CollectionCodec.writeBytes(b, names.get(f));
        b.putDouble(score[f]);
      } else {
        int f = sortedOut[o++];
        copy(b, from, start[f]);
        from = end[f];
      }
    }
    copy(b, from, elementsEnd);
    if (b.hasRemaining()) {
      throw new IllegalStateException("sorted set edit wrote " + b.position() + " of " + length + " bytes");
    }
    return b.array();
  }

  private void copy(ByteBuffer b, int from, int to) {
    if (to > from) {
      b.put(b.position(), payload, from, to - from);
      b.position(b.position() + to - from);
    }
  }

  /**
   * For each entering name (ascending), the offset of the first old element after it in the order
   * (elementsEnd when none): one walk reading the scores, comparing members only on a tie.
   */
  private int[] places(Integer[] sortedIn) {
    int[] at = new int[sortedIn.length];
    if (sortedIn.length == 0) {
      return at;
    }
    ByteBuffer b = payload == null ? null : payload.duplicate();
    int j = 0;
    if (b != null) {
      b.position(elementsAt);
      double previous = Double.NEGATIVE_INFINITY;
      while (b.position() < elementsEnd && j < sortedIn.length) {
        int elementAt = b.position();
        int len = CollectionCodec.zsetMemberLength(b); // the first walk may have stopped before this one
        int memberAt = b.position();
        b.position(memberAt + len);
        double s = b.getDouble();
        if (Double.isNaN(s) || s < previous) {
          throw new IllegalStateException("sorted set payload is out of order (or has a NaN score) at byte " + elementAt);
        }
        previous = s;
        while (j < sortedIn.length && before(sortedIn[j], s, b, memberAt, len)) {
          at[j++] = elementAt;
        }
      }
    }
    while (j < sortedIn.length) {
      at[j++] = elementsEnd;
    }
    return at;
  }

  /** Whether name {@code f} with its new score comes before the element (s, the member at memberAt). */
  private boolean before(int f, double s, ByteBuffer b, int memberAt, int len) {
    double mine = score[f];
    if (mine < s) {
      return true;
    }
    if (mine > s) {
      return false;
    }
    byte[] member = names.get(f);
    int n = Math.min(member.length, len);
    for (int i = 0; i < n; i++) {
      int c = Integer.compare(member[i] & 0xFF, b.get(memberAt + i) & 0xFF);
      if (c != 0) {
        return c < 0;
      }
    }
    return member.length < len;
  }
}
