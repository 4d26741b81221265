package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.SortedSets;
import io.distcache.protocol.Status;
import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import io.distcache.server.store.CollectionCodec;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.PackedLookup;
import io.distcache.server.store.ScoredMembers;
import io.distcache.server.store.ScoredMembers.Scored;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import io.distcache.server.store.TypedEntry;
import io.distcache.server.store.RandomZsets;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * The range commands walking the payload (ZSetRequests: ZCOUNT and ZLEXCOUNT, ZRANGE by score,
 * lex and rank with REV and LIMIT, ZRANGESTORE, ZREMRANGEBY*, ZPOPMIN/MAX, ZMPOP) against the
 * decoding computation they replace (DecodedZSetRanges), request by request: on random sets (ties,
 * both zeros, the infinities, shared prefixes, high bytes), random bounds (exclusive, lex '[' '('
 * '-' '+', invalid ones), random LIMITs (negative counts, offsets past the range) and random
 * keys (absent, of another type, with an expiry), the same reply (status, extras, value bytes) or
 * the same refusal, and afterwards the same entries (type, payload bytes, expiry) under every key.
 * The walking side runs on the off-heap store, which lends its own memory; the decoding side on
 * a second one. ZRANDMEMBER's draws are compared with the same seed on both sides.
 */
class ZSetRangeRequestsTest {
  private static final byte[] K = b("k");
  private static final byte[] K2 = b("k2");
  private static final byte[] D = b("d");

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static Store store(ManualClock clock) {
    return Stores.create(new StoreConfig(16L << 20, 1 << 20, EvictionPolicy.NOEVICTION, clock));
  }

  @Property(tries = 3000)
  void everyRangeCommandAnswersAndLeavesWhatDecodingDid(@ForAll long seed) throws Exception {
    Random rnd = new Random(seed);
    ManualClock clock = new ManualClock();
    try (Store walking = store(clock); Store decoding = store(clock)) {
      ScoredMembers z = RandomZsets.randomSet(rnd);
      ScoredMembers z2 = RandomZsets.randomSet(rnd);
      long expireAt = rnd.nextBoolean() ? Store.NO_EXPIRY : clock.millis() + 1_000_000;
      boolean otherType = rnd.nextInt(12) == 0;
      boolean destination = rnd.nextBoolean();
      for (Store s : List.of(walking, decoding)) {
        fill(s, K, z, expireAt, otherType);
        fill(s, K2, z2, Store.NO_EXPIRY, false);
        if (destination) {
          s.putTyped(D, ValueType.SET, CollectionCodec.encodeSet(List.of(new CollectionCodec.Bytes(b("x"))), 1),
              Store.NO_EXPIRY);
        }
      }
      // the same random choices for both: a request is drawn once, then run on each side
      for (int step = 0; step < 4; step++) {
        Frame request = randomRequest(rnd, z);
        Object expected = outcome(() -> new DecodedZSetRanges(decoding).run(request));
        Object actual = outcome(() -> new ZSetRequests(walking, new TransactionGate(), 1 << 20).run(request, false));
        assertThat(actual).as("reply to %s", describe(request)).isEqualTo(expected);
        for (byte[] key : List.of(K, K2, D)) {
          assertThat(entry(walking.getTyped(key))).as("%s after %s", new String(key), describe(request))
              .isEqualTo(entry(decoding.getTyped(key)));
        }
        TypedEntry now = decoding.getTyped(K);
        z = now == null || now.type() != ValueType.ZSET ? ScoredMembers.decode(null) : ScoredMembers.decode(now.value());
      }
    }
  }

  private static void fill(Store s, byte[] key, ScoredMembers z, long expireAt, boolean otherType) {
    if (otherType) {
      s.putTyped(key, ValueType.SET, CollectionCodec.encodeSet(List.of(new CollectionCodec.Bytes(b("m"))), 1), expireAt);
    } else if (z.size() > 0) {
      s.putTyped(key, ValueType.ZSET, z.encode(), expireAt);
    }
  }

