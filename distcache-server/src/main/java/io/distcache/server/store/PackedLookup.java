package io.distcache.server.store;

import io.distcache.protocol.HashFieldExpiry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/*
 * Design: the point reads of a collection (HGET, HMGET, HEXISTS, HSTRLEN, HLEN, SISMEMBER,
 * SMISMEMBER, SCARD, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZRANGE by rank) and the random draws (HRANDFIELD, SRANDMEMBER, SPOP,
 * ZRANDMEMBER)
 * answered from the packed payload (CollectionCodec's layout) where the store keeps it
 * (Store.readTyped: a read-only view, under the segment's read lock), instead of copying it to the
 * heap and decoding it into a map. Decoding allocates two arrays and a map entry per element
 * (about 30,000 objects for a hash of 10,000 fields) and the copy the whole payload, to look up
 * one; the walk allocates only what it returns. On a payload in the plain layout it is a walk,
 * O(size of the payload); a collection of more than PackedIndex.INDEXED_ABOVE elements is in the
 * indexed layout, where each name is found through the offset table in O(1) probes, the count read
 * from the header and a random element drawn as a uniform used slot (docs/BENCHMARKS.md, "Hashes
 * and sets"). A hash's field times are honoured in both: a field whose time has come is absent.
 * Indexed, its time is in its slot (PackedIndex.VERSION_TIMED), so a lookup checks it for free;
 * HLEN and the draws use the count and the table as they are while the earliest bound is after
 * now, and otherwise pass over the times once (O(capacity), no element read).
 *
 * Any number of names is looked up at once (HMGET, SMISMEMBER, ZMSCORE of thousands): on the
 * indexed layout (hashes and sets only: a sorted set has no offset table) each is one lookup; a
 * walk of the plain layout (every sorted set) compares each element with up to MAX_NAMES names
 * one by one and finds it among more through a table of the names (Names), so one command costs
 * O(payload + names), never O(payload x names). A payload is read as hostile, like
 * CollectionCodec reads it: every length is checked against what is left.
 */

/** Point reads of packed hash, set and sorted-set payloads without decoding them. */
public final class PackedLookup {
  private PackedLookup() {}

  /**
   * The most names a walk compares each element with one by one; past them it finds the element
   * among the names through a table (Names), ZMSCORE's too. The writes of a plain payload decode
   * past them instead.
   */
  public static final int MAX_NAMES = 16;

