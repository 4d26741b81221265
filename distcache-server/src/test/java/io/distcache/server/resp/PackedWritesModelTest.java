package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.ProtocolConstants;
import io.distcache.server.ManualClock;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedIndex;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/*
 * A differential test of the hash and set writes that edit the payload in place (PackedEdit):
 * random HSET/HMSET of 1 to 3 pairs (fields may repeat), HSETNX, HDEL of 1 to 3, HINCRBY, SADD and
 * SREM of 1 to 3 (members may repeat) on a few names, on a node whose limit is 6 elements, each
 * reply compared with what a plain model (an insertion-ordered map and set) says Redis answers,
 * and the whole collection (HGETALL, SMEMBERS in order, EXISTS) after every step. A second run
 * does the same with up to 12 names a command out of 300, in phases that grow and shrink the
 * collections across PackedIndex.INDEXED_ABOVE (128) several times, so the edits through the
 * index, the table's rebuilds and the drop back to the plain layout are compared too. Seeds are
 * fixed, so a failure replays.
 */
/** In-place hash and set writes against a model, with repeated names and the element limit. */
class PackedWritesModelTest {
  private static final String[] NAMES = {"a", "b", "c", "d", "e", "f", "g", "h"};
  private static final int LIMIT = 6;
  private static final String[] MANY_NAMES = new String[300];

  static {
    for (int i = 0; i < MANY_NAMES.length; i++) {
      MANY_NAMES[i] = "n" + i;
    }
  }

  private static String bulk(String s) {
    return "$" + s.length() + "\r\n" + s + "\r\n";
  }

  private static String array(List<String> items) {
    StringBuilder sb = new StringBuilder("*").append(items.size()).append("\r\n");
    items.forEach(i -> sb.append(bulk(i)));
    return sb.toString();
  }

  private static String tooMany(String kind, String key, int size, int limit) {
    String what = kind.equals("hash") ? "fields" : "members";
    return "-ERR " + kind + " '" + key + "' would hold " + size + " " + what + "; the limit is " + limit + " " + what
        + " per " + kind + " (--max-collection-elements)\r\n";
  }

