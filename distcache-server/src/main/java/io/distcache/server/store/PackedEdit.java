package io.distcache.server.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/*
 * Design: a write of a few named elements of a hash or set (HSET, HSETNX, HDEL, HINCRBY,
 * HINCRBYFLOAT, SADD, SREM) that builds the new payload from the old one where the store keeps it
 * (Store.readTyped's read-only view), instead of decoding it into an insertion-ordered map (three
 * objects per element), changing the map and encoding it again.
 *
 * One walk over the payload (CollectionCodec's layout, read as hostile as PackedLookup reads it)
 * finds where each named element starts and ends. The command then says what happens to each name
 * (put a value, add, remove) and build() writes the new payload in one pass: the new count varint,
 * the unchanged runs between edited elements in bulk copies from the view, a replaced element
 * where it was (an updated field keeps its place, as LinkedHashMap.put keeps it), nothing for a
 * removed one, and the new elements at the end in the order they were put (a new field or member
 * is appended, as the map appends it; one removed and then put again moves last, as in the map).
 * The result is byte for byte what decoding, changing and encoding gives (PackedEditTest checks it
 * on random payloads and sequences of edits). A name given twice is one element: its last put wins
 * and it is added once, as the map has it.
 *
 * A hash whose fields carry expiry times (CollectionCodec's trailer after the pairs) is not edited
 * here: the trailer's indices name field positions, which a removal or a new field would shift,
 * and a write on such a hash must first remove its expired fields for good (HashRequests does that
 * by decoding). hasTrailer() tells the caller to decode instead; build() refuses such a payload.
 *
 * On the plain layout the cost is O(size of the payload) per write: one walk comparing lengths,
 * then a copy of the whole payload (the store keeps a value whole, so a new version is a new
 * value). What goes is the per-element allocation and hashing. The walk compares each element with
 * every name, so the callers edit this way at most PackedLookup.MAX_NAMES names and decode for
 * more. Nothing is allocated in proportion to the payload before the caller checked length()
 * against the value limit.
 *
 * On the indexed layout (PackedIndex, more than INDEXED_ABOVE elements) the names are found
 * through the offset table, and build() writes the same elements in the same order after a new
 * header and table, with no walk: the table is copied whole, the slots of removed elements emptied
 * (their clusters shifted back), the offsets after an element whose length changed or which went
 * moved by one pass over the table (skipped when no length changed: HINCRBY 1 -> 2, a value
 * replaced by one as long), and the appended elements' slots filled. The table is rebuilt by one
 * walk of the new elements only when the count crosses INDEXED_ABOVE upwards, or leaves the
 * table's 1/8-3/4 load (PackedIndex.fits): amortised O(1) per element added. A result of at most
 * INDEXED_ABOVE elements is written in the plain layout (the table dropped), so the layout always
 * follows the count, as CollectionCodec's encoders choose it. The bytes are what decoding,
 * changing and encoding gives except the table's slots, whose places depend on the order of
 * insertions; PackedIndexTest checks the elements, their order and that the table finds each one.
 *
 * In place (issue 13): build() copies the whole payload, O(size) per write. The store instead
 * keeps a large indexed collection in a buffer with room after the payload (Segment.editInPlace)
 * and calls applyInPlace(), which makes the same edit where the payload lies, under the segment's
 * write lock: the removed elements' slots emptied first (while every offset still points where
 * the table says), then each element edited where it is, from the last to the first, moving the
 * bytes after it by its change of length (a memmove inside the buffer; none for a value of the
 * same length), the offsets after them moved by one pass over the table, and the new elements
 * written after the last one with their slots. An append or a same-length replacement so writes
 * O(element) bytes; a removal or a change of length moves the tail after it and passes over the
 * table once, with no allocation. The result is the layout build() gives, element for element
 * (PackedEditInPlaceTest). applyInPlace() refuses, writing nothing, what needs a new table (the
 * count crossing INDEXED_ABOVE or leaving the table's load) or more bytes than the room (counted
 * at the furthest the tail reaches while it moves); the store then builds the new payload with
 * build(ByteBuffer) straight into a new buffer of its own memory, so no write allocates a heap
 * array of the payload's size unless the store has no room without evicting (then build() and a
 * put, as before).
 */