  /**
   * The values of {@code fields} in a hash payload (null payload: an empty hash), null where a
   * field is absent or its expiry time (absolute Unix ms) is at or before {@code nowMillis}, as the
   * commands that decode hide it.
   */
  public static byte[][] hashValues(ByteBuffer payload, List<byte[]> fields, long nowMillis) {
    byte[][] out = new byte[fields.size()][];
    if (payload == null) {
      return out;
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, true);
      boolean timed = PackedIndex.timed(opened);
      for (int f = 0; f < out.length; f++) {
        int slot = PackedIndex.find(opened, fields.get(f));
        if (slot >= 0 && (!timed || live(PackedIndex.timeAt(opened, slot), nowMillis))) {
          out[f] = valueAt(opened, PackedIndex.elementAt(opened, slot));
        }
      }
      return out;
    }
    Names names = new Names(fields);
    int[] element = new int[fields.size()]; // where each distinct name was found, -1: not (yet)
    Arrays.fill(element, -1);
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / 2);
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      int at = b.position();
      b.position(at + len);
      int valueLen = CollectionCodec.readVarint(b, b.remaining());
      int valueAt = b.position();
      b.position(valueAt + valueLen);
      int f = names.match(b, at, len);
      if (f >= 0 && element[f] < 0) {
        element[f] = i;
        out[f] = new byte[valueLen];
        b.get(valueAt, out[f]);
      }
    }
    if (b.hasRemaining()) {
      java.util.HashMap<Integer, Integer> named = new java.util.HashMap<>(); // element -> its name, found ones only
      for (int f = 0; f < element.length; f++) {
        if (element[f] >= 0) {
          named.put(element[f], f);
        }
      }
      int m = CollectionCodec.readVarint(b, n);
      for (int j = 0; j < m; j++) {
        int i = CollectionCodec.readVarint(b, n - 1);
        long at = expiry(b);
        Integer f = named.get(i);
        if (at <= nowMillis && f != null) {
          out[f] = null;
        }
      }
    }
    names.copyToRepeats(out);
    return out;
  }

  /**
   * The expiry time of each of {@code fields} in an indexed hash payload (HTTL's answer, absolute
   * Unix ms), found through its table: HashFieldExpiry.NO_FIELD for a field that is absent or whose
   * time is at or before {@code nowMillis}, NO_TTL for one without a time. A payload in the plain
   * layout (at most INDEXED_ABOVE fields) is decoded from a copy; an absent hash (null) has every
   * field absent.
   */
  public static long[] hashTimes(ByteBuffer payload, List<byte[]> fields, long nowMillis) {
    long[] out = new long[fields.size()];
    if (payload == null) {
      Arrays.fill(out, HashFieldExpiry.NO_FIELD);
      return out;
    }
    if (!PackedIndex.isIndexed(payload)) { // at most INDEXED_ABOVE fields: decoded, with the trailer's times
      byte[] copy = new byte[payload.remaining()];
      payload.get(payload.position(), copy);
      java.util.Map<CollectionCodec.Bytes, Long> times = new java.util.HashMap<>();
      java.util.Map<CollectionCodec.Bytes, byte[]> hash = CollectionCodec.decodeHash(copy, times);
      for (int f = 0; f < out.length; f++) {
        CollectionCodec.Bytes name = new CollectionCodec.Bytes(fields.get(f));
        Long at = times.get(name);
        out[f] = !hash.containsKey(name) || at != null && at <= nowMillis ? HashFieldExpiry.NO_FIELD
            : at == null ? HashFieldExpiry.NO_TTL : at;
      }
      return out;
    }
    ByteBuffer opened = PackedIndex.open(payload, true);
    boolean timed = PackedIndex.timed(opened);
    for (int f = 0; f < out.length; f++) {
      int slot = PackedIndex.find(opened, fields.get(f));
      long at = slot < 0 || !timed ? 0 : PackedIndex.timeAt(opened, slot);
      out[f] = slot < 0 || !live(at, nowMillis) ? HashFieldExpiry.NO_FIELD : at == 0 ? HashFieldExpiry.NO_TTL : at;
    }
    return out;
  }

  /**
   * The fields of an indexed hash with field times whose time is at or before {@code nowMillis}
   * (copies of their names), and the earliest time of the others (Long.MAX_VALUE: none has one):
   * one pass over the table's times, reading only the expired fields' names. Null when the payload
   * is not such a hash, or when more than {@code max} fields have expired (the caller decodes).
   */
  public static Expired expiredFields(ByteBuffer payload, long nowMillis, int max) {
    if (payload == null || !PackedIndex.isIndexed(payload)) {
      return null;
    }
    ByteBuffer opened = PackedIndex.open(payload, true);
    if (!PackedIndex.timed(opened)) {
      return null;
    }
    List<byte[]> names = new ArrayList<>();
    long rest = Long.MAX_VALUE;
    ByteBuffer walker = opened.duplicate();
    for (int s = 0, capacity = PackedIndex.capacity(opened); s < capacity; s++) {
      long at = PackedIndex.timeAt(opened, s);
      if (at == 0) {
        continue;
      }
      if (at > nowMillis) {
        rest = Math.min(rest, at);
      } else if (names.size() == max) {
        return null;
      } else {
        walker.position(PackedIndex.elementAt(opened, s));
        names.add(CollectionCodec.readBytes(walker));
      }
    }
    return new Expired(names, rest);
  }

  /** An indexed hash's expired fields and the earliest time of the others (see expiredFields). */
  public record Expired(List<byte[]> names, long restEarliest) {}

  /** The fields of a hash payload (null: 0) whose expiry, if any, is after {@code nowMillis}. */
  public static int hashSize(ByteBuffer payload, long nowMillis) {
    if (payload == null) {
      return 0;
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, true);
      int count = PackedIndex.count(opened);
      if (!PackedIndex.timed(opened) || PackedIndex.earliest(opened) > nowMillis) {
        return count;
      }
      for (int s = 0, capacity = PackedIndex.capacity(opened); s < capacity; s++) { // some may be due: count them
        count -= live(PackedIndex.timeAt(opened, s), nowMillis) ? 0 : 1;
      }
      return count;
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / 2);
    for (int i = 0; i < 2 * n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      b.position(b.position() + len);
    }
    int live = n;
    if (b.hasRemaining()) {
      int m = CollectionCodec.readVarint(b, n);
      for (int j = 0; j < m; j++) {
        CollectionCodec.readVarint(b, n - 1);
        if (expiry(b) <= nowMillis) {
          live--;
        }
      }
    }
    return live;
  }

  /** For each of {@code members}, whether a set payload (null: empty) holds it. */
  public static boolean[] setContains(ByteBuffer payload, List<byte[]> members) {
    boolean[] out = new boolean[members.size()];
    if (payload == null) {
      return out;
    }
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, false);
      for (int k = 0; k < out.length; k++) {
        out[k] = PackedIndex.find(opened, members.get(k)) >= 0;
      }
      return out;
    }
    Names names = new Names(members);
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining());
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.readVarint(b, b.remaining());
      int at = b.position();
      b.position(at + len);
      int k = names.match(b, at, len);
      if (k >= 0) {
        out[k] = true;
      }
    }
    names.copyToRepeats(out);
    return out;
  }

  /**
   * {@code count} distinct members of a set payload (null: empty) drawn at random, all of them
   * when it has no more, in the order drawn (SPOP): {@link #randomElements} with a count >= 0.
   */
  public static List<byte[]> randomSetMembers(ByteBuffer payload, long count, RandomGenerator rnd) {
    if (count < 0) {
      throw new IllegalArgumentException("random members count " + count + " is negative");
    }
    return randomElements(payload, false, count, false, 0, rnd);
  }

  /**
   * Elements of a hash ({@code pairs}) or set payload (null: empty) drawn at random by Redis's
   * rules (HRANDFIELD, SRANDMEMBER, SPOP): a count >= 0 draws that many distinct elements (all of
   * them when there are no more), in the order drawn, each draw uniform over the elements not
   * drawn yet, as a partial Fisher-Yates shuffle gives; a negative count draws |count| elements
   * independently, so they may repeat. The list is flat: each element's name, then its value when
   * {@code values} (a hash). A field whose expiry time is at or before {@code nowMillis} is never
   * drawn, as the commands that decode hide it.
   *
   * On an indexed payload each draw is a uniform used slot of the offset table
   * (PackedIndex.randomElements: every element holds exactly one slot): O(1) probes expected, no
   * walk, for a negative count and for a positive one up to half of the elements, while no field
   * time may have come (the earliest bound). Otherwise (a plain payload, more than half of the
   * elements distinct, or a field time that may have come) the live elements are found once (a
   * walk, or on an indexed hash with times a pass over the table) and drawn from: O(size), which a
   * reply of more than half of them costs anyway, and a plain payload holds at most
   * PackedIndex.INDEXED_ABOVE elements.
   */
  public static List<byte[]> randomElements(ByteBuffer payload, boolean pairs, long count, boolean values,
      long nowMillis, RandomGenerator rnd) {
    if (count < -MAX_DRAWS) {
      throw new IllegalArgumentException("random elements count " + count + " is out of range: at least -"
          + MAX_DRAWS);
    }
    if (payload == null || count == 0) {
      return List.of();
    }
    // a positive count is at most the elements (below); a negative one is honoured as asked
    int draws = (int) Math.min(Math.abs(count), MAX_DRAWS);
    if (PackedIndex.isIndexed(payload)) {
      ByteBuffer opened = PackedIndex.open(payload, pairs);
      boolean timed = PackedIndex.timed(opened);
      if ((!timed || PackedIndex.earliest(opened) > nowMillis)
          && (count < 0 || count <= PackedIndex.count(opened) / 2)) {
        return read(opened, PackedIndex.randomElements(opened, draws, count > 0, rnd), draws, pairs, values);
      }
      if (timed) { // a field may be due: draw among the live slots' elements, found in one pass over the table
        int capacity = PackedIndex.capacity(opened);
        int[] starts = new int[PackedIndex.count(opened)];
        int live = 0;
        for (int s = 0; s < capacity; s++) {
          if (PackedIndex.used(opened, s) && live(PackedIndex.timeAt(opened, s), nowMillis)) {
            if (live == starts.length) {
              throw new IllegalStateException("indexed hash table holds more elements than its count " + starts.length);
            }
            starts[live++] = PackedIndex.elementAt(opened, s);
          }
        }
        return draw(opened, starts, live, count, draws, pairs, values, rnd);
      }
    }
    CollectionCodec.Elements e = CollectionCodec.elements(payload, pairs);
    ByteBuffer b = e.b();
    int n = e.count();
    int[] starts = new int[Math.min(n, 1024)]; // grown as the walk goes: the count is read from the payload
    for (int i = 0; i < n; i++) {
      if (i == starts.length) {
        starts = Arrays.copyOf(starts, (int) Math.min(n, 2L * i));
      }
      starts[i] = e.next().position();
      CollectionCodec.skipBytes(b);
      if (pairs) {
        CollectionCodec.skipBytes(b);
      }
    }
    e.checkEnd();
    int live = n;
    if (pairs && b.hasRemaining()) { // a plain hash's field expiry times: the expired fields are not drawn
      boolean[] expired = new boolean[n];
      int m = CollectionCodec.readVarint(b, n);
      for (int j = 0; j < m; j++) {
        int i = CollectionCodec.readVarint(b, n - 1);
        expired[i] |= expiry(b) <= nowMillis;
      }
      live = 0;
      for (int i = 0; i < n; i++) {
        if (!expired[i]) {
          starts[live++] = starts[i];
        }
      }
    }
    return draw(b, starts, live, count, draws, pairs, values, rnd);
  }

  /** Draws from the first {@code live} element starts of {@code b} by count's rules (see randomElements). */
  private static List<byte[]> draw(ByteBuffer b, int[] starts, int live, long count, int draws, boolean pairs,
      boolean values, RandomGenerator rnd) {
    if (live == 0) {
      return List.of();
    }
    int[] picked = drawStarts(starts, live, count, draws, rnd);
    return read(b, picked, picked.length, pairs, values);
  }

  /**
   * The element starts drawn from the first {@code live} of {@code starts} by count's rules (see
   * randomElements; {@code draws} is |count| bounded), in the order drawn: independent draws for a
   * negative count, a partial Fisher-Yates shuffle of {@code starts} in place for the others.
   */
  private static int[] drawStarts(int[] starts, int live, long count, int draws, RandomGenerator rnd) {
    if (count < 0) {
      int[] picked = new int[draws];
      for (int k = 0; k < draws; k++) {
        picked[k] = starts[rnd.nextInt(live)];
      }
      return picked;
    }
    int distinct = Math.min(draws, live);
    for (int k = 0; k < distinct; k++) {
      int j = k + rnd.nextInt(live - k);
      int t = starts[k];
      starts[k] = starts[j];
      starts[j] = t;
    }
    return Arrays.copyOf(starts, distinct);
  }

  /** Whether a field with time {@code at} (0: none) is still there at {@code nowMillis}. */
  private static boolean live(long at, long nowMillis) {
    return at == 0 || at > nowMillis;
  }

  /** The most draws of a negative count: a reply is built in memory (callers bound it lower). */
  static final int MAX_DRAWS = 1 << 24;

  /** The first {@code n} elements starting at {@code starts} in {@code b}: names, and values when asked. */
  private static List<byte[]> read(ByteBuffer b, int[] starts, int n, boolean pairs, boolean values) {
    List<byte[]> out = new ArrayList<>(values ? 2 * n : n);
    ByteBuffer walker = b.duplicate();
    long bytes = 0;
    for (int k = 0; k < n; k++) {
      walker.position(starts[k]);
      bytes = added(out, CollectionCodec.readBytes(walker), bytes);
      if (pairs && values) {
        bytes = added(out, CollectionCodec.readBytes(walker), bytes);
      }
    }
    return out;
  }

  /** Adds a drawn element to {@code out}; the pick's bytes with it, refused past the limit. */
  private static long added(List<byte[]> out, byte[] element, long bytes) {
    out.add(element);
    checkPickBytes(bytes + element.length);
    return bytes + element.length;
  }

  /** Refuses a random pick whose elements pass MAX_RANDOM_PICK_BYTES (TOO_LARGE), before it grows further. */
  public static void checkPickBytes(long bytes) {
    long max = io.distcache.protocol.ProtocolConstants.MAX_RANDOM_PICK_BYTES;
    if (bytes > max) {
      throw new StoreException(StoreException.Reason.TOO_LARGE, "a random pick's reply of more than " + max
          + " bytes exceeds the max frame for one (" + max + "); ask for fewer elements");
    }
  }

  /** The members of a set or sorted-set payload (null: 0): its leading count (an indexed set's header's). */
  public static int count(ByteBuffer payload) {
    if (PackedIndex.isIndexed(payload)) {
      return PackedIndex.count(PackedIndex.open(payload, false));
    }
    return payload == null ? 0 : CollectionCodec.readVarint(payload.duplicate(), payload.remaining());
  }

  /** A copy of the value of the hash pair that starts at {@code at} (the field's length varint). */
  private static byte[] valueAt(ByteBuffer opened, int at) {
    ByteBuffer b = opened.duplicate();
    b.position(at);
    CollectionCodec.skipBytes(b);
    byte[] value = new byte[CollectionCodec.readVarint(b, b.remaining())];
    b.get(value);
    return value;
  }

  /**
   * The scores of {@code members} in a sorted-set payload (null: empty), null where absent: one
   * walk, O(payload + members), as a sorted set has no offset table to probe (its elements are kept
   * in score order for the range commands, and no layout of it is indexed).
   */
  public static Double[] zsetScores(ByteBuffer payload, List<byte[]> members) {
    Double[] out = new Double[members.size()];
    if (payload == null) {
      return out;
    }
    Names names = new Names(members);
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    int found = 0;
    for (int i = 0; i < n && found < names.distinctCount(); i++) { // on average half a walk for one name
      int len = CollectionCodec.zsetMemberLength(b);
      int at = b.position();
      b.position(at + len);
      double score = b.getDouble();
      int k = names.match(b, at, len);
      if (k >= 0 && out[k] == null) {
        out[k] = score;
        found++;
      }
    }
    names.copyToRepeats(out);
    return out;
  }

  /**
   * The ascending rank of {@code member} in a sorted-set payload (null: empty) and its score, or
   * null when it is not a member: one walk to it, O(payload), nothing decoded (ZRANK).
   */
  public static Ranked zsetRank(ByteBuffer payload, byte[] member) {
    if (payload == null) {
      return null;
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    for (int i = 0; i < n; i++) {
      int len = CollectionCodec.zsetMemberLength(b);
      int at = b.position();
      b.position(at + len);
      double score = b.getDouble();
      if (len == member.length && same(b, at, member)) {
        return new Ranked(i, n, score);
      }
    }
    return null;
  }

  /** A member's ascending rank among {@code size} members, and its score. */
  public record Ranked(int rank, int size, double score) {}

  /**
   * The members of ascending ranks {@code from} (inclusive) to {@code to} (exclusive) of a
   * sorted-set payload (the caller bounds them by its count): a walk that skips the members before
   * {@code from} by their lengths and copies only the range (ZRANGE and ZREVRANGE by rank).
   */
  public static List<ScoredMembers.Scored> zsetRange(ByteBuffer payload, int from, int to) {
    List<ScoredMembers.Scored> out = new ArrayList<>(Math.max(0, to - from));
    if (payload == null || from >= to) {
      return out;
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    if (from < 0 || to > n) {
      throw new IllegalArgumentException("ranks " + from + ".." + to + " out of a sorted set of " + n);
    }
    for (int i = 0; i < to; i++) {
      int len = CollectionCodec.zsetMemberLength(b);
      int at = b.position();
      if (i < from) {
        b.position(at + len + Double.BYTES);
        continue;
      }
      byte[] member = new byte[len];
      b.get(member);
      out.add(new ScoredMembers.Scored(member, b.getDouble()));
    }
    return out;
  }

  /**
   * Members of a sorted-set payload (null: empty) drawn at random (ZRANDMEMBER with a count), the
   * draws RandomPicks.pick makes from the decoded set with {@code rnd}, in the same order: a count
   * >= 0 draws that many distinct members (all when there are no more) by a partial Fisher-Yates
   * shuffle, a negative one |count| members independently. One walk records each element's offset
   * (an int per member, where decoding made three objects), then only the drawn ones are copied;
   * their bytes, each score counted as its 8, are refused past MAX_RANDOM_PICK_BYTES as they add
   * up. The caller bounds |count| (the draws hold the segment's read lock).
   */
  public static List<ScoredMembers.Scored> randomZsetMembers(ByteBuffer payload, long count, RandomGenerator rnd) {
    if (count < -MAX_DRAWS) {
      throw new IllegalArgumentException("random members count " + count + " is out of range: at least -" + MAX_DRAWS);
    }
    if (payload == null || count == 0) {
      return List.of();
    }
    ByteBuffer b = payload.duplicate();
    int n = CollectionCodec.readVarint(b, b.remaining() / (1 + Double.BYTES));
    if (n == 0) {
      return List.of();
    }
    int[] starts = new int[n]; // the count is bounded by the payload's bytes (9 a member at least)
    for (int i = 0; i < n; i++) {
      starts[i] = b.position();
      int len = CollectionCodec.zsetMemberLength(b);
      b.position(b.position() + len + Double.BYTES);
    }
    int[] picked = drawStarts(starts, n, count, (int) (count < 0 ? -count : Math.min(count, n)), rnd);
    List<ScoredMembers.Scored> out = new ArrayList<>(picked.length);
    long bytes = 0;
    for (int k = 0; k < picked.length; k++) {
      b.position(picked[k]);
      byte[] member = new byte[CollectionCodec.zsetMemberLength(b)];
      b.get(member);
      bytes += member.length + Double.BYTES;
      checkPickBytes(bytes);
      out.add(new ScoredMembers.Scored(member, b.getDouble()));
    }
    return out;
  }

  /**
   * The names one walk of a plain payload looks for (HMGET, SMISMEMBER), and which of them an
   * element is. Up to MAX_NAMES distinct names are compared one by one (a length compare refutes
   * most); more are found through an open-addressing table of the names (at most half full), hashed
   * from a seed drawn per request so that no client can choose names that collide in it: a walk of
   * n elements for k names costs O(n + k), not O(n x k). A name given twice is looked up once:
   * {@link #copyToRepeats} gives its later positions the first one's answer.
   */
  static final class Names {
    private final List<byte[]> names;
    /** For each position, the first position holding the same bytes. */
    private final int[] first;
    /** The distinct positions, in order (compared one by one), or null when the table is used. */
    private final int[] distinct;
    /** 1 + a distinct position per used slot, 0 for an empty one; null for a few names. */
    private final int[] table;
    private final long seed;
    /** How many distinct names there are; the one name when there is one (the usual ZSCORE, ZADD), else null. */
    private final int distinctCount;
    private final byte[] single;

    Names(List<byte[]> names) {
      this.names = names;
      int k = names.size();
      first = new int[k];
      PackedEdit.firstOfEach(names, first);
      int firsts = 0;
      for (int i = 0; i < k; i++) {
        firsts += first[i] == i ? 1 : 0;
      }
      distinctCount = firsts;
      single = firsts == 1 ? names.get(0) : null;
      if (k <= MAX_NAMES) {
        int[] d = new int[k];
        int distinctCount = 0;
        for (int i = 0; i < k; i++) {
          if (first[i] == i) {
            d[distinctCount++] = i;
          }
        }
        distinct = Arrays.copyOf(d, distinctCount);
        table = null;
        seed = 0;
        return;
      }
      if (k > MAX_TABLE_NAMES) {
        throw new IllegalArgumentException("a lookup of " + k + " names is over the limit of " + MAX_TABLE_NAMES);
      }
      distinct = null;
      seed = java.util.concurrent.ThreadLocalRandom.current().nextLong();
      // At most 4 ints a name, less than the names' own arrays that the request already holds.
      table = new int[Integer.highestOneBit(2 * k - 1) << 1];
      int mask = table.length - 1;
      for (int i = 0; i < k; i++) {
        if (first[i] == i) {
          byte[] name = names.get(i);
          int s = PackedIndex.hash(ByteBuffer.wrap(name), 0, name.length, seed) & mask;
          while (table[s] != 0) {
            s = (s + 1) & mask;
          }
          table[s] = i + 1;
        }
      }
    }

    /** The first position of the name that the {@code len} bytes at {@code at} in {@code b} are, or -1. */
    int match(ByteBuffer b, int at, int len) {
      if (single != null) {
        return single.length == len && same(b, at, single) ? 0 : -1;
      }
      if (table == null) {
        for (int i : distinct) {
          byte[] name = names.get(i);
          if (name.length == len && same(b, at, name)) {
            return i;
          }
        }
        return -1;
      }
      int mask = table.length - 1;
      for (int s = PackedIndex.hash(b, at, len, seed) & mask; table[s] != 0; s = (s + 1) & mask) {
        byte[] name = names.get(table[s] - 1);
        if (name.length == len && same(b, at, name)) {
          return table[s] - 1;
        }
      }
      return -1;
    }

    /** How many distinct names: a walk that found as many can stop. */
    int distinctCount() {
      return distinctCount;
    }

    /** For each position, the first position holding the same bytes (ZsetEdit keeps its state there). */
    int[] first() {
      return first;
    }

    /** Gives every repeated name the value found for its first position. */
    <T> void copyToRepeats(T[] answers) {
      for (int i = 0; i < first.length; i++) {
        answers[i] = answers[first[i]];
      }
    }

    /** Gives every repeated name the answer found for its first position. */
    void copyToRepeats(boolean[] answers) {
      for (int i = 0; i < first.length; i++) {
        answers[i] = answers[first[i]];
      }
    }
  }

  /** The most names one Names table takes (2^28: its table would pass 2^30 slots). */
  static final int MAX_TABLE_NAMES = 1 << 28;

  /**
   * Whether the bytes at {@code at} in {@code b} are {@code name} (its length already compared).
   * The last byte first: names of one length often share a prefix ("f000000042", "user:17"), so it
   * refutes most of them with one read.
   */
  static boolean same(ByteBuffer b, int at, byte[] name) {
    int last = name.length - 1;
    if (last >= 0 && b.get(at + last) != name[last]) {
      return false;
    }
    int i = 0;
    if (name.length >= Long.BYTES) { // 8 bytes a read: a walk of ZSCORE spent most of its time here byte by byte
      ByteBuffer n = ByteBuffer.wrap(name).order(b.order());
      for (; i <= name.length - Long.BYTES; i += Long.BYTES) {
        if (b.getLong(at + i) != n.getLong(i)) {
          return false;
        }
      }
    }
    for (; i < last; i++) {
      if (b.get(at + i) != name[i]) {
        return false;
      }
    }
    return true;
  }

  private static long expiry(ByteBuffer b) {
    if (b.remaining() < Long.BYTES) {
      throw new IllegalStateException("hash field expiry truncated at byte " + b.position());
    }
    return b.getLong();
  }
}
