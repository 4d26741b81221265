package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.server.ManualClock;
import io.distcache.server.store.BitOps;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.SetArgs;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.StoredEntry;
import io.distcache.server.store.Stores;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * SETBIT and BITFIELD, which read and write only the bytes they touch, answer and store what the
 * whole-value computation they replaced did (kept here as the model: the value read whole, grown,
 * changed with BitOps and stored whole when Redis 7 stores it): the same replies, the same "setbit"
 * flag, the same bytes, a new version exactly when the model stored, the expiry kept. Values are
 * absent, small (stored inline in a page) or large (in a buffer of their own, which setRange
 * changes in place), with fields around their ends.
 */
class BitRequestsModelTest {
  private static final ManualClock CLOCK = new ManualClock();
  private static final Store STORE =
      Stores.create(new StoreConfig(16L << 20, 64 << 10, EvictionPolicy.NOEVICTION, CLOCK));
  private static final LocalExecutor EXECUTOR = new LocalExecutor(STORE);
  private static final byte[] KEY = {'k'};
  private static final long TTL = 100_000;

  @AfterContainer
  static void close() {
    STORE.close();
  }

  /** One BITFIELD operation, as BitRequests decodes it. */
  record Op(int kind, boolean signed, int bits, BitOps.Overflow overflow, long offset, long arg) {}

  /** A SETBIT (one op, kind -1: offset and bit) or a BITFIELD. */
  record Command(boolean setbit, List<Op> ops) {}

  @Provide
  Arbitrary<byte[]> initial() {
    return Arbitraries.oneOf(Arbitraries.bytes().array(byte[].class).ofMaxSize(12),
        Arbitraries.bytes().array(byte[].class).ofMinSize(5000).ofMaxSize(5100)).injectNull(0.25);
  }

