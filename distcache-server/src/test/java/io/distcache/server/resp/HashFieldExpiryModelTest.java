package io.distcache.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import io.distcache.server.cluster.FieldExpirySweeper;
import io.distcache.server.cluster.LocalExecutor;
import io.distcache.server.cluster.LocalRouter;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/*
 * A differential test of hash field expiry: random HSET, HSETNX, HDEL, HINCRBY, HSETEX, HGETDEL, HGETEX, HEXPIRE (every
 * unit and condition, past times included), HPERSIST, sweeps and clock moves on a few fields,
 * each reply compared with what a plain model (an insertion-ordered map and a map of absolute
 * times) says Redis answers, and the whole hash (HGETALL in order, HPTTL of every field) compared
 * after every step. Seeds are fixed, so a failure replays. Large: the hash also holds 200 fields
 * the commands never name, 40 of them with times that come during the run, so it stays past
 * INDEXED_ABOVE and is kept indexed with its times beside the table (PackedIndex.VERSION_TIMED):
 * its writes are edits through the table while no time has come and decode once one has. Its
 * order is not Redis's listpack order there (a field whose value changes length moves last,
 * docs/PROTOCOL.md), so the whole hash is compared as a map.
 */
/** Hash field expiry against a model of Redis's rules, with random commands and a moving clock. */
class HashFieldExpiryModelTest {
  private static final String[] FIELDS = {"a", "b", "c", "d"};
  private static final String[] CONDITIONS = {"", "NX", "XX", "GT", "LT"};

  private final LinkedHashMap<String, String> values = new LinkedHashMap<>();
  private final Map<String, Long> times = new LinkedHashMap<>();
  private ManualClock clock;

  private void expireModel() {
    for (Iterator<Map.Entry<String, Long>> it = times.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Long> t = it.next();
      if (t.getValue() <= clock.millis()) {
        values.remove(t.getKey());
        it.remove();
      }
    }
  }

  private static String ints(List<Long> values) {
    StringBuilder sb = new StringBuilder("*").append(values.size()).append("\r\n");
    for (long v : values) {
      sb.append(':').append(v).append("\r\n");
    }
    return sb.toString();
  }

  /** The field-value pairs of a RESP2 HGETALL reply. */
  private static Map<String, String> pairs(String reply) {
    String[] lines = reply.split("\r\n");
    Map<String, String> out = new java.util.HashMap<>();
    for (int i = 1; i + 3 < lines.length; i += 4) { // $len, field, $len, value
      out.put(lines[i + 1], lines[i + 3]);
    }
    return out;
  }

  private static String bulk(String s) {
    return "$" + s.length() + "\r\n" + s + "\r\n";
  }