/** The in-place edit of a packed hash or set payload: one walk to find the names, one pass to build. */
public final class PackedEdit {
  private static final byte KEEP = 0;
  private static final byte PUT = 1;
  private static final byte REMOVE = 2;
  /** New at the end: a name not in the payload, or one removed and then given again (the map moves it last). */
  private static final byte APPEND = 3;

  /** The old payload's view (null: the key is absent, an empty collection). */
  private final ByteBuffer payload;
  private final boolean pairs;
  private final List<byte[]> names;
  /** For each name, the index of the first name with the same bytes: the one that carries the state. */
  private final int[] first;
  private final int count;
  /** Where the elements start (after the count) and end (where a hash's expiry trailer would start). */
  private final int elementsAt;
  private final int elementsEnd;
  private final boolean trailer;
  /** The old payload opened in the indexed layout (PackedIndex), else null. */
  private final ByteBuffer indexed;
  /** Each name's element in the old payload: [start, end), start -1 when absent; a hash's value too. */
  private final int[] start;
  private final int[] end;
  private final int[] valueAt;
  private final byte[] state;
  private final byte[][] values;
  /** The order of the APPEND names: the map appends in the order the names were put. */
  private final int[] appendSeq;
  private int nextSeq;

  private PackedEdit(ByteBuffer payload, List<byte[]> names, boolean pairs) {
    this.payload = payload;
    this.pairs = pairs;
    this.names = names;
    int k = names.size();
    first = new int[k];
    start = new int[k];
    end = new int[k];
    valueAt = new int[k];
    state = new byte[k];
    values = pairs ? new byte[k][] : null;
    appendSeq = new int[k];
    Arrays.fill(start, -1);
    for (int i = 0; i < k; i++) {
      first[i] = i;
      for (int j = 0; j < i; j++) {
        if (Arrays.equals(names.get(i), names.get(j))) {
          first[i] = j;
          break;
        }
      }
    }
    if (payload == null) {
      count = 0;
      elementsAt = 0;
      elementsEnd = 0;
      trailer = false;
      indexed = null;
      return;
    }
    CollectionCodec.Elements elements = CollectionCodec.elements(payload, pairs);
    count = elements.count();
    elementsAt = elements.b().position();
    if (elements.indexed()) {
      indexed = elements.b();
      elementsEnd = indexed.limit();
      trailer = false;
      for (int i = 0; i < k; i++) {
        int slot = first[i] == i ? PackedIndex.find(indexed, names.get(i)) : -1;
        if (slot >= 0) {
          locate(i, PackedIndex.elementAt(indexed, slot));
        }
      }
      return;
    }
    indexed = null;
    ByteBuffer b = elements.b();
    for (int e = 0; e < count; e++) {
      int at = b.position();
      int len = CollectionCodec.readVarint(b, b.remaining());
      int nameAt = b.position();
      b.position(nameAt + len);
      int vAt = -1;
      if (pairs) {
        int vLen = CollectionCodec.readVarint(b, b.remaining());
        vAt = b.position();
        b.position(vAt + vLen);
      }
      for (int i = 0; i < k; i++) {
        byte[] name = names.get(i);
        if (first[i] == i && start[i] < 0 && name.length == len && PackedLookup.same(b, nameAt, name)) {
          start[i] = at;
          end[i] = b.position();
          valueAt[i] = vAt;
        }
      }
    }
    elementsEnd = b.position();
    trailer = pairs && b.hasRemaining();
  }

  /** Records name {@code i}'s element, which starts at {@code at} in the indexed payload. */
  private void locate(int i, int at) {
    ByteBuffer b = indexed.duplicate();
    b.position(at);
    CollectionCodec.skipBytes(b);
    if (pairs) {
      int vLen = CollectionCodec.readVarint(b, b.remaining());
      valueAt[i] = b.position();
      b.position(b.position() + vLen);
    }
    start[i] = at;
    end[i] = b.position();
  }

  /** An edit of a hash payload (null: absent) naming {@code fields}. */
  public static PackedEdit hash(ByteBuffer payload, List<byte[]> fields) {
    return new PackedEdit(payload, fields, true);
  }

  /** An edit of a set payload (null: absent) naming {@code members}. */
  public static PackedEdit set(ByteBuffer payload, List<byte[]> members) {
    return new PackedEdit(payload, members, false);
  }

  /** Whether the hash carries field expiry times: the caller must decode it instead (see above). */
  public boolean hasTrailer() {
    return trailer;
  }

