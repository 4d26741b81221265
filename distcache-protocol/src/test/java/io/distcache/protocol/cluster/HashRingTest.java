package io.distcache.protocol.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HashRingTest {
  private static final int KEYS = 100_000;
  private static final byte[][] KEY_SET = keys(KEYS);

  /**
   * Keys are decimal numbers hashing to themselves; virtual node i of member "m" sits at the number
   * spelled i followed by m. With members 2, 4, 6 and three virtual nodes each, the points are
   * 2, 4, 6, 12, 14, 16, 22, 24, 26.
   */
  private static final RingHash DECIMAL = new RingHash() {
    @Override
    public long hashKey(byte[] key) {
      return Long.parseLong(new String(key, StandardCharsets.US_ASCII));
    }

    @Override
    public long hashPoint(String memberId, int index) {
      return Long.parseLong(index + memberId);
    }
  };

  @Test
  void owner_decimalHash_ownersMatchHandComputation() {
    HashRing ring = HashRing.of(1, members("2", "4", "6"), 3, DECIMAL);

    assertThat(ownerId(ring, "2")).isEqualTo("2"); // exactly on a point
    assertThat(ownerId(ring, "11")).isEqualTo("2"); // next point is 12
    assertThat(ownerId(ring, "23")).isEqualTo("4"); // next point is 24
    assertThat(ownerId(ring, "5")).isEqualTo("6"); // next point is 6
    assertThat(ownerId(ring, "27")).isEqualTo("2"); // past 26: wraps to 2
    assertThat(ownerId(ring, "0")).isEqualTo("2"); // before the first point
  }

  @Test
  void owner_memberAdded_onlyKeysLandingOnItsPointsMove() {
    HashRing before = HashRing.of(1, members("2", "4", "6"), 3, DECIMAL);
    HashRing after = HashRing.of(2, members("2", "4", "6", "8"), 3, DECIMAL); // adds 8, 18, 28

    assertThat(ownerId(after, "27")).isEqualTo("8");
    assertThat(ownerId(after, "17")).isEqualTo("8");
    assertThat(ownerId(after, "7")).isEqualTo("8");
    assertThat(ownerId(after, "23")).isEqualTo(ownerId(before, "23"));
    assertThat(ownerId(after, "11")).isEqualTo(ownerId(before, "11"));
  }

  @Test
  void owners_decimalHash_walkClockwiseOverDistinctMembers() {
    HashRing ring = HashRing.of(1, members("2", "4", "6"), 3, DECIMAL);

    // 13 -> point 14 (4), then 16 (6), then 22 (2).
    assertThat(ownerIds(ring, "13", 3)).containsExactly("4", "6", "2");
    // 25 -> 26 (6), wraps to 2 (2), then 4 (4).
    assertThat(ownerIds(ring, "25", 2)).containsExactly("6", "2");
    assertThat(ownerIds(ring, "25", 10)).containsExactly("6", "2", "4");
    assertThat(ownerIds(ring, "25", 0)).isEmpty();
  }

  @Test
  void owner_insertionOrder_doesNotChangeOwners() {
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      members.add(member("node-" + i));
    }
    HashRing reference = HashRing.of(1, members);
    Random random = new Random(7);
    for (int round = 0; round < 5; round++) {
      List<Member> shuffled = new ArrayList<>(members);
      Collections.shuffle(shuffled, random);
      HashRing ring = HashRing.of(1, shuffled);
      for (int k = 0; k < 10_000; k++) {
        assertThat(ring.owners(KEY_SET[k], 3)).isEqualTo(reference.owners(KEY_SET[k], 3));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 4, 5, 6, 7, 8, 9, 10})
  void owner_defaultRing_busiestMemberHoldsAtMost115PercentOfMean(int n) {
    HashRing ring = HashRing.of(1, numbered(n));

    Map<Member, Integer> load = new HashMap<>();
    for (byte[] key : KEY_SET) {
      load.merge(ring.owner(key), 1, Integer::sum);
    }

    double mean = (double) KEYS / n;
    assertThat(load).hasSize(n);
    assertThat(Collections.max(load.values()) / mean)
        .as("busiest member's load over the mean, %d members: %s", n, load)
        .isLessThanOrEqualTo(1.15);
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 4, 5, 6, 7, 8, 9})
  void owner_memberAdded_movesAboutOneShareAllToTheNewMember(int n) {
    List<Member> members = numbered(n);
    HashRing before = HashRing.of(1, members);
    Member added = member("node-" + n);
    members.add(added);
    HashRing after = HashRing.of(2, members);

    int moved = 0;
    for (byte[] key : KEY_SET) {
      Member was = before.owner(key);
      Member now = after.owner(key);
      if (!was.equals(now)) {
        moved++;
        assertThat(now).isEqualTo(added);
      }
    }

    double share = 1.0 / (n + 1);
    assertThat((double) moved / KEYS)
        .as("fraction of keys moved when member %d joins", n + 1)
        .isBetween(0.8 * share, 1.2 * share);
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 5, 10})
  void owner_memberRemoved_onlyItsKeysMove(int n) {
    List<Member> members = numbered(n);
    HashRing before = HashRing.of(1, members);
    Member removed = members.remove(n / 2);
    HashRing after = HashRing.of(2, members);

    int moved = 0;
    for (byte[] key : KEY_SET) {
      Member was = before.owner(key);
      if (was.equals(removed)) {
        moved++;
        assertThat(after.owner(key)).isNotEqualTo(removed);
      } else {
        assertThat(after.owner(key)).isEqualTo(was);
      }
    }
    assertThat(moved).isPositive();
  }

  @Test
  void owners_ownerRemoved_firstReplicaBecomesOwner() {
    List<Member> members = numbered(5);
    HashRing before = HashRing.of(1, members);
    for (int k = 0; k < 2_000; k++) {
      List<Member> replicas = before.owners(KEY_SET[k], 2);
      List<Member> rest = new ArrayList<>(members);
      rest.remove(replicas.get(0));
      assertThat(HashRing.of(2, rest).owner(KEY_SET[k])).isEqualTo(replicas.get(1));
    }
  }

  @Test
  void owners_anyKey_ownerFirstAndNoDuplicates() {
    HashRing ring = HashRing.of(1, numbered(6));
    for (int k = 0; k < 2_000; k++) {
      List<Member> owners = ring.owners(KEY_SET[k], 4);
      assertThat(owners).hasSize(4).doesNotHaveDuplicates();
      assertThat(owners.get(0)).isEqualTo(ring.owner(KEY_SET[k]));
    }
  }

  @Test
  void of_snapshot_exposesVersionAndMembersById() {
    HashRing ring = HashRing.of(42, members("b", "c", "a"));

    assertThat(ring.version()).isEqualTo(42);
    assertThat(ring.size()).isEqualTo(3);
    assertThat(ring.members()).extracting(Member::id).containsExactly("a", "b", "c");
    assertThat(ring.contains(member("b"))).isTrue();
    assertThat(ring.contains(new Member("b", new Address("elsewhere", 1)))).isFalse();
    assertThat(ring.contains(member("d"))).isFalse();
  }

  @Test
  void owner_emptyRing_throwsNamingTheVersion() {
    assertThat(HashRing.empty().isEmpty()).isTrue();
    assertThat(HashRing.empty().owners(new byte[] {1}, 3)).isEmpty();
    assertThatThrownBy(() -> HashRing.empty().owner(new byte[] {1}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void of_badArguments_throwNamingTheValue() {
    assertThatThrownBy(() -> HashRing.of(1, members("a", "a")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("member id a appears twice");
    assertThatThrownBy(() -> HashRing.of(1, members("a"), 0, RingHash.XXHASH64))
        .hasMessageContaining("virtual nodes 0 is outside 1..4096");
    assertThatThrownBy(() -> HashRing.of(1, members("a"), 5000, RingHash.XXHASH64))
        .hasMessageContaining("virtual nodes 5000 is outside 1..4096");
    assertThatThrownBy(() -> HashRing.of(1, members("a")).owners(new byte[0], -1))
        .hasMessageContaining("replica count -1 is negative");
  }

  private static String ownerId(HashRing ring, String key) {
    return ring.owner(key.getBytes(StandardCharsets.US_ASCII)).id();
  }

  private static List<String> ownerIds(HashRing ring, String key, int n) {
    return ring.owners(key.getBytes(StandardCharsets.US_ASCII), n).stream().map(Member::id).toList();
  }

  private static Member member(String id) {
    return new Member(id, new Address("host-" + id, 7000));
  }

  private static List<Member> members(String... ids) {
    List<Member> out = new ArrayList<>();
    for (String id : ids) {
      out.add(member(id));
    }
    return out;
  }

  private static List<Member> numbered(int n) {
    List<Member> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(member("node-" + i));
    }
    return out;
  }

  private static byte[][] keys(int n) {
    byte[][] out = new byte[n][];
    for (int i = 0; i < n; i++) {
      out[i] = ("key-" + i).getBytes(StandardCharsets.UTF_8);
    }
    return out;
  }
}