  /** A range request as the RESP side or a binary client may send it (extras [command, by, flags, lo, hi, offset, count]). */
  private static Frame randomRequest(Random rnd, ScoredMembers z) {
    int n = z.size();
    int kind = rnd.nextInt(10);
    if (kind == 0) { // ZPOP: [command, max, count]; a negative count is refused
      return Frame.request(Opcode.ZSETS, 0, K, new byte[0], SortedSets.ZPOP, rnd.nextInt(2), rnd.nextInt(n + 4) - 1);
    }
    if (kind == 1) { // ZMPOP over k (maybe absent or another type) then k2: [command, max, count >= 1]
      return Frame.request(Opcode.ZSETS, 0, rnd.nextBoolean() ? K : b("absent"), ListCodec.encodeValues(List.of(K2)),
          SortedSets.ZMPOP, rnd.nextInt(2), rnd.nextInt(n + 3));
    }
    long command = kind == 2 ? SortedSets.ZRANGESTORE
        : List.of(SortedSets.ZCOUNT, SortedSets.ZRANGE, SortedSets.ZRANGE, SortedSets.ZREMRANGE).get(rnd.nextInt(4));
    long by = rnd.nextInt(30) == 0 ? 3 : rnd.nextInt(3);
    long flags = (rnd.nextBoolean() ? SortedSets.EXCLUSIVE_LO : 0) | (rnd.nextBoolean() ? SortedSets.EXCLUSIVE_HI : 0);
    boolean revAllowed = command == SortedSets.ZRANGE || command == SortedSets.ZRANGESTORE;
    if (revAllowed ? rnd.nextBoolean() : rnd.nextInt(15) == 0) { // REV where it is refused too
      flags |= SortedSets.REV;
    }
    long lo;
    long hi;
    List<byte[]> values = new ArrayList<>();
    if (by == SortedSets.BY_RANK) {
      lo = rnd.nextInt(2 * n + 7) - n - 3;
      hi = rnd.nextInt(2 * n + 7) - n - 3;
    } else {
      double l = rnd.nextInt(40) == 0 ? Double.NaN : RandomZsets.randomScore(rnd);
      double h = rnd.nextInt(5) == 0 ? l : RandomZsets.randomScore(rnd);
      lo = Double.doubleToRawLongBits(l);
      hi = Double.doubleToRawLongBits(h);
    }
    if (by == SortedSets.BY_LEX) {
      values.add(RandomZsets.randomLexBound(rnd, z));
      if (rnd.nextInt(40) != 0) {
        values.add(rnd.nextInt(6) == 0 ? values.get(0).clone() : RandomZsets.randomLexBound(rnd, z));
      }
    }
    long offset = rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(n + 4) - 1;
    long count = switch (rnd.nextInt(4)) {
      case 0 -> SortedSets.NO_LIMIT;
      case 1 -> -1 - rnd.nextInt(5);
      default -> rnd.nextInt(n + 3);
    };
    if (command == SortedSets.ZRANGESTORE) {
      values.add(0, K); // the source, then the lex bounds; the destination is the request's key
      return Frame.request(Opcode.ZSETS, 0, D, ListCodec.encodeValues(values), command, by, flags, lo, hi, offset, count);
    }
    return Frame.request(Opcode.ZSETS, 0, K, values.isEmpty() ? new byte[0] : ListCodec.encodeValues(values), command,
        by, flags, lo, hi, offset, count);
  }

  /** A reply as comparable text (status, extras, value bytes), or the refusal's class and message. */
  private static Object outcome(java.util.concurrent.Callable<Frame> run) {
    Frame f;
    try {
      f = run.call();
    } catch (Exception refused) {
      return refused.getClass().getSimpleName() + ": " + refused.getMessage();
    }
    return f.status() + " " + java.util.Arrays.toString(f.extras()) + " " + java.util.HexFormat.of().formatHex(f.value());
  }

  private static String entry(TypedEntry e) {
    return e == null ? "absent"
        : e.type() + " " + e.expireAtMillis() + " " + java.util.HexFormat.of().formatHex(e.value());
  }

