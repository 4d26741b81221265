/*
 * The CPU time of one in-place edit of a hash or set of 10,000 elements (docs/BENCHMARKS.md, "Removals
 * and changes of length in place"), for one server jar, without a network or a client: the store's own
 * cost, which redis-benchmark on this shared machine cannot tell from the noise. The payload lies in
 * direct memory with half its size again of room, edited by PackedEdit.applyInPlace as
 * Segment.editInPlace does, or built into new memory when that refuses (as Segment.putRebuilt: a
 * resize, no room, a compaction). Rows: HDEL and SREM of a random one of the 10,000 names (5,000
 * edits, so about 4,000 removals, from a fresh collection each run), HSET changing a random field's
 * value between 20 and 21 bytes, HSET of a value of the same length. Prints the thread CPU time per
 * edit of three runs after two of warm-up. On a jar with PackedLookup.randomSetMembers (issue 13,
 * SPOP and many names in place) a second table: SREM and HDEL of 17 random names (500 edits), SPOP
 * (5,000) and SPOP of 5 (1,000), each in place (the edit the server now makes) and by decoding
 * (a copy of the payload decoded into a map, changed and encoded again: what the server did before
 * for these commands, without its store copies), on the same jar. Works on a jar from before
 * PackedEdit.lengthInPlace (it then uses length(), which was the in-place length). Not run by CI.
 *
 *   java -XX:MaxDirectMemorySize=1g -cp distcache-server/target/distcache-server-*-all.jar bench/PackedEditCost.java
 */
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.CollectionCodec.Bytes;
import io.distcache.server.store.PackedEdit;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;

/** CPU time per in-place edit of a large hash or set (see above). */
public class PackedEditCost {
  static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
  static Method inPlaceLength;

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static final class Room {
    ByteBuffer memory;
    int length;
    int rebuilt;

    void fill(byte[] payload) {
      memory = ByteBuffer.allocateDirect(payload.length + payload.length / 2);
      memory.put(0, payload);
      length = payload.length;
    }

    ByteBuffer view() {
      return memory.slice(0, length).asReadOnlyBuffer();
    }

    void apply(PackedEdit e) throws Exception {
      long len = (Long) inPlaceLength.invoke(e);
      if (len <= memory.capacity() && e.applyInPlace(memory)) {
        length = (int) len;
        return;
      }
      ByteBuffer fresh = ByteBuffer.allocateDirect((int) (e.length() + e.length() / 2));
      e.build(fresh.slice(0, (int) e.length()));
      memory = fresh;
      length = (int) e.length();
      rebuilt++;
    }
  }

  interface Op {
    void run(Room room, Random r) throws Exception;
  }

  static Room hash(String value) {
    LinkedHashMap<Bytes, byte[]> h = new LinkedHashMap<>();
    for (int i = 0; i < 10_000; i++) {
      h.put(new Bytes(b(String.format("f%012d", i))), b(value));
    }
    Room room = new Room();
    room.fill(CollectionCodec.encodeHash(h));
    return room;
  }

  static Room set() {
    LinkedHashMap<Bytes, byte[]> h = new LinkedHashMap<>();
    for (int i = 0; i < 10_000; i++) {
      h.put(new Bytes(b(String.format("m%012d", i))), b(""));
    }
    Room room = new Room();
    room.fill(CollectionCodec.encodeSet(h.keySet(), h.size()));
    return room;
  }

  /** ns of CPU per edit over n edits on a fresh collection (removals: one in four names absent, as -r 10000 gives). */
  static double measure(String name, java.util.function.Supplier<Room> make, Op op, int n) throws Exception {
    Room room = make.get();
    Random r = new Random(42);
    long t0 = MX.getCurrentThreadCpuTime();
    for (int i = 0; i < n; i++) {
      op.run(room, r);
    }
    long ns = MX.getCurrentThreadCpuTime() - t0;
    return (double) ns / n;
  }

