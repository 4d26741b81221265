package io.distcache.server.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.server.ManualClock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Random operation sequences run against the off-heap store and the reference store side by side
 * on one manual clock, under each of the eight policies; every answer must match, OBJECT IDLETIME's
 * (idleSeconds) included. The bound is large enough that neither evicts, so the two must agree
 * exactly (what each policy evicts: EvictionPoliciesTest). Versions differ between implementations, so compare-and-set is
 * driven with each store's own current (or a stale) version.
 */
class OffHeapStoreDifferentialTest {

  @Property(tries = 150)
  void randomOperations_answerLikeTheReference(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 400) int steps, @ForAll EvictionPolicy policy) {
    ManualClock clock = new ManualClock();
    StoreConfig config = new StoreConfig(64L << 20, 4096, policy, clock);
    try (OffHeapStore actual = new OffHeapStore(config);
        ReferenceStore expected = new ReferenceStore(config)) {
      Random rnd = new Random(seed);
      for (int step = 0; step < steps; step++) {
        int op = rnd.nextInt(20);
        byte[] k = key(rnd);
        byte[] v = value(rnd);
        long at = rnd.nextInt(4) == 0 ? Store.NO_EXPIRY : clock.millis() + rnd.nextInt(50) - 5;
        String what = "step " + step + " op " + op + " key " + new String(k, UTF_8);
        switch (op) {
          case 0:
            same(what, actual, expected, s -> Arrays.toString(s.get(k)));
            break;
          case 1:
            {
              SetArgs.Condition c = SetArgs.Condition.values()[rnd.nextInt(3)];
              SetArgs args = new SetArgs(c, Math.max(0, at), rnd.nextBoolean(), rnd.nextBoolean());
              same(what, actual, expected, s -> describe(s.set(k, v, args)));
              break;
            }
          case 2:
            same(what, actual, expected, s -> s.delete(k));
            break;
          case 3:
            same(what, actual, expected, s -> Arrays.toString(s.getAndDelete(k)));
            break;
          case 4:
            {
              long delta = rnd.nextInt(7) - 3;
              same(what, actual, expected, s -> s.incrementBy(k, delta));
              break;
            }
          case 5:
            {
              double d = rnd.nextInt(100) / 10.0;
              same(what, actual, expected, s -> Arrays.toString(s.incrementByFloat(k, d)));
              break;
            }
          case 6:
            same(what, actual, expected, s -> s.append(k, v));
            break;
          case 7:
            {
              long off = rnd.nextInt(20);
              same(what, actual, expected, s -> s.setRange(k, off, v));
              break;
            }
          case 8:
            {
              long a = rnd.nextInt(30) - 15;
              long b = rnd.nextInt(30) - 15;
              same(what, actual, expected, s -> Arrays.toString(s.getRange(k, a, b)));
              break;
            }
          case 9:
            {
              ExpireCondition c = ExpireCondition.values()[rnd.nextInt(5)];
              long when = Math.max(0, at);
              same(what, actual, expected, s -> s.expireAt(k, when, c));
              break;
            }
          case 10:
            same(what, actual, expected, s -> s.persist(k));
            break;
          case 11:
            same(what, actual, expected, s -> s.ttlMillis(k) + "/" + s.expireTimeMillis(k));
            break;
          case 12:
            {
              boolean stale = rnd.nextBoolean();
              same(what, actual, expected, s -> {
                StoredEntry e = s.getEntry(k);
                long version = e == null ? 1 : e.version() + (stale ? 1 : 0);
                CasResult r = s.compareAndSet(k, version, v, Math.max(0, at));
                return r.outcome() + (e == null ? "" : ":" + Arrays.toString(e.value()) + "@" + e.expireAtMillis());
              });
              break;
            }
          case 13:
            {
              List<byte[]> ks = List.of(k, key(rnd));
              List<byte[]> vs = List.of(v, value(rnd));
              if (rnd.nextBoolean()) {
                same(what, actual, expected, s -> s.setAllIfAbsent(ks, vs));
              } else {
                long when = Math.max(0, at);
                same(what, actual, expected, s -> {
                  s.setAll(ks, vs, when);
                  return "ok";
                });
              }
              break;
            }
          case 14:
            {
              List<byte[]> ks = List.of(k, key(rnd), key(rnd));
              same(what, actual, expected, s -> s.getAll(ks).stream().map(Arrays::toString).toList().toString());
              break;
            }
          case 15:
            same(what, actual, expected, s -> s.strlen(k) + "/" + s.exists(k) + "/" + s.idleSeconds(k));
            break;
          case 16:
            // now and then whole seconds, so idle times differ between keys
            clock.advanceMillis(rnd.nextInt(8) == 0 ? rnd.nextInt(3000) : rnd.nextInt(20));
            break;
          case 17:
            // size() may count expired entries not yet removed, and when they go differs: compare
            // the live entries
            same(what, actual, expected, s -> keys(s));
            break;
          case 18:
            if (rnd.nextInt(10) == 0) {
              same(what, actual, expected, s -> {
                s.flush();
                return s.size();
              });
            }
            break;
          default:
            {
              byte[] r = actual.randomKey();
              assertThat(r == null ? null : new String(r, UTF_8)).as(what).isIn(withNull(keys(expected)));
            }
        }
        assertThat(actual.validate()).as(what).isNull();
      }
      same("end", actual, expected, s -> keys(s) + "/" + s.stats().hits() + "/" + s.stats().misses());
    }
  }

  /**
   * Large strings (issue 16): APPEND and SETRANGE written where the value lies or into a new buffer
   * with room, the old values of SET GET and GETDEL lent, suffixes from buffers. 8 MiB: 8 KiB
   * pages, so entries from 2 KiB are large; values up to 64 KiB, so appends reach the limit.
   */
  @Property(tries = 100)
  void randomLargeStringEdits_answerLikeTheReference(
      @ForAll long seed, @ForAll @IntRange(min = 1, max = 300) int steps, @ForAll EvictionPolicy policy) {
    ManualClock clock = new ManualClock();
    StoreConfig config = new StoreConfig(8L << 20, 64 * 1024, policy, clock);
    List<io.netty.buffer.ByteBuf> buffers = new ArrayList<>();
    try (OffHeapStore actual = new OffHeapStore(config);
        ReferenceStore expected = new ReferenceStore(config)) {
      Random rnd = new Random(seed);
      for (int step = 0; step < steps; step++) {
        int op = rnd.nextInt(9);
        byte[] k = ("k" + rnd.nextInt(6)).getBytes(UTF_8);
        byte[] v = StoreTestValues.value(rnd.nextInt(4) == 0 ? rnd.nextInt(100) : rnd.nextInt(20_000), step);
        long at = rnd.nextInt(3) == 0 ? clock.millis() + rnd.nextInt(50) : Store.NO_EXPIRY;
        String what = "step " + step + " op " + op + " key " + new String(k, UTF_8) + " length " + v.length;
        switch (op) {
          case 0 -> same(what, actual, expected, s -> s.append(k, v));
          case 1 -> same(what, actual, expected, s -> s.append(k, StoreTestValues.buffered(v, buffers)));
          case 2 -> {
            long off = rnd.nextInt(3) == 0 ? rnd.nextInt(70_000) : rnd.nextInt(30_000);
            same(what, actual, expected, s -> s.setRange(k, off, v));
          }
          case 3 -> {
            SetArgs args = new SetArgs(SetArgs.Condition.values()[rnd.nextInt(3)], at, false, true);
            boolean fromBuffer = rnd.nextBoolean();
            same(what, actual, expected, s -> {
              StringBuilder lent = new StringBuilder();
              SetResult r = s.setLendingPrevious(k, fromBuffer ? null : v,
                  fromBuffer ? StoreTestValues.buffered(v, buffers) : null, args, view -> lent.append(bytes(view)));
              return r.written() + ":" + (r.previous() == SetResult.LENT) + ":" + lent;
            });
          }
          case 4 -> same(what, actual, expected, s -> {
            StringBuilder lent = new StringBuilder();
            return s.getAndDelete(k, view -> lent.append(bytes(view))) + ":" + lent;
          });
          case 5 -> same(what, actual, expected, s -> s.expireAt(k, at == Store.NO_EXPIRY ? clock.millis() + 1_000 : at,
              ExpireCondition.ALWAYS));
          case 6 -> clock.advanceMillis(rnd.nextInt(30));
          case 7 -> same(what, actual, expected, s -> s.ttlMillis(k) + "/" + s.strlen(k));
          default -> same(what, actual, expected, s -> Arrays.hashCode(s.get(k)));
        }
        assertThat(actual.validate()).as(what).isNull();
      }
      same("end", actual, expected, s -> keys(s));
    } finally {
      buffers.forEach(io.netty.buffer.ByteBuf::release);
    }
  }

  /** A lent view's bytes, summarised (length and hash). */
  private static String bytes(java.nio.ByteBuffer view) {
    byte[] b = new byte[view.remaining()];
    view.get(b);
    return b.length + "#" + Arrays.hashCode(b);
  }

  private static byte[] key(Random rnd) {
    return ("k" + rnd.nextInt(12)).getBytes(UTF_8);
  }

  private static byte[] value(Random rnd) {
    switch (rnd.nextInt(4)) {
      case 0:
        return Integer.toString(rnd.nextInt(200) - 100).getBytes(UTF_8);
      case 1:
        return new byte[0];
      case 2:
        return new byte[rnd.nextInt(3000)];
      default:
        return ("v" + rnd.nextInt(1000)).getBytes(UTF_8);
    }
  }

  private static String describe(SetResult r) {
    return r.written() + ":" + Arrays.toString(r.previous()) + ":" + (r.version() == 0);
  }

  private static Set<String> keys(Store s) {
    Set<String> keys = new TreeSet<>();
    s.iterator().forEachRemaining(kv -> keys.add(new String(kv.key(), UTF_8) + "=" + kv.value().length + "@" + kv.expireAtMillis()));
    return keys;
  }

  private static List<String> withNull(Set<String> entries) {
    List<String> out = new ArrayList<>();
    out.add(null);
    entries.forEach(e -> out.add(e.substring(0, e.indexOf('='))));
    return out;
  }

  /** Applies the call to both stores; answers (or exception reasons) must be equal. */
  private static void same(String what, Store actual, Store expected, Function<Store, Object> call) {
    assertThat(outcome(actual, call)).as(what).isEqualTo(outcome(expected, call));
  }

  private static String outcome(Store s, Function<Store, Object> call) {
    try {
      return String.valueOf(call.apply(s));
    } catch (StoreException e) {
      return "error " + e.reason();
    }
  }
}
