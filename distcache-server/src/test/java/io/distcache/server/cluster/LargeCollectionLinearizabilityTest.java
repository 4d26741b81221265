package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.distcache.protocol.Frame;
import io.distcache.protocol.ListCodec;
import io.distcache.protocol.Opcode;
import io.distcache.server.Clock;
import io.distcache.server.store.EvictionPolicy;
import io.distcache.server.store.Store;
import io.distcache.server.store.StoreConfig;
import io.distcache.server.store.TypedEntry;
import io.distcache.server.store.Stores;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/*
 * Lincheck on the large-collection path: a hash and a set of more than 128 elements are kept with
 * an offset table and edited where they lie (Store.editPacked: in place, dead runs, a rebuild when
 * too much is dead), while point reads look into the payload under the segment's read lock. The
 * operations add, overwrite with values of another length, remove and read three names of each on
 * top of 200 others, so every edit path (same length, length change moved last, removal as a dead
 * run, re-add after removal) races with reads of one or several names. Each outcome must equal
 * some sequential order of them. As TransactionLinearizabilityTest, the instances share one store
 * (Lincheck never runs two at once) and rebuild the two collections when they start.
 */
@Param(name = "name", gen = IntGen.class, conf = "0:2")
public class LargeCollectionLinearizabilityTest {
  private static final Store STORE =
      Stores.create(new StoreConfig(16L * 1024 * 1024, 1 << 20, EvictionPolicy.NOEVICTION, Clock.system()));
  private static final LocalExecutor EXECUTOR = new LocalExecutor(STORE);
  private static final byte[] HASH = b("{c}hash");
  private static final byte[] SET = b("{c}set");
  private static final int OTHERS = 200;

  /** The two collections as first built, put back whole by each instance (building them is the slow part). */
  private static final TypedEntry[] START = build();

  private static TypedEntry[] build() {
    STORE.flush();
    List<byte[]> fields = new ArrayList<>();
    List<byte[]> members = new ArrayList<>();
    for (int i = 0; i < OTHERS; i++) {
      fields.add(b("other" + i));
      fields.add(b("value" + i));
      members.add(b("other" + i));
    }
    filled(EXECUTOR.execute(Frame.request(Opcode.HASH, 0, HASH, ListCodec.encodeValues(fields), HashRequests.HSET)));
    filled(EXECUTOR.execute(Frame.request(Opcode.SETS, 0, SET, ListCodec.encodeValues(members), SetRequests.SADD)));
    return new TypedEntry[] {STORE.peekEntry(HASH), STORE.peekEntry(SET)};
  }

  public LargeCollectionLinearizabilityTest() {
    STORE.flush();
    STORE.applyReplicated(HASH, START[0].type(), START[0].value(), Store.NO_EXPIRY, START[0].version());
    STORE.applyReplicated(SET, START[1].type(), START[1].value(), Store.NO_EXPIRY, START[1].version());
  }

  private static void filled(Frame reply) {
    if (reply.extra(0, 0) != OTHERS) {
      throw new IllegalStateException("filling a collection answered " + text(reply));
    }
  }

  @AfterAll
  static void close() {
    STORE.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] name(int i) {
    return b("n" + i);
  }

  /** Status, first extra and value: everything a reply says, comparable between runs. */
  private static String text(Frame r) {
    return r.status() + ":" + r.extra(0, 0) + ":" + (r.value() == null ? "-" : describe(r.value()));
  }

  private static String describe(byte[] value) {
    try {
      StringBuilder sb = new StringBuilder("[");
      for (byte[] v : ListCodec.decodeValues(value)) {
        sb.append(v == null ? "nil" : new String(v, StandardCharsets.UTF_8)).append(',');
      }
      return sb.append(']').toString();
    } catch (RuntimeException notAList) {
      return new String(value, StandardCharsets.UTF_8);
    }
  }

  private static String hash(long command, byte[]... args) {
    return text(EXECUTOR.execute(Frame.request(Opcode.HASH, 0, HASH, ListCodec.encodeValues(List.of(args)), command)));
  }

  private static String set(long command, byte[]... args) {
    return text(EXECUTOR.execute(Frame.request(Opcode.SETS, 0, SET, ListCodec.encodeValues(List.of(args)), command)));
  }

  /** HSET with a value of 1 to 3 bytes: new, same length in place, or a length change. */
  @Operation
  public String hset(@Param(name = "name") int n, @Param(gen = IntGen.class, conf = "1:3") int length) {
    return hash(HashRequests.HSET, name(n), b("v".repeat(length)));
  }

  @Operation
  public String hdel(@Param(name = "name") int n) {
    return hash(HashRequests.HDEL, name(n));
  }

  @Operation
  public String hget(@Param(name = "name") int n) {
    return hash(HashRequests.HGET, name(n));
  }

  /** Three names in one read: a half-applied edit would show as a mix. */
  @Operation
  public String hmget() {
    return hash(HashRequests.HMGET, name(0), name(1), name(2));
  }

  @Operation
  public String hlen() {
    return hash(HashRequests.HLEN);
  }

  @Operation
  public String sadd(@Param(name = "name") int n) {
    return set(SetRequests.SADD, name(n));
  }

  @Operation
  public String srem(@Param(name = "name") int n) {
    return set(SetRequests.SREM, name(n));
  }

  @Operation
  public String smismember() {
    return set(SetRequests.SMISMEMBER, name(0), name(1), name(2));
  }

  @Operation
  public String scard() {
    return set(SetRequests.SCARD);
  }

  /** The operations do what they say on their own (a scenario of refusals would be linearizable too). */
  @Test
  void operationsWorkOnTheLargeCollections() {
    LargeCollectionLinearizabilityTest t = new LargeCollectionLinearizabilityTest();
    assertThat(t.hset(0, 1)).isEqualTo("OK:1:");
    assertThat(t.hset(0, 3)).isEqualTo("OK:0:");
    assertThat(t.hget(0)).isEqualTo("OK:0:vvv");
    assertThat(t.hmget()).isEqualTo("OK:0:[vvv,nil,nil,]");
    assertThat(t.hlen()).isEqualTo("OK:201:");
    assertThat(t.hdel(0)).isEqualTo("OK:1:");
    assertThat(t.hget(0)).startsWith("NOT_FOUND");
    assertThat(t.sadd(1)).isEqualTo("OK:1:");
    assertThat(t.smismember()).isEqualTo(t.smismember()).contains("OK");
    assertThat(t.scard()).isEqualTo("OK:201:");
    assertThat(t.srem(1)).isEqualTo("OK:1:");
    assertThat(t.scard()).isEqualTo("OK:200:");
  }

  @Test
  void linearizable() {
    new StressOptions().iterations(4).invocationsPerIteration(40).threads(2).actorsPerThread(3)
        .actorsBefore(1).actorsAfter(1).check(LargeCollectionLinearizabilityTest.class);
  }
}