  /** The elements before the edit. */
  public int count() {
    return count;
  }

  /** Whether name {@code i} was in the payload before the edit. */
  public boolean found(int i) {
    return start[first[i]] >= 0;
  }

  /** Field {@code i}'s value as the edit leaves it so far (a copy), null when it has none. */
  public byte[] value(int i) {
    int f = first[i];
    if (state[f] != KEEP) {
      return state[f] == REMOVE ? null : values[f];
    }
    if (start[f] < 0) {
      return null;
    }
    int vAt = valueAt[f];
    byte[] out = new byte[end[f] - vAt];
    payload.get(vAt, out);
    return out;
  }

  /** Sets field {@code i} to {@code value}: in place when present, appended when new. */
  public void put(int i, byte[] value) {
    int f = first[i];
    values[f] = value;
    if (state[f] == KEEP && start[f] >= 0) {
      state[f] = PUT;
    } else if (state[f] == REMOVE || state[f] == KEEP) {
      append(f);
    }
  }

  /** Adds member {@code i} (appended when new, nothing when present). */
  public void add(int i) {
    int f = first[i];
    if (state[f] == REMOVE || state[f] == KEEP && start[f] < 0) {
      append(f);
    }
  }

  private void append(int f) {
    state[f] = APPEND;
    appendSeq[f] = nextSeq++;
  }

  /** Removes element {@code i} (nothing when absent). */
  public void remove(int i) {
    int f = first[i];
    state[f] = start[f] >= 0 ? REMOVE : KEEP;
    if (pairs) {
      values[f] = null;
    }
  }

