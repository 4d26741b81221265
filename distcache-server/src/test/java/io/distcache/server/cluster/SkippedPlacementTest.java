package io.distcache.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.distcache.protocol.Frame;
import io.distcache.protocol.Opcode;
import io.distcache.protocol.Status;
import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Member;
import io.distcache.protocol.cluster.Placement;
import io.distcache.server.ManualClock;
import io.distcache.server.bus.Peers;
import io.distcache.server.cluster.EffectCodec.Effect;
import io.distcache.server.placement.SlotGuard;
import io.distcache.server.store.Store;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review finding B: a replica that goes from p1 straight to p3 while its owner went p1 -> p2 -> p3
 * must not keep a copy that missed the writes made under p2 (they went to p2's replica). Here p1
 * and p3 are the same members (a fourth member D joined and left), so the replica's placement never
 * even changes: its own view says its copy never stopped. The owner tells it (RELEASED, at its
 * change to p2), and it drops the copy and asks for a new one instead of serving or being promoted
 * with older values.
 */
class SkippedPlacementTest {
  private static final Member A = new Member("a".repeat(40), new Address("127.0.0.1", 7001));
  private static final Member B = new Member("b".repeat(40), new Address("127.0.0.1", 7002));
  private static final Member C = new Member("c".repeat(40), new Address("127.0.0.1", 7003));
  private static final Member D = new Member("d".repeat(40), new Address("127.0.0.1", 7004));

  private final Placement p1 = Placement.of(1, List.of(A, B, C), 64, 1);
  private final Placement p2 = Placement.of(2, List.of(A, B, C, D), 64, 1);
  private final Placement p3 = Placement.of(3, List.of(A, B, C), 64, 1);

  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
  }

  private Store store() {
    return TestStores.reference(closing);
  }

  /** Slots A owns under p1 and p2 that {@code r} replicates under p1 and not under p2 (D took its place). */
  private Set<Integer> releasedFrom(Member r) {
    Set<Integer> out = new TreeSet<>();
    for (int s = 0; s < KeySlot.SLOTS; s++) {
      if (p1.owns(A, s) && p2.owns(A, s) && p1.isReplica(r, s) && !p2.isReplica(r, s)) {
        out.add(s);
      }
    }
    return out;
  }

  @Test
  void owner_tellsAMemberThatStoppedReplicatingASlot_atTheFirstWriteThatBypassesIt_andOnlyThen() {
    Map<Address, List<Effect>> received = new ConcurrentHashMap<>();
    Peers peers = TestPeers.answering((to, request) -> {
      if (request.op() == Opcode.REPLICATE) {
        List<Effect> effects = EffectCodec.decode(request.value());
        List<Effect> got = received.computeIfAbsent(to, a -> new CopyOnWriteArrayList<>());
        long first = request.extras()[1];
        synchronized (got) {
          for (int i = 0; i < effects.size(); i++) {
            if (first + i > got.size()) {
              got.add(effects.get(i));
            }
          }
        }
        return CompletableFuture.completedFuture(request.replyOk(first + effects.size() - 1));
      }
      return CompletableFuture.completedFuture(request.replyOk());
    });
    AtomicReference<Placement> current = new AtomicReference<>(p1);
    Store store = store();
    LocalExecutor executor = new LocalExecutor(store);
    // Runs once, inside the next write's apply: a placement installed while a write is running.
    AtomicReference<Runnable> duringApply = new AtomicReference<>();
    Replicator owner = new Replicator(store, current::get, () -> A, peers, ReplicationMode.SYNC, r -> {
      Frame reply = executor.execute(r);
      Runnable change = duringApply.getAndSet(null);
      if (change != null) {
        change.run();
      }
      return reply;
    });
    closing.add(owner);
    owner.placementChanged(Placement.empty(), p1);
    Member r = releasedFrom(B).size() >= 2 ? B : C;
    Set<Integer> released = releasedFrom(r);
    assertThat(released).as("D takes r's place for some of A's slots under p2").hasSizeGreaterThanOrEqualTo(2);
    java.util.Iterator<Integer> it = released.iterator();
    int written = it.next();
    int quiet = it.next();

    write(owner, keyIn(written, "a"), p1);
    // A write still running under p1 when p2 is installed goes to r itself and leaves the release
    // pending.
    duringApply.set(() -> {
      current.set(p2);
      owner.placementChanged(p1, p2);
    });
    write(owner, keyIn(written, "b"), p1);
    // The first write under p2 bypasses r: r is told RELEASED, once; D gets the writes.
    write(owner, keyIn(written, "c"), p2);
    write(owner, keyIn(written, "d"), p2);
    assertThat(keys(received.get(D.address()))).containsExactly("c", "d");
    // A slot nobody wrote while r did not replicate it costs r nothing: under p3 r replicates it
    // again and gets its writes, with no RELEASED.
    current.set(p3);
    owner.placementChanged(p2, p3);
    write(owner, keyIn(quiet, "e"), p3);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(keys(received.get(r.address())))
        .containsExactly("a", "b", "RELEASED " + written, "e"));
  }

  private static void write(Replicator owner, byte[] key, Placement p) {
    assertThat(owner.execute(Frame.request(Opcode.SET, 0, key, b("v")), p).join().status()).isEqualTo(Status.OK);
  }

  /** The effects' keys' first letters, and RELEASED effects as "RELEASED slot". */
  private static List<String> keys(List<Effect> effects) {
    List<String> out = new ArrayList<>();
    for (Effect e : effects == null ? List.<Effect>of() : effects) {
      out.add(e.isReleased() ? "RELEASED " + e.copiedSlot() : new String(e.key(), StandardCharsets.UTF_8).substring(0, 1));
    }
    return out;
  }

  @Test
  void replicaThatNeverSawP2_dropsItsCopyOfTheSlot_andAppliesNothingOfItBeforeTheDrop() {
    Member r = releasedFrom(B).isEmpty() ? C : B;
    Set<Integer> stale = releasedFrom(r);
    int slot = stale.iterator().next();
    int other = -1;
    for (int s = 0; s < KeySlot.SLOTS && other < 0; s++) {
      if (p3.owns(A, s) && p3.isReplica(r, s) && !stale.contains(s)) {
        other = s;
      }
    }
    assertThat(other).as("a slot r replicated for A all along").isNotNegative();
    byte[] k = keyIn(slot, "k");
    byte[] later = keyIn(slot, "later");
    byte[] kept = keyIn(other, "kept");

    Store store = store();
    ManualClock clock = new ManualClock();
    SlotGuard guard = new SlotGuard(clock, 1_000_000_000L);
    guard.placementChanged(r, Placement.empty(), p1, null);
    List<Frame> asked = new CopyOnWriteArrayList<>();
    Peers peers = TestPeers.answering((to, request) -> {
      if (request.op() == Opcode.REPLICA_SYNC) {
        asked.add(request);
      }
      return CompletableFuture.completedFuture(request.replyOk());
    });
    // r's placement is p1 throughout: p3 has the same members, so the same fingerprint.
    assertThat(p3.fingerprint()).isEqualTo(p1.fingerprint());
    Replicator replica = new Replicator(store, () -> p1, () -> r, peers, ReplicationMode.SYNC,
        new LocalExecutor(store)::execute);
    closing.add(replica);
    List<Runnable> drops = new CopyOnWriteArrayList<>();
    List<long[]> dropped = new CopyOnWriteArrayList<>();
    replica.onStaleCopies(slots -> guard.drop(slots, (bits, done) -> {
      dropped.add(bits.clone());
      replica.slotsDropping(bits);
      drops.add(() -> {
        done.run();
        replica.slotsDropped(bits);
      });
    }));
    ReplicaApplier applier = new ReplicaApplier(store, () -> p1, () -> r, guard, replica.slotCopies());

    // Under p1 the replica got k's first value; under p2 (not its replica) it got nothing.
    Frame first = applier.apply(batch(7, 1, put(k, "v1", 64), put(kept, "x", 64)));
    assertThat(first.status()).isEqualTo(Status.OK);
    // A's stream, sent under p3 (r never installed p2): the release of the slot at A's change to p2,
    // then writes of both slots made under p3.
    Frame r3 = applier.apply(batch(7, 3, put(kept, "y", 256), Effect.released(slot), put(later, "w", 320)));
    assertThat(r3.status()).as("the write after RELEASED waits for the drop").isEqualTo(Status.TRY_AGAIN);
    assertThat(r3.extras()[0]).isEqualTo(4);
    assertThat(store.get(kept)).isEqualTo(b("y"));
    assertThat(store.get(later)).isNull();
    assertThat(dropped).hasSize(1);
    assertThat(has(dropped.get(0), slot)).isTrue();
    assertThat(has(dropped.get(0), other)).isFalse();
    assertThat(replica.current(slot)).as("READONLY reads refuse the slot now").isFalse();

    // Until the drop is done, the slot's effects are refused.
    assertThat(applier.apply(batch(7, 5, put(later, "w", 320))).status()).isEqualTo(Status.TRY_AGAIN);
    store.delete(k); // the cleaner's pass over the slot
    drops.forEach(Runnable::run);
    await().atMost(Duration.ofSeconds(10)).until(() -> !asked.isEmpty());
    byte[] map = asked.get(0).value();
    assertThat((map[slot >>> 3] & (1 << (slot & 7))) != 0).as("the slot is asked for again").isTrue();
    assertThat(applier.apply(batch(7, 5, put(later, "w", 320))).status()).isEqualTo(Status.OK);
    assertThat(store.get(later)).isEqualTo(b("w"));

    // A resent batch skips what was applied: no second drop.
    assertThat(applier.apply(batch(7, 3, put(kept, "y", 256), Effect.released(slot))).status())
        .isEqualTo(Status.OK);
    assertThat(dropped).hasSize(1);
  }

  private Frame batch(long stream, long first, Effect... effects) {
    return Frame.request(Opcode.REPLICATE, 0, null, EffectCodec.encode(List.of(effects)), stream, first,
        p1.fingerprint(), p1.members().indexOf(A));
  }

  private static Effect put(byte[] key, String value, long version) {
    return new Effect(key, b(value), 0, version);
  }

  private static boolean has(long[] bits, int slot) {
    return (bits[slot >>> 6] & (1L << slot)) != 0;
  }

  private static byte[] keyIn(int slot, String prefix) {
    for (int i = 0; ; i++) {
      byte[] k = b(prefix + i);
      if (KeySlot.of(k) == slot) {
        return k;
      }
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
