package io.distcache.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.distcache.protocol.cluster.Address;
import io.distcache.protocol.cluster.KeySlot;
import io.distcache.protocol.cluster.Placement;
import io.distcache.protocol.cluster.Member;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopologyTest {
  private static ClusterMember member(String id, int port, ClusterMember.State state) {
    return new ClusterMember(id, "10.0.0." + port % 250, port, state, 3);
  }

  @Test
  void withTlsPorts_ownersAreDialledAtTheirTlsPort_withTheSamePlacement() {
    List<ClusterMember> members = List.of(
        member("0190aa00bb01-1111111111111111", 7001, ClusterMember.State.ALIVE),
        member("0190aa00bb02-2222222222222222", 7002, ClusterMember.State.ALIVE));
    MemberList plain = new MemberList(9, 256, true, 0, members);
    // The second member's TLS port is unknown: it is never dialled (not at its node port either).
    Topology tls = Topology.of(plain.withTlsPorts(java.util.Map.of("0190aa00bb01-1111111111111111", 7443)));
    Topology view = Topology.of(plain);

    assertThat(tls.placement().fingerprint()).isEqualTo(view.placement().fingerprint());
    int unknown = 0;
    for (int i = 0; i < 2_000; i++) {
      byte[] key = ("key:" + i).getBytes(StandardCharsets.UTF_8);
      Address owner = view.owner(key);
      if (owner.port() == 7001) {
        assertThat(tls.owner(key)).isEqualTo(new Address(owner.host(), 7443));
      } else {
        assertThat(tls.owner(key)).as("owner without a known TLS port").isNull();
        unknown++;
      }
    }
    assertThat(unknown).isPositive();
    assertThat(tls.ownerAddresses()).containsExactly(new Address("10.0.0.1", 7443));
    assertThatThrownBy(tls::everyOwnerAddress).isInstanceOf(DistCacheUnavailableException.class)
        .hasMessageContaining("0190aa00bb02-2222222222222222");
    assertThat(view.everyOwnerAddress()).containsExactly(new Address("10.0.0.1", 7001), new Address("10.0.0.2", 7002));
    assertThat(tls.isMemberAddress(new Address("10.0.0.1", 7443))).isTrue();
    assertThat(tls.isMemberAddress(new Address("10.0.0.1", 7001))).isTrue();
    assertThat(view.isMemberAddress(new Address("10.0.0.1", 7443))).isFalse();
  }

  @Test
  void overTls_noTlsPortKnown_noMemberIsDialledAtItsNodePort() {
    List<ClusterMember> members = List.of(
        member("0190aa00bb01-1111111111111111", 7001, ClusterMember.State.ALIVE),
        member("0190aa00bb02-2222222222222222", 7002, ClusterMember.State.ALIVE));
    Topology tls = Topology.of(new MemberList(9, 256, true, 0, members).withTlsPorts(java.util.Map.of()));

    for (int i = 0; i < 100; i++) {
      assertThat(tls.owner(("key:" + i).getBytes(StandardCharsets.UTF_8))).isNull();
    }
    assertThat(tls.ownerAddresses()).isEmpty();
  }

  @Test
  void owner_sameAsTheNodesRingForTheSameMembers() {
    List<ClusterMember> members = List.of(
        member("0190aa00bb01-1111111111111111", 7001, ClusterMember.State.ALIVE),
        member("0190aa00bb02-2222222222222222", 7002, ClusterMember.State.SUSPECT),
        member("0190aa00bb03-3333333333333333", 7003, ClusterMember.State.ALIVE),
        member("0190aa00bb04-4444444444444444", 7004, ClusterMember.State.DEAD));
    Topology view = Topology.of(new MemberList(9, 256, true, 0, members));
    // What a node builds: the key-owning members, its virtual nodes, xxHash64, in any order.
    Placement nodes = Placement.of(9, List.of(
        new Member("0190aa00bb03-3333333333333333", new Address("10.0.0.3", 7003)),
        new Member("0190aa00bb01-1111111111111111", new Address("10.0.0.1", 7001)),
        new Member("0190aa00bb02-2222222222222222", new Address("10.0.0.2", 7002))), 256);

    for (int i = 0; i < 20_000; i++) {
      byte[] key = ("key:" + i).getBytes(StandardCharsets.UTF_8);
      assertThat(view.owner(key)).isEqualTo(nodes.ownerOf(key).address());
      assertThat(view.ownerMember(key).id()).isEqualTo(nodes.ownerOf(key).id());
    }
    assertThat(view.placement().members()).isEqualTo(nodes.members());
  }

  @Test
  void update_sameOwnersNewStates_keepsTheRingAndTakesTheMembers() {
    Topology first = Topology.of(new MemberList(1, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.ALIVE))));
    MemberList suspected = new MemberList(5, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.SUSPECT),
        member("c", 7003, ClusterMember.State.DEAD)));

    Topology next = first.update(suspected);

    assertThat(next.sameOwners(first)).isTrue();
    assertThat(next.members()).isEqualTo(suspected.members());
  }

  @Test
  void update_memberLeft_buildsANewRingWithoutIt() {
    Topology first = Topology.of(new MemberList(1, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.ALIVE))));

    Topology next = first.update(new MemberList(2, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.LEFT))));

    assertThat(next.sameOwners(first)).isFalse();
    assertThat(next.ownerAddresses()).containsExactly(new Address("10.0.0.1", 7001));
    assertThat(next.owner("anything".getBytes(StandardCharsets.UTF_8))).isEqualTo(new Address("10.0.0.1", 7001));
  }

  @Test
  void update_sameIdNewAddress_isANewRing() {
    Topology first = Topology.of(new MemberList(1, 64, true, 0, List.of(member("a", 7001, ClusterMember.State.ALIVE))));

    Topology next = first.update(new MemberList(1, 64, true, 0, List.of(member("a", 7009, ClusterMember.State.ALIVE))));

    assertThat(next.sameOwners(first)).isFalse();
  }

  @Test
  void owner_noMemberOwnsKeys_isNull() {
    Topology view = Topology.of(new MemberList(1, 8, true, 0, List.of(member("a", 7001, ClusterMember.State.DEAD))));

    assertThat(view.owner(new byte[] {1})).isNull();
    assertThat(view.ownerMember(new byte[] {1})).isNull();
  }

  @Test
  void owner_isTheOwnerOfTheKeysSlot_soHashTaggedKeysShareAnOwner() {
    Topology view = Topology.of(new MemberList(3, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.ALIVE),
        member("c", 7003, ClusterMember.State.ALIVE))));

    for (int i = 0; i < 2_000; i++) {
      byte[] key = ("k" + i).getBytes(StandardCharsets.UTF_8);
      assertThat(view.owner(key)).isEqualTo(view.placement().owner(KeySlot.of(key)).address());
      assertThat(view.owner(("{user" + i + "}:a").getBytes(StandardCharsets.UTF_8)))
          .isEqualTo(view.owner(("{user" + i + "}:b").getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Test
  void update_sameOwnersHigherEpoch_keepsTheTableAtTheNewEpoch() {
    Topology first = Topology.of(new MemberList(4, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.ALIVE))));

    Topology next = first.update(new MemberList(9, 64, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.ALIVE))));

    assertThat(next.epoch()).isEqualTo(9);
    assertThat(next.sameOwners(first)).isTrue();
    assertThat(next.placement().fingerprint()).isEqualTo(first.placement().fingerprint());
  }

  @Test
  void of_noEpochInTheReply_epochUnknownAndZero() {
    Topology view = Topology.of(MemberList.withoutEpoch(77, 64, List.of(member("a", 7001, ClusterMember.State.ALIVE))));

    assertThat(view.epochKnown()).isFalse();
    assertThat(view.epoch()).isZero();
    assertThat(view.owner(new byte[] {1})).isEqualTo(new Address("10.0.0.1", 7001));
  }

  @Test
  void isMemberAddress_anyStateCounts_othersDoNot() {
    Topology view = Topology.of(new MemberList(1, 8, true, 0, List.of(
        member("a", 7001, ClusterMember.State.ALIVE), member("b", 7002, ClusterMember.State.LEFT))));

    assertThat(view.isMemberAddress(new Address("10.0.0.2", 7002))).isTrue();
    assertThat(view.isMemberAddress(new Address("10.0.0.9", 7009))).isFalse();
  }
}