  /**
   * Whether the edit changes the payload: a put always does (the decoding path writes then too),
   * an add of a member present or a removal of a name absent does not.
   */
  public boolean changed() {
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP) {
        return true;
      }
    }
    return false;
  }

  /** The elements after the edit (0: the key goes). */
  public int size() {
    int n = count;
    for (int i = 0; i < state.length; i++) {
      if (start[i] >= 0 && (state[i] == REMOVE || state[i] == APPEND)) {
        n--;
      }
      if (state[i] == APPEND) {
        n++;
      }
    }
    return n;
  }

  /** The new payload's length in bytes, to check against the value limit before build(). */
  public long length() {
    return header() + body();
  }

  /** The new elements' bytes. */
  private long body() {
    long body = elementsEnd - elementsAt;
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP && start[i] >= 0) {
        body -= end[i] - start[i];
      }
      if (state[i] == PUT || state[i] == APPEND) {
        body += elementLength(i);
      }
    }
    return body;
  }

  /**
   * The new payload's bytes before its elements: the count varint, or in the indexed layout (more
   * than INDEXED_ABOVE elements) the header and the table.
   */
  private long header() {
    int size = size();
    return size > PackedIndex.INDEXED_ABOVE ? PackedIndex.elementsAt(newCapacity(size)) : CollectionCodec.varintSize(size);
  }

  /** The new table's capacity: the old one while it fits the new count, else the count's own. */
  private int newCapacity(int size) {
    if (indexed != null && PackedIndex.fits(PackedIndex.capacity(indexed), size)) {
      return PackedIndex.capacity(indexed);
    }
    return PackedIndex.capacityFor(size);
  }

  /** The new payload (see above) in a heap array; for a hash without an expiry trailer. */
  public byte[] build() {
    long length = length();
    if (length > Integer.MAX_VALUE - 16) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "collection of " + length + " bytes exceeds 2^31");
    }
    byte[] out = new byte[(int) length];
    build(ByteBuffer.wrap(out));
    return out;
  }

  /**
   * Writes the new payload into {@code out} from its index 0 ({@code out}'s limit is exactly
   * {@link #length()}, big-endian; the store's off-heap memory or a heap array), reading the old
   * payload, which must stay where it is and unchanged meanwhile.
   */
  public void build(ByteBuffer out) {
    if (trailer) {
      throw new IllegalStateException("a hash with field expiry times is edited by decoding it, not in place");
    }
    if (out.limit() != length()) {
      throw new IllegalStateException("packed edit of " + length() + " bytes given " + out.limit() + " to write");
    }
    ByteBuffer w = out.duplicate().order(ByteOrder.BIG_ENDIAN).position(0);
    int size = size();
    boolean index = size > PackedIndex.INDEXED_ABOVE;
    int capacity = index ? newCapacity(size) : 0;
    if (index) {
      PackedIndex.writeHeader(w, size, capacity);
      w.position(PackedIndex.elementsAt(capacity));
    } else {
      CollectionCodec.writeVarint(w, size);
    }
    int newElementsAt = w.position();
    int[] edited = editedInPayloadOrder();
    int from = elementsAt;
    for (int i : edited) {
      if (start[i] < from) { // only an indexed payload's corrupt offsets can make two elements overlap
        throw new IllegalStateException("collection elements at " + start[i] + " and before " + from + " overlap");
      }
      from = copy(w, from, start[i]);
      if (state[i] == PUT) {
        writeElement(w, i);
      }
      from = end[i];
    }
    copy(w, from, elementsEnd);
    int[] appendedAt = new int[state.length];
    for (int seq = 0; seq < nextSeq; seq++) {
      int i = appendedInOrder(seq);
      if (i < 0) {
        continue;
      }
      appendedAt[i] = w.position() - newElementsAt;
      writeElement(w, i);
    }
    if (w.hasRemaining()) {
      throw new IllegalStateException("packed edit wrote " + w.position() + " of " + w.limit() + " bytes");
    }
    if (index && indexed != null && capacity == PackedIndex.capacity(indexed)) {
      editTable(w, capacity, edited, appendedAt);
    } else if (index) {
      PackedIndex.clearTable(w, capacity); // off-heap memory comes unzeroed
      PackedIndex.build(w.clear(), size, pairs); // crossed the threshold or resized: one walk
    }
  }

  /**
   * The name appended {@code seq}-th, or -1 (APPEND names are numbered in the order they were
   * put; a name appended and then removed leaves its number unused).
   */
  private int appendedInOrder(int seq) {
    for (int i = 0; i < state.length; i++) {
      if (state[i] == APPEND && appendSeq[i] == seq) {
        return i;
      }
    }
    return -1;
  }

  /** Whether the new payload is in the indexed layout (more than INDEXED_ABOVE elements). */
  public boolean indexedAfter() {
    return size() > PackedIndex.INDEXED_ABOVE;
  }

  /**
   * Applies the edit to the payload where it lies: {@code room} (big-endian, writable) holds the
   * old payload from index 0 (the bytes the view this edit was made from shows) and has
   * {@code room.capacity()} bytes for the new one. Only an indexed payload that stays indexed with
   * the same table capacity, whose new length fits the room, is edited so; false, with nothing
   * written, otherwise (the caller builds a new payload instead). The edit is spent after either.
   *
   * In order: the slots of the elements that go are emptied while every element is still where
   * the table says (a removal reads its cluster's names); the elements edited where they are are
   * rewritten from the last to the first, each moving the bytes after it by its change of length
   * (nothing moves for a value of the same length); the offsets after a change of length move by
   * one pass over the table; the new elements are written after the last one, with their slots.
   * So an append or a same-length replacement writes O(element) bytes, a removal or a change of
   * length moves the tail after it and passes over the table once.
   */
  public boolean applyInPlace(ByteBuffer room) {
    int size = size();
    if (indexed == null || size <= PackedIndex.INDEXED_ABOVE || newCapacity(size) != PackedIndex.capacity(indexed)
        || length() > room.capacity()) {
      return false;
    }
    ByteBuffer w = room.duplicate().order(ByteOrder.BIG_ENDIAN).clear();
    int capacity = PackedIndex.capacity(indexed);
    int[] edited = editedInPayloadOrder();
    int[] editedAt = new int[edited.length];
    int[] delta = new int[edited.length];
    boolean moved = false;
    for (int k = 0; k < edited.length; k++) {
      int i = edited[k];
      if (k > 0 && start[i] < end[edited[k - 1]]) { // only corrupt offsets can make two elements overlap
        throw new IllegalStateException("collection elements at " + start[edited[k - 1]] + " and " + start[i]
            + " overlap");
      }
      editedAt[k] = start[i] - elementsAt;
      delta[k] = (int) ((state[i] == PUT ? elementLength(i) : 0) - (end[i] - start[i]));
      moved |= delta[k] != 0;
    }
    // The tail moves from the last edit to the first, so it may pass its final end on the way (a
    // value grown after one shrunk): the room must hold the furthest it reaches, checked before
    // anything is written.
    long reach = elementsEnd;
    for (int k = edited.length - 1, sum = 0; k >= 0; k--) {
      sum += delta[k];
      reach = Math.max(reach, (long) elementsEnd + sum);
    }
    if (reach > room.capacity()) {
      return false;
    }
    for (int k = 0; k < edited.length; k++) {
      if (state[edited[k]] != PUT) { // REMOVE, or APPEND of an element that was here: it goes from its place
        PackedIndex.remove(w, capacity, hashOf(edited[k]), editedAt[k], indexed);
      }
    }
    int tail = elementsEnd;
    for (int k = edited.length - 1; k >= 0; k--) {
      int i = edited[k];
      if (delta[k] != 0) {
        w.put(end[i] + delta[k], w, end[i], tail - end[i]); // a memmove: the regions may overlap
        tail += delta[k];
      }
      if (state[i] == PUT) {
        writeElement(w.position(start[i]), i);
      }
    }
    if (moved) {
      PackedIndex.shift(w, capacity, editedAt, delta, edited.length);
    }
    w.position(tail);
    for (int seq = 0; seq < nextSeq; seq++) {
      int i = appendedInOrder(seq);
      if (i < 0) {
        continue;
      }
      int at = w.position() - elementsAt;
      writeElement(w, i);
      PackedIndex.insert(w, capacity, hashOf(i), at);
    }
    if (w.position() != length()) {
      throw new IllegalStateException("packed edit in place wrote " + w.position() + " of " + length() + " bytes");
    }
    PackedIndex.writeHeader(w, size, capacity);
    return true;
  }

  /**
   * The new table from the old one (same capacity), without a walk: a bulk copy, the slots of the
   * elements that went emptied, the offsets after an element that changed its length or went moved
   * (one pass over the table, only when one did), the appended elements' slots filled.
   */
  private void editTable(ByteBuffer w, int capacity, int[] edited, int[] appendedAt) {
    int tableBytes = PackedIndex.elementsAt(capacity) - PackedIndex.HEADER;
    w.put(PackedIndex.HEADER, indexed, PackedIndex.HEADER, tableBytes);
    int[] editedAt = new int[edited.length];
    int[] delta = new int[edited.length];
    boolean moved = false;
    for (int k = 0; k < edited.length; k++) {
      int i = edited[k];
      editedAt[k] = start[i] - elementsAt;
      if (state[i] == PUT) {
        delta[k] = (int) (elementLength(i) - (end[i] - start[i]));
      } else { // REMOVE, or APPEND of an element that was here: it goes from its place
        delta[k] = start[i] - end[i];
        PackedIndex.remove(w, capacity, hashOf(i), editedAt[k], indexed);
      }
      moved |= delta[k] != 0;
    }
    if (moved) {
      PackedIndex.shift(w, capacity, editedAt, delta, edited.length);
    }
    for (int i = 0; i < state.length; i++) {
      if (state[i] == APPEND) {
        PackedIndex.insert(w, capacity, hashOf(i), appendedAt[i]);
      }
    }
  }

  private int hashOf(int i) {
    byte[] name = names.get(i);
    return PackedIndex.hash(ByteBuffer.wrap(name), 0, name.length);
  }

  /** The names edited where they are in the payload, by where they start (a few: insertion sort). */
  private int[] editedInPayloadOrder() {
    int[] order = new int[state.length];
    int n = 0;
    for (int i = 0; i < state.length; i++) {
      if (state[i] != KEEP && start[i] >= 0) {
        int j = n++;
        while (j > 0 && start[order[j - 1]] > start[i]) {
          order[j] = order[j - 1];
          j--;
        }
        order[j] = i;
      }
    }
    return Arrays.copyOf(order, n);
  }

  /** Copies the old payload's bytes [from, to) into {@code w}; returns {@code to}. */
  private int copy(ByteBuffer w, int from, int to) {
    if (to > from) {
      w.put(w.position(), payload, from, to - from);
      w.position(w.position() + to - from);
    }
    return to;
  }

  private long elementLength(int i) {
    byte[] name = names.get(i);
    long n = CollectionCodec.varintSize(name.length) + (long) name.length;
    if (pairs) {
      n += CollectionCodec.varintSize(values[i].length) + (long) values[i].length;
    }
    return n;
  }

  private void writeElement(ByteBuffer w, int i) {
    CollectionCodec.writeBytes(w, names.get(i));
    if (pairs) {
      CollectionCodec.writeBytes(w, values[i]);
    }
  }
}