  /**
   * Puts as the store does: where the field was, except in a hash of more than 128 fields (the
   * indexed layout) when the value's length changes, which moves the field last (docs/PROTOCOL.md).
   */
  private static void put(LinkedHashMap<String, String> hash, String field, String value, boolean indexed) {
    String old = hash.get(field);
    if (indexed && old != null && old.length() != value.length()) {
      hash.remove(field);
    }
    hash.put(field, value);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void randomWrites_matchTheModel(long seed) {
    run(seed, NAMES, LIMIT, 3, 500, false);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void randomWrites_acrossTheIndexThreshold_matchTheModel(long seed) {
    run(seed, MANY_NAMES, 1000, 12, 700, true);
  }

  /**
   * {@code steps} random writes of 1 to {@code maxNames} of {@code pool}'s names on a node whose
   * limit is {@code limit} elements; with {@code phases}, runs of 100 steps alternately favour
   * the writes that add and those that remove.
   */
  private static void run(long seed, String[] pool, int limit, int maxNames, int steps, boolean phases) {
    ManualClock clock = new ManualClock();
    Store store = Stores.create(new StoreConfig(16L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
    Random rnd = new Random(seed);
    LinkedHashMap<String, String> hash = new LinkedHashMap<>();
    LinkedHashSet<String> set = new LinkedHashSet<>();
    try (RespChannel resp = new RespChannel(new LocalRouter(new LocalExecutor(store,
        ProtocolConstants.DEFAULT_MAX_FRAME_BYTES, limit)), store, clock)) {
      int crossings = 0;
      for (int step = 0; step < steps; step++) {
        List<String> names = new ArrayList<>();
        for (int i = rnd.nextInt(maxNames); i >= 0; i--) {
          names.add(pool[rnd.nextInt(pool.length)]);
        }
        String command;
        String expected;
        int pick = rnd.nextInt(7);
        if (phases && step / 100 % 2 == 1 && rnd.nextInt(10) < 7) {
          pick = rnd.nextBoolean() ? 3 : 6; // a shrinking phase: mostly HDEL and SREM of names held
          List<String> held = new ArrayList<>(pick == 3 ? hash.keySet() : set);
          for (int i = 0; i < names.size() && !held.isEmpty(); i++) {
            names.set(i, held.get(rnd.nextInt(held.size())));
          }
        }
        boolean hashWasLarge = hash.size() > PackedIndex.INDEXED_ABOVE;
        boolean setWasLarge = set.size() > PackedIndex.INDEXED_ABOVE;
        switch (pick) {
          case 0, 1 -> {
            boolean hmset = rnd.nextBoolean();
            StringBuilder sb = new StringBuilder(hmset ? "HMSET h" : "HSET h");
            LinkedHashMap<String, String> next = new LinkedHashMap<>(hash);
            for (String n : names) {
              String v = Integer.toString(rnd.nextInt(1000));
              sb.append(' ').append(n).append(' ').append(v);
              put(next, n, v, hashWasLarge);
            }
            command = sb.toString();
            if (next.size() > limit) {
              expected = tooMany("hash", "h", Math.max(hash.size(), limit) + 1, limit);
            } else {
              expected = hmset ? "+OK\r\n" : ":" + (next.size() - hash.size()) + "\r\n";
              hash.clear();
              hash.putAll(next);
            }
          }
          case 2 -> {
            String n = names.get(0);
            command = "HSETNX h " + n + " nx";
            if (hash.containsKey(n)) {
              expected = ":0\r\n";
            } else if (hash.size() >= limit) {
              expected = tooMany("hash", "h", hash.size() + 1, limit);
            } else {
              hash.put(n, "nx");
              expected = ":1\r\n";
            }
          }
          case 3 -> {
            command = "HDEL h " + String.join(" ", names);
            int removed = 0;
            for (String n : names) {
              removed += hash.remove(n) != null ? 1 : 0;
            }
            expected = ":" + removed + "\r\n";
          }
          case 4 -> {
            String n = names.get(0);
            command = "HINCRBY h " + n + " 3";
            String old = hash.get(n);
            if (old != null && !old.matches("-?\\d+")) {
              expected = "-ERR hash value is not an integer\r\n";
            } else if (old == null && hash.size() >= limit) {
              expected = tooMany("hash", "h", hash.size() + 1, limit);
            } else {
              String v = Long.toString((old == null ? 0 : Long.parseLong(old)) + 3);
              put(hash, n, v, hashWasLarge);
              expected = ":" + v + "\r\n";
            }
          }
          case 5 -> {
            command = "SADD s " + String.join(" ", names);
            LinkedHashSet<String> next = new LinkedHashSet<>(set);
            next.addAll(names);
            if (next.size() > limit) {
              expected = tooMany("set", "s", Math.max(set.size(), limit) + 1, limit);
            } else {
              expected = ":" + (next.size() - set.size()) + "\r\n";
              set.clear();
              set.addAll(next);
            }
          }
          default -> {
            command = "SREM s " + String.join(" ", names);
            int removed = 0;
            for (String n : names) {
              removed += set.remove(n) ? 1 : 0;
            }
            expected = ":" + removed + "\r\n";
          }
        }
        assertThat(resp.send(command)).as("step %s: %s", step, command).isEqualTo(expected);
        crossings += hashWasLarge != hash.size() > PackedIndex.INDEXED_ABOVE ? 1 : 0;
        crossings += setWasLarge != set.size() > PackedIndex.INDEXED_ABOVE ? 1 : 0;
        List<String> flat = new ArrayList<>();
        for (Map.Entry<String, String> e : hash.entrySet()) {
          flat.add(e.getKey());
          flat.add(e.getValue());
        }
        assertThat(resp.send("HGETALL h", "SMEMBERS s", "EXISTS h s")).as("after step %s: %s", step, command)
            .isEqualTo(array(flat) + array(new ArrayList<>(set)) + ":" + ((hash.isEmpty() ? 0 : 1) + (set.isEmpty() ? 0 : 1))
                + "\r\n");
      }
      if (phases) {
        assertThat(crossings).as("times a collection crossed the index threshold").isGreaterThanOrEqualTo(4);
      }
    } finally {
      store.close();
    }
  }
}