  @Provide
  Arbitrary<List<Command>> commands() {
    // bit offsets around the ends of the values initial() makes, and anywhere below them
    Arbitrary<Long> offset = Arbitraries.oneOf(Arbitraries.longs().between(0, 200),
        Arbitraries.longs().between(5000 * 8 - 80, 5100 * 8 + 80), Arbitraries.longs().between(0, 5100 * 8));
    Arbitrary<Op> op = Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.of(true, false),
        Arbitraries.oneOf(Arbitraries.integers().between(1, 9), Arbitraries.integers().between(1, 64)),
        Arbitraries.of(BitOps.Overflow.class), offset,
        Arbitraries.oneOf(Arbitraries.longs().between(-300, 300), Arbitraries.longs()))
        .as((kind, signed, bits, overflow, at, arg) ->
            new Op(kind, signed || bits == 64, bits, overflow, at, arg));
    Arbitrary<Command> setbit = Combinators.combine(offset, Arbitraries.integers().between(0, 1))
        .as((at, bit) -> new Command(true, List.of(new Op(-1, false, 1, BitOps.Overflow.WRAP, at, bit))));
    Arbitrary<Command> bitfield = op.list().ofMinSize(1).ofMaxSize(6).map(ops -> new Command(false, ops));
    return Arbitraries.oneOf(setbit, bitfield).list().ofMinSize(1).ofMaxSize(5);
  }

  @Property(tries = 400)
  void sameAsTheWholeValueComputation(@ForAll("initial") byte[] initial, @ForAll("commands") List<Command> commands) {
    STORE.delete(KEY);
    long expiry = CLOCK.millis() + TTL;
    if (initial != null) {
      STORE.set(KEY, initial, SetArgs.expiringAt(expiry));
    }
    byte[] model = initial;
    for (Command c : commands) {
      StoredEntry before = STORE.getEntry(KEY);
      Frame reply = EXECUTOR.execute(request(c));
      assertThat(reply.status()).as(c.toString()).isEqualTo(Status.OK);
      Model expected = c.setbit() ? setbit(model, c.ops().get(0)) : bitfield(model, c.ops());
      if (c.setbit()) {
        assertThat(reply.extra(0, -1)).as(c.toString()).isEqualTo((long) expected.replies.get(0)[0]);
      } else {
        assertThat(ListCodec.decodeValues(reply.value())).as(c.toString())
            .usingElementComparator(Arrays::compare).containsExactlyElementsOf(expected.replies);
        assertThat(reply.extra(0, -1)).as("the setbit flag of " + c).isEqualTo(expected.changed ? 1 : 0);
      }
      StoredEntry after = STORE.getEntry(KEY);
      assertThat(after == null ? null : after.value()).as(c.toString()).isEqualTo(expected.value);
      if (after != null) {
        assertThat(after.version() != (before == null ? -1 : before.version()))
            .as("a new version exactly when the value was stored: " + c).isEqualTo(expected.stored);
        assertThat(after.expireAtMillis()).isEqualTo(initial == null ? Store.NO_EXPIRY : expiry);
      }
      model = expected.value;
    }
  }

  private static Frame request(Command c) {
    Op first = c.ops().get(0);
    if (c.setbit()) {
      return Frame.request(Opcode.BITS, 0, KEY, null, BitRequests.SETBIT, first.offset(), first.arg());
    }
    ByteBuffer b = ByteBuffer.allocate(24 * c.ops().size());
    for (Op o : c.ops()) {
      b.putLong(o.kind() | (o.signed() ? 1L : 0) << 8 | (long) o.bits() << 16 | (long) o.overflow().ordinal() << 24)
          .putLong(o.offset()).putLong(o.arg());
    }
    return Frame.request(Opcode.BITS, 0, KEY, b.array(), BitRequests.BITFIELD);
  }

  /** The model's answer: replies (a SETBIT's old bit as a one-element array), the value after, and whether it stored. */
  private record Model(List<byte[]> replies, byte[] value, boolean stored, boolean changed) {}

  /** SETBIT as it ran on the whole value: stored when the bit changed or the value was created or grown. */
  private static Model setbit(byte[] current, Op o) {
    int old = BitOps.getBit(current, o.offset());
    if (old == o.arg() && current != null && (o.offset() >>> 3) < current.length) {
      return new Model(List.of(new byte[] {(byte) old}), current, false, false);
    }
    byte[] next = grown(current, o.offset() + 1);
    BitOps.setBit(next, o.offset(), (int) o.arg());
    return new Model(List.of(new byte[] {(byte) old}), next, true, true);
  }

  /** BITFIELD as it ran on the whole value (BitRequests.applyFields before it read only the fields' bytes). */
  private static Model bitfield(byte[] current, List<Op> ops) {
    long farthest = 0;
    for (Op o : ops) {
      if (o.kind() != BitRequests.FIELD_GET) {
        farthest = Math.max(farthest, o.offset() + o.bits());
      }
    }
    byte[] value = current == null ? null : current.clone();
    boolean dirty = false;
    if (farthest > 0) {
      value = grown(current, farthest);
      dirty = current == null || value.length != current.length;
    }
    int changes = 0;
    List<byte[]> replies = new ArrayList<>();
    for (Op o : ops) {
      long old = BitOps.getField(value, o.offset(), o.bits(), o.signed());
      if (o.kind() == BitRequests.FIELD_GET) {
        replies.add(ByteBuffer.allocate(8).putLong(old).array());
        continue;
      }
      Long next = o.kind() == BitRequests.FIELD_SET
          ? BitOps.withOverflow(o.arg(), 0, o.bits(), o.signed(), o.overflow())
          : BitOps.withOverflow(old, o.arg(), o.bits(), o.signed(), o.overflow());
      if (next == null) {
        replies.add(null);
        continue;
      }
      changes += dirty || old != next ? 1 : 0;
      BitOps.setField(value, o.offset(), o.bits(), next);
      replies.add(ByteBuffer.allocate(8).putLong(o.kind() == BitRequests.FIELD_SET ? old : next).array());
    }
    boolean stored = dirty || changes > 0;
    return new Model(replies, stored ? value : current, stored, changes > 0);
  }

  /** {@code v} (null: none) grown with zero bytes to hold {@code bits} bits; a copy. */
  private static byte[] grown(byte[] v, long bits) {
    byte[] cur = v == null ? new byte[0] : v;
    return Arrays.copyOf(cur, (int) Math.max(cur.length, (bits + 7) >>> 3));
  }
}
