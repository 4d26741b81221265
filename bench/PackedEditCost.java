/*
 * The CPU time of one in-place edit of a hash or set of 10,000 elements (docs/BENCHMARKS.md, "Removals
 * and changes of length in place"), for one server jar, without a network or a client: the store's own
 * cost, which redis-benchmark on this shared machine cannot tell from the noise. The payload lies in
 * direct memory with half its size again of room, edited by PackedEdit.applyInPlace as
 * Segment.editInPlace does, or built into new memory when that refuses (as Segment.putRebuilt: a
 * resize, no room, a compaction). Rows: HDEL and SREM of a random one of the 10,000 names (5,000
 * edits, so about 4,000 removals, from a fresh collection each run), HSET changing a random field's
 * value between 20 and 21 bytes, HSET of a value of the same length. Prints the thread CPU time per
 * edit of three runs after two of warm-up. Works on a jar from before PackedEdit.lengthInPlace (it
 * then uses length(), which was the in-place length). Not run by CI.
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