  /** {@code k} random names of the 10,000 (prefix f: fields, m: members), repeats possible, as -r 10000 gives. */
  static List<byte[]> names(String prefix, int k, Random r) {
    List<byte[]> out = new java.util.ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      out.add(b(String.format("%s%012d", prefix, r.nextInt(10_000))));
    }
    return out;
  }

  static void removeInPlace(Room room, List<byte[]> names, boolean pairs) throws Exception {
    PackedEdit e = pairs ? PackedEdit.hash(room.view(), names) : PackedEdit.set(room.view(), names);
    for (int i = 0; i < names.size(); i++) {
      e.remove(i);
    }
    if (e.changed()) {
      room.apply(e);
    }
  }

  @SuppressWarnings("unchecked")
  static void spopInPlace(Room room, Method draw, int count, Random r) throws Exception {
    List<byte[]> picked = (List<byte[]>) draw.invoke(null, room.view(), (long) count, r);
    removeInPlace(room, picked, false);
  }

  /** The payload copied to the heap (as getTyped copies it), decoded, changed, encoded and put back. */
  static byte[] copy(Room room) {
    byte[] out = new byte[room.length];
    room.memory.get(0, out);
    return out;
  }

  static void removeDecoded(Room room, List<byte[]> names, boolean pairs) {
    byte[] payload = copy(room);
    if (pairs) {
      LinkedHashMap<Bytes, byte[]> h = CollectionCodec.decodeHash(payload);
      names.forEach(n -> h.remove(new Bytes(n)));
      room.fill(CollectionCodec.encodeHash(h));
    } else {
      LinkedHashMap<Bytes, Boolean> m = CollectionCodec.decodeSet(payload);
      names.forEach(n -> m.remove(new Bytes(n)));
      room.fill(CollectionCodec.encodeSet(m.keySet(), m.size()));
    }
  }

  static void spopDecoded(Room room, int count, Random r) {
    LinkedHashMap<Bytes, Boolean> m = CollectionCodec.decodeSet(copy(room));
    List<Bytes> all = new java.util.ArrayList<>(m.keySet()); // SetRequests' old SPOP: a list, a partial shuffle
    for (int i = 0; i < count; i++) {
      java.util.Collections.swap(all, i, i + r.nextInt(all.size() - i));
      m.remove(all.get(i));
    }
    room.fill(CollectionCodec.encodeSet(m.keySet(), m.size()));
  }

  public static void main(String[] args) throws Exception {
    try {
      inPlaceLength = PackedEdit.class.getMethod("lengthInPlace");
    } catch (NoSuchMethodException before) {
      inPlaceLength = PackedEdit.class.getMethod("length");
    }
    Op hdel = (room, r) -> {
      PackedEdit e = PackedEdit.hash(room.view(), List.of(b(String.format("f%012d", r.nextInt(10_000)))));
      e.remove(0);
      if (e.changed()) {
        room.apply(e);
      }
    };
    Op srem = (room, r) -> {
      PackedEdit e = PackedEdit.set(room.view(), List.of(b(String.format("m%012d", r.nextInt(10_000)))));
      e.remove(0);
      if (e.changed()) {
        room.apply(e);
      }
    };
    Op relength = (room, r) -> {
      List<byte[]> f = List.of(b(String.format("f%012d", r.nextInt(10_000))));
      PackedEdit e = PackedEdit.hash(room.view(), f);
      byte[] old = e.value(0);
      e.put(0, b("v".repeat(old == null || old.length == 21 ? 20 : 21)));
      room.apply(e);
    };
    Op same = (room, r) -> {
      PackedEdit e = PackedEdit.hash(room.view(), List.of(b(String.format("f%012d", r.nextInt(10_000)))));
      e.put(0, b("w".repeat(20)));
      room.apply(e);
    };
    Method pick;
    try {
      pick = io.distcache.server.store.PackedLookup.class.getMethod("randomSetMembers", ByteBuffer.class, long.class,
          java.util.random.RandomGenerator.class);
    } catch (NoSuchMethodException before) {
      pick = null;
    }
    for (int round = 0; pick != null && round < 5; round++) {
      Method draw = pick;
      Op srem17 = (room, r) -> removeInPlace(room, names("m", 17, r), false);
      Op hdel17 = (room, r) -> removeInPlace(room, names("f", 17, r), true);
      Op spop = (room, r) -> spopInPlace(room, draw, 1, r);
      Op spop5 = (room, r) -> spopInPlace(room, draw, 5, r);
      Op srem17Decoded = (room, r) -> removeDecoded(room, names("m", 17, r), false);
      Op hdel17Decoded = (room, r) -> removeDecoded(room, names("f", 17, r), true);
      Op spopDecoded = (room, r) -> spopDecoded(room, 1, r);
      Op spop5Decoded = (room, r) -> spopDecoded(room, 5, r);
      double[] in = {
          measure("SREM17", PackedEditCost::set, srem17, 500),
          measure("HDEL17", () -> hash("v".repeat(20)), hdel17, 500),
          measure("SPOP", PackedEditCost::set, spop, 5_000),
          measure("SPOP5", PackedEditCost::set, spop5, 1_000)};
      double[] de = {
          measure("SREM17", PackedEditCost::set, srem17Decoded, 500),
          measure("HDEL17", () -> hash("v".repeat(20)), hdel17Decoded, 500),
          measure("SPOP", PackedEditCost::set, spopDecoded, 5_000),
          measure("SPOP5", PackedEditCost::set, spop5Decoded, 1_000)};
      if (round >= 2) {
        System.out.printf("round %d: SREM 17 names %.0f ns in place, %.0f decoding; HDEL 17 names %.0f / %.0f;"
            + " SPOP %.0f / %.0f; SPOP 5 %.0f / %.0f ns of CPU per command%n",
            round - 1, in[0], de[0], in[1], de[1], in[2], de[2], in[3], de[3]);
      }
    }
    for (int round = 0; round < 5; round++) { // 5,000 removals of 10,000 leave ~6,000: each run starts afresh
      boolean print = round >= 2;
      double a = measure("HDEL", () -> hash("v".repeat(20)), hdel, 5_000);
      double s = measure("SREM", PackedEditCost::set, srem, 5_000);
      double l = measure("HSET", () -> hash("v".repeat(20)), relength, 5_000);
      double m = measure("HSET", () -> hash("v".repeat(20)), same, 5_000);
      if (print) {
        System.out.printf("round %d: HDEL %.0f ns, SREM %.0f ns, HSET 20<->21 bytes %.0f ns, HSET same length %.0f ns of CPU per edit%n", round - 1, a, s, l, m);
      }
    }
  }
}
