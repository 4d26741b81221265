package io.distcache.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.ValueType;
import io.distcache.server.ManualClock;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ranges APPEND and SETRANGE write into a string (OffHeapStore.splice) are recorded in the
 * owner's EditJournal as RANGE calls, and a replica that replays them on its copy at the base
 * version (Store.applyReplicatedEdit) holds the owner's bytes, version and expiry: in place, into a
 * new buffer, small or large, padded or not, on both stores as replicas.
 */
class StringEditReplicationTest {
  private static final int MAX_VALUE = 1024 * 1024;
  private final ManualClock clock = new ManualClock();

  static Stream<Function<StoreConfig, Store>> replicas() {
    return Stream.of(Stores::create, ReferenceStore::new);
  }

  private Store open(Function<StoreConfig, Store> factory) {
    return factory.apply(new StoreConfig(64L * 1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Runs {@code write} on the owner with a journal open and returns the edit that explains the key's state, or null. */
  private static EditJournal.Edit journaled(Store owner, byte[] key, Runnable write) {
    EditJournal journal = EditJournal.open();
    try {
      write.run();
    } finally {
      journal.close();
    }
    Store.EntryHead head = owner.peekHead(key);
    return head == null ? null : journal.edit(key, head.version(), head.expireAtMillis());
  }

  /** The replica gets the owner's state: the edit when there is one, else the whole value. */
  private static void replicate(Store owner, Store replica, byte[] key, EditJournal.Edit edit) {
    TypedEntry own = owner.peekEntry(key);
    if (edit != null) {
      assertThat(replica.applyReplicatedEdit(key, ValueType.STRING, edit.baseVersion(), own.version(),
          own.expireAtMillis(), edit.ops())).isEqualTo(Store.ReplicatedEdit.APPLIED);
    } else {
      replica.applyReplicated(key, ValueType.STRING, own.value(), own.expireAtMillis(), own.version());
    }
  }

  private static void assertSame(Store owner, Store replica, byte[] key) {
    TypedEntry own = owner.peekEntry(key);
    TypedEntry copy = replica.peekEntry(key);
    assertThat(copy).isNotNull();
    assertThat(copy.type()).isEqualTo(ValueType.STRING);
    assertThat(copy.value()).isEqualTo(own.value());
    assertThat(copy.version()).isEqualTo(own.version());
    assertThat(copy.expireAtMillis()).isEqualTo(own.expireAtMillis());
  }

  @ParameterizedTest
  @MethodSource("replicas")
  void appendAndSetRange_recordTheirRanges_andTheReplicaReplaysThemToTheOwnersState(Function<StoreConfig, Store> f) {
    Store owner = Stores.create(new StoreConfig(64L * 1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
    Store replica = open(f);
    Random random = new Random(7);
    byte[] key = b("s");
    int edits = 0;
    try {
      owner.set(key, new byte[] {1, 2, 3}, SetArgs.ALWAYS);
      owner.expireAt(key, clock.millis() + 600_000, ExpireCondition.ALWAYS);
      replicate(owner, replica, key, null);
      for (int i = 0; i < 300; i++) {
        long length = owner.strlen(key);
        byte[] bytes = new byte[1 + random.nextInt(random.nextInt(10) == 0 ? 70_000 : 300)];
        random.nextBytes(bytes);
        long offset = switch (random.nextInt(3)) {
          case 0 -> random.nextLong(length + 1); // inside or at the end
          case 1 -> length + random.nextInt(5_000); // past the end: zero-padded
          default -> Math.max(0, length - 1);
        };
        if (offset + bytes.length > MAX_VALUE) {
          owner.set(key, new byte[] {9}, new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, true, false)); // start over short, shipped whole
          replicate(owner, replica, key, null);
          continue;
        }
        EditJournal.Edit edit = journaled(owner, key, random.nextBoolean()
            ? () -> owner.setRange(key, offset, bytes)
            : () -> owner.append(key, bytes));
        assertThat(edit).as("one write of a present string is one edit").isNotNull();
        assertThat(edit.type()).isEqualTo(ValueType.STRING);
        assertThat(edit.ops()).hasSize(1);
        assertThat(edit.ops().get(0).kind()).isEqualTo(PackedEdit.Op.RANGE);
        assertThat(edit.ops().get(0).value()).isEqualTo(bytes);
        replicate(owner, replica, key, edit);
        edits++;
        assertSame(owner, replica, key);
      }
      assertThat(owner.strlen(key)).as("large values were reached").isGreaterThan(16 * 1024);
      assertThat(edits).isGreaterThan(200);
    } finally {
      owner.close();
      replica.close();
    }
  }

  @Test
  void rangesOfOneString_writtenOneAfterTheOther_makeOneEdit_inOrder() {
    Store owner = Stores.create(new StoreConfig(64L * 1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
    Store replica = Stores.create(new StoreConfig(64L * 1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
    byte[] key = b("bits");
    try {
      owner.set(key, new byte[200_000], SetArgs.ALWAYS);
      replicate(owner, replica, key, null);
      EditJournal.Edit edit = journaled(owner, key, () -> {
        owner.setRange(key, 10, new byte[] {1});
        owner.setRange(key, 10, new byte[] {2}); // the same byte again: order matters
        owner.setRange(key, 250_000, new byte[] {3}); // grows it
      });
      assertThat(edit).isNotNull();
      assertThat(edit.ops()).extracting(PackedEdit.Op::offset).containsExactly(10L, 10L, 250_000L);
      replicate(owner, replica, key, edit);
      assertSame(owner, replica, key);
      assertThat(replica.getRange(key, 10, 10)).containsExactly(2);
      assertThat(replica.strlen(key)).isEqualTo(250_001);

      // another write between two ranges (a new value, not journaled as a range): no single edit
      EditJournal.Edit broken = journaled(owner, key, () -> {
        owner.setRange(key, 0, new byte[] {4});
        owner.set(key, new byte[100_000], new SetArgs(SetArgs.Condition.ALWAYS, Store.NO_EXPIRY, true, false));
        owner.setRange(key, 1, new byte[] {5});
      });
      assertThat(broken).isNull();
    } finally {
      owner.close();
      replica.close();
    }
  }

  /**
   * A replica's edit of several ranges whose second finds no memory (noeviction, the budget full)
   * after the first was written in place: the key is removed, a miss, not left half edited at the
   * owner's version (a reviewer's finding: BITFIELD writes one range per run of fields).
   */
  @Test
  void aStringEditWhoseSecondRangeFindsNoMemory_leavesAMiss_notHalfTheEdit() {
    Store replica = Stores.create(new StoreConfig(8L * 1024 * 1024, 4 * 1024 * 1024, EvictionPolicy.NOEVICTION, clock));
    byte[] key = b("s");
    try {
      replica.applyReplicated(key, ValueType.STRING, new byte[300_000], Store.NO_EXPIRY, 5 << 6);
      for (int i = 0; ; i++) { // fill the budget
        try {
          replica.set(b("f" + i), new byte[50_000], SetArgs.ALWAYS);
        } catch (StoreException e) {
          break;
        }
      }
      List<PackedEdit.Op> ops = List.of(PackedEdit.Op.range(0, new byte[] {1}), // in place
          PackedEdit.Op.range(300_000, new byte[1_000_000])); // needs a new buffer: no room

      assertThatThrownBy(() -> replica.applyReplicatedEdit(key, ValueType.STRING, 5 << 6, 9 << 6, Store.NO_EXPIRY,
          ops)).isInstanceOf(StoreException.class);
      assertThat(replica.peekEntry(key)).as("a miss, not the first range alone at the owner's version").isNull();
    } finally {
      replica.close();
    }
  }

  @Test
  void anEmptyAppend_recordsNoRange_soTheValueShipsWhole() {
    Store owner = Stores.create(new StoreConfig(64L * 1024 * 1024, MAX_VALUE, EvictionPolicy.ALLKEYS_LRU, clock));
    byte[] key = b("s");
    try {
      owner.set(key, new byte[100_000], SetArgs.ALWAYS);
      assertThat(journaled(owner, key, () -> owner.append(key, new byte[0]))).isNull();
      assertThat(journaled(owner, b("new"), () -> owner.append(b("new"), new byte[70_000])))
          .as("a new key: no base a replica holds").isNull();
    } finally {
      owner.close();
    }
  }

  @ParameterizedTest
  @MethodSource("replicas")
  void aStringEdit_appliesOnlyAtItsBase_andAHostileRangeIsRefusedBeforeAnyIsWritten(Function<StoreConfig, Store> f) {
    Store replica = open(f);
    byte[] key = b("s");
    List<PackedEdit.Op> x = List.of(PackedEdit.Op.range(1, b("x")));
    try {
      assertThat(replica.applyReplicatedEdit(key, ValueType.STRING, 5, 6, Store.NO_EXPIRY, x))
          .as("absent").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      replica.applyReplicated(key, ValueType.STRING, b("abc"), Store.NO_EXPIRY, 5);
      assertThat(replica.applyReplicatedEdit(key, ValueType.STRING, 4, 6, Store.NO_EXPIRY, x))
          .as("another base version").isEqualTo(Store.ReplicatedEdit.DIVERGED);
      assertThat(replica.applyReplicatedEdit(key, ValueType.HASH, 5, 6, Store.NO_EXPIRY,
          List.of(new PackedEdit.Op(PackedEdit.Op.REMOVE, b("f"), null))))
          .as("another type").isEqualTo(Store.ReplicatedEdit.DIVERGED);

      List<PackedEdit.Op> tooFar = List.of(PackedEdit.Op.range(0, b("y")), PackedEdit.Op.range(MAX_VALUE, b("z")));
      assertThatThrownBy(() -> replica.applyReplicatedEdit(key, ValueType.STRING, 5, 6, Store.NO_EXPIRY, tooFar))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("call 1 of a string's edit writes 1 bytes at offset " + MAX_VALUE
              + ": outside a value of at most " + MAX_VALUE + " bytes");
      List<PackedEdit.Op> empty = List.of(new PackedEdit.Op(PackedEdit.Op.RANGE, new byte[8], new byte[0]));
      assertThatThrownBy(() -> replica.applyReplicatedEdit(key, ValueType.STRING, 5, 6, Store.NO_EXPIRY, empty))
          .hasMessageContaining("call 0 of a string's edit is not a range of at least one byte");
      List<PackedEdit.Op> negative = List.of(PackedEdit.Op.range(-1, b("y")));
      assertThatThrownBy(() -> replica.applyReplicatedEdit(key, ValueType.STRING, 5, 6, Store.NO_EXPIRY, negative))
          .hasMessageContaining("at offset -1");
      assertThat(replica.peekEntry(key).value()).as("nothing written by a refused edit").isEqualTo(b("abc"));
      assertThat(replica.peekEntry(key).version()).isEqualTo(5);

      assertThat(replica.applyReplicatedEdit(key, ValueType.STRING, 5, 6, Store.NO_EXPIRY,
          List.of(PackedEdit.Op.range(1, b("x")), PackedEdit.Op.range(5, b("z"))))).isEqualTo(Store.ReplicatedEdit.APPLIED);
      assertThat(replica.peekEntry(key).value()).isEqualTo(new byte[] {'a', 'x', 'c', 0, 0, 'z'});
      assertThat(replica.peekEntry(key).version()).isEqualTo(6);
      assertThat(replica.applyReplicatedEdit(key, ValueType.STRING, 6, 6, Store.NO_EXPIRY, x))
          .as("a check of the version").isEqualTo(Store.ReplicatedEdit.ALREADY_APPLIED);
    } finally {
      replica.close();
    }
  }
}
