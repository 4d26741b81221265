package io.distcache.server.cluster;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.TransactionCodec;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.Stores;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/*
 * Lincheck runs random concurrent scenarios of the operations below against the executor and
 * checks that every outcome equals some sequential order of them (linearizability), as Caffeine
 * checks its maps. The operations are the executor's composite ones, the ones the transaction gate
 * makes atomic: a TRANSACTION of two increments, a TRANSACTION with an "absent" condition, BITFIELD's
 * read-modify-write, RENAME, a hash HINCRBY and a set SADD+SMOVE transaction (so values of three
types meet on the same keys and WRONG_TYPE answers must linearize too), beside plain GET, SET and
INCREMENT on the same two keys.
 *
 * Lincheck makes a fresh instance per scenario, and for the sequential replays: a store per
 * instance would leave thousands of sweeper threads, so the instances share one store and empty
 * it when they start (Lincheck never runs two instances at once).
 */
@Param(name = "key", gen = IntGen.class, conf = "0:1")
public class TransactionLinearizabilityTest {
  private static final Store STORE =
      Stores.create(new StoreConfig(8L * 1024 * 1024, 1024, EvictionPolicy.NOEVICTION, io.distcache.server.Clock.system()));
  private static final LocalExecutor EXECUTOR = new LocalExecutor(STORE);
  private static final byte[][] KEYS = {b("{k}a"), b("{k}b")};

  public TransactionLinearizabilityTest() {
    STORE.flush();
  }

  @AfterAll
  static void close() {
    STORE.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(Frame r) {
    return r.status() == Status.OK ? new String(r.value(), StandardCharsets.UTF_8) : r.status().name();
  }

  @Operation
  public String get(@Param(name = "key") int key) {
    return text(EXECUTOR.execute(Frame.request(Opcode.GET, KEYS[key])));
  }

  @Operation
  public String set(@Param(name = "key") int key, @Param(gen = IntGen.class, conf = "1:3") int value) {
    return EXECUTOR.execute(Frame.request(Opcode.SET, 0, KEYS[key], b(Integer.toString(value)), 0L)).status().name();
  }

  @Operation
  public long increment(@Param(name = "key") int key) {
    Frame r = EXECUTOR.execute(Frame.request(Opcode.INCREMENT, 0, KEYS[key], null, 1L));
    return r.status() == Status.OK ? r.extra(0, 0) : -r.status().code();
  }

  /** MULTI INCR a INCR b EXEC. */
  @Operation
  public String incrementBoth() {
    Frame r = EXECUTOR.execute(Frame.request(Opcode.TRANSACTION, 0, KEYS[0], TransactionCodec.encodeRequest(List.of(),
        List.of(Frame.request(Opcode.INCREMENT, 0, KEYS[0], null, 1L), Frame.request(Opcode.INCREMENT, 0, KEYS[1], null, 1L)))));
    if (r.status() != Status.OK) {
      return r.status().name();
    }
    List<Frame> replies = TransactionCodec.decodeReplies(r.value());
    return replies.get(0).status() + ":" + replies.get(0).extra(0, 0) + "," + replies.get(1).status() + ":"
        + replies.get(1).extra(0, 0);
  }

  /** Writes only when the key is absent (a WATCH-style condition), and reads the other key. */
  @Operation
  public String createIfAbsent(@Param(name = "key") int key) {
    Frame r = EXECUTOR.execute(Frame.request(Opcode.TRANSACTION, 0, KEYS[key], TransactionCodec.encodeRequest(
        List.of(new TransactionCodec.Condition(KEYS[key], TransactionCodec.ABSENT, TransactionCodec.ANY_EXPIRY)),
        List.of(Frame.request(Opcode.SET, 0, KEYS[key], b("9"), 0L), Frame.request(Opcode.GET, KEYS[1 - key])))));
    if (r.status() != Status.OK) {
      return r.status().name();
    }
    return "applied:" + text(TransactionCodec.decodeReplies(r.value()).get(1));
  }

  /** BITFIELD INCRBY u8 0 1: a read-modify-write of the first byte. */
  @Operation
  public long bitfieldIncrement(@Param(name = "key") int key) {
    byte[] ops = ByteBuffer.allocate(24).putLong(2L | 8L << 16).putLong(0).putLong(1).array();
    Frame r = EXECUTOR.execute(Frame.request(Opcode.BITS, 0, KEYS[key], ops, 5L));
    if (r.status() != Status.OK) {
      return -r.status().code();
    }
    return ByteBuffer.wrap(ListCodec.decodeValues(r.value()).get(0)).getLong();
  }

  @Operation
  public String renameAToB() {
    Frame r = EXECUTOR.execute(Frame.request(Opcode.KEY_OP, 0, KEYS[0], KEYS[1], 1L));
    return r.status().name();
  }

  /** HINCRBY key f 1: a hash read-modify-write on the same keys, so strings and hashes meet (WRONG_TYPE). */
  @Operation
  public long hashIncrement(@Param(name = "key") int key) {
    Frame r = EXECUTOR.execute(Frame.request(Opcode.HASH, 0, KEYS[key], ListCodec.encodeValues(List.of(b("f"))),
        HashRequests.HINCRBY, 1L));
    return r.status() == Status.OK ? r.extra(0, 0) : -r.status().code();
  }

  /** SMOVE {k}a {k}b m after SADD {k}a m, as one TRANSACTION: the member is in exactly one set after it. */
  @Operation
  public String addAndMove(@Param(gen = IntGen.class, conf = "1:2") int member) {
    byte[] m = b("m" + member);
    Frame r = EXECUTOR.execute(Frame.request(Opcode.TRANSACTION, 0, KEYS[0], TransactionCodec.encodeRequest(List.of(),
        List.of(Frame.request(Opcode.SETS, 0, KEYS[0], ListCodec.encodeValues(List.of(m)), SetRequests.SADD),
            Frame.request(Opcode.SETS, 0, KEYS[0], ListCodec.encodeValues(List.of(KEYS[1], m)), SetRequests.SMOVE)))));
    if (r.status() != Status.OK) {
      return r.status().name();
    }
    List<Frame> replies = TransactionCodec.decodeReplies(r.value());
    return replies.get(0).status() + ":" + replies.get(0).extra(0, 0) + "," + replies.get(1).status() + ":"
        + replies.get(1).extra(0, 0);
  }

  @Test
  void linearizable() {
    new StressOptions().iterations(10).invocationsPerIteration(150).threads(2).actorsPerThread(3)
        .actorsBefore(1).actorsAfter(1).check(TransactionLinearizabilityTest.class);
  }
}