  @ParameterizedTest
  @CsvSource({"1,false", "2,false", "3,false", "4,false", "5,false", "6,false", "7,false", "8,false",
      "1,true", "2,true", "3,true", "4,true", "5,true", "6,true"})
  void randomCommands_matchTheModel(long seed, boolean large) {
    clock = new ManualClock();
    Store store = Stores.create(new StoreConfig(64L * 1024 * 1024, 1024 * 1024, EvictionPolicy.ALLKEYS_LRU, clock));
    LocalRouter router = new LocalRouter(new LocalExecutor(store));
    Random rnd = new Random(seed);
    try (RespChannel resp = new RespChannel(router, store, clock);
        FieldExpirySweeper sweeper = new FieldExpirySweeper(store, router, key -> true)) {
      if (large) {
        StringBuilder hset = new StringBuilder("HSET h");
        for (int i = 0; i < 200; i++) {
          hset.append(" p").append(i).append(" x").append(i);
          values.put("p" + i, "x" + i);
        }
        resp.send(hset.toString());
        for (int i = 0; i < 40; i++) {
          long ms = 1 + rnd.nextInt(30_000);
          resp.send("HPEXPIRE h " + ms + " FIELDS 1 p" + i);
          times.put("p" + i, clock.millis() + ms);
        }
      }
      for (int step = 0; step < 400; step++) {
        String f = FIELDS[rnd.nextInt(FIELDS.length)];
        String g = FIELDS[rnd.nextInt(FIELDS.length)];
        int op = rnd.nextInt(13);
        expireModel();
        String command;
        String expected;
        switch (op) {
          case 0, 1 -> {
            String v = Integer.toString(rnd.nextInt(100));
            command = "HSET h " + f + " " + v;
            expected = ":" + (values.containsKey(f) ? 0 : 1) + "\r\n";
            values.put(f, v);
            times.remove(f);
          }
          case 2 -> {
            command = "HSETNX h " + f + " 7";
            boolean absent = !values.containsKey(f);
            expected = ":" + (absent ? 1 : 0) + "\r\n";
            if (absent) {
              values.put(f, "7");
              times.remove(f);
            }
          }
          case 3 -> {
            command = "HDEL h " + f;
            expected = ":" + (values.remove(f) != null ? 1 : 0) + "\r\n";
            times.remove(f);
          }
          case 4 -> {
            command = "HINCRBY h " + f + " 1";
            long next = Long.parseLong(values.getOrDefault(f, "0")) + 1;
            values.put(f, Long.toString(next));
            expected = ":" + next + "\r\n";
          }
          case 5, 6, 7 -> {
            String cond = CONDITIONS[rnd.nextInt(CONDITIONS.length)];
            int unit = rnd.nextInt(4); // HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT
            long now = clock.millis();
            long amount;
            long at;
            String name;
            if (unit == 0) {
              amount = rnd.nextInt(4);
              at = now + amount * 1000;
              name = "HEXPIRE";
            } else if (unit == 1) {
              amount = rnd.nextInt(3000);
              at = now + amount;
              name = "HPEXPIRE";
            } else if (unit == 2) {
              amount = now / 1000 + rnd.nextInt(4) - 1;
              at = amount * 1000;
              name = "HEXPIREAT";
            } else {
              amount = now + rnd.nextInt(3000) - 500;
              at = amount;
              name = "HPEXPIREAT";
            }
            command = name + " h " + amount + (cond.isEmpty() ? "" : " " + cond) + " FIELDS 2 " + f + " " + g;
            List<Long> codes = new ArrayList<>();
            for (String field : new String[] {f, g}) {
              if (!values.containsKey(field)) {
                codes.add(-2L);
                continue;
              }
              Long current = times.get(field);
              boolean holds = switch (cond) {
                case "NX" -> current == null;
                case "XX" -> current != null;
                case "GT" -> current != null && at > current;
                case "LT" -> current == null || at < current;
                default -> true;
              };
              if (!holds) {
                codes.add(0L);
              } else if (at <= now) {
                values.remove(field);
                times.remove(field);
                codes.add(2L);
              } else {
                times.put(field, at);
                codes.add(1L);
              }
            }
            expected = ints(codes);
          }
          case 8 -> {
            command = "HPERSIST h FIELDS 1 " + f;
            long code = !values.containsKey(f) ? -2 : times.remove(f) == null ? -1 : 1;
            expected = ints(List.of(code));
          }
          case 9 -> {
            String cond = new String[] {"", "FNX", "FXX"}[rnd.nextInt(3)];
            int option = rnd.nextInt(4); // none, PX, PXAT (past times too), KEEPTTL
            long now = clock.millis();
            long at = 0;
            String words = cond.isEmpty() ? "" : " " + cond;
            if (option == 1) {
              long ms = rnd.nextInt(3000);
              at = now + ms;
              words += " PX " + ms;
            } else if (option == 2) {
              at = now + rnd.nextInt(3000) - 500;
              words += " PXAT " + at;
            } else if (option == 3) {
              words += " KEEPTTL";
            }
            command = "HSETEX h" + words + " FIELDS 2 " + f + " 1 " + g + " 2";
            boolean holds = switch (cond) {
              case "FNX" -> !values.containsKey(f) && !values.containsKey(g);
              case "FXX" -> values.containsKey(f) && values.containsKey(g);
              default -> true;
            };
            if (holds) {
              String[][] pairs = {{f, "1"}, {g, "2"}};
              for (String[] pair : pairs) {
                values.put(pair[0], pair[1]);
                if (option == 1 || option == 2) {
                  if (at <= now) {
                    values.remove(pair[0]);
                    times.remove(pair[0]);
                  } else {
                    times.put(pair[0], at);
                  }
                } else if (option == 0) {
                  times.remove(pair[0]);
                }
              }
            }
            expected = ":" + (holds ? 1 : 0) + "\r\n";
          }
          case 10 -> {
            command = "HGETDEL h FIELDS 1 " + f;
            String v = values.remove(f);
            times.remove(f);
            expected = "*1\r\n" + (v == null ? "$-1\r\n" : bulk(v));
          }
          case 11 -> {
            int option = rnd.nextInt(3); // none, PERSIST, PX (0 included: now, which deletes)
            long ms = rnd.nextInt(3000);
            command = "HGETEX h" + (option == 1 ? " PERSIST" : option == 2 ? " PX " + ms : "") + " FIELDS 1 " + f;
            String v = values.get(f);
            expected = "*1\r\n" + (v == null ? "$-1\r\n" : bulk(v));
            if (v != null && option == 1) {
              times.remove(f);
            } else if (v != null && option == 2) {
              if (ms == 0) {
                values.remove(f);
                times.remove(f);
              } else {
                times.put(f, clock.millis() + ms);
              }
            }
          }
          default -> {
            if (rnd.nextBoolean()) {
              sweeper.sweepOnce();
            }
            clock.advanceMillis(rnd.nextInt(1500));
            command = null;
            expected = null;
          }
        }
        if (command != null) {
          assertThat(resp.send(command)).as("seed %d step %d: %s", seed, step, command).isEqualTo(expected);
        }
        expireModel();
        StringBuilder all = new StringBuilder("*").append(values.size() * 2).append("\r\n");
        List<Long> ttls = new ArrayList<>();
        for (Map.Entry<String, String> e : values.entrySet()) {
          all.append(bulk(e.getKey())).append(bulk(e.getValue()));
        }
        for (String field : FIELDS) {
          Long at = times.get(field);
          ttls.add(!values.containsKey(field) ? -2 : at == null ? -1 : at - clock.millis());
        }
        if (large) {
          StringBuilder named = new StringBuilder("*4\r\n");
          for (String field : FIELDS) {
            named.append(values.containsKey(field) ? bulk(values.get(field)) : "$-1\r\n");
          }
          assertThat(resp.send("HMGET h a b c d", "HPTTL h FIELDS 4 a b c d", "HLEN h"))
              .as("seed %d step %d after %s", seed, step, command)
              .isEqualTo(named + ints(ttls) + ":" + values.size() + "\r\n");
          if (step % 40 == 0) {
            assertThat(pairs(resp.send("HGETALL h"))).as("seed %d step %d: the whole hash", seed, step)
                .isEqualTo(values);
            List<Long> fillerTtls = new ArrayList<>();
            StringBuilder hpttl = new StringBuilder("HPTTL h FIELDS 40");
            for (int i = 0; i < 40; i++) {
              hpttl.append(" p").append(i);
              Long at = times.get("p" + i);
              fillerTtls.add(!values.containsKey("p" + i) ? -2 : at == null ? -1 : at - clock.millis());
            }
            assertThat(resp.send(hpttl.toString())).as("seed %d step %d: the fillers' times", seed, step)
                .isEqualTo(ints(fillerTtls));
          }
          continue;
        }
        assertThat(resp.send("HGETALL h", "HPTTL h FIELDS 4 a b c d", "HLEN h"))
            .as("seed %d step %d after %s", seed, step, command)
            .isEqualTo(all + ints(ttls) + ":" + values.size() + "\r\n");
      }
    } finally {
      store.close();
    }
  }
}
