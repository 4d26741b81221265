package io.distcache.server.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The table's bounds: past them other keys are invalidated, each once, and the table stays within them. */
class TrackingTableTest {
  @Test
  void readsFarPastTheKeyBound_keepTheTableAtTheBound_eachEvictedKeyToldOnce_theLatestKept() {
    TrackingTable table = new TrackingTable();
    RecordingReader reader = new RecordingReader();
    table.enable(reader);
    table.maxKeys(100);
    int reads = 20_000;
    for (int i = 0; i < reads; i++) {
      table.remember(7, ("key:" + i).getBytes(StandardCharsets.UTF_8));
      assertThat(table.size()).isLessThanOrEqualTo(100);
    }
    assertThat(table.size()).isEqualTo(100);
    Map<String, Integer> told = reader.counts();
    assertThat(told).hasSize(reads - 100);
    assertThat(told.values()).allMatch(n -> n == 1);
    assertThat(told).doesNotContainKey("key:" + (reads - 1));
    // the bytes counted are those of the keys still there
    long expected = 0;
    for (int i = 0; i < reads; i++) {
      if (!told.containsKey("key:" + i)) {
        expected += ("key:" + i).length() + TrackingTable.KEY_COST + TrackingTable.ITEM_COST;
      }
    }
    assertThat(table.bytes()).isEqualTo(expected);
  }

  @Test
  void aKeyBiggerThanTheByteBound_isKeptAlone_andTheEvictionStops() {
    TrackingTable table = new TrackingTable();
    RecordingReader reader = new RecordingReader();
    table.enable(reader);
    table.remember(7, "small".getBytes(StandardCharsets.UTF_8));
    table.maxBytes(100);
    assertThat(table.size()).as("the small key's entry alone is over 100 bytes").isZero();
    table.remember(7, "x".repeat(1000).getBytes(StandardCharsets.UTF_8));
    assertThat(table.size()).as("the key just read is spared").isEqualTo(1);
    assertThat(reader.counts()).containsOnlyKeys("small");
  }

  @Test
  void aPeersRegistration_countsItsSetAndItsPeer_andAChangeGivesThemBack() {
    TrackingTable table = new TrackingTable();
    table.enable(new RecordingReader());
    byte[] key = "k".getBytes(StandardCharsets.UTF_8);
    table.rememberPeer(new io.distcache.protocol.cluster.Address("127.0.0.1", 7001), key);
    assertThat(table.bytes()).isEqualTo(1 + TrackingTable.KEY_COST + TrackingTable.PEER_SET_COST
        + TrackingTable.PEER_ITEM_COST);
    table.remember(7, key);
    table.rememberPeer(new io.distcache.protocol.cluster.Address("127.0.0.1", 7002), key);
    assertThat(table.bytes()).isEqualTo(1 + TrackingTable.KEY_COST + TrackingTable.ITEM_COST
        + TrackingTable.PEER_SET_COST + 2 * TrackingTable.PEER_ITEM_COST);
    table.invalidate(key);
    assertThat(table.bytes()).isZero();
  }

  /** Making room in the table is no change of the key: BCAST clients hear of changes only. */
  @Test
  void anEvictionFromTheTable_isNotToldToBcastClients_aChangeIs() {
    TrackingTable table = new TrackingTable();
    RecordingReader reader = new RecordingReader();
    RecordingReader bcast = new RecordingReader(8, List.of());
    table.enable(reader);
    table.enable(bcast);
    table.maxKeys(1);
    table.remember(7, "a".getBytes(StandardCharsets.UTF_8));
    table.remember(7, "b".getBytes(StandardCharsets.UTF_8));
    assertThat(reader.counts()).containsOnlyKeys("a");
    assertThat(bcast.told).isEmpty();
    table.invalidate("b".getBytes(StandardCharsets.UTF_8));
    assertThat(bcast.counts()).containsOnlyKeys("b");
    assertThat(reader.counts()).containsOnlyKeys("a", "b");
  }

  /** Client 7 reads key:0 to key:99 (a table whose node's heap budgets are tested). */
  private static RecordingReader hundredKeysTrackedBy(TrackingTable table) {
    RecordingReader reader = new RecordingReader();
    table.enable(reader);
    for (int i = 0; i < 100; i++) {
      table.remember(7, ("key:" + i).getBytes(StandardCharsets.UTF_8));
    }
    return reader;
  }

  @Test
  void entries_countInTheNodesHeapBudgets_andPastTheSharedLimit_otherKeysAreInvalidated() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(100_000);
    TrackingTable table = new TrackingTable(heap);
    RecordingReader reader = hundredKeysTrackedBy(table);
    assertThat(heap.usedBytes()).isEqualTo(table.bytes());
    long others = 100_000 - table.bytes() - 100; // other budgets leave less than an entry's room (about 285)
    heap.force(others);
    table.remember(7, "key:new".getBytes(StandardCharsets.UTF_8));
    assertThat(heap.over()).as("the table gave way").isFalse();
    assertThat(table.size()).as("one key invalidated for the new one").isEqualTo(100);
    assertThat(reader.counts()).hasSize(1).doesNotContainKey("key:new");
    assertThat(heap.usedBytes()).isEqualTo(others + table.bytes());
    table.invalidateAll();
    assertThat(table.bytes()).isZero();
    assertThat(heap.usedBytes()).as("only the other budgets' bytes are left").isEqualTo(others);
  }

  /** Other budgets' forced bytes far past the shared limit: the table stops growing, it is not wiped. */
  @Test
  void sharedLimitPassedByOthers_aTrackedReadShedsWhatItAdded_notTheWholeTable() {
    io.distcache.server.HeapBudgets heap = new io.distcache.server.HeapBudgets(100_000);
    TrackingTable table = new TrackingTable(heap);
    RecordingReader reader = hundredKeysTrackedBy(table);
    heap.force(200_000); // requests waiting for replies, parked replies: nothing the table can free
    table.remember(7, "key:new".getBytes(StandardCharsets.UTF_8));
    // Keys of other lengths: shedding the new entry's bytes takes one or two of the older ones.
    assertThat(table.size()).as("a key or two invalidated for the new one, the others kept").isBetween(99, 100);
    assertThat(reader.counts()).hasSizeBetween(1, 2).doesNotContainKey("key:new");
  }
}
