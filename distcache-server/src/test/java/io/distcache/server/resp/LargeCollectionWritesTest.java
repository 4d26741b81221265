package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedPayloads;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/*
 * SPOP, SMOVE and the writes naming more than 16 fields or members (HSET, HDEL, SADD, SREM) on
 * hashes and sets of more than 128 elements (issue 13): each is an edit of the payload where the
 * store keeps it (Store.editPacked), never a whole-value read (getTyped) and write (putTyped) of the
 * collection, and a removal leaves dead runs in the payload rather than a rebuilt one. A
 * differential run compares every reply and the whole collections (in order) with a model, SPOP's
 * members learnt from its replies. The store is wrapped in a proxy that counts the calls by name.
 */
/** Large hashes and sets: SPOP, SMOVE and many-name writes in place, against a model. */
class LargeCollectionWritesTest {
  private final ManualClock clock = new ManualClock();
  private final Store real = Stores.create(new StoreConfig(64L << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final Store store = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class},
      (proxy, method, args) -> {
        calls.computeIfAbsent(method.getName(), n -> new AtomicInteger()).incrementAndGet();
        try {
          return method.invoke(real, args);
        } catch (InvocationTargetException e) {
          throw e.getCause();
        }
      });
  private final RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store,
      ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, 1_000_000)), store, clock);

  @AfterEach
  void close() {
    resp.close();
    real.close();
  }

  private int calls(String method) {
    AtomicInteger n = calls.get(method);
    return n == null ? 0 : n.get();
  }

  /** Loads {@code key} with {@code n} members (a set) or fields (a hash), 100 a command. */
  private void load(String verb, String key, String prefix, int n) {
    for (int i = 0; i < n; i += 100) {
      StringBuilder sb = new StringBuilder(verb).append(' ').append(key);
      for (int j = i; j < Math.min(n, i + 100); j++) {
        sb.append(' ').append(prefix).append(j);
        if (verb.equals("HSET")) {
          sb.append(" value-").append(j);
        }
      }
      resp.send(sb.toString());
    }
  }

  private static String names(String prefix, int from, int count) {
    StringBuilder sb = new StringBuilder();
    for (int i = from; i < from + count; i++) {
      sb.append(' ').append(prefix).append(i);
    }
    return sb.toString();
  }

  /** The whole-value reads and writes of a collection the decoding path makes. */
  private int wholeValueCalls() {
    return calls("getTyped") + calls("putTyped") + calls("putTypedWithoutFieldTimes");
  }

  private byte[] payload(String key) {
    return real.peekEntry(key.getBytes(StandardCharsets.UTF_8)).value();
  }

  @Test
  void spopSmoveAndManyNameWrites_onLargeCollections_editInPlace_withoutAWholeValueReadOrWrite() {
    load("SADD", "{k}s", "m", 10_000);
    load("SADD", "{k}t", "t", 10_000);
    load("HSET", "h", "f", 10_000);
    calls.clear();

    assertThat(resp.send("SREM {k}s" + names("m", 5000, 17))).isEqualTo(":17\r\n");
    assertThat(PackedPayloads.deadBytes(payload("{k}s"), false)).as("17 members left dead where they were")
        .isPositive();
    assertThat(resp.send("HDEL h" + names("f", 5000, 17))).isEqualTo(":17\r\n");
    assertThat(PackedPayloads.deadBytes(payload("h"), true)).as("17 fields left dead where they were").isPositive();
    assertThat(resp.send("SADD {k}s" + names("n", 0, 17))).isEqualTo(":17\r\n");
    StringBuilder hset = new StringBuilder("HSET h");
    for (int i = 0; i < 17; i++) {
      hset.append(" f").append(i).append(" value-x").append(i % 10); // the same length: written where they are
    }
    assertThat(resp.send(hset.toString())).isEqualTo(":0\r\n");
    assertThat(wholeValueCalls()).as("many-name writes: " + calls).isZero();

    assertThat(resp.send("SPOP {k}s")).startsWith("$");
    assertThat(resp.send("SPOP {k}s 10")).startsWith("*10\r\n");
    assertThat(resp.send("SCARD {k}s")).isEqualTo(":" + (10_000 - 17 + 17 - 11) + "\r\n");
    assertThat(wholeValueCalls()).as("SPOP: " + calls).isZero();

    assertThat(resp.send("SRANDMEMBER {k}s")).startsWith("$");
    String distinct = resp.send("SRANDMEMBER {k}s 50");
    assertThat(distinct).startsWith("*50\r\n");
    assertThat(new java.util.HashSet<>(java.util.Arrays.asList(distinct.split("\r\n")))).as("50 distinct members")
        .hasSizeGreaterThanOrEqualTo(51);
    assertThat(resp.send("SRANDMEMBER {k}s -60")).startsWith("*60\r\n");
    assertThat(resp.send("SCARD {k}s")).as("SRANDMEMBER removes nothing").isEqualTo(":" + (10_000 - 11) + "\r\n");
    assertThat(wholeValueCalls()).as("SRANDMEMBER: " + calls).isZero();

    assertThat(resp.send("SMOVE {k}s {k}t m1", "SMOVE {k}s {k}t m1", "SMOVE {k}s {k}new m2"))
        .isEqualTo(":1\r\n:0\r\n:1\r\n");
    assertThat(wholeValueCalls()).as("SMOVE: " + calls).isZero();
    assertThat(calls("editPacked")).isGreaterThanOrEqualTo(8);
    assertThat(resp.send("SISMEMBER {k}t m1", "SISMEMBER {k}s m1", "SCARD {k}t", "SMEMBERS {k}new"))
        .isEqualTo(":1\r\n:0\r\n:10001\r\n" + RespChannel.bulks("m2"));
    assertThat(resp.send("SRANDMEMBER nokey 3", "SRANDMEMBER nokey")).isEqualTo("*0\r\n$-1\r\n");
  }

  @Test
  void manyNameReadsAndRandomFields_onLargeCollections_readInPlace_withoutAWholeValueCopy() {
    load("SADD", "s", "m", 10_000);
    load("HSET", "h", "f", 10_000);
    calls.clear();

    // 20 names, two absent, one given twice: each through the offset table, not a copy and decode
    String fields = names("f", 4990, 17) + " nof1 f4990 nof2";
    List<String> want = new ArrayList<>();
    for (String f : fields.trim().split(" ")) {
      want.add(f.startsWith("no") ? null : "value-" + f.substring(1));
    }
    String reply = resp.send("HMGET h" + fields);
    assertThat(reply).startsWith("*20\r\n").contains("$-1\r\n");
    List<String> got = new ArrayList<>();
    for (String line : reply.split("\r\n")) {
      if (line.equals("$-1")) {
        got.add(null);
      } else if (!line.startsWith("$") && !line.startsWith("*")) {
        got.add(line);
      }
    }
    assertThat(got).isEqualTo(want);
    assertThat(resp.send("SMISMEMBER s" + names("m", 9990, 18) + " m3 nothere"))
        .isEqualTo("*20\r\n" + ":1\r\n".repeat(10) + ":0\r\n".repeat(8) + ":1\r\n:0\r\n");
    assertThat(wholeValueCalls()).as("HMGET and SMISMEMBER of 20: " + calls).isZero();

    // A sorted set has no offset table: ZMSCORE of more than 16 names is one walk of the payload
    // where it lies (a table of the names), not a copy and decode.
    StringBuilder zadd = new StringBuilder("ZADD z");
    for (int i = 0; i < 1000; i++) {
      zadd.append(' ').append(i).append(" z").append(i);
    }
    resp.send(zadd.toString());
    calls.clear();
    assertThat(resp.send("ZMSCORE z" + names("z", 990, 17) + " noz z990 z999"))
        .isEqualTo("*20\r\n" + java.util.stream.IntStream.range(990, 1000).mapToObj(i -> "$3\r\n" + i + "\r\n")
            .collect(java.util.stream.Collectors.joining()) + "$-1\r\n".repeat(8) + "$3\r\n990\r\n$3\r\n999\r\n");
    assertThat(wholeValueCalls()).as("ZMSCORE of 20: " + calls).isZero();

    assertThat(resp.send("HRANDFIELD h")).matches("\\$\\d+\r\nf\\d+\r\n");
    List<String> five = parse(resp.send("HRANDFIELD h 5 WITHVALUES"));
    assertThat(five).hasSize(10);
    for (int i = 0; i < 10; i += 2) {
      assertThat(five.get(i + 1)).as("the value of %s", five.get(i)).isEqualTo("value-" + five.get(i).substring(1));
    }
    assertThat(List.of(five.get(0), five.get(2), five.get(4), five.get(6), five.get(8))).doesNotHaveDuplicates();
    List<String> repeats = parse(resp.send("HRANDFIELD h -3000"));
    assertThat(repeats).hasSize(3000).allMatch(f -> f.matches("f\\d+"));
    assertThat(new java.util.HashSet<>(repeats)).as("3,000 independent draws of 10,000 repeat some").hasSizeLessThan(3000);
    List<String> pairs = parse(resp.send("HRANDFIELD h -4 WITHVALUES"));
    assertThat(pairs).hasSize(8);
    assertThat(pairs.get(1)).isEqualTo("value-" + pairs.get(0).substring(1));
    assertThat(resp.send("HRANDFIELD nokey", "HRANDFIELD nokey -3", "HRANDFIELD h 0")).isEqualTo("$-1\r\n*0\r\n*0\r\n");
    assertThat(wholeValueCalls()).as("HRANDFIELD: " + calls).isZero();
    assertThat(resp.send("HLEN h")).isEqualTo(":10000\r\n");
  }

  /*
   * A write that leaves the edit in place to the decoding path (more than 16 names on a small
   * collection, a hash with field expiry times) and SRANDMEMBER on a small set each read the key
   * once: one keyspace hit or miss, as every other collection command (editPacked counted its look
   * and the decoding path its own read: two).
   */
  @Test
  void commandsThatTakeTheDecodingPath_countOneKeyspaceHitOrMiss() {
    load("SADD", "s", "m", 10);
    load("HSET", "h", "f", 10);
    resp.send("HPEXPIRE h 100000 FIELDS 1 f0");
    long hits = real.stats().hits();
    long misses = real.stats().misses();

    assertThat(resp.send("SADD s" + names("n", 0, 17), "SREM s" + names("n", 0, 17), "HSET h f1 x", "HDEL h f2",
        "SRANDMEMBER s 3", "SRANDMEMBER s -3", "HRANDFIELD h 2", "HMGET h" + names("f", 0, 17)))
        .startsWith(":17\r\n:17\r\n:0\r\n:1\r\n*3\r\n");
    assertThat(real.stats().hits() - hits).as("8 commands on present keys").isEqualTo(8);
    assertThat(resp.send("SADD t" + names("n", 0, 17), "SRANDMEMBER nokey 2", "HMGET nokey" + names("f", 0, 17)))
        .startsWith(":17\r\n*0\r\n");
    assertThat(real.stats().misses() - misses).as("3 commands on absent keys").isEqualTo(3);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void randomWritesOnLargeCollections_matchTheModel(long seed) {
    Random rnd = new Random(seed);
    LinkedHashSet<String> s = new LinkedHashSet<>();
    LinkedHashSet<String> t = new LinkedHashSet<>();
    LinkedHashMap<String, String> h = new LinkedHashMap<>();
    load("SADD", "{k}s", "m", 1000);
    load("SADD", "{k}t", "m", 300);
    load("HSET", "h", "m", 1000);
    for (int i = 0; i < 1000; i++) {
      s.add("m" + i);
      h.put("m" + i, "value-" + i);
    }
    for (int i = 0; i < 300; i++) {
      t.add("m" + i);
    }
    for (int step = 0; step < 300; step++) {
      List<String> names = new ArrayList<>();
      for (int k = rnd.nextInt(40); k >= 0; k--) {
        names.add("m" + rnd.nextInt(1500)); // repeats among them
      }
      String command;
      String expected = null;
      int pick = rnd.nextInt(8);
      switch (pick) {
        case 0 -> {
          command = "SADD {k}s " + String.join(" ", names);
          int before = s.size();
          s.addAll(names);
          expected = ":" + (s.size() - before) + "\r\n";
        }
        case 1 -> {
          command = "SREM {k}s " + String.join(" ", names);
          int before = s.size();
          names.forEach(s::remove);
          expected = ":" + (before - s.size()) + "\r\n";
        }
        case 2 -> {
          StringBuilder sb = new StringBuilder("HSET h");
          int before = h.size();
          for (String n : names) {
            String v = "v".repeat(rnd.nextInt(3));
            sb.append(' ').append(n).append(' ').append(v.isEmpty() ? "e" : v);
            String value = v.isEmpty() ? "e" : v;
            String old = h.get(n);
            if (old != null && old.length() != value.length()) {
              h.remove(n); // a large hash's field whose value changes length moves last (docs/PROTOCOL.md)
            }
            h.put(n, value);
          }
          command = sb.toString();
          expected = ":" + (h.size() - before) + "\r\n";
        }
        case 3 -> {
          command = "HDEL h " + String.join(" ", names);
          int before = h.size();
          names.forEach(h::remove);
          expected = ":" + (before - h.size()) + "\r\n";
        }
        case 4 -> command = "SPOP {k}s";
        case 5 -> command = "SPOP {k}s " + rnd.nextInt(30);
        default -> {
          String m = names.get(0);
          boolean forward = rnd.nextBoolean();
          LinkedHashSet<String> from = forward ? s : t;
          LinkedHashSet<String> to = forward ? t : s;
          command = forward ? "SMOVE {k}s {k}t " + m : "SMOVE {k}t {k}s " + m;
          if (from.remove(m)) {
            to.add(m);
            expected = ":1\r\n";
          } else {
            expected = ":0\r\n";
          }
        }
      }
      String reply = resp.send(command);
      if (pick == 4 || pick == 5) {
        List<String> popped = parse(reply);
        int asked = pick == 4 ? 1 : Integer.parseInt(command.substring(command.lastIndexOf(' ') + 1));
        assertThat(popped).as("step %s: %s", step, command).hasSize(Math.min(asked, s.size()))
            .doesNotHaveDuplicates();
        assertThat(s).as("step %s: %s popped members of the set", step, command).containsAll(popped);
        popped.forEach(s::remove);
      } else {
        assertThat(reply).as("step %s: %s", step, command).isEqualTo(expected);
      }
      List<String> flat = new ArrayList<>();
      h.forEach((k, v) -> {
        flat.add(k);
        flat.add(v);
      });
      assertThat(resp.send("SMEMBERS {k}s", "SMEMBERS {k}t", "HGETALL h")).as("after step %s: %s", step, command)
          .isEqualTo(RespChannel.bulks(s.toArray(String[]::new)) + RespChannel.bulks(t.toArray(String[]::new))
              + RespChannel.bulks(flat.toArray(String[]::new)));
    }
    assertThat(s.size()).as("the set stayed large").isGreaterThan(128);
  }

  /** The members of a RESP2 bulk string ($-1: none) or array of bulk strings. */
  private static List<String> parse(String reply) {
    List<String> out = new ArrayList<>();
    String[] lines = reply.split("\r\n", -1);
    if (lines[0].startsWith("$")) {
      if (!lines[0].equals("$-1")) {
        out.add(lines[1]);
      }
      return out;
    }
    assertThat(lines[0]).startsWith("*");
    int n = Integer.parseInt(lines[0].substring(1));
    for (int i = 0; i < n; i++) {
      out.add(lines[2 + 2 * i]);
    }
    return out;
  }
}