  private static String describe(Frame r) {
    return java.util.Arrays.toString(r.extras()) + " key " + new String(r.key(), StandardCharsets.ISO_8859_1)
        + (r.value().length == 0 ? "" : " values " + ListCodec.decodeValues(r.value()).stream()
            .map(v -> new String(v, StandardCharsets.ISO_8859_1)).toList());
  }

  @Property(tries = 1000)
  void randomMembersAreTheDrawsOfTheDecodedSet_withTheSameSeed(@ForAll long seed) {
    Random rnd = new Random(seed);
    ScoredMembers z = RandomZsets.randomSet(rnd);
    long count = rnd.nextInt(3) == 0 ? -rnd.nextInt(2 * z.size() + 3) : rnd.nextInt(2 * z.size() + 3);
    long drawSeed = rnd.nextLong();
    List<Scored> expected = RandomPicks.pick(z.slice(0, z.size()), count, new Random(drawSeed));
    List<Scored> actual = PackedLookup.randomZsetMembers(RandomZsets.lent(z.size() == 0 ? null : z.encode()), count,
        new Random(drawSeed));
    assertThat(actual).hasSize(expected.size());
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i).member()).isEqualTo(expected.get(i).member());
      assertThat(Double.doubleToRawLongBits(actual.get(i).score()))
          .isEqualTo(Double.doubleToRawLongBits(expected.get(i).score()));
    }
  }

  @Test
  void zrandmember_inPlaceAndDecoded_drawMembersWithTheirScores_distinctForAPositiveCount() throws Exception {
    try (Store s = store(new ManualClock())) {
      ScoredMembers z = ScoredMembers.decode(null);
      for (int i = 0; i < 5000; i++) {
        z.put(b("member" + i), i % 7 - 3);
      }
      s.putTyped(K, ValueType.ZSET, z.encode(), Store.NO_EXPIRY);
      ZSetRequests requests = new ZSetRequests(s, new TransactionGate(), 1 << 20);
      // 10 and 5000 distinct, 5 draws that may repeat, and a negative count past DRAWS_IN_PLACE (decoded)
      for (long count : new long[] {10, 5000, 9000, -5, -(RandomPicks.DRAWS_IN_PLACE + 1)}) {
        Frame reply = requests.run(Frame.request(Opcode.ZSETS, 0, K, new byte[0], SortedSets.ZRANDMEMBER, 1, count),
            false);
        List<byte[]> pairs = ListCodec.decodeValues(reply.value());
        assertThat(pairs).as("count %d", count).hasSize(2 * (int) Math.min(Math.abs(count), count > 0 ? 5000 : 1 << 30));
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < pairs.size(); i += 2) {
          String member = new String(pairs.get(i), StandardCharsets.ISO_8859_1);
          int index = Integer.parseInt(member.substring("member".length()));
          assertThat(SortedSets.decodeScore(pairs.get(i + 1))).isEqualTo(index % 7 - 3);
          seen.add(member);
        }
        if (count > 0) {
          assertThat(seen).as("distinct for count %d", count).hasSize(pairs.size() / 2);
        }
      }
      Frame one = requests.run(Frame.request(Opcode.ZSETS, 0, K, new byte[0], SortedSets.ZRANDMEMBER, 0, 0), false);
      assertThat(new String(one.value(), StandardCharsets.ISO_8859_1)).startsWith("member");
      Frame none = requests.run(Frame.request(Opcode.ZSETS, 0, b("absent"), new byte[0], SortedSets.ZRANDMEMBER, 0, 0),
          false);
      assertThat(none.status()).isEqualTo(Status.NOT_FOUND);
      assertThat(catchThrowable(() -> requests.run(Frame.request(Opcode.ZSETS, 0, b("absent"), new byte[0],
          SortedSets.ZRANDMEMBER, 1, RandomPicks.MAX_PICK + 1), false))).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("out of range");
    }
  }
}
