package io.distcache.server.tracking;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The table's bounds: past them other keys are invalidated, each once, and the table stays within them. */
class TrackingTableTest {
  /** A reader that counts how often it was told of each key. */
  private static final class Counting implements TrackingTable.Reader {
    final Map<String, Integer> told = new HashMap<>();

    @Override
    public long id() {
      return 7;
    }

    @Override
    public boolean noLoop() {
      return false;
    }

    @Override
    public List<byte[]> prefixes() {
      return null;
    }

    @Override
    public void invalidate(List<byte[]> keys) {
      keys.forEach(k -> told.merge(new String(k, StandardCharsets.UTF_8), 1, Integer::sum));
    }
  }

  @Test
  void readsFarPastTheKeyBound_keepTheTableAtTheBound_eachEvictedKeyToldOnce_theLatestKept() {
    TrackingTable table = new TrackingTable();
    Counting reader = new Counting();
    table.enable(reader);
    table.maxKeys(100);
    int reads = 20_000;
    for (int i = 0; i < reads; i++) {
      table.remember(7, ("key:" + i).getBytes(StandardCharsets.UTF_8));
      assertThat(table.size()).isLessThanOrEqualTo(100);
    }
    assertThat(table.size()).isEqualTo(100);
    assertThat(reader.told).hasSize(reads - 100);
    assertThat(reader.told.values()).allMatch(n -> n == 1);
    assertThat(reader.told).doesNotContainKey("key:" + (reads - 1));
    // the bytes counted are those of the keys still there
    long expected = 0;
    for (int i = 0; i < reads; i++) {
      if (!reader.told.containsKey("key:" + i)) {
        expected += ("key:" + i).length() + TrackingTable.KEY_COST + TrackingTable.ITEM_COST;
      }
    }
    assertThat(table.bytes()).isEqualTo(expected);
  }

  @Test
  void aKeyBiggerThanTheByteBound_isKeptAlone_andTheEvictionStops() {
    TrackingTable table = new TrackingTable();
    Counting reader = new Counting();
    table.enable(reader);
    table.remember(7, "small".getBytes(StandardCharsets.UTF_8));
    table.maxBytes(100);
    assertThat(table.size()).as("the small key's entry alone is over 100 bytes").isZero();
    table.remember(7, "x".repeat(1000).getBytes(StandardCharsets.UTF_8));
    assertThat(table.size()).as("the key just read is spared").isEqualTo(1);
    assertThat(reader.told).containsOnlyKeys("small");
  }
}
